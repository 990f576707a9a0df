"""inspect-cv: computer vision for customs and border inspection.

The runtime (this package without the ``train`` extra) needs only numpy, OpenCV and
onnxruntime; nothing heavy is imported until it is used.

>>> import inspect_cv
>>> det = inspect_cv.load("baggage")            # doctest: +SKIP
>>> result = det.predict(inspect_cv.read_image("bag.png"))  # doctest: +SKIP
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ._version import __version__
from .errors import InspectCVError

__all__ = ["__version__", "InspectCVError", "load", "read_image", "Detections", "list_models"]

_LAZY = {
    "load": ("inspect_cv.runtime.registry", "load"),
    "list_models": ("inspect_cv.runtime.registry", "list_models"),
    "Detections": ("inspect_cv.detection.core", "Detections"),
    "read_image": ("inspect_cv.io", "read_image"),
}

if TYPE_CHECKING:  # pragma: no cover
    from .detection.core import Detections
    from .io import read_image
    from .runtime.registry import list_models, load


def __getattr__(name: str):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'inspect_cv' has no attribute {name!r}") from None
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value
