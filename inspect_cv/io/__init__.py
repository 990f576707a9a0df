"""Scan I/O: read and write X-ray scans and photos with their raw stored values.

Formats: PNG, JPEG, BMP (OpenCV), TIFF 8/16-bit/float, greyscale, RGB(A) and
multi-channel or multi-page (tifffile), DICOM/DICOS digital X-ray (pydicom, the
``dicom`` extra). Readers keep the stored dtype and values (colour in RGB order);
scaling to [0, 1] or 8 bits is an explicit step (:func:`to_float`,
:func:`normalize`, :func:`window`, :func:`to_uint8`).

Inputs are read once into memory and their declared size is checked against
:data:`DEFAULT_MAX_PIXELS` / :data:`DEFAULT_MAX_BYTES` (overridable per call or with
``INSPECT_CV_MAX_PIXELS`` / ``INSPECT_CV_MAX_BYTES``) before anything is decoded.
Bad inputs raise :class:`~inspect_cv.errors.InputError` subclasses naming the file.

>>> from inspect_cv.io import read_image, to_uint8          # doctest: +SKIP
>>> scan = read_image("container.tif")      # (H, W, 2) uint16, raw values  # doctest: +SKIP
"""
from __future__ import annotations

from ._dicom import read_dicom, read_dicom_meta
from ._dual import DualEnergyImage, read_dual_energy, write_dual_energy
from ._files import iter_image_files
from ._limits import (DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ENV_MAX_BYTES, ENV_MAX_PIXELS,
                      Limits, resolve_limits)
from ._normalize import dtype_range, normalize, to_float, to_uint8, window
from ._read import decode_image, read_bytes, read_image
from ._sniff import SUPPORTED_EXTENSIONS, detect_format
from ._write import encode_image, write_image

__all__ = [
    "read_image", "decode_image", "read_bytes", "read_dicom", "read_dicom_meta",
    "DualEnergyImage", "read_dual_energy", "write_dual_energy",
    "write_image", "encode_image", "iter_image_files",
    "to_float", "normalize", "window", "to_uint8", "dtype_range",
    "DEFAULT_MAX_PIXELS", "DEFAULT_MAX_BYTES", "ENV_MAX_PIXELS", "ENV_MAX_BYTES",
    "Limits", "resolve_limits", "SUPPORTED_EXTENSIONS", "detect_format",
]
