"""Dual-energy X-ray pairs: a high- and a low-energy image of the same scene.

Stored either as two files, or as one file with two channels in the order
**channel 0 = high energy, channel 1 = low energy**: a 2-channel TIFF, a 2-page
TIFF, or a DICOM/DICOS image with two frames (or two samples per pixel).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, UnsupportedFormatError
from ._read import PathLike, read_image
from ._write import _atomic_write, _check_array, encode_image


@dataclass(eq=False)
class DualEnergyImage:
    """High- and low-energy images, same 2-D shape, raw stored values.

    ``path`` is the file that held the high-energy image (or both);
    ``low_path`` the low-energy file when it was a separate one.
    """

    high: np.ndarray
    low: np.ndarray
    path: str | None = None
    low_path: str | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.high.shape  # type: ignore[return-value]

    def stack(self) -> np.ndarray:
        """``(H, W, 2)`` array, channel 0 = high, 1 = low."""
        return np.stack([self.high, self.low], axis=-1)


def read_dual_energy(high: PathLike, low: PathLike | None = None, *,
                     max_pixels: int | None = None,
                     max_bytes: int | None = None) -> DualEnergyImage:
    """Read a dual-energy pair from two files, or from one 2-channel/2-page/2-frame file."""
    limits = dict(max_pixels=max_pixels, max_bytes=max_bytes)
    if low is None:
        arr = read_image(high, **limits)
        if arr.ndim != 3 or arr.shape[2] != 2:
            raise UnsupportedFormatError(
                f"expected a 2-channel or 2-page image (channel 0 = high, 1 = low energy), "
                f"got shape {arr.shape}; pass the low-energy file as a second argument", high)
        return DualEnergyImage(np.ascontiguousarray(arr[:, :, 0]),
                               np.ascontiguousarray(arr[:, :, 1]), str(high))
    h = _single_channel(read_image(high, **limits), high, "high")
    lo = _single_channel(read_image(low, **limits), low, "low")
    if h.shape != lo.shape:
        raise InputError(
            f"dual-energy images differ in size: high-energy {high} is {h.shape[1]} x "
            f"{h.shape[0]} but low-energy {low} is {lo.shape[1]} x {lo.shape[0]} (W x H)")
    if h.dtype != lo.dtype:
        raise InputError(
            f"dual-energy images differ in type: high-energy {high} is {h.dtype} but "
            f"low-energy {low} is {lo.dtype}")
    return DualEnergyImage(h, lo, str(high), str(low))


def _single_channel(arr: np.ndarray, path: PathLike, which: str) -> np.ndarray:
    if arr.ndim != 2:
        raise UnsupportedFormatError(
            f"the {which}-energy image must have one channel, got shape {arr.shape}", path)
    return arr


def write_dual_energy(path: PathLike, high: np.ndarray, low: np.ndarray) -> Path:
    """Write a pair as a 2-channel 16-bit TIFF (channel 0 = high, 1 = low).

    Both arrays must be 2-D, the same shape, and hold integers in 0..65535 (values
    are kept, not rescaled; convert floats explicitly first).
    """
    p = Path(path)
    if p.suffix.lower() not in (".tif", ".tiff"):
        raise UnsupportedFormatError("dual-energy pairs are written as .tif/.tiff", p)
    h = _check_array(high, str(p))
    lo = _check_array(low, str(p))
    for arr, which in ((h, "high"), (lo, "low")):
        if arr.ndim != 2:
            raise InputError(f"the {which}-energy array must be 2-D, got shape {arr.shape}", p)
        if arr.dtype.kind not in "ui":
            raise InputError(
                f"the {which}-energy array is {arr.dtype}; a 16-bit TIFF holds integers "
                "(scale and convert explicitly)", p)
        if arr.dtype != np.uint16 and (arr.min() < 0 or arr.max() > 65535):
            raise InputError(f"the {which}-energy array has values outside 0..65535", p)
    if h.shape != lo.shape:
        raise InputError(f"high-energy shape {h.shape} differs from low-energy shape {lo.shape}", p)
    stacked = np.stack([h.astype(np.uint16), lo.astype(np.uint16)], axis=-1)
    _atomic_write(p, encode_image(stacked, "tiff", name=str(p)))
    return p
