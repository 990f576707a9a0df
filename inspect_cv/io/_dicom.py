"""DICOM and DICOS (DICOM for security screening) digital X-ray images, via pydicom.

pydicom is optional (the ``dicom`` extra) and imported only when a DICOM file is read.
Stored values are returned untouched: no rescale, no windowing, MONOCHROME1 (where
high values are dark) is *not* inverted; :func:`read_dicom_meta` reports what is
needed to interpret them.
"""
from __future__ import annotations

import io
import warnings
from pathlib import PurePath
from typing import Any

import numpy as np

from ..errors import (CorruptImageError, EmptyImageError, InspectCVError,
                      MissingDependencyError, UnsupportedFormatError)
from . import _sniff
from ._limits import Limits, check_shape, resolve_limits
from ._read import PathLike, _reason, read_bytes

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def _pydicom():
    try:
        import pydicom
    except ImportError:
        raise MissingDependencyError("pydicom", "dicom", "read DICOM/DICOS files") from None
    return pydicom


def read_dicom(path: PathLike, *, max_pixels: int | None = None,
               max_bytes: int | None = None) -> np.ndarray:
    """Read the pixel data of a DICOM/DICOS file as stored.

    One frame with one sample gives ``(H, W)``; several frames (or samples per pixel)
    are put channels last, ``(H, W, frames)`` / ``(H, W, samples)``. Rows/Columns are
    checked against the pixel limit before any pixel data is decoded.
    """
    _pydicom()
    limits = resolve_limits(max_pixels, max_bytes)
    data = read_bytes(path, max_bytes=limits.max_bytes)
    return decode_dicom(data, str(path), limits)


def decode_dicom(data: bytes, name: str, limits: Limits | None = None) -> np.ndarray:
    """Decode DICOM bytes (see :func:`read_dicom`)."""
    limits = limits or resolve_limits()
    ds = _parse(data, name, stop_before_pixels=False)
    try:
        return _pixels(ds, name, limits)
    except InspectCVError:
        raise
    except Exception as exc:  # pydicom converts elements lazily: any access can fail
        raise CorruptImageError(f"DICOM data set is damaged ({_reason(exc)})", name) from exc


def _pixels(ds, name: str, limits: Limits) -> np.ndarray:
    rows, cols, samples, frames = _geometry(ds, name)
    if not any(k in ds for k in _PIXEL_KEYWORDS):
        raise UnsupportedFormatError("DICOM object has no pixel data (not an image)", name)
    check_shape((rows, cols, samples, frames), limits, name)
    _check_native_length(ds, rows * cols * samples * frames, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = ds.pixel_array
    except InspectCVError:
        raise
    except Exception as exc:
        text = _reason(exc)
        if any(w in text.lower() for w in ("plugin", "decoder", "handler", "not supported",
                                            "no pixel data handler", "requires")):
            ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
            raise UnsupportedFormatError(
                f"DICOM pixel data could not be decoded: transfer syntax {ts} needs an "
                f"extra decoder ({text})", name) from exc
        raise CorruptImageError(f"DICOM pixel data could not be decoded ({text})", name) from exc
    arr = np.asarray(arr)
    if frames > 1 and samples > 1:
        raise UnsupportedFormatError(
            f"DICOM with {frames} frames of {samples} samples per pixel is not supported", name)
    if frames > 1:
        arr = np.moveaxis(arr, 0, -1)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    return np.ascontiguousarray(arr)


def read_dicom_meta(path: PathLike, *, max_bytes: int | None = None) -> dict[str, Any]:
    """What is needed to interpret the stored values of a DICOM/DICOS image.

    Keys (``None`` when the element is absent): ``path``, ``modality``,
    ``sop_class_uid``, ``transfer_syntax``, ``photometric_interpretation``,
    ``inverted`` (True for MONOCHROME1: high values are dark, the array is *not*
    inverted), ``rows``, ``columns``, ``samples_per_pixel``, ``number_of_frames``,
    ``bits_allocated``, ``bits_stored``, ``high_bit``, ``signed``, ``pixel_spacing``
    and ``imager_pixel_spacing`` (row, column) in mm, ``rescale_slope``,
    ``rescale_intercept``, ``window_center`` and ``window_width`` (the first value
    when several are given).
    """
    _pydicom()
    data = read_bytes(path, max_bytes=max_bytes)
    name = str(path)
    ds = _parse(data, name, stop_before_pixels=True)
    try:
        return _meta(ds, name)
    except Exception as exc:  # lazily converted elements may fail on access
        raise CorruptImageError(f"DICOM data set is damaged ({_reason(exc)})", name) from exc


def _meta(ds, name: str) -> dict[str, Any]:
    photometric = _str(ds.get("PhotometricInterpretation"))
    meta = getattr(ds, "file_meta", None)
    pixel_rep = ds.get("PixelRepresentation")
    return {
        "path": name,
        "modality": _str(ds.get("Modality")),
        "sop_class_uid": _str(ds.get("SOPClassUID")),
        "transfer_syntax": _str(meta.get("TransferSyntaxUID")) if meta is not None else None,
        "photometric_interpretation": photometric,
        "inverted": photometric == "MONOCHROME1",
        "rows": _int(ds.get("Rows")),
        "columns": _int(ds.get("Columns")),
        "samples_per_pixel": _int(ds.get("SamplesPerPixel")),
        "number_of_frames": _int(ds.get("NumberOfFrames")) or 1,
        "bits_allocated": _int(ds.get("BitsAllocated")),
        "bits_stored": _int(ds.get("BitsStored")),
        "high_bit": _int(ds.get("HighBit")),
        "signed": None if pixel_rep is None else bool(int(pixel_rep)),
        "pixel_spacing": _pair(ds.get("PixelSpacing")),
        "imager_pixel_spacing": _pair(ds.get("ImagerPixelSpacing")),
        "rescale_slope": _float(ds.get("RescaleSlope")),
        "rescale_intercept": _float(ds.get("RescaleIntercept")),
        "window_center": _float(ds.get("WindowCenter")),
        "window_width": _float(ds.get("WindowWidth")),
    }


# --- helpers -----------------------------------------------------------------------

def _parse(data: bytes, name: str, *, stop_before_pixels: bool):
    pydicom = _pydicom()
    has_magic = data[_sniff.DICOM_MAGIC_OFFSET:_sniff.DICOM_MAGIC_OFFSET + 4] == _sniff.DICOM_MAGIC
    if not has_magic and PurePath(name).suffix.lower() not in _sniff.DICOM_EXTENSIONS:
        raise UnsupportedFormatError("not a DICOM file (no 'DICM' marker)", name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=not has_magic,
                                 stop_before_pixels=stop_before_pixels)
            _ensure_transfer_syntax(ds)
    except InspectCVError:
        raise
    except Exception as exc:
        raise CorruptImageError(f"DICOM data set could not be parsed ({_reason(exc)})", name) from exc
    if len(ds) == 0:
        raise CorruptImageError("DICOM data set is empty or unreadable", name)
    return ds


def _ensure_transfer_syntax(ds) -> None:
    """A raw data set read with force=True has no file meta: record how it was encoded."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return
    implicit, little = getattr(ds, "original_encoding", (True, True))
    if meta is None:
        meta = FileMetaDataset()
        ds.file_meta = meta
    if implicit is None:
        implicit, little = True, True
    meta.TransferSyntaxUID = (ImplicitVRLittleEndian if implicit
                              else ExplicitVRLittleEndian if little else ExplicitVRBigEndian)


def _geometry(ds, name: str) -> tuple[int, int, int, int]:
    try:
        rows, cols = ds.get("Rows"), ds.get("Columns")
        samples = int(ds.get("SamplesPerPixel") or 1)
        frames_raw = ds.get("NumberOfFrames")
        frames = 1 if frames_raw in (None, "") else int(frames_raw)
    except Exception as exc:
        raise CorruptImageError(f"DICOM image geometry is invalid ({_reason(exc)})", name) from exc
    if rows is None or cols is None:
        if not any(k in ds for k in _PIXEL_KEYWORDS):
            raise UnsupportedFormatError("DICOM object has no pixel data (not an image)", name)
        raise CorruptImageError("DICOM image has no Rows/Columns", name)
    rows, cols = int(rows), int(cols)
    if rows <= 0 or cols <= 0 or frames <= 0 or samples <= 0:
        raise EmptyImageError(
            f"DICOM image has a zero-size dimension ({rows} rows x {cols} columns, "
            f"{frames} frames, {samples} samples)", name)
    return rows, cols, samples, frames


def _check_native_length(ds, values: int, name: str) -> None:
    """Uncompressed pixel data shorter than Rows x Columns x ... means a truncated file."""
    ts = ds.file_meta.TransferSyntaxUID
    if "PixelData" not in ds or getattr(ts, "is_encapsulated", False):
        return
    bits = int(ds.get("BitsAllocated") or 0)
    if bits not in (1, 8, 16, 32, 64):
        raise CorruptImageError(f"DICOM BitsAllocated {bits} is invalid", name)
    expected = (values + 7) // 8 if bits == 1 else values * bits // 8
    got = len(ds.PixelData or b"")
    if got < expected:
        raise CorruptImageError(
            f"DICOM pixel data is truncated ({got:,} of {expected:,} bytes)", name)


def _str(value) -> str | None:
    return None if value is None or value == "" else str(value)


def _int(value) -> int | None:
    try:
        return None if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        return None


def _float(value) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        value = value[0] if len(value) else None
        if value is None:
            return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _pair(value) -> tuple[float, float] | None:
    try:
        if value is None or len(value) != 2:
            return None
        return (float(value[0]), float(value[1]))
    except (TypeError, ValueError):
        return None


__all__ = ["read_dicom", "read_dicom_meta", "decode_dicom"]
