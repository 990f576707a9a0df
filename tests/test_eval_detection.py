import json

import numpy as np
import pytest

pytest.importorskip("faster_coco_eval")

from inspect_cv.detection.core import Detections
from inspect_cv.evaluation.detection import alarm_rates, evaluate_detections, save_plots
from inspect_cv.formats.core import DetectionDataset, ImageRecord

CLASSES = ["gun", "knife"]


def dataset(n=20, seed=0):
    rng = np.random.default_rng(seed)
    recs = []
    for i in range(n):
        k = int(rng.integers(0, 3)) if i < n // 2 else 0  # second half threat-free
        xy = rng.uniform(0, 400, (k, 2))
        wh = rng.uniform(20, 80, (k, 2))
        recs.append(ImageRecord(f"{i}.png", 500, 500, np.hstack([xy, xy + wh]), rng.integers(0, 2, k)))
    return DetectionDataset(list(CLASSES), recs)


def perfect(ds, names=CLASSES):
    return [Detections(r.boxes, np.full(len(r.boxes), 0.9), [names.index(CLASSES[l]) for l in r.labels], names)
            for r in ds.images]


def test_perfect_predictions_score_one():
    ds = dataset()
    m = evaluate_detections(ds, perfect(ds), CLASSES)
    assert m.map50 == pytest.approx(1.0) and m.map50_95 == pytest.approx(1.0)
    assert m.alarm["tar@far0.01"] == 1.0
    assert m.n_benign_images == sum(len(r.boxes) == 0 for r in ds.images)


def test_model_class_order_may_differ_from_dataset():
    ds = dataset()
    names = ["knife", "gun", "other"]
    m = evaluate_detections(ds, perfect(ds, names), names)
    assert m.map50 == pytest.approx(1.0)


def test_missing_half_the_boxes_halves_recall():
    ds = dataset(40, seed=1)
    preds = []
    for r in ds.images:
        keep = np.arange(len(r.boxes)) % 2 == 0
        preds.append(Detections(r.boxes[keep], np.full(keep.sum(), 0.9), r.labels[keep], CLASSES))
    m = evaluate_detections(ds, preds, CLASSES)
    found = sum(((np.arange(len(r.boxes)) % 2) == 0).sum() for r in ds.images)
    assert m.map50 == pytest.approx(found / m.n_boxes, abs=0.08)  # AP ~ recall at precision 1
    shifted = [Detections(d.boxes + 15, d.scores, d.labels, CLASSES) for d in perfect(ds)]
    assert evaluate_detections(ds, shifted, CLASSES).map50_95 < 0.6


def test_alarm_rates_thresholds():
    benign = np.linspace(0, 0.5, 100)  # 100 threat-free images
    threat = np.array([0.2, 0.6, 0.7, 0.9])
    s = np.concatenate([benign, threat])
    is_t = np.r_[np.zeros(100, bool), np.ones(4, bool)]
    r = alarm_rates(s, is_t, fars=(0.01, 0.05))
    assert r["far_actual@far0.01"] <= 0.01 and r["far_actual@far0.05"] <= 0.05
    assert r["tar@far0.01"] == 0.75 and r["tar@far0.05"] == 0.75


def test_plots_and_json(tmp_path):
    ds = dataset()
    m = evaluate_detections(ds, perfect(ds), CLASSES)
    paths = save_plots(m, CLASSES, tmp_path)
    assert {p.name for p in paths} == {"pr_curves.png", "alarm_roc.png", "confusion_matrix.png"}
    d = json.loads(m.save(tmp_path / "metrics.json").read_text())
    assert d["per_class"]["gun"]["ap50"] == pytest.approx(1.0)
