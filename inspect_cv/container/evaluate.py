"""Scoring a container detector the way an officer meets it: items found against false
alarms per scan (an FROC curve), not box-level mAP.

* an item is **found** at threshold ``t`` when a detection of its class with score >= t
  overlaps it with IoU >= ``iou`` (0.3 by default: the officer is sent to the right place; a
  long item cut by tile borders is merged, not exact);
* a **false alarm** is a detection with score >= t that touches no true item (IoU < 0.1 with
  every item and less than half of it inside any item); a second box on an item, or a box of
  another class on it, is neither;
* :func:`froc` sweeps t; :func:`recall_at_false_alarms` reads the curve at a false-alarm budget;
* :func:`choose_class_thresholds` picks one threshold per class (an operating point chosen on
  calibration scans, stored in the card's ``extra["class_conf"]``): the classes do not score
  alike (a pistol in a carton scores lower than a car), so one threshold for all wastes the
  false-alarm budget; :func:`at_class_thresholds` scores a set at such a point.

Plain numpy over arrays, independent of the model (``benchmarks/container_detect.py`` and the
container notebook use it).
"""
from __future__ import annotations

import numpy as np

from inspect_cv.errors import InputError


def box_overlaps(det: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(IoU, fraction of each detection inside each item), both ``(len(det), len(items))``."""
    a = np.asarray(det, np.float64).reshape(-1, 4)
    b = np.asarray(items, np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    aa = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    ab = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    iou = inter / np.maximum(aa[:, None] + ab[None, :] - inter, 1e-9)
    return iou, inter / np.maximum(aa[:, None], 1e-9)


def score_scan(det_boxes, det_scores, det_labels, item_boxes, item_labels,
               iou: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """One scan: (per item the best score of a same-class detection with IoU >= ``iou``, 0
    when none; per detection whether it is a false alarm)."""
    if not 0 < iou <= 1:
        raise InputError(f"iou must be in (0, 1], got {iou}")
    db = np.asarray(det_boxes, np.float64).reshape(-1, 4)
    ds = np.asarray(det_scores, np.float64).reshape(-1)
    dl = np.asarray(det_labels).reshape(-1)
    ib = np.asarray(item_boxes, np.float64).reshape(-1, 4)
    il = np.asarray(item_labels).reshape(-1)
    if not (len(db) == len(ds) == len(dl)) or len(ib) != len(il):
        raise InputError("boxes, scores and labels must have the same length")
    item_score = np.zeros(len(ib))
    if len(db) == 0:
        return item_score, np.zeros(0, bool)
    if len(ib) == 0:
        return item_score, np.ones(len(db), bool)
    ov, inside = box_overlaps(db, ib)
    hit = (ov >= iou) & (dl[:, None] == il[None, :])
    for j in range(len(ib)):
        if hit[:, j].any():
            item_score[j] = ds[hit[:, j]].max()
    false_alarm = (ov.max(1) < 0.1) & (inside.max(1) < 0.5)
    return item_score, false_alarm


def froc(item_scores, false_alarm_scores, n_scans: int,
         thresholds=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds ascending, recall, false alarms per scan) from the pooled per-item best
    scores (0 = never found) and the scores of all false-alarm boxes over ``n_scans`` scans."""
    if n_scans < 1:
        raise InputError(f"n_scans must be >= 1, got {n_scans}")
    t = np.asarray(np.round(np.arange(0.02, 1.0, 0.005), 4) if thresholds is None else thresholds, np.float64)
    s = np.asarray(item_scores, np.float64).reshape(-1)
    s = np.sort(np.where(s > 0, s, -1.0))   # 0 = never found, even at a threshold of 0
    f = np.sort(np.asarray(false_alarm_scores, np.float64).reshape(-1))
    recall = (len(s) - np.searchsorted(s, t, side="left")) / max(len(s), 1) if len(s) else np.full(len(t), np.nan)
    fa = (len(f) - np.searchsorted(f, t, side="left")) / float(n_scans)
    return t, np.asarray(recall, np.float64), np.asarray(fa, np.float64)


def recall_at_false_alarms(thresholds, recall, fa_per_scan, budget: float = 0.05) -> tuple[float, float, float]:
    """(recall, false alarms per scan, threshold) at the lowest threshold whose false alarms
    per scan stay within ``budget``; NaNs when no threshold does."""
    ok = np.flatnonzero(np.asarray(fa_per_scan) <= budget)
    if len(ok) == 0:
        return float("nan"), float("nan"), float("nan")
    i = int(ok[0])
    return float(recall[i]), float(fa_per_scan[i]), float(thresholds[i])


def _scored(item_scores, item_labels, fa_scores, fa_labels):
    i_s, i_l = np.asarray(item_scores, float).ravel(), np.asarray(item_labels, int).ravel()
    f_s, f_l = np.asarray(fa_scores, float).ravel(), np.asarray(fa_labels, int).ravel()
    if len(i_s) != len(i_l) or len(f_s) != len(f_l):
        raise InputError("scores and labels must have the same length")
    return i_s, i_l, f_s, f_l


def _per_class_counts(item_scores, item_labels, fa_scores, fa_labels, n_classes: int, grid: np.ndarray):
    """found[c, g] (items of class c with score >= grid[g]) and fa[c, g] (false alarms of class c)."""
    i_s, i_l, f_s, f_l = _scored(item_scores, item_labels, fa_scores, fa_labels)
    found = np.stack([(i_s[i_l == c][:, None] >= grid[None, :]).sum(0) for c in range(n_classes)])
    fa = np.stack([(f_s[f_l == c][:, None] >= grid[None, :]).sum(0) for c in range(n_classes)])
    return found, fa


def choose_class_thresholds(item_scores, item_labels, fa_scores, fa_labels, n_classes: int, n_scans: int,
                            budget: float = 0.05, grid=None) -> np.ndarray:
    """One threshold per class maximising the items found while the false alarms per scan
    (all classes together) stay within ``budget``; ties go to fewer false alarms, then to
    higher thresholds.

    ``item_scores``: the best score of a same-class detection on each item (0 when none),
    ``item_labels`` their classes; ``fa_scores``/``fa_labels``: the false-alarm boxes. Searched
    exhaustively over ``grid`` (default 0.05 to 0.95 by 0.025), so at most 5 classes. One
    threshold for all classes is a point of the search, so on the data given the result never
    finds fewer items than the best single threshold of the grid.
    """
    grid = np.round(np.arange(0.05, 0.951, 0.025), 4) if grid is None else np.asarray(grid, float)
    if n_scans < 1 or not 1 <= n_classes <= 5 or not len(grid):
        raise InputError("need at least one scan, 1 to 5 classes and one grid threshold")
    found, fa = _per_class_counts(item_scores, item_labels, fa_scores, fa_labels, n_classes, grid)
    allowed = budget * n_scans + 1e-9
    g = len(grid)
    idx = np.indices((g,) * n_classes).reshape(n_classes, -1)                # every combination
    tot_found = sum(found[c][idx[c]] for c in range(n_classes))
    tot_fa = sum(fa[c][idx[c]] for c in range(n_classes))
    ok = tot_fa <= allowed
    if not ok.any():
        return np.full(n_classes, float(grid[-1]))
    key = np.lexsort((-idx.sum(0), tot_fa, -tot_found))                   # last key sorts first
    return grid[idx[:, key[ok[key]][0]]].astype(float)


def at_class_thresholds(item_scores, item_labels, fa_scores, fa_labels, thresholds, n_scans: int) -> dict:
    """Recall, false alarms per scan and per-class recall at per-class ``thresholds``."""
    th = np.asarray(thresholds, float)
    i_s, i_l, f_s, f_l = _scored(item_scores, item_labels, fa_scores, fa_labels)
    hit = (i_l >= 0) & (i_s >= th[np.clip(i_l, 0, None)]) if len(i_s) else np.zeros(0, bool)  # -1: unknown class
    fa = f_s >= th[f_l] if len(f_s) else np.zeros(0, bool)
    per_class = {int(c): (float(hit[i_l == c].mean()) if (i_l == c).any() else None) for c in range(len(th))}
    return {"recall": float(hit.mean()) if len(hit) else float("nan"),
            "fa_per_scan": float(fa.sum() / max(n_scans, 1)), "per_class": per_class}


__all__ = ["box_overlaps", "score_scan", "froc", "recall_at_false_alarms", "choose_class_thresholds",
           "at_class_thresholds"]
