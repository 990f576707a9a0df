"""The operator web page (/ui) end to end: the real service (uvicorn, shipped models) driven
by headless Chromium through Playwright.

Needs ``playwright`` (Python package) and a Chromium binary (``/usr/bin/chromium`` from the
Debian ``chromium`` package, or ``INSPECT_CV_CHROMIUM``); the browser is never downloaded.
Screenshots go to ``$INSPECT_CV_SCREENSHOTS`` (default: a temporary folder).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")

CHROMIUM = os.environ.get("INSPECT_CV_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium binary ({CHROMIUM}); install the Debian 'chromium' package", allow_module_level=True)

from inspect_cv.io import encode_image  # noqa: E402
from inspect_cv.runtime.registry import list_models  # noqa: E402
from inspect_cv.service import ServiceConfig, create_app  # noqa: E402
from inspect_cv.service import keys as keymod  # noqa: E402
from inspect_cv.service.config import UI_DIR  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "inspect_cv" / "samples"
SHIPPED = {m.name for m in list_models()}
if not {"baggage", "horse-reid"} <= SHIPPED:
    pytest.skip("the shipped baggage and horse-reid models are needed", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shots():
    d = Path(os.environ.get("INSPECT_CV_SCREENSHOTS") or tempfile.mkdtemp(prefix="inspect-cv-ui-"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real service on 127.0.0.1:<free port>: shipped models, keys, a temp gallery."""
    import uvicorn

    d = tmp_path_factory.mktemp("webui")
    keyfile = d / "keys.json"
    keys = {"admin": keymod.add_key(keyfile, "boss", "admin"), "operator": keymod.add_key(keyfile, "lane-3", "operator")}
    face = "none"  # the bundled horse photos are face crops (the horse-face detector is for full photos)
    cfg = ServiceConfig(models={"baggage": "baggage", "container": None, "horse-reid": "horse-reid"},
                        gallery=d / "horses.db", keys=keyfile, audit=d / "audit.db", workers=2, queue=8,
                        face_model=face, timeout_s=60, static_dir=UI_DIR)
    app = create_app(cfg)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    base = f"http://127.0.0.1:{port}"
    # enrol the bundled synthetic horses (admin), through the HTTP API like a station would
    for h in range(1, 5):
        body, ctype = multipart({"id": f"horse{h}", "name": f"Synthetic {h}"},
                                [("photos", SAMPLES / "horse" / f"synthetic_horse{h}_enrol.jpg")])
        req = urllib.request.Request(base + "/v1/horses", data=body, method="POST",
                                     headers={"Content-Type": ctype, "X-API-Key": keys["admin"]})
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status == 201
    yield {"base": base, "keys": keys, "dir": d}
    srv.should_exit = True
    t.join(10)


def multipart(fields: dict, files: list[tuple[str, Path]]) -> tuple[bytes, str]:
    boundary = "----inspectcvtest"
    out = bytearray()
    for k, v in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    for k, path in files:
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{path.name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode() + path.read_bytes() + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def api(server, path, key="admin", files=None, fields=None):
    """GET (or multipart POST) ``path`` on the service; the JSON answer."""
    headers = {"X-API-Key": server["keys"][key]}
    data = None
    if files or fields:
        data, ctype = multipart(fields or {}, files or [])
        headers["Content-Type"] = ctype
    req = urllib.request.Request(server["base"] + path, data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 860})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server["base"] + "/")  # redirects to /ui/
    assert pg.url.endswith("/ui/") or pg.url.endswith("/ui/#baggage")
    pg.fill("#api-key", server["keys"]["operator"])
    pg.click("#key-save")
    yield pg
    ctx.close()
    assert errors == [], errors  # no uncaught script error on the page


def wait_state(page, sel, timeout=30_000):
    """Wait until a banner leaves its idle state (or the error bar shows); returns its text."""
    page.wait_for_function(f"document.querySelector('{sel}').dataset.state !== 'idle' || "
                           "!document.querySelector('#error-bar').hidden", timeout=timeout)
    assert page.locator("#error-bar").is_hidden(), page.inner_text("#error-text")
    return page.inner_text(sel)


# ---------------------------------------------------------------------------------- tests

def test_baggage_alarm_window_zoom_and_hold(page, server, shots):
    scan = SAMPLES / "baggage" / "synthetic_bag_1_pseudocolour.jpg"
    expect = api(server, "/v1/detect", "operator", files=[("file", scan)])
    page.set_input_files("#bag-file", str(scan))
    text = wait_state(page, "#bag-banner")
    page.wait_for_function("document.querySelector('#bag-canvas').dataset.loaded === '1'")
    n = int(page.get_attribute("#bag-canvas", "data-boxes"))
    assert n == len(expect["detections"])
    if expect["alarm"]:
        assert page.get_attribute("#bag-banner", "data-state") == "alarm"
        assert text.startswith("ALARM:")
        top = max(expect["detections"], key=lambda d: d["score"])
        assert f"{top['label']} {top['score']:.2f}" in text
        bg = page.eval_on_selector("#bag-banner", "e => getComputedStyle(e).backgroundColor")
        r, g, b = (int(v) for v in bg[bg.index("(") + 1:bg.index(")")].split(",")[:3])
        assert r > 150 and g < 80 and b < 80, bg  # red
    else:
        assert text.startswith("No threat found")
    assert page.locator("#bag-dets li").count() == max(1, len(expect["detections"]))
    page.screenshot(path=str(shots / "baggage_alarm.png"))

    # windowing: a narrower window is requested from the server and shown
    page.eval_on_selector("#bag-width", "e => { e.value = 120; e.dispatchEvent(new Event('input')); }")
    page.wait_for_function("document.querySelector('#bag-canvas').dataset.width === '120'")
    assert page.inner_text("#bag-width-out") == "120"
    # G toggles colour -> grey (the sample is a pseudo-colour scan)
    assert page.get_attribute("#bag-canvas", "data-mode") == "colour"
    page.locator("#bag-canvas").click()  # focus on the page, not a field
    page.keyboard.press("g")
    page.wait_for_function("document.querySelector('#bag-canvas').dataset.mode === 'grey'")
    assert page.get_attribute("#bag-canvas", "data-width") == "120"  # the window survives the toggle
    # wheel zooms in, 0 resets
    box = page.locator("#bag-canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -600)
    page.wait_for_function("Number(document.querySelector('#bag-canvas').dataset.zoom) > 1.5")
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 80, box["y"] + box["height"] / 2 + 40)
    page.mouse.up()
    page.screenshot(path=str(shots / "baggage_zoomed_grey.png"))
    page.keyboard.press("0")
    page.wait_for_function("document.querySelector('#bag-canvas').dataset.zoom === '1.000'")

    # hold with a note: the row is shown and is in the audit log with the operator's key name
    page.fill("#bag-note", "open the bag: wrench-like shape")
    page.locator("#bag-canvas").click()
    page.keyboard.press("h")
    page.wait_for_selector("#bag-recorded:not([hidden])")
    assert "HOLD" in page.inner_text("#bag-recorded") and "lane-3" in page.inner_text("#bag-recorded")
    rows = api(server, f"/v1/decisions?item={scan.name}")["decisions"]
    assert rows[0]["decision"] == "hold" and rows[0]["key_name"] == "lane-3" and rows[0]["kind"] == "baggage"
    assert rows[0]["note"] == "open the bag: wrench-like shape" and rows[0]["request_id"]
    page.screenshot(path=str(shots / "baggage_held.png"))


def test_baggage_clear_and_16bit_dual_energy(page, server, shots):
    clean = SAMPLES / "baggage" / "synthetic_bag_5_no_threat.jpg"
    expect = api(server, "/v1/detect", "operator", files=[("file", clean)])
    page.set_input_files("#bag-file", str(clean))
    text = wait_state(page, "#bag-banner")
    if not expect["alarm"]:
        assert text.startswith("No threat found") and page.get_attribute("#bag-banner", "data-state") == "ok"
    assert int(page.get_attribute("#bag-canvas", "data-boxes")) == len(expect["detections"])
    page.click("#bag-clear")
    page.wait_for_selector("#bag-recorded:not([hidden])")
    assert api(server, f"/v1/decisions?item={clean.name}")["decisions"][0]["decision"] == "clear"
    page.screenshot(path=str(shots / "baggage_clear.png"))

    # the 16-bit dual-energy TIFF: windowed on its raw values, pseudo-colour by default
    tif = SAMPLES / "baggage" / "synthetic_bag_4_dual_energy_16bit.tif"
    page.set_input_files("#bag-file", str(tif))
    wait_state(page, "#bag-banner")
    page.wait_for_function("document.querySelector('#bag-canvas').dataset.mode === 'colour'")
    info = page.inner_text("#bag-view-info")
    assert "dual" in info and "560 × 448" in info
    assert float(page.get_attribute("#bag-level", "max")) > 255  # 16-bit units, not 8-bit
    page.eval_on_selector("#bag-level", "e => { e.value = 20000; e.dispatchEvent(new Event('input')); }")
    page.wait_for_function("document.querySelector('#bag-canvas').dataset.level === '20000'")
    assert page.locator("#error-bar").is_hidden()


def test_errors_show_in_the_bar(page, server, shots, tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image" * 20)
    page.set_input_files("#bag-file", str(junk))
    page.wait_for_selector("#error-bar:not([hidden])")
    msg = page.inner_text("#error-text")
    assert msg.startswith("4") and "junk.png" in msg and "\n" not in msg
    assert page.is_visible("#bag-banner")  # the page stays, with its banner
    page.screenshot(path=str(shots / "error_bar.png"))
    # a wrong key: 401 with a hint, in the same bar
    page.fill("#api-key", "icv_00000000_wrong")
    page.click("#key-save")
    page.set_input_files("#bag-file", str(SAMPLES / "baggage" / "synthetic_bag_5_no_threat.jpg"))
    page.wait_for_function("document.querySelector('#error-text').textContent.startsWith('401')")
    assert "API key" in page.inner_text("#error-text")
    page.click("#error-close")
    assert page.locator("#error-bar").is_hidden()


def test_container_tab_verdict_and_declaration(page, server, shots, tmp_path):
    from inspect_cv.container import render_scan, sample_scene

    rng = np.random.default_rng(11)
    s = render_scan(sample_scene(rng, 20, cargo="machinery", fill=0.8), rng, pixel_mm=10.0)
    scan = tmp_path / "cont-0007.tif"
    scan.write_bytes(encode_image(np.stack([s.high, s.low], -1), "tiff"))
    manifest = tmp_path / "cont-0007.json"
    manifest.write_text(json.dumps({"declared": "empty", "declared_mass_kg": 0, "shipper": "ACME"}))
    page.click("#tabbtn-container")
    page.set_input_files("#con-file", str(scan))
    page.set_input_files("#con-manifest", str(manifest))
    page.fill("#con-pixel", "10")
    page.click("#con-run")
    text = wait_state(page, "#con-banner")
    expect = api(server, "/v1/scan-container", "operator", files=[("file", scan), ("manifest", manifest)],
                 fields={"pixel_mm": "10"})
    verdicts = page.inner_text("#con-verdicts")
    if expect["empty"]["verdict"]:
        assert "EMPTY" in verdicts
    else:
        assert "LOADED" in verdicts
    if not expect["declaration"]["consistent"]:
        assert text.startswith("ALARM") and "declaration inconsistent" in text
        assert "DECLARATION INCONSISTENT" in verdicts
        for r in expect["declaration"]["reasons"]:
            assert r["message"] in verdicts
    assert "ACME" in page.inner_text("#con-manifest-view")
    # the container body is drawn (physics only: no detector boxes)
    assert int(page.get_attribute("#con-canvas", "data-boxes")) == 1
    page.wait_for_function("document.querySelector('#con-canvas').dataset.loaded === '1'")
    page.screenshot(path=str(shots / "container.png"))
    page.locator("#con-canvas").click()
    page.keyboard.press("h")
    page.wait_for_selector("#con-recorded:not([hidden])")
    assert api(server, "/v1/decisions?item=cont-0007.tif")["decisions"][0]["kind"] == "container"


def test_horse_verify_and_identify(page, server, shots):
    page.click("#tabbtn-horse")
    check = SAMPLES / "horse" / "synthetic_horse2_check.jpg"
    expect = api(server, "/v1/horses/horse2/verify", "operator", files=[("photo", check)])
    page.fill("#ver-id", "horse2")
    page.set_input_files("#ver-photo", str(check))
    page.click("#ver-run")
    text = wait_state(page, "#ver-banner")
    assert text.startswith("MATCH" if expect["match"] else "NO MATCH")
    assert f"threshold {expect['threshold']:.3f}" in text
    page.wait_for_function("document.querySelector('#ver-enrolled').naturalWidth > 0")
    assert page.eval_on_selector("#ver-enrolled", "e => Math.max(e.naturalWidth, e.naturalHeight)") <= 160

    ident = api(server, "/v1/horses/identify", "operator", files=[("photo", check)], fields={"top": "3"})
    page.set_input_files("#idf-photo", str(check))
    page.fill("#idf-top", "3")
    page.click("#idf-run")
    text = wait_state(page, "#idf-banner")
    page.wait_for_function("document.querySelector('#idf-candidates').dataset.count === '3'")
    ids = page.eval_on_selector_all("#idf-candidates li", "ls => ls.map(l => l.dataset.id)")
    assert ids == [c["horse_id"] for c in ident["candidates"]]
    assert text.startswith("UNKNOWN" if ident["unknown"] else f"BEST: {ident['best']}")
    page.wait_for_function("[...document.querySelectorAll('#idf-candidates img')].every(i => i.naturalWidth > 0)")
    page.screenshot(path=str(shots / "horse.png"), full_page=True)
