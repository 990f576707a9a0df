"""Drawing results on scans: boxes, labels with scores, and an alarm banner.

Colours are chosen to stay readable on both pseudo-colour X-ray (orange/green/blue on
white) and greyscale scans: saturated magenta / yellow / cyan outlines with a dark
border, and labels on an opaque dark tag.
"""
from __future__ import annotations

import cv2
import numpy as np

from .detection.core import Detections
from .runtime.preprocess import to_model_rgb

PALETTE = [(255, 0, 255), (255, 230, 0), (0, 255, 255), (255, 80, 80), (80, 255, 80),
           (255, 140, 0), (160, 100, 255), (255, 255, 255)]


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
    for (x1, y1, x2, y2), score, label, name in zip(boxes, det.scores, det.labels, det.label_names):
        colour = PALETTE[int(label) % len(PALETTE)]
        p1, p2 = (int(round(x1)), int(round(y1))), (int(round(x2)), int(round(y2)))
        cv2.rectangle(canvas, p1, p2, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.rectangle(canvas, p1, p2, colour, thick, cv2.LINE_AA)
        text = f"{name} {score:.2f}"
        (tw, th), base = cv2.getTextSize(text, font, fs, max(1, thick // 2))
        ty = p1[1] - 4 if p1[1] - th - base - 4 > 0 else p2[1] + th + base + 4
        tx = min(max(0, p1[0]), max(0, w - tw - 4))
        cv2.rectangle(canvas, (tx, ty - th - base), (tx + tw + 4, ty + base // 2), (20, 20, 20), -1)
        cv2.putText(canvas, text, (tx + 2, ty - base // 2), font, fs, colour, max(1, thick // 2), cv2.LINE_AA)
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
