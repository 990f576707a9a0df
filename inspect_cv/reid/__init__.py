"""Re-identification: horse galleries (enrol / verify / identify), quality gate, embedding files.

>>> from inspect_cv.reid import Gallery                         # doctest: +SKIP
>>> g = Gallery("horses.db", model="horse-reid")                # doctest: +SKIP
>>> g.enroll("FR-001", ["face1.jpg", "face2.jpg"], name="Bella")  # doctest: +SKIP
>>> g.verify("FR-001", "probe.jpg").match                       # doctest: +SKIP
"""
from __future__ import annotations

from importlib import import_module

_LAZY = {
    "Gallery": "gallery", "EnrolResult": "gallery", "VerifyResult": "gallery", "IdentifyResult": "gallery",
    "Candidate": "gallery", "Calibration": "gallery", "ModelInfo": "gallery", "threshold_for_far": "gallery",
    "QualityConfig": "quality", "QualityReport": "quality", "PhotoRejectedError": "quality",
    "assess": "quality", "check_photo": "quality",
    "embed_paths": "embed", "save_npz": "embed", "load_npz": "embed", "EmbedResult": "embed",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'inspect_cv.reid' has no attribute {name!r}") from None
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
