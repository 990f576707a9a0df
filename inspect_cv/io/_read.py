"""Reading images: files are read once into memory, then decoded from bytes.

PNG, JPEG and BMP go through OpenCV, TIFF through tifffile, DICOM/DICOS through
pydicom (see :mod:`inspect_cv.io._dicom`). Values are returned as stored.
"""
from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Union

import numpy as np

from ..errors import (CorruptImageError, EmptyImageError, ImageTooLargeError, InputError,
                      InspectCVError, UnsupportedFormatError)
from . import _sniff
from ._limits import Limits, check_bytes, check_shape, resolve_limits

PathLike = Union[str, "os.PathLike[str]"]

# OpenCV refuses images above CV_IO_MAX_IMAGE_PIXELS (default 2**30) on its own.
_CV_DEFAULT_MAX_PIXELS = 1 << 30


def read_bytes(path: PathLike, *, max_bytes: int | None = None) -> bytes:
    """Read a whole file, refusing missing, empty or over-limit files with a typed error."""
    limits = resolve_limits(max_bytes=max_bytes)
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError("no such file", p) from None
    except OSError as exc:
        raise InputError(f"cannot access file ({exc.strerror or exc})", p) from None
    if p.is_dir():
        raise InputError("is a folder, not an image file", p)
    check_bytes(st.st_size, limits, str(p))
    try:
        with open(p, "rb") as fh:
            data = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", p) from None
    check_bytes(len(data), limits, str(p))  # the file may have grown since stat
    if not data:
        raise EmptyImageError("file is empty (0 bytes)", p)
    return data


def read_image(path: PathLike, *, max_pixels: int | None = None,
               max_bytes: int | None = None) -> np.ndarray:
    """Read an image file with its stored values and dtype.

    Greyscale gives ``(H, W)``, colour ``(H, W, 3)`` in RGB order, colour with alpha
    ``(H, W, 4)`` RGBA, multi-channel TIFF ``(H, W, C)``, a TIFF stack of equal-size
    single-channel pages ``(H, W, pages)``. DICOM/DICOS (by ``DICM`` magic or a
    ``.dcm/.dicom/.dcs`` extension) is read with :func:`read_dicom`. Nothing is rescaled:
    use :func:`to_float`, :func:`normalize`, :func:`window` or :func:`to_uint8` for that.

    Raises :class:`InputError` (missing file), :class:`EmptyImageError`,
    :class:`CorruptImageError`, :class:`UnsupportedFormatError` or
    :class:`ImageTooLargeError`; every message names the file.
    """
    limits = resolve_limits(max_pixels, max_bytes)
    data = read_bytes(path, max_bytes=limits.max_bytes)
    return _decode(data, str(path), limits)


def decode_image(data: bytes | bytearray | memoryview, name: str = "<bytes>", *,
                 max_pixels: int | None = None, max_bytes: int | None = None) -> np.ndarray:
    """Same as :func:`read_image` for an encoded image held in memory.

    ``name`` is used in error messages and, for DICOM without preamble, its extension.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_image expects bytes, got {type(data).__name__}")
    limits = resolve_limits(max_pixels, max_bytes)
    data = bytes(data)
    check_bytes(len(data), limits, name)
    if not data:
        raise EmptyImageError("no data (0 bytes)", name)
    return _decode(data, name, limits)


def _decode(data: bytes, name: str, limits: Limits) -> np.ndarray:
    fmt = _sniff.detect_format(data, name)
    if fmt == "dicom":
        from ._dicom import decode_dicom
        return decode_dicom(data, name, limits)
    if fmt == "tiff":
        arr = _decode_tiff(data, name, limits)
    else:
        arr = _decode_cv2(data, fmt, name, limits)
    check_shape(arr.shape, limits, name)  # the decoded size, in case a header under-declared
    return arr


# --- PNG / JPEG / BMP through OpenCV ----------------------------------------------

def _decode_cv2(data: bytes, fmt: str, name: str, limits: Limits) -> np.ndarray:
    import cv2

    if fmt == "png":
        info = _sniff.png_header(data, name)
        check_shape(info.shape, limits, name)
        _sniff.png_check_structure(data, name)
        flags = cv2.IMREAD_UNCHANGED
    elif fmt == "jpeg":
        info, sos = _sniff.jpeg_header(data, name)
        check_shape(info.shape, limits, name)
        _sniff.jpeg_check_end(data, sos, name)
        # ANYDEPTH|ANYCOLOR keeps grey as grey and 12-bit as 16-bit, and (unlike
        # IMREAD_UNCHANGED) applies the EXIF orientation, as every viewer does.
        flags = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR
    else:
        info = _sniff.bmp_header(data, name)
        check_shape(info.shape, limits, name)
        flags = cv2.IMREAD_UNCHANGED
    from ._native import JPEG_DAMAGE, native_stderr, split_messages, write_back

    with native_stderr() as said:
        try:
            arr = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
        except cv2.error:
            arr = None
    damage, other = split_messages(said, JPEG_DAMAGE if fmt == "jpeg" else ())
    write_back(other)
    if damage and arr is not None:
        raise CorruptImageError(f"{fmt.upper()} data is damaged ({damage[0].rstrip('.')}); "
                                "the picture would be incomplete: rescan or re-export it", name)
    if arr is None:
        if info.height * info.width > _CV_DEFAULT_MAX_PIXELS:
            raise ImageTooLargeError(
                "image is over OpenCV's own pixel limit (set the environment variable "
                "CV_IO_MAX_IMAGE_PIXELS to raise it)", name)
        raise CorruptImageError(f"{fmt.upper()} data could not be decoded (damaged file)", name)
    return _from_opencv_order(arr)


def _from_opencv_order(arr: np.ndarray) -> np.ndarray:
    """BGR -> RGB and BGRA -> RGBA; a single channel becomes 2-D."""
    if arr.ndim == 3:
        if arr.shape[2] == 1:
            arr = arr[:, :, 0]
        elif arr.shape[2] == 3:
            arr = arr[:, :, ::-1]
        elif arr.shape[2] == 4:
            arr = arr[:, :, [2, 1, 0, 3]]
    return np.ascontiguousarray(arr)


# --- TIFF through tifffile --------------------------------------------------------

def _decode_tiff(data: bytes, name: str, limits: Limits) -> np.ndarray:
    import tifffile

    _quiet_tifffile()
    try:
        tif = tifffile.TiffFile(io.BytesIO(data))
    except Exception as exc:  # tifffile raises many types on damaged headers
        raise CorruptImageError(f"TIFF header could not be parsed ({_reason(exc)})", name) from exc
    with tif:
        try:
            pages = list(tif.pages)
            if not pages:
                raise EmptyImageError("TIFF has no pages", name)
            full = [p for p in pages if not getattr(p, "is_reduced", False)] or pages
            _check_tiff_pages(full, data, name, limits)
            arrays = [_tiff_page_array(p, name) for p in full]
        except InspectCVError:
            raise
        except Exception as exc:  # damaged tags surface as assorted exception types
            raise CorruptImageError(f"TIFF structure is damaged ({_reason(exc)})", name) from exc
    return _combine_tiff_pages(arrays, name)


def _quiet_tifffile() -> None:
    """tifffile logs warnings about damaged files; we raise errors instead, so keep them
    off stderr unless the application configured logging (a library-side NullHandler)."""
    logger = logging.getLogger("tifffile")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())


def _check_tiff_pages(pages: list, data: bytes, name: str, limits: Limits) -> None:
    """Declared shapes within limits and every strip/tile inside the file, before decoding."""
    total = 0
    for i, page in enumerate(pages):
        shape = tuple(int(d) for d in page.shape)
        if not shape or any(d == 0 for d in shape):
            raise EmptyImageError(f"TIFF page {i} has a zero-size dimension (shape {shape})", name)
        check_shape(shape, limits, name)
        total += int(np.prod(shape, dtype=np.int64))
        for off, count in zip(page.dataoffsets, page.databytecounts):
            if count and off + count > len(data):
                raise CorruptImageError(f"TIFF is truncated (page {i} data runs past the end)", name)
    if total > limits.max_pixels:
        check_shape((total,), limits, name)


def _tiff_page_array(page, name: str) -> np.ndarray:
    try:
        arr = page.asarray()
    except Exception as exc:
        text = _reason(exc)
        if "imagecodecs" in text or isinstance(exc, ImportError):
            raise UnsupportedFormatError(
                f"TIFF compression {getattr(page.compression, 'name', page.compression)} needs "
                "the 'imagecodecs' package (pip install imagecodecs)", name) from exc
        raise CorruptImageError(f"TIFF data could not be decoded ({text})", name) from exc
    axes = page.axes
    if axes == "SYX":  # planar configuration 'separate'
        arr = np.moveaxis(arr, 0, -1)
    elif axes not in ("YX", "YXS"):
        raise UnsupportedFormatError(f"TIFF page layout {axes!r} is not supported", name)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)  # 1-bit images as 0/1
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return np.ascontiguousarray(arr)


def _combine_tiff_pages(arrays: list[np.ndarray], name: str) -> np.ndarray:
    if len(arrays) == 1:
        return arrays[0]
    first = arrays[0]
    if all(a.ndim == 2 and a.shape == first.shape and a.dtype == first.dtype for a in arrays):
        return np.stack(arrays, axis=-1)
    shapes = ", ".join(f"{a.shape} {a.dtype}" for a in arrays[:4])
    raise UnsupportedFormatError(
        f"multi-page TIFF with {len(arrays)} pages of different shapes or types ({shapes}); "
        "only stacks of equal-size single-channel pages are read", name)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
