"""Training criterion: a task-aligned assigner, quality focal loss and GIoU loss.

- Assignment follows the task-aligned idea of TOOD (Feng et al., ICCV 2021): for each
  ground-truth box, among the anchor points inside it, the ``topk`` with the highest
  alignment ``score**alpha * IoU**beta`` become positives; a point claimed by several
  boxes goes to the one it overlaps most.
- Classification uses quality focal loss (Li et al., "Generalized Focal Loss", NeurIPS
  2020): sigmoid scores regress a soft target, the normalised alignment, so the score
  ranks boxes by localisation quality as well as class.
- Boxes use the GIoU loss (Rezatofighi et al., CVPR 2019), weighted by the soft target.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .postprocess import decode


def box_iou_pairs(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-7) -> tuple[torch.Tensor, torch.Tensor]:
    """IoU and GIoU of boxes ``a[..., 4]`` and ``b[..., 4]`` (broadcast, xyxy)."""
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    union = area_a + area_b - inter + eps
    iou = inter / union
    hull = (torch.maximum(a[..., 2:], b[..., 2:]) - torch.minimum(a[..., :2], b[..., :2])).clamp(min=0).prod(-1) + eps
    return iou, iou - (hull - union) / hull


def pad_targets(targets: list[dict[str, torch.Tensor]], device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """List of ``{"boxes", "labels"}`` to padded ``boxes [N,G,4]``, ``labels [N,G]``, ``mask [N,G]``."""
    g = max([len(t["labels"]) for t in targets] + [1])
    n = len(targets)
    boxes = torch.zeros(n, g, 4, device=device)
    labels = torch.zeros(n, g, dtype=torch.long, device=device)
    mask = torch.zeros(n, g, dtype=torch.bool, device=device)
    for i, t in enumerate(targets):
        k = len(t["labels"])
        if k:
            boxes[i, :k] = t["boxes"].to(device, torch.float32)
            labels[i, :k] = t["labels"].to(device)
            mask[i, :k] = True
    return boxes, labels, mask


class TaskAlignedAssigner(nn.Module):
    """Assign anchor points to ground truth; returns labels, boxes and soft targets per point."""

    def __init__(self, topk: int = 10, alpha: float = 1.0, beta: float = 6.0):
        super().__init__()
        self.topk, self.alpha, self.beta = topk, alpha, beta

    @torch.no_grad()
    def forward(self, scores, boxes, points, gt_boxes, gt_labels, gt_mask):
        """``scores [N,A,C]`` (probabilities), ``boxes [N,A,4]``, ``points [A,2]``.

        Returns ``fg [N,A]`` (bool), ``t_labels [N,A]``, ``t_boxes [N,A,4]``, ``t_score [N,A]``.
        """
        n, a, c = scores.shape
        g = gt_boxes.shape[1]
        px, py = points[:, 0], points[:, 1]
        gb = gt_boxes[:, :, None, :]  # [N,G,1,4]
        inside = ((px > gb[..., 0]) & (py > gb[..., 1]) & (px < gb[..., 2]) & (py < gb[..., 3]))
        inside &= gt_mask[:, :, None]
        iou, _ = box_iou_pairs(gb, boxes[:, None, :, :])  # [N,G,A]
        cls = scores.gather(2, gt_labels[:, None, :].expand(n, a, g)).transpose(1, 2)  # [N,G,A]
        align = cls.pow(self.alpha) * iou.pow(self.beta)
        # tiny centre prior breaks ties when predictions are still uninformative
        centre = (gt_boxes[..., :2] + gt_boxes[..., 2:]) / 2
        size = (gt_boxes[..., 2:] - gt_boxes[..., :2]).clamp(min=1.0)
        d = ((points[None, None] - centre[:, :, None]) / size[:, :, None]).pow(2).sum(-1)
        align = (align + 1e-9 * torch.exp(-d)) * inside
        k = min(self.topk, a)
        top = align.topk(k, dim=2).indices
        cand = torch.zeros_like(inside).scatter_(2, top, True) & inside  # [N,G,A]
        # resolve points claimed by several boxes: keep the box of highest IoU
        iou_c = torch.where(cand, iou, torch.full_like(iou, -1.0))
        best = iou_c.argmax(1)  # [N,A]
        fg = cand.any(1)
        pos = torch.zeros_like(cand).scatter_(1, best[:, None], True) & cand
        t_labels = gt_labels.gather(1, best)
        t_boxes = gt_boxes.gather(1, best[..., None].expand(n, a, 4))
        # soft target: alignment normalised per box, scaled to the box's best IoU
        al = align * pos
        iou_p = iou * pos
        norm = (al / al.amax(2, keepdim=True).clamp(min=1e-12)) * iou_p.amax(2, keepdim=True)
        t_score = norm.amax(1) * fg
        return fg, t_labels, t_boxes, t_score


class DetectionCriterion(nn.Module):
    """Loss of the detector: ``forward(outputs, targets, points) -> dict of losses``.

    ``outputs`` is the model's ``(cls_logits, distances)``; ``targets`` a list of per-image
    ``{"boxes": [K,4] xyxy input pixels, "labels": [K]}``. The ``"loss"`` entry is the
    weighted total to back-propagate.
    """

    def __init__(self, num_classes: int, topk: int = 10, alpha: float = 1.0, beta: float = 6.0,
                 qfl_beta: float = 2.0, w_cls: float = 1.0, w_box: float = 2.0):
        super().__init__()
        self.num_classes = num_classes
        self.assigner = TaskAlignedAssigner(topk, alpha, beta)
        self.qfl_beta, self.w_cls, self.w_box = qfl_beta, w_cls, w_box

    def forward(self, outputs, targets, points: torch.Tensor) -> dict[str, torch.Tensor]:
        cls_logits, distances = outputs
        cls_logits = cls_logits.float()
        boxes, scores = decode(cls_logits, distances.float(), points)
        gt_boxes, gt_labels, gt_mask = pad_targets(targets, cls_logits.device)
        fg, t_labels, t_boxes, t_score = self.assigner(scores.detach(), boxes.detach(), points,
                                                       gt_boxes, gt_labels, gt_mask)
        target = torch.zeros_like(cls_logits)
        target.scatter_(2, t_labels[..., None], t_score[..., None])
        target = target * fg[..., None]
        norm = t_score.sum().clamp(min=1.0)
        # quality focal loss
        bce = F.binary_cross_entropy_with_logits(cls_logits, target, reduction="none")
        loss_cls = (bce * (scores - target).abs().pow(self.qfl_beta)).sum() / norm
        if fg.any():
            _, giou = box_iou_pairs(boxes[fg], t_boxes[fg])
            w = t_score[fg].clamp(min=0.1)  # a floor keeps boxes learning while IoUs are ~0
            loss_box = ((1.0 - giou) * w).sum() / w.sum()
        else:
            loss_box = distances.sum() * 0.0
        loss = self.w_cls * loss_cls + self.w_box * loss_box
        return {"loss": loss, "loss_cls": loss_cls.detach(), "loss_box": loss_box.detach(),
                "num_fg": fg.sum().detach().float()}
