"""Training of inspect-cv models (needs the ``train`` extra: torch, torchvision, albumentations, onnx).

The runtime never imports this package. Pieces, DETR-style:
:mod:`.model` (registry, :func:`create_model`), :mod:`.criterion` (assigner + losses),
:mod:`.postprocess` (decode + NMS, shared with the exported graph), :mod:`.data`,
:mod:`.engine` (one epoch / evaluation), :mod:`.ema`, :mod:`.config`, :mod:`.detect`
(the training loop), :mod:`.export` (ONNX).
"""
from inspect_cv.errors import MissingDependencyError

try:
    import torch  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise MissingDependencyError("torch", "train", "train models") from e
