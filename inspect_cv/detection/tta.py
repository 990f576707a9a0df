"""Test-time augmentation by mirroring: run a detector on an image and on its mirror image,
then fuse the two views' boxes.

Plain functions over arrays, independent of the model, like the slicing module:

* :func:`mirror_boxes` maps boxes of a left-right mirrored image back to the image;
* :func:`fuse_views` pairs the boxes of two views of one image (same class, IoU at least
  ``iou``, greedily from the highest score), averages each pair's coordinates weighted by
  score, and gives every fused box the *mean* of its two views' scores, a view without a
  partner box counting as 0. An object the model sees both ways keeps its score; a box
  only one view produces drops to half. The scores of a fused detector therefore mean
  something else than a single view's: thresholds must be chosen on calibration data
  *with* the same fusion.

:func:`mirror_tta` wires them to any ``predict_tiles(list_of_arrays, conf=...) -> list[Detections]``.
Each view runs at half the wanted threshold (a box below that in one view counts as 0 there),
and the fused boxes are kept from ``conf`` up.

:func:`gated_mirror_tta` mirrors only the images whose plain view is unsure: its highest
(alarm-class) score lies in a *gate* ``[lo, hi]``. An image scored below ``lo`` is clearly
clean and one above ``hi`` clearly alarms either way, so the second view is spent where it
can change the verdict. The gate belongs to a model and is chosen on calibration data
(``benchmarks/baggage_gated_tta.py``); a card names it in ``extra["tta_gate"]``.

Modes, as strings so they pass through every layer unchanged: ``"none"``, ``"flip"``,
``"gated"`` (the card's gate) and ``"gated:LO,HI"``; :func:`apply_tta` runs any of them.

>>> import numpy as np
>>> from inspect_cv.detection.core import Detections
>>> a = Detections([[10, 10, 20, 20]], [0.8], [0], ("x",), (50, 100))
>>> b = Detections([[80, 10, 90, 20], [0, 0, 5, 5]], [0.6, 0.4], [0, 0], ("x",), (50, 100))
>>> f = fuse_views(a, mirror(b, 100))
>>> f.boxes.tolist(), [round(float(x), 2) for x in f.scores]
([[10.0, 10.0, 20.0, 20.0], [95.0, 0.0, 100.0, 5.0]], [0.7, 0.2])
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..errors import InputError
from .boxes import box_iou
from .core import Detections

MODES = ("none", "flip", "gated")


def mirror_boxes(boxes: np.ndarray, width: float) -> np.ndarray:
    """``[x1, y1, x2, y2]`` boxes of an image mirrored left-right (of ``width`` pixels), in
    the pixels of the unmirrored image; its own inverse."""
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    return np.stack([width - b[:, 2], b[:, 1], width - b[:, 0], b[:, 3]], axis=1).astype(np.float32)


def mirror(det: Detections, width: float) -> Detections:
    """The same detections with their boxes mirrored left-right (see :func:`mirror_boxes`)."""
    return Detections(mirror_boxes(det.boxes, width), det.scores, det.labels, det.class_names,
                      det.image_size, dict(det.meta))


def fuse_views(a: Detections, b: Detections, iou: float = 0.55) -> Detections:
    """Fuse the detections of two views of the same image (boxes already in the same pixels).

    Boxes of one class from different views pair when their IoU is at least ``iou``, the
    highest-scored unpaired box first, with its best-overlapping partner of the other view.
    A pair becomes one box (score-weighted mean of the corners) scored by the mean of the
    two scores; an unpaired box keeps its corners and half its score. Output sorted by score.
    """
    if not 0.0 < iou <= 1.0:
        raise ValueError(f"iou must lie in (0, 1], got {iou}")
    boxes = np.concatenate([a.boxes, b.boxes])
    scores = np.concatenate([a.scores, b.scores]).astype(np.float64)
    labels = np.concatenate([a.labels, b.labels])
    view = np.r_[np.zeros(len(a), np.int8), np.ones(len(b), np.int8)]
    overlap = box_iou(boxes, boxes) if len(boxes) else np.zeros((0, 0))
    used = np.zeros(len(boxes), bool)
    out_b, out_s, out_l = [], [], []
    for i in np.argsort(-scores, kind="stable"):
        if used[i]:
            continue
        used[i] = True
        cand = np.flatnonzero(~used & (view != view[i]) & (labels == labels[i]) & (overlap[i] >= iou))
        if len(cand):
            j = cand[np.argmax(overlap[i, cand])]
            used[j] = True
            w = scores[[i, j]]
            out_b.append((boxes[i] * w[0] + boxes[j] * w[1]) / max(w.sum(), 1e-12))
            out_s.append(w.mean())
        else:
            out_b.append(boxes[i])
            out_s.append(scores[i] / 2.0)
        out_l.append(labels[i])
    if not out_b:
        return Detections.empty(a.class_names or b.class_names, a.image_size)
    s = np.asarray(out_s, np.float32)
    order = np.argsort(-s, kind="stable")
    return Detections(np.asarray(out_b, np.float32)[order], s[order], np.asarray(out_l)[order],
                      a.class_names or b.class_names, a.image_size, dict(a.meta))


def resolve_conf(detector, conf: float | None) -> float:
    """``conf``, else the detector card's default threshold (0.25 without a card): the
    threshold a plain run of ``detector`` would apply."""
    if conf is not None:
        return float(conf)
    card = getattr(detector, "card", None)
    return float((getattr(card, "defaults", None) or {}).get("conf", 0.25))


def parse_tta(tta: str) -> tuple[str, tuple[float, float] | None]:
    """``"none" | "flip" | "gated" | "gated:LO,HI"`` -> (mode, gate or None);
    :class:`InputError` for anything else."""
    mode, _, spec = str(tta).partition(":")
    if mode not in MODES or (spec and mode != "gated"):
        raise InputError(f"unknown test-time augmentation {tta!r} (known: none, flip, gated, gated:LO,HI)")
    if not spec:
        return mode, None
    try:
        lo, hi = (float(x) for x in spec.split(","))
    except ValueError:
        raise InputError(f"a gate is two scores LO,HI (e.g. gated:0.3,0.5), got {spec!r}") from None
    if not (0.0 <= lo <= hi):
        raise InputError(f"a gate needs 0 <= LO <= HI, got {lo:g},{hi:g}")
    return mode, (lo, hi)


def resolve_tta(detector, tta: str | None) -> str:
    """``tta``, else the detector card's ``extra["tta"]`` (its thresholds were chosen with it),
    else ``"none"``. A bare ``"gated"`` takes the card's ``extra["tta_gate"]`` and comes back as
    ``"gated:LO,HI"``; :class:`InputError` for an unknown mode or a gate the card does not have."""
    extra = (getattr(getattr(detector, "card", None), "extra", None) or {})
    if tta is None:
        tta = str(extra.get("tta", "none"))
    mode, gate = parse_tta(tta)
    if mode != "gated":
        return mode
    if gate is None:
        card_gate = extra.get("tta_gate")
        if not card_gate:
            raise InputError("this model's card names no gate for gated mirroring (extra.tta_gate): "
                             "give one, e.g. gated:0.3,0.5 (choose it with benchmarks/baggage_gated_tta.py)")
        _, gate = parse_tta("gated:" + ",".join(str(float(x)) for x in card_gate))
    return f"gated:{gate[0]:g},{gate[1]:g}"


def alarm_labels(detector) -> list[int] | None:
    """Indices of the detector's alarm classes (None: every class), the scores a gate looks at."""
    classes, alarm = list(getattr(detector, "classes", ()) or ()), getattr(detector, "alarm_classes", None)
    if not classes or alarm is None:
        return None
    return [i for i, n in enumerate(classes) if n in set(alarm)]


def top_score(det: Detections, labels: Sequence[int] | None = None) -> float:
    """The highest score among ``labels`` (None: all), 0 without such a box."""
    s = det.scores if labels is None else det.scores[np.isin(det.labels, np.asarray(list(labels), np.int64))]
    return float(s.max()) if len(s) else 0.0


def mirror_tta(predict_tiles: Callable[..., list[Detections]], images: Sequence[np.ndarray],
               conf: float | None = None, iou_fuse: float = 0.55, **kw) -> list[Detections]:
    """``predict_tiles`` over ``images`` and over their mirror images, fused per image.

    ``conf`` (default 0.25, as the detectors'): each view runs at ``conf / 2``, fused boxes
    are kept from ``conf``. Extra keywords go to ``predict_tiles``.
    """
    conf = 0.25 if conf is None else float(conf)
    view_conf = conf / 2.0
    images = list(images)
    # one call over both views: a batch of 2N runs faster than two of N
    both = predict_tiles(images + [np.ascontiguousarray(im[:, ::-1]) for im in images], conf=view_conf, **kw)
    plain, flipped = both[:len(images)], both[len(images):]
    out = []
    for im, d0, d1 in zip(images, plain, flipped):
        fused = fuse_views(d0, mirror(d1, im.shape[1]), iou_fuse)
        out.append(fused[fused.scores >= conf])
    return out


def gated_mirror_tta(predict_tiles: Callable[..., list[Detections]], images: Sequence[np.ndarray],
                     gate: tuple[float, float], conf: float | None = None, labels: Sequence[int] | None = None,
                     iou_fuse: float = 0.55, **kw) -> list[Detections]:
    """Plain view of every image; the mirror view too, fused as in :func:`mirror_tta`, only for
    the images whose highest plain score among ``labels`` (None: all classes) lies in
    ``gate = (lo, hi)``. The others keep their plain boxes. ``meta["mirrored"]`` says which.

    The plain view runs at ``min(conf / 2, lo)`` (``conf / 2`` when ``lo`` is 0), so it sees
    every score the gate and the fusion look at; one more call runs the mirrored images.
    """
    conf = 0.25 if conf is None else float(conf)
    lo, hi = (float(gate[0]), float(gate[1]))
    view_conf = min(conf / 2.0, lo) if lo > 0 else conf / 2.0
    images = list(images)
    plain = predict_tiles(images, conf=view_conf, **kw)
    go = [i for i, d in enumerate(plain) if lo <= top_score(d, labels) <= hi]
    flipped = predict_tiles([np.ascontiguousarray(images[i][:, ::-1]) for i in go], conf=view_conf, **kw) if go else []
    out = [d[d.scores >= conf] for d in plain]
    for i, d1 in zip(go, flipped):
        fused = fuse_views(plain[i], mirror(d1, images[i].shape[1]), iou_fuse)
        out[i] = fused[fused.scores >= conf]
    mirrored = set(go)
    for i, d in enumerate(out):
        d.meta["mirrored"] = i in mirrored
    return out


def apply_tta(predict_tiles: Callable[..., list[Detections]], images: Sequence[np.ndarray], tta: str,
              conf: float | None = None, labels: Sequence[int] | None = None, **kw) -> list[Detections]:
    """Run ``predict_tiles`` over ``images`` in mode ``tta`` (a resolved mode: ``"none"``,
    ``"flip"`` or ``"gated:LO,HI"``; ``conf`` already resolved for the two mirrored modes)."""
    mode, gate = parse_tta(tta)
    if mode == "none":
        return predict_tiles(list(images), conf=conf, **kw)
    if mode == "flip":
        return mirror_tta(predict_tiles, images, conf=conf, **kw)
    if gate is None:
        raise InputError("gated mirroring needs a gate (gated:LO,HI); resolve_tta fills in the card's")
    return gated_mirror_tta(predict_tiles, images, gate, conf=conf, labels=labels, **kw)
