"""Drawing results on scans: boxes, labels with scores, and an alarm banner.

Colours are chosen to stay readable on both pseudo-colour X-ray (orange/green/blue on
white) and greyscale scans: saturated magenta / yellow / cyan outlines with a dark
border, and labels on an opaque dark tag. When a detector names one object twice (boxes of
different classes overlapping by IoU >= 0.6), it is drawn once with both names on its tag, and
tags step aside rather than cover each other. The results themselves are never changed.
"""
from __future__ import annotations

import cv2
import numpy as np

from .detection.boxes import box_iou, overlap_groups
from .detection.core import Detections
from .runtime.preprocess import to_model_rgb

PALETTE = [(255, 0, 255), (255, 230, 0), (0, 255, 255), (255, 80, 80), (80, 255, 80),
           (255, 140, 0), (160, 100, 255), (255, 255, 255)]

SAME_OBJECT_IOU = 0.6   # boxes of different classes overlapping this much are drawn as one object
MAX_TAG_NAMES = 3


def tag_text(named_scores: list[tuple[str, float]]) -> str:
    """One tag for one object: ``"pliers 0.32 / wrench 0.30"``, best first, each class once."""
    seen: dict[str, float] = {}
    for name, score in named_scores:
        seen[name] = max(score, seen.get(name, -1.0))
    parts = sorted(seen.items(), key=lambda kv: -kv[1])
    text = " / ".join(f"{n} {s:.2f}" for n, s in parts[:MAX_TAG_NAMES])
    return text + (f" +{len(parts) - MAX_TAG_NAMES}" if len(parts) > MAX_TAG_NAMES else "")


def _hits(r: tuple[int, int, int, int], placed: list[tuple[int, int, int, int]]) -> bool:
    return bool(placed) and bool((box_iou(np.asarray([r]), np.asarray(placed)) > 0).any())


def place_tag(box: tuple[int, int, int, int], size: tuple[int, int], canvas: tuple[int, int],
              placed: list[tuple[int, int, int, int]]) -> tuple[int, int]:
    """Top-left corner of a ``size`` (w, h) tag for ``box`` (x1, y1, x2, y2) on a ``canvas``
    (h, w): above the box, else below it, else inside its top edge, stepping down a tag height
    at a time until it covers no tag in ``placed``; always on the canvas when it fits."""
    tw, th = size
    ch, cw = canvas
    x = min(max(0, box[0]), max(0, cw - tw))
    starts = [box[1] - th - 2, box[3] + 2, box[1] + 2]
    tries = [y for y in starts if 0 <= y <= ch - th] or [max(0, min(box[1], ch - th))]
    for y0 in tries:
        if not _hits((x, y0, x + tw, y0 + th), placed):
            return x, y0
    y = tries[0]
    for _ in range(64):                       # walk down (then wrap to the top) past other tags
        y += th
        if y > ch - th:
            y = 0
        if not _hits((x, y, x + tw, y + th), placed):
            return x, y
    return x, tries[0]


def _text_scale(h: int, w: int) -> float:
    return max(0.45, min(2.0, max(h, w) / 1400))


def draw_detections(image: np.ndarray, det: Detections, alarm: bool | None = None,
                    title: str | None = None, max_side: int | None = None) -> np.ndarray:
    """Return an RGB uint8 copy of ``image`` with ``det`` drawn on it.

    ``alarm`` adds a red ALARM or green CLEAR banner on top; ``max_side`` downsizes the
    output first (boxes scaled accordingly), for overviews of very long scans.
    """
    canvas = np.clip(to_model_rgb(image), 0, 255).astype(np.uint8)
    boxes = det.boxes.copy()
    if max_side and max(canvas.shape[:2]) > max_side:
        r = max_side / max(canvas.shape[:2])
        canvas = cv2.resize(canvas, (max(1, round(canvas.shape[1] * r)), max(1, round(canvas.shape[0] * r))),
                            interpolation=cv2.INTER_AREA)
        boxes *= r
    canvas = np.ascontiguousarray(canvas)
    h, w = canvas.shape[:2]
    fs = _text_scale(h, w)
    thick = max(2, round(fs * 2.5))
    font = cv2.FONT_HERSHEY_SIMPLEX
    names = det.label_names
    placed: list[tuple[int, int, int, int]] = []
    for group in overlap_groups(boxes, det.scores, SAME_OBJECT_IOU):
        lead = int(group[0])
        colour = PALETTE[int(det.labels[lead]) % len(PALETTE)]
        x1, y1, x2, y2 = boxes[lead]
        p1, p2 = (int(round(x1)), int(round(y1))), (int(round(x2)), int(round(y2)))
        cv2.rectangle(canvas, p1, p2, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.rectangle(canvas, p1, p2, colour, thick, cv2.LINE_AA)
        text = tag_text([(names[int(i)], float(det.scores[int(i)])) for i in group])
        (tw, th), base = cv2.getTextSize(text, font, fs, max(1, thick // 2))
        tag_w, tag_h = tw + 4, th + base + base // 2
        tx, ty = place_tag((p1[0], p1[1], p2[0], p2[1]), (tag_w, tag_h), (h, w), placed)
        placed.append((tx, ty, tx + tag_w, ty + tag_h))
        cv2.rectangle(canvas, (tx, ty), (tx + tag_w, ty + tag_h), (20, 20, 20), -1)
        cv2.putText(canvas, text, (tx + 2, ty + th), font, fs, colour, max(1, thick // 2), cv2.LINE_AA)
    if alarm is not None or title:
        bh = int(th_banner := max(24, round(34 * fs)))
        banner = np.zeros((bh, w, 3), np.uint8)
        banner[:] = (200, 20, 20) if alarm else (20, 130, 40) if alarm is not None else (40, 40, 40)
        label = ("ALARM" if alarm else "CLEAR") if alarm is not None else ""
        if det is not None and alarm:
            names = sorted(set(det.label_names))
            label += ": " + ", ".join(names)
        if title:
            label = f"{label}   {title}" if label else title
        cv2.putText(banner, label, (8, th_banner - 10), font, fs * 0.9, (255, 255, 255), max(1, thick // 2), cv2.LINE_AA)
        canvas = np.concatenate([banner, canvas], axis=0)
    return canvas
