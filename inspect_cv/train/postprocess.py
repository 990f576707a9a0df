"""Postprocessing: decode raw predictions to boxes and scores, then class-wise NMS.

:func:`decode` is the one decode used in evaluation *and* traced into the exported ONNX
graph. NMS semantics are those of ONNX ``NonMaxSuppression`` with per-image, per-class
suppression: a candidate is an (anchor, class) pair whose score is strictly above
``conf``; within one image and class, boxes are kept greedily by descending score and a
box is dropped when its IoU with a kept box is above ``iou``; at most ``max_per_class``
boxes are kept per image and class. :func:`nms_torch` implements exactly that with
``torchvision.ops.batched_nms``; the graph uses the ONNX op (``export.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


def decode(cls_logits: torch.Tensor, distances: torch.Tensor, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw outputs to ``boxes [N, A, 4]`` (xyxy, input pixels) and ``scores [N, A, C]``.

    ``distances`` are (left, top, right, bottom) from the anchor ``points [A, 2]``.
    """
    scores = cls_logits.sigmoid()
    boxes = torch.cat([points - distances[..., :2], points + distances[..., 2:]], dim=-1)
    return boxes, scores


@dataclass
class NMSResult:
    """Flat detections of a batch, the layout of the ONNX ``nms`` outputs."""

    boxes: torch.Tensor  # [M, 4]
    scores: torch.Tensor  # [M]
    labels: torch.Tensor  # [M] int64
    batch: torch.Tensor  # [M] int64
    anchors: torch.Tensor | None = None  # [M] int64 anchor index of each detection

    def per_image(self, n: int) -> list[dict[str, torch.Tensor]]:
        """Split into ``n`` dicts with ``boxes``, ``scores``, ``labels``."""
        out = []
        for i in range(n):
            m = self.batch == i
            out.append({"boxes": self.boxes[m], "scores": self.scores[m], "labels": self.labels[m]})
        return out


def nms_torch(boxes: torch.Tensor, scores: torch.Tensor, conf: float, iou: float, max_per_class: int) -> NMSResult:
    """Per-image, per-class NMS with the semantics of ONNX ``NonMaxSuppression``.

    ``boxes [N, A, 4]``, ``scores [N, A, C]`` as returned by :func:`decode`.
    """
    from torchvision.ops import batched_nms

    n, a, c = scores.shape
    b_idx, a_idx, c_idx = torch.nonzero(scores > conf, as_tuple=True)
    cand_boxes = boxes[b_idx, a_idx].float()
    cand_scores = scores[b_idx, a_idx, c_idx].float()
    group = b_idx * c + c_idx
    keep = batched_nms(cand_boxes, cand_scores, group, iou)  # sorted by descending score
    if max_per_class > 0 and keep.numel():
        g = group[keep]
        order = torch.argsort(g, stable=True)  # groups together, score order kept inside
        g_sorted = g[order]
        first = torch.ones_like(g_sorted, dtype=torch.bool)
        first[1:] = g_sorted[1:] != g_sorted[:-1]
        start = torch.cummax(torch.where(first, torch.arange(len(g_sorted)), torch.zeros_like(g_sorted)), 0).values
        rank = torch.arange(len(g_sorted)) - start
        keep = keep[order[rank < max_per_class]]
    return NMSResult(cand_boxes[keep], cand_scores[keep], c_idx[keep], b_idx[keep], a_idx[keep])


class PostProcessor(torch.nn.Module):
    """Decode + NMS for evaluation: ``(cls_logits, distances, points) -> NMSResult``."""

    def __init__(self, conf: float = 0.001, iou: float = 0.6, max_per_class: int = 100):
        super().__init__()
        self.conf, self.iou, self.max_per_class = conf, iou, max_per_class

    @torch.no_grad()
    def forward(self, cls_logits: torch.Tensor, distances: torch.Tensor, points: torch.Tensor) -> NMSResult:
        boxes, scores = decode(cls_logits, distances, points)
        return nms_torch(boxes, scores, self.conf, self.iou, self.max_per_class)
