import numpy as np
import pytest

from inspect_cv.detection.core import Detections


def make(n=3):
    boxes = np.array([[0, 0, 10, 10], [5, 5, 20, 25], [30, 0, 40, 8]], np.float32)[:n]
    return Detections(boxes, [0.9, 0.3, 0.6][:n], [0, 1, 0][:n], ("gun", "knife"), (50, 60))


def test_shapes_and_dtypes():
    d = make()
    assert d.boxes.dtype == np.float32 and d.scores.dtype == np.float32 and d.labels.dtype == np.int64
    assert len(d) == 3 and d.label_names == ["gun", "knife", "gun"]
    assert np.allclose(d.area, [100, 300, 80])


def test_mismatched_lengths_rejected():
    with pytest.raises(ValueError):
        Detections(np.zeros((2, 4)), [0.1], [0, 1])
    with pytest.raises(ValueError):
        Detections(np.zeros((2, 3)), [0.1, 0.2], [0, 1])


def test_filter_sort_index():
    d = make()
    assert len(d.filter(conf=0.5)) == 2
    assert d.filter(classes=["knife"]).label_names == ["knife"]
    s = d.sort()
    assert list(s.scores) == sorted(d.scores, reverse=True)
    assert len(d[np.array([True, False, True])]) == 2 and len(d[1]) == 1
    # one threshold per class; classes not named get the lowest one
    names = d.label_names
    per = d.filter(conf={"knife": 0.25})
    assert len(per) == int((d.scores >= 0.25).sum())
    strict = d.filter(conf={"knife": 0.99, names[0] if names[0] != "knife" else "gun": 0.0})
    assert "knife" not in strict.label_names
    with pytest.raises(ValueError):
        d.filter(conf={})


def test_converters():
    d = make()
    rec = d.to_records()
    assert rec[1] == {"label": "knife", "score": 0.3, "box": [5.0, 5.0, 20.0, 25.0]}
    coco = d.to_coco(image_id=7, category_ids=[1, 2])
    assert coco[1]["bbox"] == [5.0, 5.0, 15.0, 20.0] and coco[1]["category_id"] == 2
    y = d.to_yolo(width=60, height=50)
    cls, cx, cy, w, h = y[0].split()
    assert cls == "0" and float(cx) == pytest.approx(5 / 60, abs=1e-6) and float(h) == pytest.approx(10 / 50, abs=1e-6)


def test_scale_clip_concat_empty():
    d = make()
    s = d.scale(2.0, dx=1)
    assert np.allclose(s.boxes[0], [1, 0, 21, 20])
    c = s.clip(30, 30)
    assert c.boxes.max() <= 30
    e = Detections.empty(("a",))
    assert len(e) == 0 and e.to_records() == []
    assert len(Detections.concatenate([d, d])) == 6
