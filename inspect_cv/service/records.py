"""Result records shared by the CLI and the HTTP service (no web stack imported here).

The JSON objects the service answers with are the CLI's JSON Lines objects, built by the
same functions: :func:`detection_record` (``inspect-cv detect``), :func:`parse_manifest`
(``inspect-cv scan-container --manifest``) and
:meth:`~inspect_cv.container.inspect.ContainerInspection.to_record`.
"""
from __future__ import annotations

import json
import time

import numpy as np

from ..errors import InputError


def detection_record(detector, image: np.ndarray, name: str | None, conf: float | None = None,
                     iou: float | None = None, tile="auto", tta: str | None = None) -> tuple[dict, object, bool]:
    """Run ``detector`` on one image; returns ``(record, detections, alarm)``.

    ``record`` is the ``inspect-cv detect`` object: ``{"image", "width", "height",
    "detections": [{"label", "score", "box"}], "alarm", "ms"}`` (``ms``: inference only).
    """
    t0 = time.perf_counter()
    extra = {} if tta is None else {"tta": tta}   # duck-typed detectors need not know tta
    det = detector.predict(image, conf=conf, iou=iou, tile=tile, **extra)
    ms = (time.perf_counter() - t0) * 1000
    alarm = bool(detector.alarm(det))
    record = {"image": name, "width": int(image.shape[1]), "height": int(image.shape[0]),
              "detections": det.to_records(), "alarm": alarm, "ms": round(ms, 2)}
    return record, det, alarm


def parse_manifest(data: str | bytes, source: str) -> dict:
    """A container manifest from JSON text, validated; :class:`InputError` naming ``source``."""
    try:
        obj = json.loads(data)
    except ValueError as e:
        raise InputError(f"manifest is not valid JSON ({e})", source) from None
    from ..container.declaration import validate_manifest

    return validate_manifest(obj, source)


def parse_tile(value) -> str | int:
    """``"auto"``, ``"off"`` or a positive tile size; :class:`InputError` otherwise."""
    if value in (None, ""):
        return "auto"
    if value in ("auto", "off"):
        return value
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise InputError(f"tile must be auto, off or an integer, got {value!r}") from None
    if size <= 0:
        raise InputError(f"tile size must be positive, got {size}")
    return size


__all__ = ["detection_record", "parse_manifest", "parse_tile"]
