"""Aspect-preserving resize plus padding (letterbox), and its inverse for boxes.

The image is scaled by ``r = min(H / h, W / w)`` and placed at the top-left of an
``H x W`` canvas filled with ``pad_value`` (X-ray air is white, hence 255 by default).
A box in the letterboxed frame maps back to the original by dividing by ``r``.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class LetterboxInfo:
    scale: float
    orig_size: tuple[int, int]  # (h, w)
    new_size: tuple[int, int]  # (h, w) of the resized image inside the canvas

    def boxes_to_original(self, boxes: np.ndarray) -> np.ndarray:
        b = np.asarray(boxes, np.float32).reshape(-1, 4) / self.scale
        h, w = self.orig_size
        b[:, [0, 2]] = b[:, [0, 2]].clip(0, w)
        b[:, [1, 3]] = b[:, [1, 3]].clip(0, h)
        return b

    def boxes_to_letterbox(self, boxes: np.ndarray) -> np.ndarray:
        return np.asarray(boxes, np.float32).reshape(-1, 4) * self.scale


def letterbox(image: np.ndarray, size: tuple[int, int], pad_value: float = 255) -> tuple[np.ndarray, LetterboxInfo]:
    """Letterbox ``image`` (H, W[, C]) into ``size = (height, width)``."""
    h, w = image.shape[:2]
    H, W = int(size[0]), int(size[1])
    r = min(H / h, W / w)
    nh, nw = max(1, min(H, round(h * r))), max(1, min(W, round(w * r)))
    if (nh, nw) != (h, w):
        interp = cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(image, (nw, nh), interpolation=interp)
        if image.ndim == 3 and resized.ndim == 2:
            resized = resized[..., None]
    else:
        resized = image
    shape = (H, W) + image.shape[2:]
    canvas = np.full(shape, pad_value, dtype=image.dtype)
    canvas[:nh, :nw] = resized
    return canvas, LetterboxInfo(scale=r, orig_size=(h, w), new_size=(nh, nw))
