"""The HTTP service (`inspect-cv serve`): routes, auth, limits, back-pressure, audit, metrics."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
with warnings.catch_warnings():  # starlette may call httpx-based TestClient deprecated
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from inspect_cv.errors import ConfigError, InputError, MissingDependencyError  # noqa: E402
from inspect_cv.io import encode_image  # noqa: E402
from inspect_cv.service import ServiceConfig, create_app  # noqa: E402
from inspect_cv.service import keys as keymod  # noqa: E402
from inspect_cv.service.metrics import Histogram  # noqa: E402
from inspect_cv.service.models import ModelSet  # noqa: E402
from inspect_cv.service.pool import PoolFullError, WorkerPool  # noqa: E402
from test_gallery import photo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def scene_png(red_at=(64, 32)) -> bytes:
    img = np.full((128, 256, 3), 255, np.uint8)
    x, y = red_at
    img[y:y + 32, x:x + 32] = (255, 0, 0)  # RGB red
    return encode_image(img, "png")


def png_of(arr) -> bytes:
    return encode_image(arr, "png")


@pytest.fixture(scope="module")
def keyfile(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    path = d / "keys.json"
    k = {"admin": keymod.add_key(path, "boss", "admin"), "operator": keymod.add_key(path, "lane-3", "operator")}
    return path, k


@pytest.fixture(scope="module")
def service(tmp_path_factory, keyfile, grid_model, embed_model):
    d = tmp_path_factory.mktemp("svc")
    cfg = ServiceConfig(models={"baggage": str(grid_model), "container": None, "horse-reid": str(embed_model)},
                        gallery=d / "horses.db", keys=keyfile[0], audit=d / "audit.db", workers=2, queue=4,
                        face_model="none", max_upload_bytes=2_000_000, max_pixels=1_200_000, timeout_s=30)
    app = create_app(cfg)
    with TestClient(app) as client:
        yield client, cfg, keyfile[1]


def H(keys, role="operator"):
    return {"X-API-Key": keys[role]}


def assert_one_line_error(r, status=None):
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    if status is not None:
        assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    assert "\n" not in body["error"] and "Traceback" not in r.text


# --- schema, health, models --------------------------------------------------------------

def test_openapi_lists_every_route(service):
    client, _, _ = service
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/v1/detect", "/v1/scan-container", "/v1/horses", "/v1/horses/{horse_id}/verify",
              "/v1/horses/identify", "/v1/decisions", "/v1/models", "/healthz", "/metrics"):
        assert p in paths, p
    assert "post" in paths["/v1/horses"] and "delete" in paths["/v1/horses/{horse_id}"]


def test_healthz_open_and_models_listed(service):
    client, _, keys = service
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["auth"] == "keys" and h["pool"]["workers"] == 2
    m = client.get("/v1/models", headers=H(keys)).json()["models"]
    by_kind = {x["kind"]: x for x in m}
    assert by_kind["baggage"]["task"] == "detect" and by_kind["baggage"]["classes"] == ["blue_thing", "red_thing"]
    assert by_kind["container"]["name"] == "none" and by_kind["horse-reid"]["task"] == "embed"


# --- detect ------------------------------------------------------------------------------

def test_detect_matches_the_cli_record(service, grid_model, tmp_path):
    from inspect_cv import load
    from inspect_cv.cli.detect import detect_one

    client, _, keys = service
    data = scene_png((160, 32))
    r = client.post("/v1/detect", files={"file": ("bag.png", data, "image/png")}, headers=H(keys))
    assert r.status_code == 200, r.text
    rec = r.json()
    assert r.headers["x-request-id"]
    (tmp_path / "bag.png").write_bytes(data)
    cli = detect_one(load(grid_model), str(tmp_path / "bag.png"), None, None, "auto", None)
    assert set(rec) == set(cli)
    assert rec["detections"] == cli["detections"] and rec["image"] == "bag.png"
    assert [d["label"] for d in rec["detections"]] == ["red_thing"]
    x1, y1, x2, y2 = rec["detections"][0]["box"]
    assert abs(x1 - 160) < 2 and abs(y1 - 32) < 2 and abs(x2 - 192) < 2 and abs(y2 - 64) < 2


@pytest.mark.parametrize("fmt", ["jpeg", "tiff16", "dicom"])
def test_detect_other_formats(service, fmt):
    client, _, keys = service
    img = np.full((96, 96), 60000, np.uint16)
    if fmt == "jpeg":
        data = encode_image(cv2.cvtColor((img >> 8).astype(np.uint8), cv2.COLOR_GRAY2RGB), "jpeg")
    elif fmt == "tiff16":
        data = encode_image(img, "tiff")
    else:
        from test_io import make_dicom

        data = make_dicom(img >> 4)
    r = client.post("/v1/detect", files={"file": (f"x.{fmt}", data)}, headers=H(keys))
    assert r.status_code == 200, r.text
    assert (r.json()["width"], r.json()["height"]) == (96, 96)


def test_detect_dual_energy_pair(service):
    client, _, keys = service
    hi = np.full((64, 80), 50000, np.uint16)
    lo = np.full((64, 80), 40000, np.uint16)
    files = {"file": ("s_high.tif", encode_image(hi, "tiff")), "low": ("s_low.tif", encode_image(lo, "tiff"))}
    r = client.post("/v1/detect", files=files, headers=H(keys))
    assert r.status_code == 200, r.text
    assert r.json()["low_image"] == "s_low.tif" and r.json()["width"] == 80
    files["low"] = ("s_low.tif", encode_image(lo[:32], "tiff"))
    assert_one_line_error(client.post("/v1/detect", files=files, headers=H(keys)), 400)


def test_bad_uploads_are_one_line_4xx(service):
    client, cfg, keys = service
    good = scene_png()
    cases = {
        "garbage": (b"\x00\x01 this is not an image at all" * 10, None),
        "empty": (b"", 400),
        "truncated": (good[: len(good) // 2], 400),
        "too_many_pixels": (png_of(np.zeros((1000, 1000, 3), np.uint8)), 413),  # 3M values > 1.2M
    }
    for name, (data, status) in cases.items():
        r = client.post("/v1/detect", files={"file": (f"{name}.png", data)}, headers=H(keys))
        assert_one_line_error(r, status)
        assert "Traceback" not in r.text
    # a declared body over the limit is refused before it is read
    r = client.post("/v1/detect", content=b"x" * 10, headers={**H(keys), "Content-Length": str(10**9),
                                                               "Content-Type": "multipart/form-data; boundary=b"})
    assert_one_line_error(r, 413)
    # a body that really is over the limit (no usable declared size)
    big = b"\x89PNG" + os.urandom(cfg.max_upload_bytes + 10)
    r = client.post("/v1/detect", files={"file": ("big.png", big)}, headers=H(keys))
    assert_one_line_error(r, 413)
    # a chunked body (no declared size) is counted as it arrives
    def chunks():
        head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="c.png"\r\n\r\n'
        yield head
        for _ in range(cfg.max_upload_bytes // 65536 + 2):
            yield b"\0" * 65536
    r = client.post("/v1/detect", content=chunks(),
                    headers={**H(keys), "Content-Type": "multipart/form-data; boundary=b"})
    assert_one_line_error(r, 413)
    # missing file field, bad thresholds, bad tile, unknown model
    assert_one_line_error(client.post("/v1/detect", headers=H(keys), data={"conf": "0.5"}), 422)
    for form in ({"conf": "1.5"}, {"tile": "huge"}, {"tile": "-3"}):
        assert_one_line_error(client.post("/v1/detect", files={"file": ("a.png", good)}, data=form,
                                          headers=H(keys)), 400)
    assert_one_line_error(client.post("/v1/detect", files={"file": ("a.png", good)}, data={"model": "nope"},
                                      headers=H(keys)), 404)


# --- auth --------------------------------------------------------------------------------

def test_auth_missing_wrong_and_role(service):
    client, _, keys = service
    files = {"file": ("a.png", scene_png())}
    r = client.post("/v1/detect", files=files)
    assert_one_line_error(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"
    assert_one_line_error(client.post("/v1/detect", files=files, headers={"X-API-Key": keys["operator"] + "x"}), 401)
    assert_one_line_error(client.post("/v1/detect", files=files, headers={"X-API-Key": "icv_00000000_abc"}), 401)
    # a stranger's upload is refused before its body is read (401 even when it is too large)
    r = client.post("/v1/detect", content=b"x" * 10, headers={"X-API-Key": "icv_1_2", "Content-Length": str(10**9),
                                                               "Content-Type": "multipart/form-data; boundary=b"})
    assert_one_line_error(r, 401)
    r = client.post("/v1/detect", files=files, headers={"Authorization": f"Bearer {keys['operator']}"})
    assert r.status_code == 200, r.text
    # operator may not enrol, remove or read the decision log
    r = client.post("/v1/horses", data={"id": "X1"}, files=[("photos", ("p.png", png_of(photo(0, np.random.default_rng(0)))))],
                    headers=H(keys))
    assert_one_line_error(r, 403)
    assert "lane-3" in r.json()["error"]
    assert_one_line_error(client.delete("/v1/horses/X1", headers=H(keys)), 403)
    assert_one_line_error(client.get("/v1/decisions", headers=H(keys)), 403)


# --- container ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def container_scan():
    from inspect_cv.container import render_scan, sample_scene

    rng = np.random.default_rng(3)
    s = render_scan(sample_scene(rng, 20, cargo="empty"), rng, pixel_mm=10.0)
    return s


def test_scan_container_with_manifest(service, container_scan):
    client, _, keys = service
    s = container_scan
    stack = encode_image(np.stack([s.high, s.low], -1), "tiff")
    manifest = json.dumps({"declared": "empty", "declared_mass_kg": 0}).encode()
    r = client.post("/v1/scan-container", files={"file": ("c1.tif", stack), "manifest": ("c1.json", manifest)},
                    data={"pixel_mm": "10"}, headers=H(keys))
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["image"] == "c1.tif" and rec["detector"] == "none" and rec["detections"] is None
    assert rec["empty"]["verdict"] is True and rec["dual_energy"] is True and rec["pixel_mm"] == 10.0
    assert rec["declaration"]["consistent"] is True
    # two files, no manifest
    files = {"file": ("c_high.tif", encode_image(s.high, "tiff")), "low": ("c_low.tif", encode_image(s.low, "tiff"))}
    r2 = client.post("/v1/scan-container", files=files, data={"pixel_mm": "10"}, headers=H(keys))
    assert r2.status_code == 200 and r2.json()["low_image"] == "c_low.tif" and r2.json()["declaration"] is None
    assert r2.json()["empty"] == rec["empty"]
    # an HTML form's empty optional file fields count as absent
    r3 = client.post("/v1/scan-container", files={"file": ("c1.tif", stack), "low": ("", b""), "manifest": ("", b"")},
                     data={"pixel_mm": "10"}, headers=H(keys))
    assert r3.status_code == 200, r3.text
    assert r3.json()["declaration"] is None and "low_image" not in r3.json()
    # bad manifest, bad pitch
    bad = client.post("/v1/scan-container", files={"file": ("c1.tif", stack), "manifest": ("m.json", b"{oops")},
                      headers=H(keys))
    assert_one_line_error(bad, 400)
    assert "m.json" in bad.json()["error"]
    assert_one_line_error(client.post("/v1/scan-container", files={"file": ("c1.tif", stack)},
                                      data={"pixel_mm": "0.01"}, headers=H(keys)), 400)


# --- horses ------------------------------------------------------------------------------

def test_horse_enrol_verify_identify_audit(service):
    from inspect_cv.reid.gallery import Gallery

    client, cfg, keys = service
    rng = np.random.default_rng(5)
    for h in range(3):
        files = [("photos", (f"h{h}_{k}.png", png_of(photo(h, rng)))) for k in range(2)]
        r = client.post("/v1/horses", data={"id": f"H{h}", "name": f"horse{h}"}, files=files, headers=H(keys, "admin"))
        assert r.status_code == 201, r.text
        e = r.json()
        assert e["horse_id"] == f"H{h}" and e["added"] == 2 and e["created"] is True
        assert [p["source"] for p in e["photos"]] == [f"h{h}_0.png", f"h{h}_1.png"]
    v = client.post("/v1/horses/H1/verify", files={"photo": ("probe.png", png_of(photo(1, rng)))}, headers=H(keys))
    assert v.status_code == 200, v.text
    assert v.json()["match"] is True and v.json()["horse_id"] == "H1"
    n = client.post("/v1/horses/H1/verify", files={"photo": ("probe.png", png_of(photo(2, rng)))}, headers=H(keys))
    assert n.json()["score"] < v.json()["score"]
    i = client.post("/v1/horses/identify", files={"photo": ("q.png", png_of(photo(2, rng)))}, data={"top": "2"},
                    headers=H(keys))
    assert i.status_code == 200 and i.json()["best"] == "H2" and len(i.json()["candidates"]) == 2
    assert_one_line_error(client.post("/v1/horses/H9/verify", files={"photo": ("p.png", png_of(photo(1, rng)))},
                                      headers=H(keys)), 400)
    assert_one_line_error(client.post("/v1/horses/identify", files={"photo": ("p.png", b"junk")}, headers=H(keys)))
    lst = client.get("/v1/horses", headers=H(keys)).json()
    assert [h["id"] for h in lst["horses"]] == ["H0", "H1", "H2"]
    rm = client.delete("/v1/horses/H0", headers=H(keys, "admin"))
    assert rm.status_code == 200 and rm.json() == {"removed": "H0", "embeddings": 2}
    with Gallery(cfg.gallery) as g:
        log = g.audit_log()
    acts = [(a["action"], a["operator"]) for a in log]
    assert ("verify", "lane-3") in acts and ("identify", "lane-3") in acts
    assert ("remove", "boss") in acts and ("enroll", "boss") in acts


# --- decisions and metrics ---------------------------------------------------------------

def test_decisions_are_audited_with_the_key_name(service):
    from inspect_cv.service.audit import AuditLog

    client, cfg, keys = service
    before = client.get("/metrics").text
    r = client.post("/v1/decisions", json={"item": "bag-0042", "decision": "hold", "kind": "baggage",
                                           "note": "knife-like shape, open the bag", "request_id": "abc"},
                    headers=H(keys))
    assert r.status_code == 201, r.text
    assert r.json()["key_name"] == "lane-3" and r.json()["decision"] == "hold"
    assert_one_line_error(client.post("/v1/decisions", json={"item": "bag-1", "decision": "maybe"},
                                      headers=H(keys)), 422)
    assert_one_line_error(client.post("/v1/decisions", content=b"{not json", headers={
        **H(keys), "Content-Type": "application/json"}), 422)
    got = client.get("/v1/decisions", params={"item": "bag-0042"}, headers=H(keys, "admin")).json()["decisions"]
    assert got[0]["key_name"] == "lane-3" and got[0]["note"].startswith("knife")
    log = AuditLog(cfg.audit)  # a second reader of the WAL file sees it too
    assert log.entries(item="bag-0042")[0]["role"] == "operator"
    log.close()
    after = client.get("/metrics").text
    assert 'inspect_cv_decisions_total{decision="hold"}' in after

    def count(text, line_start):
        vals = [float(l.split()[-1]) for l in text.splitlines() if l.startswith(line_start)]
        return sum(vals)
    key = 'inspect_cv_requests_total{route="/v1/decisions",status="201"}'
    assert count(after, key) == count(before, key) + 1
    assert count(after, 'inspect_cv_auth_failures_total') >= 1
    assert "# TYPE inspect_cv_request_duration_seconds histogram" in after
    assert "process_resident_memory_bytes" in after


# --- back-pressure and time limits ---------------------------------------------------------

class SlowDetector:
    """A stand-in detector that waits for an event (or a fixed time) before answering."""

    def __init__(self, gate: threading.Event | None = None, seconds: float = 0.0):
        self.gate, self.seconds, self.calls = gate, seconds, 0

    def predict(self, image, conf=None, iou=None, tile="auto"):
        from inspect_cv.detection.core import Detections

        self.calls += 1
        if self.gate is not None:
            self.gate.wait(10)
        time.sleep(self.seconds)
        return Detections.empty(("thing",), image.shape[:2])

    def alarm(self, det):
        return False


def test_saturated_pool_answers_429(tmp_path):
    gate = threading.Event()
    slow = SlowDetector(gate)
    cfg = ServiceConfig(models={"baggage": "fake"}, audit=tmp_path / "a.db", workers=1, queue=0)
    app = create_app(cfg, ModelSet(detectors={"baggage": slow}))
    pool = app.state.service.pool
    files = {"file": ("a.png", scene_png())}
    with TestClient(app) as client:
        first = {}
        t = threading.Thread(target=lambda: first.setdefault("r", client.post("/v1/detect", files=files)))
        t.start()
        deadline = time.time() + 10
        while pool.stats()["running"] < 1 and time.time() < deadline:
            time.sleep(0.01)
        r = client.post("/v1/detect", files=files)
        assert_one_line_error(r, 429)
        assert r.headers["retry-after"] == "1"
        gate.set()
        t.join(10)
        assert first["r"].status_code == 200 and first["r"].json()["detections"] == []
        assert client.post("/v1/detect", files=files).status_code == 200  # free again
        assert "inspect_cv_pool_rejected_total 1" in client.get("/metrics").text


def test_request_over_its_time_limit_is_504(tmp_path):
    cfg = ServiceConfig(models={"baggage": "fake"}, audit=tmp_path / "a.db", workers=1, queue=1, timeout_s=0.2)
    app = create_app(cfg, ModelSet(detectors={"baggage": SlowDetector(seconds=0.6)}))
    with TestClient(app) as client:
        r = client.post("/v1/detect", files={"file": ("a.png", scene_png())})
        assert r.status_code == 504 and "0.2" in r.json()["error"]


def test_worker_pool_bounds():
    pool = WorkerPool(1, 1)
    gate = threading.Event()
    f1, f2 = pool.submit(gate.wait, 5), pool.submit(lambda: 7)
    with pytest.raises(PoolFullError):
        pool.submit(lambda: 0)
    with pytest.raises(PoolFullError):
        pool.check_room()
    gate.set()
    assert f1.result(5) is True and f2.result(5) == 7
    assert pool.submit(lambda: 1).result(5) == 1
    pool.check_room()  # room again
    assert pool.stats()["rejected"] == 2
    pool.shutdown()


def test_unexpected_errors_are_500_without_traceback(tmp_path):
    class Broken(SlowDetector):
        def predict(self, *a, **k):
            raise RuntimeError("secret internals\nline two")

    cfg = ServiceConfig(models={"baggage": "fake"}, audit=tmp_path / "a.db", workers=1, queue=1)
    app = create_app(cfg, ModelSet(detectors={"baggage": Broken()}))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/v1/detect", files={"file": ("a.png", scene_png())})
        assert r.status_code == 500 and r.json() == {"error": "internal error (RuntimeError); see the server log"}


# --- keys, config, CLI ---------------------------------------------------------------------

def test_keys_are_stored_hashed(tmp_path):
    path = tmp_path / "k.json"
    key = keymod.add_key(path, "ops", "operator")
    text = path.read_text()
    secret = key.split("_", 2)[2]
    assert secret not in text and key not in text
    assert (path.stat().st_mode & 0o777) == 0o600
    store = keymod.KeyStore(path)
    assert store.check(key) == keymod.Principal("ops", "operator")
    assert store.check(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.check(None) is None and store.check("nonsense") is None
    with pytest.raises(InputError):
        keymod.add_key(path, "ops", "admin")  # duplicate name
    with pytest.raises(InputError):
        keymod.add_key(path, "x", "root")
    key2 = keymod.add_key(path, "chief", "admin")
    assert store.check(key2).may("operator")  # the store re-reads the changed file
    assert not store.check(key).may("admin")
    keymod.remove_key(path, "ops")
    assert store.check(key) is None and [k["name"] for k in keymod.list_keys(path)] == ["chief"]
    path.write_text("{broken")
    with pytest.raises(ConfigError):
        keymod.read_keys(path)


def test_open_service_binds_loopback_only(tmp_path):
    with pytest.raises(ConfigError, match="loopback"):
        ServiceConfig(models="container", host="0.0.0.0", audit=tmp_path / "a.db")
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.5"):
        ServiceConfig(models="container", host=host, audit=tmp_path / "a.db")
    keys = tmp_path / "k.json"
    keymod.add_key(keys, "a", "admin")
    assert ServiceConfig(models="container", host="0.0.0.0", keys=keys).keys == keys
    with pytest.raises(ConfigError, match="gallery"):
        ServiceConfig(models="horse-reid")
    with pytest.raises(ConfigError, match="unknown model kind"):
        ServiceConfig(models="baggage,tanks")
    assert ServiceConfig(models="baggage,container=none").models == {"baggage": "baggage", "container": None}


def test_open_service_acts_as_anonymous_and_mounts_static(tmp_path):
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "index.html").write_text("<h1>station</h1>")
    cfg = ServiceConfig(models={"container": None}, audit=tmp_path / "a.db", workers=1, static_dir=tmp_path / "ui")
    with TestClient(create_app(cfg, ModelSet(container=True))) as client:
        assert "station" in client.get("/ui/").text
        r = client.post("/v1/decisions", json={"item": "c-1", "decision": "clear"})
        assert r.status_code == 201 and r.json()["key_name"] == "anonymous"
        assert_one_line_error(client.post("/v1/detect", files={"file": ("a.png", scene_png())}), 404)


def test_missing_fastapi_is_a_missing_dependency(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "fastapi", None)
    with pytest.raises(MissingDependencyError, match=r"inspect-cv\[serve\]"):
        create_app(ServiceConfig(models={"container": None}, audit=tmp_path / "a.db"), ModelSet(container=True))


def test_cli_keys_and_refusal(tmp_path, capsys):
    from inspect_cv.cli.main import main

    keys = tmp_path / "keys.json"
    assert main(["serve", "keys", "add", "lane-1", "--role", "operator", "--keys", str(keys)]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("icv_") and len(out.strip().splitlines()) == 1 and "shown only now" in err
    assert keymod.KeyStore(keys).check(key).name == "lane-1"
    assert main(["serve", "keys", "list", "--keys", str(keys), "--json"]) == 0
    assert json.loads(capsys.readouterr()[0])[0]["role"] == "operator"
    assert main(["serve", "--models", "container=none", "--host", "0.0.0.0", "--audit", str(tmp_path / "a.db")]) == 1
    err = capsys.readouterr()[1]
    assert len(err.strip().splitlines()) == 1 and "loopback" in err and "--keys" in err


def test_runtime_imports_no_web_stack():
    code = ("import sys, inspect_cv, inspect_cv.service, inspect_cv.cli.main as m; m.build_parser(); "
            "print([k for k in sys.modules if k.split('.')[0] in ('fastapi', 'starlette', 'uvicorn', 'pydantic')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@given(st.lists(st.floats(0, 100, allow_nan=False), max_size=30))
def test_histogram_buckets_are_cumulative(values):
    h = Histogram("x_seconds", "test", ("route",))
    for v in values:
        h.observe(v, "/r")
    lines = [l for l in h.render() if l.startswith("x_seconds_bucket")]
    counts = [int(l.split()[-1]) for l in lines]
    if not values:
        assert lines == []
        return
    assert counts == sorted(counts) and counts[-1] == len(values) and 'le="+Inf"' in lines[-1]
    for b, c in zip(h.buckets, counts):
        assert c == sum(v <= b for v in values)
