"""Writing images: PNG/JPEG/BMP through OpenCV, TIFF through tifffile.

Arrays are given in RGB(A) order, as :func:`read_image` returns them; values are
written as they are (16-bit stays 16-bit). Anything that is not 1, 3 or 4 channels
is only representable as a multi-channel TIFF.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..errors import EmptyImageError, InputError, UnsupportedFormatError
from ._read import PathLike

_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".tif": "tiff", ".tiff": "tiff",
            ".bmp": "bmp"}
_CV_DTYPES = {"png": (np.uint8, np.uint16), "jpeg": (np.uint8,), "bmp": (np.uint8,)}


def format_for(path: PathLike) -> str:
    """``"png" | "jpeg" | "tiff" | "bmp"`` from a file name's extension."""
    ext = Path(path).suffix.lower()
    try:
        return _FORMATS[ext]
    except KeyError:
        raise UnsupportedFormatError(
            f"cannot write '{ext or '(no extension)'}' files; use .png, .jpg, .tif or .bmp",
            path) from None


def encode_image(array: np.ndarray, fmt: str = "png", *, name: str = "<array>",
                 jpeg_quality: int = 95) -> bytes:
    """Encode an ``(H, W)`` or ``(H, W, C)`` array (RGB order) as PNG, JPEG, TIFF or BMP bytes."""
    fmt = fmt.lower().lstrip(".")
    fmt = {"jpg": "jpeg", "tif": "tiff"}.get(fmt, fmt)
    arr = _check_array(array, name)
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    if fmt == "tiff":
        return _encode_tiff(arr, channels)
    if fmt not in _CV_DTYPES:
        raise UnsupportedFormatError(f"unknown image format {fmt!r}", name)
    if arr.dtype.type not in _CV_DTYPES[fmt]:
        allowed = " or ".join(np.dtype(t).name for t in _CV_DTYPES[fmt])
        raise UnsupportedFormatError(
            f"{fmt.upper()} holds {allowed} only, not {arr.dtype}; convert explicitly "
            "(to_uint8) or write a .tif", name)
    allowed_channels = (1, 3) if fmt == "jpeg" else (1, 3, 4)
    if channels not in allowed_channels:
        raise UnsupportedFormatError(
            f"{fmt.upper()} cannot hold {channels} channels; write a .tif for that", name)
    import cv2

    if channels == 3:
        arr = arr[:, :, ::-1]
    elif channels == 4:
        arr = arr[:, :, [2, 1, 0, 3]]
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if fmt == "jpeg" else []
    ok, buf = cv2.imencode("." + ("jpg" if fmt == "jpeg" else fmt), np.ascontiguousarray(arr), params)
    if not ok:
        raise InputError(f"OpenCV could not encode the array as {fmt.upper()}", name)
    return buf.tobytes()


def _encode_tiff(arr: np.ndarray, channels: int) -> bytes:
    import tifffile

    photometric = "rgb" if channels in (3, 4) and arr.dtype.kind in "ui" else "minisblack"
    kwargs = {}
    if channels == 4 and photometric == "rgb":
        kwargs["extrasamples"] = ["unassalpha"]
    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, photometric=photometric, planarconfig="contig",
                     compression="zlib", **kwargs)
    return buf.getvalue()


def write_image(path: PathLike, array: np.ndarray, *, jpeg_quality: int = 95) -> Path:
    """Write ``array`` (RGB order) to ``path``; the format follows the extension.

    PNG holds uint8/uint16 with 1, 3 or 4 channels; JPEG uint8 with 1 or 3 (lossy);
    BMP uint8; TIFF any integer or float dtype and any channel count (deflate
    compressed, channels interleaved; 3/4-channel integer images tagged RGB(A), others
    min-is-black). The file is written to a temporary name and renamed into place.
    """
    p = Path(path)
    data = encode_image(array, format_for(p), name=str(p), jpeg_quality=jpeg_quality)
    _atomic_write(p, data)
    return p


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise InputError(f"cannot write file ({exc.strerror or exc})", path) from None


def _check_array(array: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(array)
    if arr.size == 0:
        raise EmptyImageError(f"array has a zero-size dimension (shape {arr.shape})", name)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3):
        raise InputError(f"expected an (H, W) or (H, W, C) array, got shape {arr.shape}", name)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.dtype.kind not in "uif":
        raise InputError(f"cannot write an array of dtype {arr.dtype}", name)
    return arr
