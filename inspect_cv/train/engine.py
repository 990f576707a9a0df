"""One training epoch and one evaluation pass (model, criterion, postprocessor apart)."""
from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np
import torch

from .metrics import mean_average_precision
from .model import anchor_points


def _identity(items, total=None, desc=""):
    return items


def _points(model, images: torch.Tensor) -> torch.Tensor:
    m = model.module if hasattr(model, "module") else model
    return anchor_points(images.shape[-2], images.shape[-1], m.strides, images.device)[0]


def train_one_epoch(model, criterion, loader: Iterable, optimizer, scheduler, device, epoch: int,
                    ema=None, grad_clip: float = 0.0, max_iters: int = 0,
                    progress: Callable | None = None) -> dict[str, float]:
    """Train for one pass over ``loader`` (or ``max_iters`` steps); returns mean losses.

    ``scheduler`` is stepped per iteration. Raises ``FloatingPointError`` on a non-finite loss.
    """
    model.train()
    progress = progress or _identity
    total = len(loader) if max_iters <= 0 else min(max_iters, len(loader))
    sums: dict[str, float] = {}
    n = 0
    for it, (images, targets) in enumerate(progress(loader, total=total, desc=f"epoch {epoch}")):
        if max_iters > 0 and it >= max_iters:
            break
        images = images.to(device, non_blocking=True)
        outputs = model(images)
        losses = criterion(outputs, targets, _points(model, images))
        loss = losses["loss"]
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"non-finite loss at epoch {epoch}, iteration {it}: {loss.item()}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if ema is not None:
            ema.update(model)
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach())
        n += 1
    out = {k: v / max(n, 1) for k, v in sums.items()}
    out["iters"] = n
    out["lr"] = float(optimizer.param_groups[0]["lr"])
    return out


@torch.no_grad()
def predict(model, postprocessor, images: torch.Tensor) -> list[dict[str, torch.Tensor]]:
    """Detections (input-pixel boxes) for a batch of prepared images."""
    cls, dist = model(images)
    return postprocessor(cls, dist, _points(model, images)).per_image(len(images))


@torch.no_grad()
def evaluate(model, postprocessor, loader: Iterable, device, num_classes: int,
             progress: Callable | None = None) -> dict[str, float]:
    """mAP@0.5 and mAP@0.5:0.95 of ``model`` over ``loader`` (boxes in input pixels)."""
    model.eval()
    progress = progress or _identity
    preds, gts = [], []
    for images, targets in progress(loader, total=len(loader), desc="eval"):
        for p, t in zip(predict(model, postprocessor, images.to(device)), targets):
            preds.append({k: v.cpu().numpy() for k, v in p.items()})
            gts.append({"boxes": t["boxes"].numpy().astype(np.float32), "labels": t["labels"].numpy()})
    return mean_average_precision(preds, gts, num_classes)
