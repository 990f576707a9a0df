"""int8 / fp16 variants of an exported detector (inspect_cv.quantize and `inspect-cv quantize`)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")

from inspect_cv import load  # noqa: E402
from inspect_cv.errors import ConfigError, InputError  # noqa: E402
from inspect_cv.io import read_image  # noqa: E402
from inspect_cv.quantize import quantize_detector  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "exported_models" / "baggage.onnx"
SAMPLES = ROOT / "inspect_cv" / "samples" / "baggage"
SCANS = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".jpg", ".png", ".tif"))


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    out = tmp_path_factory.mktemp("variants")
    return {mode: quantize_detector(MODEL, out / f"baggage-{mode}.onnx", mode, calib=SCANS)
            for mode in ("int8", "fp16")}




def test_int8_variant_is_quantised_smaller_and_carded(variants):
    import onnx

    r = variants["int8"]
    assert r.calibration_images == len(SCANS)
    assert r.bytes < 0.8 * r.source_bytes
    ops = {n.op_type for n in onnx.load(str(r.path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert "NonMaxSuppression" in ops  # decode + NMS kept in the graph
    card = json.loads(r.path.with_suffix(".card.json").read_text())
    assert card["extra"]["variant"] == "int8" and card["version"].endswith("+int8")
    det = load(str(r.path))  # the sidecar's sha256 matches the written file
    assert det.classes == load(str(MODEL)).classes


def _matched(x, y, margin: float) -> int:
    """How many of ``x``'s detections scoring >= 0.3 + margin have a twin in ``y`` (same label,
    box within 2 px, score within ``margin``); asserts that every one does."""
    n = 0
    for box, score, label in zip(x.boxes, x.scores, x.labels):
        if score < 0.3 + margin:
            continue  # near the threshold fp16 rounding may keep or drop a box either way
        twin = [j for j in range(len(y)) if y.labels[j] == label
                and np.abs(y.boxes[j] - box).max() < 2.0 and abs(y.scores[j] - score) < margin]
        assert twin, (box, score, label)
        n += 1
    return n


def test_fp16_matches_fp32_detections(variants):
    ref, half = load(str(MODEL)), load(str(variants["fp16"].path))
    margin, checked = 0.02, 0
    for scan in SCANS[:3]:
        img = read_image(scan)
        a, b = ref.predict(img, conf=0.3 - margin), half.predict(img, conf=0.3 - margin)
        checked += _matched(a, b, margin) + _matched(b, a, margin)
    assert checked > 0  # the samples do give detections to compare


def test_int8_keeps_the_strongest_fp32_detections(variants):
    from inspect_cv.detection.boxes import box_iou

    ref, q = load(str(MODEL)), load(str(variants["int8"].path))
    checked = 0
    for scan in SCANS[:2]:  # the two pseudo-colour threat samples
        img = read_image(scan)
        a, b = ref.predict(img, conf=0.3), q.predict(img, conf=0.2)
        assert len(a) > 0, scan.name
        assert len(b) > 0, f"int8 finds nothing in {scan.name}"
        iou = box_iou(a.boxes, b.boxes)
        for i in range(len(a)):
            assert ((iou[i] > 0.5) & (b.labels == a.labels[i])).any(), f"int8 lost detection {i} of {scan.name}"
            checked += 1
    assert checked >= 2


def test_bad_requests(tmp_path):
    with pytest.raises(ConfigError):
        quantize_detector(MODEL, tmp_path / "x.onnx", "int4")
    with pytest.raises(ConfigError):
        quantize_detector(MODEL, MODEL, "fp16")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(InputError):
        quantize_detector(MODEL, tmp_path / "x.onnx", "int8", calib=[bad])
    with pytest.raises(InputError):
        quantize_detector(tmp_path / "missing.onnx", tmp_path / "x.onnx", "fp16")
    emb = ROOT / "exported_models" / "horse-reid.onnx"
    with pytest.raises(ConfigError):
        quantize_detector(emb, tmp_path / "x.onnx", "fp16")


def test_cli_one_line_errors_and_success(tmp_path):
    def cli(*a):
        return subprocess.run([sys.executable, "-m", "inspect_cv", "quantize", *map(str, a)],
                              capture_output=True, text=True, cwd=ROOT)

    r = cli(MODEL, "--mode", "int8", "--out", tmp_path / "q.onnx")
    assert r.returncode != 0 and "--calib" in r.stderr and "Traceback" not in r.stderr
    r = cli(MODEL, "--mode", "fp16", "--out", tmp_path / "h.onnx")
    assert r.returncode == 0, r.stderr
    assert "fp16" in r.stdout and (tmp_path / "h.onnx").is_file() and (tmp_path / "h.card.json").is_file()
