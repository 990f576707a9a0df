"""Display views of raw scans (``render_view``, ``POST /v1/view``), horse enrolment
thumbnails (``Gallery.photo``, ``GET /v1/horses/{id}/photo``), the UI mount and CLI flags."""
from __future__ import annotations

import sqlite3
import threading
import warnings

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_cv.errors import InputError
from inspect_cv.io import encode_image
from inspect_cv.service.view import render_view, view_png, view_size
from test_gallery import photo


# --------------------------------------------------------------------------- render_view

def test_window_acts_on_the_16bit_values():
    img = np.full((40, 60), 30000, np.uint16)
    img[:, 30:] = 30001  # one count apart: invisible in any 8-bit copy of the full range
    v = render_view(img, level=30000.5, width=1.0)
    assert v.source == "grey" and v.mode == "grey" and v.rgb.shape == (40, 60, 3)
    assert v.rgb[:, :30].max() == 0 and v.rgb[:, 30:].min() == 255
    d = render_view(img)  # default window: the data's min..max
    assert (d.vmin, d.vmax) == (30000, 30001) and d.default_level == 30000.5 and d.default_width == 1.0
    assert d.level == d.default_level


def test_defaults_for_8bit_and_scale_of_a_long_scan():
    img = np.zeros((300, 6000), np.uint8)
    img[:, 3000:] = 200
    v = render_view(img, max_side=1000)
    assert (v.default_level, v.default_width) == (127.5, 255.0)
    assert v.rgb.shape == (50, 1000, 3) and v.scale == pytest.approx(1000 / 6000)
    assert (v.width_px, v.height_px) == (6000, 300)
    h = v.headers()
    assert h["X-Image-Width"] == "6000" and float(h["X-View-Scale"]) == pytest.approx(v.scale)
    # a box in original coordinates lands on the view at box * scale
    x = int(3000 * v.scale)
    assert v.rgb[10, x - 2, 0] == 0 and v.rgb[10, x + 2, 0] == 200


def test_rgb_and_dual_energy_modes():
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[..., 0] = 250
    c = render_view(rgb)
    assert c.source == "rgb" and c.mode == "colour" and c.rgb[0, 0, 0] > 200 and c.rgb[0, 0, 1] < 10
    g = render_view(rgb, mode="grey")
    assert g.mode == "grey" and np.ptp(g.rgb[0, 0].astype(int)) == 0
    assert render_view(rgb[..., 0], mode="colour").mode == "grey"  # grey data has no colour

    from inspect_cv.xray.scanner import PROFILES
    hi = np.full((48, 48), 60000, np.uint16)
    lo = np.full((48, 48), 60000, np.uint16)
    hi[:, 24:], lo[:, 24:] = 20000, 6000  # a strongly absorbing right half
    assert PROFILES  # tables load
    dual = np.stack([hi, lo], -1)
    d = render_view(dual, level=40000, width=60000)  # the dense half at 0.25 of the range
    assert d.source == "dual" and d.mode == "colour" and (d.vmin, d.vmax) == (20000, 60000)
    dg = render_view(dual, mode="grey", level=d.level, width=d.width)
    # grey and colour share the brightness (the window); colour only adds a hue
    assert np.allclose(d.rgb.max(axis=-1).astype(int), dg.rgb[..., 0].astype(int), atol=2)
    right = d.rgb[5, 40].astype(int)
    assert np.ptp(right) > 10  # a hue, not grey


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 300), w=st.integers(1, 300), side=st.integers(16, 400))
def test_view_size_fits(h, w, side):
    (vw, vh), s = view_size((h, w), side)
    assert max(vw, vh) <= max(side, 1) or max(h, w) <= side
    assert vw >= 1 and vh >= 1 and 0 < s <= 1
    if max(h, w) <= side:
        assert (vw, vh) == (w, h)


@pytest.mark.parametrize("kwargs", [dict(width=0), dict(width=-5), dict(mode="rainbow"), dict(max_side=8),
                                    dict(kind="tanks"), dict(level=float("nan"))])
def test_bad_view_arguments(kwargs):
    with pytest.raises(InputError):
        render_view(np.zeros((8, 8), np.uint16), **kwargs)


def test_float_images_and_nan():
    img = np.linspace(-3, 5, 64, dtype=np.float32).reshape(8, 8)
    img[0, 0] = np.nan
    v = render_view(img)
    assert v.vmin == pytest.approx(-3 + 8 / 63, rel=1e-4) and v.vmax == 5
    png = view_png(v)
    assert cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR).shape == (8, 8, 3)


# ----------------------------------------------------------------------------- service

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from inspect_cv.service import ServiceConfig, create_app  # noqa: E402
from inspect_cv.service import keys as keymod  # noqa: E402
from inspect_cv.service.config import UI_DIR  # noqa: E402


@pytest.fixture(scope="module")
def svc(tmp_path_factory, grid_model, embed_model):
    d = tmp_path_factory.mktemp("view")
    keys = d / "keys.json"
    k = {"admin": keymod.add_key(keys, "boss", "admin"), "operator": keymod.add_key(keys, "lane-1", "operator")}
    cfg = ServiceConfig(models={"baggage": str(grid_model), "horse-reid": str(embed_model)}, gallery=d / "g.db",
                        keys=keys, audit=d / "a.db", workers=2, queue=4, face_model="none",
                        max_upload_bytes=3_000_000, max_pixels=2_000_000, static_dir=UI_DIR)
    with TestClient(create_app(cfg)) as client:
        yield client, k, cfg


def H(k, role="operator"):
    return {"X-API-Key": k[role]}


def test_view_endpoint_png_and_headers(svc):
    client, k, _ = svc
    img = (np.arange(64 * 128, dtype=np.uint32).reshape(64, 128) * 7 % 65536).astype(np.uint16)
    r = client.post("/v1/view", files={"file": ("s.tif", encode_image(img, "tiff"))},
                    data={"level": "1000", "width": "500", "max_side": "64"}, headers=H(k))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    out = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert out.shape == (32, 64, 3)
    assert r.headers["x-image-width"] == "128" and float(r.headers["x-view-scale"]) == 0.5
    assert float(r.headers["x-window-level"]) == 1000 and r.headers["x-view-source"] == "grey"
    assert float(r.headers["x-value-max"]) == img.max()
    # the same through render_view on the decoded array
    expect = render_view(img, 1000, 500, max_side=64).rgb
    assert np.array_equal(out[..., ::-1], expect)


def test_view_endpoint_dual_pair_and_errors(svc):
    client, k, _ = svc
    hi, lo = np.full((40, 50), 50000, np.uint16), np.full((40, 50), 30000, np.uint16)
    files = {"file": ("x_high.tif", encode_image(hi, "tiff")), "low": ("x_low.tif", encode_image(lo, "tiff"))}
    r = client.post("/v1/view", files=files, headers=H(k))
    assert r.status_code == 200 and r.headers["x-view-source"] == "dual", r.text

    def one_line(r, status):
        assert r.status_code == status, (r.status_code, r.text)
        assert set(r.json()) == {"error"} and "\n" not in r.json()["error"]

    good = {"file": ("a.png", encode_image(np.zeros((20, 20), np.uint8), "png"))}
    one_line(client.post("/v1/view", files=good), 401)
    one_line(client.post("/v1/view", files=good, data={"width": "0"}, headers=H(k)), 400)
    one_line(client.post("/v1/view", files=good, data={"max_side": "99999"}, headers=H(k)), 400)
    one_line(client.post("/v1/view", files=good, data={"mode": "sepia"}, headers=H(k)), 422)
    one_line(client.post("/v1/view", files={"file": ("j.png", b"junk" * 50)}, headers=H(k)), 415)
    big = encode_image(np.zeros((1500, 1500), np.uint8), "png")  # 2.25 M values > 2 M
    one_line(client.post("/v1/view", files={"file": ("big.png", big)}, headers=H(k)), 413)


def test_enrolment_thumbnail_endpoint(svc):
    client, k, cfg = svc
    rng = np.random.default_rng(2)
    files = [("photos", (f"p{i}.png", encode_image(photo(1, rng, size=300), "png"))) for i in range(2)]
    r = client.post("/v1/horses", data={"id": "T1"}, files=files, headers=H(k, "admin"))
    assert r.status_code == 201, r.text
    p = client.get("/v1/horses/T1/photo", headers=H(k))
    assert p.status_code == 200 and p.headers["content-type"] == "image/jpeg"
    thumb = cv2.imdecode(np.frombuffer(p.content, np.uint8), cv2.IMREAD_COLOR)
    assert max(thumb.shape[:2]) == 160
    r = client.get("/v1/horses/NOPE/photo", headers=H(k))
    assert r.status_code == 404 and "NOPE" in r.json()["error"]
    assert client.get("/v1/horses/T1/photo").status_code == 401


def test_root_redirects_to_the_page(svc):
    client, _, _ = svc
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/ui/"
    page = client.get("/ui/")
    assert page.status_code == 200 and "app.js" in page.text and "X-API-Key" in client.get("/ui/app.js").text


# --------------------------------------------------------------------------- gallery

def test_gallery_thumbnail_written_once_removed_and_old_db(tmp_path, embed_model):
    from inspect_cv.reid.gallery import THUMB_SIDE, Gallery

    rng = np.random.default_rng(0)
    db = tmp_path / "g.db"
    with Gallery(db, model=str(embed_model)) as g:
        assert g.photo("A") is None  # no table yet: a gallery made before thumbnails
        g.enroll("A", [photo(0, rng, size=200)])
        first = g.photo("A")
        g.enroll("A", [photo(0, rng, size=200)])  # more photos keep the first thumbnail
        assert g.photo("A") == first
        g.enroll("E", embeddings=rng.normal(size=(1, 8)).astype(np.float32))  # no photo: no thumbnail
        assert g.photo("E") is None
        t = cv2.imdecode(np.frombuffer(first, np.uint8), cv2.IMREAD_COLOR)
        assert max(t.shape[:2]) <= THUMB_SIDE
        g.remove("A")
        assert g.photo("A") is None
    # an old gallery: drop the table, it still opens, verifies and answers None
    con = sqlite3.connect(db)
    con.execute("DROP TABLE thumbnails")
    con.commit()
    con.close()
    with Gallery(db, model=str(embed_model)) as g:
        assert g.photo("E") is None and len(g) == 1
        g.enroll("B", [photo(3, rng, size=64)])
        assert g.photo("B") is not None


def test_lazy_dict_filled_once_across_threads():
    import time

    from inspect_cv.lazy import LazyDict

    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.05)
        return {"a": 1}

    d = LazyDict(slow)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(d.get("a"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [1, 1, 1, 1] and len(calls) == 1


# ------------------------------------------------------------------------------- CLI

def test_serve_serves_the_page_by_default(tmp_path):
    from inspect_cv.cli.main import build_parser
    from inspect_cv.cli.serve import build_config

    p = build_parser()
    base = ["serve", "--models", "container=none", "--audit", str(tmp_path / "a.db")]
    assert build_config(p.parse_args(base)).static_dir == UI_DIR
    assert build_config(p.parse_args(base + ["--no-ui"])).static_dir is None
    assert build_config(p.parse_args(base + ["--static", str(tmp_path)])).static_dir == tmp_path
    for f in ("index.html", "app.js", "style.css"):
        assert (UI_DIR / f).is_file()
