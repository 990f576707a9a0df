"""Detection metrics: COCO-style average precision (101-point interpolation) in numpy.

AP is computed per class and IoU threshold with greedy matching by descending score
(each ground-truth box matched at most once), as in the COCO protocol without area
ranges or crowd boxes; mAP averages over classes that have ground truth.
"""
from __future__ import annotations

import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``a [N,4]`` and ``b [M,4]`` (xyxy)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    return inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-9)


def average_precision(tp: np.ndarray, scores: np.ndarray, n_gt: int) -> float:
    """101-point interpolated AP from true-positive flags and scores of all detections."""
    if n_gt == 0:
        return float("nan")
    if len(tp) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tp = tp[order].astype(np.float64)
    ctp, cfp = np.cumsum(tp), np.cumsum(1.0 - tp)
    recall = ctp / n_gt
    precision = ctp / np.maximum(ctp + cfp, 1e-12)
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # monotone envelope
    grid = np.linspace(0, 1, 101)
    idx = np.searchsorted(recall, grid, side="left")
    return float(np.where(idx < len(precision), precision[np.minimum(idx, len(precision) - 1)], 0.0).mean())


def mean_average_precision(preds: list[dict], gts: list[dict], num_classes: int,
                           iou_thresholds=np.linspace(0.5, 0.95, 10)) -> dict[str, float]:
    """``preds``/``gts``: per-image dicts of numpy ``boxes``, ``labels`` (+ ``scores`` for preds).

    Returns ``{"map50": ..., "map50_95": ..., "ap50_per_class": [...]}``.
    """
    iou_thresholds = np.asarray(iou_thresholds)
    ap = np.full((num_classes, len(iou_thresholds)), np.nan)
    for c in range(num_classes):
        tps = [[] for _ in iou_thresholds]
        scores, n_gt = [], 0
        for p, g in zip(preds, gts):
            pm, gm = p["labels"] == c, g["labels"] == c
            pb, ps, gb = p["boxes"][pm], p["scores"][pm], g["boxes"][gm]
            n_gt += len(gb)
            if len(pb) == 0:
                continue
            order = np.argsort(-ps, kind="stable")
            pb, ps = pb[order], ps[order]
            scores.append(ps)
            ious = iou_matrix(pb, gb) if len(gb) else np.zeros((len(pb), 0))
            for t, thr in enumerate(iou_thresholds):
                used = np.zeros(len(gb), bool)
                flags = np.zeros(len(pb), bool)
                for i in range(len(pb)):
                    if not len(gb):
                        break
                    cand = np.where(used, -1.0, ious[i])
                    j = int(cand.argmax())
                    if cand[j] >= thr:
                        used[j], flags[i] = True, True
                tps[t].append(flags)
        s = np.concatenate(scores) if scores else np.zeros(0)
        for t in range(len(iou_thresholds)):
            flags = np.concatenate(tps[t]) if tps[t] else np.zeros(0, bool)
            ap[c, t] = average_precision(flags, s, n_gt)
    with np.errstate(all="ignore"):
        has = ~np.isnan(ap[:, 0])
        map50 = float(np.mean(ap[has, 0])) if has.any() else 0.0
        map5095 = float(np.mean(ap[has])) if has.any() else 0.0
    return {"map50": map50, "map50_95": map5095,
            "ap50_per_class": [None if np.isnan(v) else float(v) for v in ap[:, 0]]}
