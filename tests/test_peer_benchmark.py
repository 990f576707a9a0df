"""Pure parts of benchmarks/peer_yolov8n.py (no ultralytics, no torch): the peer's letterbox,
its output decoder and the mapping back to original pixels, the budget reader and the table."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "peer_yolov8n.py"


def _load():
    if not SCRIPT.is_file():
        pytest.skip("benchmarks/peer_yolov8n.py not present")
    spec = importlib.util.spec_from_file_location("peer_yolov8n", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


peer = _load()


def _raw(n_anchor: int, n_cls: int, items: list[tuple[int, tuple[float, float, float, float], int, float]]):
    """A (1, 4 + C, A) YOLOv8 output: zero scores except ``(anchor, cxcywh, class, score)`` items."""
    out = np.zeros((1, 4 + n_cls, n_anchor), np.float32)
    out[0, 2:4] = 1.0  # tiny default boxes
    for a, (cx, cy, w, h), c, s in items:
        out[0, :4, a] = [cx, cy, w, h]
        out[0, 4 + c, a] = s
    return out


def test_decode_cxcywh_to_xyxy_and_order():
    out = _raw(10, 3, [(2, (50, 40, 20, 10), 1, 0.9), (7, (100, 100, 30, 30), 2, 0.6)])
    (b, s, l), = peer.decode_peer_output(out, conf=0.25, iou=0.5)
    np.testing.assert_allclose(b, [[40, 35, 60, 45], [85, 85, 115, 115]])
    np.testing.assert_allclose(s, [0.9, 0.6], rtol=1e-6)
    assert l.tolist() == [1, 2]


def test_decode_nms_is_classwise_and_conf_filters():
    box = (50, 50, 40, 40)
    shifted = (52, 50, 40, 40)  # IoU ~0.9 with box
    out = _raw(6, 2, [(0, box, 0, 0.9), (1, shifted, 0, 0.8), (2, shifted, 1, 0.7), (3, (200, 200, 10, 10), 1, 0.1)])
    (b, s, l), = peer.decode_peer_output(out, conf=0.25, iou=0.5)
    assert l.tolist() == [0, 1]  # the 0.8 box of class 0 is suppressed, class 1's twin is not
    np.testing.assert_allclose(s, [0.9, 0.7], rtol=1e-6)
    (b2, s2, l2), = peer.decode_peer_output(out, conf=0.05, iou=0.5)
    assert len(s2) == 3 and 1 in l2.tolist()


def test_decode_multilabel_and_caps():
    out = _raw(4, 2, [(0, (50, 50, 20, 20), 0, 0.9)])
    out[0, 5, 0] = 0.8  # same anchor, second class: kept as a separate detection
    (b, s, l), = peer.decode_peer_output(out, conf=0.25, iou=0.5)
    assert l.tolist() == [0, 1]
    rng = np.random.default_rng(0)
    many = np.zeros((2, 6, 500), np.float32)
    many[:, 0:2] = rng.uniform(0, 1000, (2, 2, 500))
    many[:, 2:4] = 5.0
    many[:, 4:] = rng.uniform(0.3, 1.0, (2, 2, 500))
    res = peer.decode_peer_output(many, conf=0.25, iou=0.5, max_per_class=50, max_det=70)
    assert len(res) == 2
    for b, s, l in res:
        assert len(s) == 70 and np.all(np.diff(s) <= 0)
        assert max(np.bincount(l)) <= 50


def test_decode_empty_and_bad_shape():
    (b, s, l), = peer.decode_peer_output(np.zeros((1, 12, 8), np.float32), conf=0.25, iou=0.5)
    assert b.shape == (0, 4) and s.shape == (0,) and l.shape == (0,)
    with pytest.raises(ValueError):
        peer.decode_peer_output(np.zeros((12, 8), np.float32), conf=0.25, iou=0.5)


@pytest.mark.parametrize("h,w", [(576, 736), (736, 576), (512, 512), (100, 300)])
def test_letterbox_centres_with_grey_and_scales(h, w):
    img = np.full((h, w, 3), 200.0, np.float32)
    x, lb = peer.peer_letterbox(img, 512)
    assert x.shape == (3, 512, 512) and x.dtype == np.float32
    r = min(512 / h, 512 / w)
    assert lb.scale == pytest.approx(r)
    nh, nw = round(h * r), round(w * r)
    assert abs((512 - nh) - 2 * lb.top) <= 1 and abs((512 - nw) - 2 * lb.left) <= 1
    inside = x[:, lb.top:lb.top + nh, lb.left:lb.left + nw]
    np.testing.assert_allclose(inside, 200 / 255, atol=1e-5)
    if lb.top > 0:
        np.testing.assert_allclose(x[:, 0, :], 114 / 255, atol=1e-6)
    if lb.left > 0:
        np.testing.assert_allclose(x[:, :, 0], 114 / 255, atol=1e-6)


def test_letterbox_locates_a_marked_pixel_block():
    img = np.zeros((576, 736, 3), np.float32)
    img[100:200, 300:400] = 255.0
    x, lb = peer.peer_letterbox(img, 512)
    ys, xs = np.nonzero(x[0] > 0.5)
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    back = lb.to_original(found)[0]
    np.testing.assert_allclose(back, [300, 100, 400, 200], atol=2.5)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(20, 2000), w=st.integers(20, 2000),
       box=st.tuples(st.floats(0, 0.9), st.floats(0, 0.9), st.floats(0.01, 0.1), st.floats(0.01, 0.1)))
def test_mapping_round_trip(h, w, box):
    x1, y1 = box[0] * w, box[1] * h
    x2, y2 = min(w, x1 + box[2] * w), min(h, y1 + box[3] * h)
    size = 512
    r = min(size / h, size / w)
    nw, nh = round(w * r), round(h * r)
    lb = peer.PeerLetterbox(r, int(round((size - nw) / 2 - 0.1)), int(round((size - nh) / 2 - 0.1)), (h, w))
    inp = np.array([[x1 * r + lb.left, y1 * r + lb.top, x2 * r + lb.left, y2 * r + lb.top]], np.float32)
    np.testing.assert_allclose(lb.to_original(inp)[0], [x1, y1, x2, y2], rtol=1e-4, atol=1e-2)


def test_to_original_clips_to_image():
    lb = peer.PeerLetterbox(0.5, 0, 10, (100, 200))
    b = lb.to_original(np.array([[-20, 0, 150, 70]], np.float32))[0]
    assert b.tolist() == [0, 0, 200, 100]


def test_budget_reads_card_and_recipe(tmp_path):
    card = tmp_path / "m.card.json"
    card.write_text(json.dumps({"input_size": [640, 640], "training_data": {"epochs_trained": 9, "model": "x"}}))
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: {name: y, pretrained: true}\ntrain: {epochs: 50, batch_size: 32}\n")
    b = peer.our_budget(card, recipe)
    assert (b["epochs"], b["imgsz"], b["batch"], b["model"], b["pretrained"]) == (9, 640, 32, "x", True)
    b2 = peer.our_budget(tmp_path / "missing.json", recipe)
    assert (b2["epochs"], b2["imgsz"], b2["model"]) == (50, None, "y")


def test_markdown_table_has_command_rows_and_ratio():
    metrics = {"map50": 0.5, "map50_95": 0.25, "tar@far0.01": 0.2, "tar@far0.05": 0.7}
    model = {"params": 3e6, "file_bytes": 12e6, "start": "scratch", "budget": "6 ep", "test": metrics, "ood": metrics}
    lat = {"1": {"ours": {"ms": 10.0, "img_s": 100.0}, "yolov8n": {"ms": 40.0, "img_s": 25.0},
                 "yolov8n_nms_numpy": {"ms": 1.0, "img_s": 1000.0}},
           "8": {"ours": {"ms": 60.0, "img_s": 133.3}, "yolov8n": {"ms": 200.0, "img_s": 40.0},
                 "yolov8n_nms_numpy": {"ms": 5.0, "img_s": 1600.0}}}
    res = {"command": "python benchmarks/peer_yolov8n.py --epochs 6", "smoke": None, "date": "d",
           "data": {"train": "a", "val": "b", "test": "c", "ood": "d", "n_train": 1, "n_val": 1, "n_test": 1, "n_ood": 1},
           "eval": {"conf": 0.001, "iou": 0.5}, "latency": lat,
           "latency_setup": {"threads": 2, "rounds": 3, "ours_size": 512, "peer_size": 512, "conf": 0.25},
           "models": {"ours": {**model, "label": "ours", "path": "o.onnx"}, "yolov8n": {**model, "label": "YOLOv8n"}},
           "environment": {"machine": "cpu", "cpus": 2, "onnxruntime": "1", "ultralytics": "8"}}
    md = peer.render_markdown(res)
    assert "python benchmarks/peer_yolov8n.py --epochs 6" in md
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(rows) == 3 and rows[1].startswith("| ours") and rows[2].startswith("| YOLOv8n")
    assert all(line.count("|") == rows[0].count("|") for line in rows)
    assert "batch 1: 0.25" in md and "batch 8: 0.30" in md
    assert "SMOKE" not in md
    assert "SMOKE" in peer.render_markdown({**res, "smoke": "1 epoch"})
