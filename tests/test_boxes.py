import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inspect_cv.detection.boxes import batched_nms, box_iou, box_ios, nms, overlap_groups
from inspect_cv.detection.letterbox import letterbox


def boxes_strategy(max_n=12):
    def to_boxes(a):
        x1 = np.minimum(a[:, 0], a[:, 2]); x2 = np.maximum(a[:, 0], a[:, 2]) + 1
        y1 = np.minimum(a[:, 1], a[:, 3]); y2 = np.maximum(a[:, 1], a[:, 3]) + 1
        return np.stack([x1, y1, x2, y2], 1).astype(np.float32)
    return st.integers(1, max_n).flatmap(
        lambda n: arrays(np.float32, (n, 4), elements=st.floats(0, 200, width=32))).map(to_boxes)


@given(boxes_strategy())
def test_iou_properties(b):
    iou = box_iou(b, b)
    assert np.allclose(np.diag(iou), 1.0, atol=1e-5)
    assert np.allclose(iou, iou.T, atol=1e-6)
    assert (iou >= 0).all() and (iou <= 1 + 1e-6).all()
    assert (box_ios(b, b) >= iou - 1e-6).all()


@given(boxes_strategy(), st.floats(0.05, 0.95))
def test_nms_kept_boxes_do_not_overlap_beyond_threshold(b, thr):
    scores = np.linspace(1, 0.1, len(b)).astype(np.float32)
    keep = nms(b, scores, thr)
    assert len(keep) >= 1 and len(set(keep.tolist())) == len(keep)
    k = b[keep]
    iou = box_iou(k, k) - np.eye(len(k))
    assert (iou <= thr + 1e-6).all()
    # every suppressed box overlaps some kept box with a higher score
    for i in set(range(len(b))) - set(keep.tolist()):
        assert (box_iou(b[i:i + 1], b[keep[keep < i]]) > thr).any()


def test_batched_nms_is_classwise():
    b = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    assert len(batched_nms(b, [0.9, 0.8], [0, 1], 0.5)) == 2
    assert len(batched_nms(b, [0.9, 0.8], [0, 0], 0.5)) == 1


@given(st.integers(1, 400), st.integers(1, 400), st.integers(16, 128), st.integers(16, 128))
def test_letterbox_maps_boxes_back(h, w, H, W):
    img = np.zeros((h, w, 3), np.uint8)
    out, info = letterbox(img, (H, W))
    assert out.shape == (H, W, 3)
    nh, nw = info.new_size
    assert nh <= H and nw <= W and (nh == H or nw == W or abs(nh - H) <= 1 or abs(nw - W) <= 1)
    box = np.array([[0, 0, w, h]], np.float32)
    back = info.boxes_to_original(info.boxes_to_letterbox(box))
    assert np.allclose(back, box, atol=1e-3)


def test_letterbox_pads_with_value_and_keeps_grey():
    img = np.zeros((10, 40), np.uint16)
    out, info = letterbox(img, (32, 32), pad_value=255)
    assert out.dtype == np.uint16 and out.shape == (32, 32)
    assert (out[8:] == 255).all() and (out[:8] == 0).all()


@given(boxes_strategy(), st.floats(0.05, 0.95), st.integers(0, 2**31 - 1))
def test_overlap_groups_partition_led_by_their_best_box(b, thr, seed):
    scores = np.random.default_rng(seed).random(len(b)).astype(np.float32)
    groups = overlap_groups(b, scores, thr)
    flat = np.concatenate(groups)
    assert sorted(flat.tolist()) == list(range(len(b)))          # each box in exactly one group
    leaders = [int(g[0]) for g in groups]
    assert all(scores[leaders[i]] >= scores[leaders[i + 1]] for i in range(len(leaders) - 1))
    for g in groups:
        assert scores[g[0]] == scores[g].max()
        assert (box_iou(b[g[:1]], b[g[1:]]) >= thr - 1e-6).all()
    # no leader overlaps an earlier leader enough to have joined its group
    lb = b[leaders]
    iou = np.triu(box_iou(lb, lb), 1)
    assert (iou < thr + 1e-6).all()


def test_overlap_groups_join_two_classes_on_one_object():
    b = np.array([[10, 10, 100, 50], [12, 11, 98, 52], [200, 10, 260, 40]], np.float32)
    groups = overlap_groups(b, np.array([0.3, 0.45, 0.9], np.float32), 0.6)
    assert [g.tolist() for g in groups] == [[2], [1, 0]]
