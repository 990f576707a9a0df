"""Exponential moving average of model weights (Polyak averaging with a warm-up ramp).

``decay_t = decay * (1 - exp(-updates / tau))`` ramps the decay up over the first few
thousand updates, so the average is useful early in training.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn


class ModelEMA:
    """Keep ``ema.module``, an averaged copy of a model; call :meth:`update` after each step."""

    def __init__(self, model: nn.Module, decay: float = 0.9998, tau: float = 2000.0, updates: int = 0):
        self.module = copy.deepcopy(_unwrap(model)).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, updates

    def current_decay(self) -> float:
        return self.decay * (1.0 - math.exp(-self.updates / self.tau))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = self.current_decay()
        src = _unwrap(model).state_dict()
        for k, v in self.module.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(src[k].detach(), alpha=1.0 - d)
            else:
                v.copy_(src[k])

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "updates": self.updates,
                "decay": self.decay, "tau": self.tau}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
        self.decay, self.tau = float(state["decay"]), float(state["tau"])


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") and isinstance(model.module, nn.Module) else model
