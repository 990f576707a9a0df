"""Box maths on numpy arrays: IoU, NMS and greedy merging. Boxes are ``(N, 4)`` xyxy."""
from __future__ import annotations

import numpy as np


def box_area(boxes: np.ndarray) -> np.ndarray:
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    return wh[..., 0] * wh[..., 1]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU, shape ``(len(a), len(b))``; 0 where the union is empty."""
    a = np.asarray(a, np.float32).reshape(-1, 4)
    b = np.asarray(b, np.float32).reshape(-1, 4)
    inter = _intersection(a, b)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0).astype(np.float32)


def box_ios(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection over the smaller of the two areas."""
    a = np.asarray(a, np.float32).reshape(-1, 4)
    b = np.asarray(b, np.float32).reshape(-1, 4)
    inter = _intersection(a, b)
    smaller = np.minimum(box_area(a)[:, None], box_area(b)[None, :])
    return np.where(smaller > 0, inter / np.maximum(smaller, 1e-12), 0.0).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, highest score first."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, np.float32), kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if order.size == 1:
            break
        overlaps = box_iou(boxes[i : i + 1], boxes[order[1:]])[0]
        order = order[1:][overlaps <= iou]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou: float) -> np.ndarray:
    """Class-wise NMS (boxes of different labels never suppress each other)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    # Offset each class into its own region of the plane: one NMS pass, class-wise result.
    span = float(boxes.max() - min(boxes.min(), 0.0)) + 1.0
    shifted = boxes + (np.asarray(labels, np.float32) * span)[:, None]
    return nms(shifted, scores, iou)


def overlap_groups(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[np.ndarray]:
    """Group boxes that cover one object whatever their labels: greedy, highest score first.

    Each group is an index array led by its highest-scoring box and holding every box not yet
    grouped whose IoU with the leader is at least ``iou``. Every index appears in exactly one
    group; groups come in descending order of their leader's score. Used for display (one box,
    one tag per object when a detector names an object twice), never to change results.
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, np.float32).reshape(-1), kind="stable")
    groups: list[np.ndarray] = []
    while order.size:
        i = int(order[0])
        overlaps = box_iou(boxes[i : i + 1], boxes[order])[0]
        member = overlaps >= iou
        member[0] = True  # a degenerate (zero-area) leader still forms its own group
        groups.append(order[member].astype(np.int64))
        order = order[~member]
    return groups
