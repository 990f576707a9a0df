"""Items found vs false alarms per scan (inspect_cv.container.evaluate)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_cv.container.evaluate import (at_class_thresholds, choose_class_thresholds, froc,
                                           recall_at_false_alarms, score_scan)
from inspect_cv.errors import InputError

ITEMS = np.array([[100, 100, 200, 150], [400, 50, 420, 70]], np.float32)
LABELS = np.array([0, 1])


def test_found_missed_and_false_alarms():
    det = np.array([[102, 98, 205, 152],      # item 0, right class
                    [110, 105, 190, 145],     # second box on item 0: neither find nor false alarm
                    [401, 51, 419, 69],       # on item 1 but wrong class: not found, not a false alarm
                    [800, 10, 860, 60]],      # nowhere near an item: false alarm
                   np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    labels = np.array([0, 0, 0, 2])
    item_score, fa = score_scan(det, scores, labels, ITEMS, LABELS)
    assert item_score.tolist() == pytest.approx([0.9, 0.0])
    assert fa.tolist() == [False, False, False, True]
    # a scan with no items: every box is a false alarm; no boxes: nothing
    assert score_scan(det, scores, labels, np.zeros((0, 4)), [])[1].all()
    s, f = score_scan(np.zeros((0, 4)), [], [], ITEMS, LABELS)
    assert s.tolist() == [0, 0] and f.size == 0


def test_froc_reads_the_budget():
    t, rec, fa = froc([0.9, 0.5, 0.0, 0.3], [0.95, 0.4, 0.2], n_scans=20, thresholds=[0.1, 0.35, 0.45, 0.6, 0.96])
    assert rec.tolist() == pytest.approx([0.75, 0.5, 0.5, 0.25, 0.0])
    assert fa.tolist() == pytest.approx([3 / 20, 2 / 20, 1 / 20, 1 / 20, 0.0])
    assert recall_at_false_alarms(t, rec, fa, 0.05) == pytest.approx((0.5, 0.05, 0.45))
    assert all(np.isnan(recall_at_false_alarms(t, rec, fa, -1.0)))


def test_bad_inputs():
    with pytest.raises(InputError):
        score_scan(ITEMS, [0.5], [0, 1], ITEMS, LABELS)
    with pytest.raises(InputError):
        score_scan(ITEMS, [0.5, 0.5], [0, 1], ITEMS, LABELS, iou=0)
    with pytest.raises(InputError):
        froc([0.5], [0.5], n_scans=0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), max_size=30), st.lists(st.floats(0, 1), max_size=30), st.integers(1, 50))
def test_froc_is_monotone(items, false_alarms, n):
    t, rec, fa = froc(items, false_alarms, n)
    assert np.all(np.diff(t) > 0)
    assert np.all(np.diff(fa) <= 1e-12)
    if items:
        assert np.all(np.diff(rec) <= 1e-12) and np.all((rec >= 0) & (rec <= 1))
    r, f, th = recall_at_false_alarms(t, rec, fa, 0.05)
    if np.isfinite(f):
        assert f <= 0.05 and not np.any(fa[t < th] <= 0.05)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2 ** 31 - 1))
def test_exact_boxes_are_all_found_without_false_alarms(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    xy = rng.uniform(0, 1000, (n, 2))
    wh = rng.uniform(5, 200, (n, 2))
    boxes = np.concatenate([xy, xy + wh], 1)
    labels = rng.integers(0, 4, n)
    item_score, fa = score_scan(boxes, np.full(n, 0.7), labels, boxes, labels)
    assert np.all(item_score == 0.7) and not fa.any()


def test_class_thresholds_spend_the_budget_where_items_are():
    """Pistols score low and cleanly, cars high with false alarms near their scores: one
    threshold for both misses the pistols; per-class thresholds find all within budget."""
    items = np.array([0.3, 0.32, 0.35, 0.9, 0.92])
    labels = np.array([0, 0, 0, 1, 1])
    fa = np.array([0.1, 0.12, 0.5, 0.55, 0.6])
    fa_lab = np.array([0, 0, 1, 1, 1])
    th = choose_class_thresholds(items, labels, fa, fa_lab, 2, n_scans=20, budget=0.05)   # 1 false alarm allowed
    got = at_class_thresholds(items, labels, fa, fa_lab, th, 20)
    assert got["recall"] == 1.0 and got["fa_per_scan"] <= 0.05
    assert 0.125 < th[0] <= 0.3 and 0.6 < th[1] <= 0.9
    t, r, f = froc(items, fa, 20)
    assert recall_at_false_alarms(t, r, f, 0.05)[0] < 1.0               # a single threshold cannot
    assert got["per_class"] == {0: 1.0, 1: 1.0}
    with pytest.raises(InputError):
        choose_class_thresholds(items, labels[:2], fa, fa_lab, 2, 20)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 2)), max_size=30),
       st.lists(st.tuples(st.floats(0, 1), st.integers(0, 2)), max_size=30),
       st.integers(1, 40), st.sampled_from([0.0, 0.05, 0.5]))
def test_class_thresholds_keep_the_budget_and_beat_one_threshold(items, fas, n, budget):
    i_s, i_l = np.array([a for a, _ in items]), np.array([b for _, b in items], int)
    f_s, f_l = np.array([a for a, _ in fas]), np.array([b for _, b in fas], int)
    grid = np.round(np.arange(0.05, 0.951, 0.05), 4)
    th = choose_class_thresholds(i_s, i_l, f_s, f_l, 3, n, budget, grid)
    got = at_class_thresholds(i_s, i_l, f_s, f_l, th, n)
    single = [g for g in grid if (f_s >= g).sum() <= budget * n + 1e-9]
    if single or (f_s >= grid[-1]).sum() <= budget * n + 1e-9:
        assert got["fa_per_scan"] <= budget + 1e-9
    if single and len(i_s):
        assert got["recall"] >= (i_s >= min(single)).mean() - 1e-12


def test_benchmark_by_cargo_counts_at_threshold():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "container_detect.py"
    spec = importlib.util.spec_from_file_location("container_detect_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = [{"cargo": "timber", "items": [{"label": "firearm", "score": 0.9}], "fa_scores": [0.6, 0.2]},
            {"cargo": "timber", "items": [], "fa_scores": [0.7]},
            {"cargo": "grain", "items": [{"label": "firearm", "score": 0.3}], "fa_scores": []},
            {"file": "bad.tif", "error": "unreadable"}]
    got = mod.by_cargo(rows, 0.5)
    assert list(got) == ["grain", "timber"]
    assert got["timber"] == {"scans": 2, "items": 1, "found": 1, "false_alarms": 2, "fa_per_scan": 1.0, "recall": 1.0}
    assert got["grain"]["found"] == 0 and got["grain"]["fa_per_scan"] == 0.0 and got["grain"]["recall"] == 0.0
