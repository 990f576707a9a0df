"""Explicit conversions from raw stored values to display/model ranges.

Readers never rescale; these helpers do, each in a stated way:

* :func:`to_float` maps the dtype's range (or ``bits`` of it) to [0, 1];
* :func:`normalize` stretches the image's own min..max or percentiles to [0, 1];
* :func:`window` maps level +/- width/2 to [0, 1] (the radiology window);
* :func:`to_uint8` is ``to_float`` scaled to 0..255 and rounded.
"""
from __future__ import annotations

import numpy as np

from ..errors import EmptyImageError, InputError


def _as_array(img: np.ndarray) -> np.ndarray:
    arr = np.asarray(img)
    if arr.size == 0:
        raise EmptyImageError(f"image array is empty (shape {arr.shape})")
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if arr.dtype.kind not in "uif":
        raise InputError(f"expected a numeric image array, got dtype {arr.dtype}")
    return arr


def dtype_range(dtype: np.dtype, bits: int | None = None) -> tuple[float, float]:
    """The value range of an integer dtype, or of its low ``bits`` (e.g. 12 for 12-bit
    detector data stored in uint16)."""
    dt = np.dtype(dtype)
    if dt.kind not in "ui":
        raise InputError(f"no natural value range for dtype {dt}")
    info = np.iinfo(dt)
    if bits is None:
        return float(info.min), float(info.max)
    if not 1 <= bits <= info.bits:
        raise InputError(f"bits={bits} does not fit dtype {dt} ({info.bits} bits)")
    if dt.kind == "u":
        return 0.0, float(2**bits - 1)
    return float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1)


def to_float(img: np.ndarray, *, bits: int | None = None) -> np.ndarray:
    """float32 in [0, 1] by dtype range: uint8 / 255, uint16 / 65535 (or / (2**bits - 1)).

    Float images must already lie in [0, 1] (they are returned as float32); anything
    else raises :class:`InputError` - use :func:`normalize` or :func:`window` for those.
    Integer values outside the ``bits`` range also raise.
    """
    arr = _as_array(img)
    if arr.dtype.kind == "f":
        lo, hi = np.nanmin(arr), np.nanmax(arr)
        if lo < 0 or hi > 1:
            raise InputError(
                f"float image spans {lo:g}..{hi:g}, not 0..1; use normalize() or window()")
        return arr.astype(np.float32)
    lo, hi = dtype_range(arr.dtype, bits)
    if bits is not None and (arr.min() < lo or arr.max() > hi):
        raise InputError(
            f"values {arr.min()}..{arr.max()} do not fit {bits} bits; check bits=")
    work = np.float64 if arr.dtype.itemsize > 2 else np.float32
    return ((arr.astype(work) - lo) / (hi - lo)).astype(np.float32)


def normalize(img: np.ndarray, method: str = "minmax", low: float = 0.5, high: float = 99.5,
              *, per_channel: bool = False) -> np.ndarray:
    """Stretch the image's own range to float32 [0, 1].

    ``"minmax"`` maps min..max; ``"percentile"`` maps the ``low``..``high`` percentiles
    (values beyond are clipped). NaNs are ignored in the statistics. A constant image
    gives zeros. With ``per_channel`` each channel of an ``(H, W, C)`` image is
    stretched on its own.
    """
    arr = _as_array(img)
    if method not in ("minmax", "percentile"):
        raise InputError(f"normalize method must be 'minmax' or 'percentile', got {method!r}")
    if method == "percentile" and not 0 <= low < high <= 100:
        raise InputError(f"percentiles must satisfy 0 <= low < high <= 100, got {low}, {high}")
    if per_channel and arr.ndim == 3:
        return np.stack([_stretch(arr[:, :, c], method, low, high)
                         for c in range(arr.shape[2])], axis=-1)
    return _stretch(arr, method, low, high)


def _stretch(arr: np.ndarray, method: str, low: float, high: float) -> np.ndarray:
    work = arr.astype(np.float64 if arr.dtype.itemsize > 2 else np.float32)
    finite = work[np.isfinite(work)] if arr.dtype.kind == "f" else work
    if finite.size == 0:
        return np.zeros(arr.shape, np.float32)
    if method == "minmax":
        lo, hi = float(finite.min()), float(finite.max())
    else:
        lo, hi = (float(v) for v in np.percentile(finite, [low, high]))
    if hi <= lo:
        return np.zeros(arr.shape, np.float32)
    return np.clip((work - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def window(img: np.ndarray, level: float, width: float) -> np.ndarray:
    """Map ``level - width/2 .. level + width/2`` to float32 [0, 1], clipping outside."""
    arr = _as_array(img)
    if not width > 0:
        raise InputError(f"window width must be positive, got {width}")
    lo = float(level) - float(width) / 2.0
    work = arr.astype(np.float64 if arr.dtype.itemsize > 2 else np.float32)
    return np.clip((work - lo) / float(width), 0.0, 1.0).astype(np.float32)


def to_uint8(img: np.ndarray, *, bits: int | None = None) -> np.ndarray:
    """uint8 scaled by the dtype range (uint16 65535 -> 255), rounded, never wrapped.

    uint8 input is returned as a copy; floats must lie in [0, 1] (see :func:`to_float`).
    """
    arr = _as_array(img)
    if arr.dtype == np.uint8 and bits is None:
        return arr.copy()
    return np.rint(to_float(arr, bits=bits) * 255.0).astype(np.uint8)
