"""Size limits applied before anything is decoded.

``max_pixels`` bounds the number of decoded *values* (height x width x channels x
pages), which is what the decoded array costs in memory; ``max_bytes`` bounds the
size of the encoded file. Each is taken from the call's argument, else from the
environment (``INSPECT_CV_MAX_PIXELS`` / ``INSPECT_CV_MAX_BYTES``), else from the
module defaults below.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Sequence

from ..errors import ConfigError, EmptyImageError, ImageTooLargeError

#: Default cap on decoded values: a 2,000 x 20,000 dual-energy container scan is
#: 80 million values, a 100-megapixel RGB photo 300 million (raise the limit for that).
DEFAULT_MAX_PIXELS = 250_000_000
#: Default cap on the encoded file size (2 GiB).
DEFAULT_MAX_BYTES = 2 * 1024**3

ENV_MAX_PIXELS = "INSPECT_CV_MAX_PIXELS"
ENV_MAX_BYTES = "INSPECT_CV_MAX_BYTES"


@dataclass(frozen=True)
class Limits:
    """Resolved limits for one read."""

    max_pixels: int
    max_bytes: int


def _positive_int(value: object, what: str) -> int:
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a positive integer, got {value!r}") from None
    if isinstance(value, float) and value != number:
        raise ConfigError(f"{what} must be a positive integer, got {value!r}")
    if number <= 0:
        raise ConfigError(f"{what} must be a positive integer, got {value!r}")
    return number


def _resolve(value: int | None, env: str, default: int, what: str) -> int:
    if value is not None:
        return _positive_int(value, what)
    raw = os.environ.get(env)
    if raw is not None and raw.strip():
        return _positive_int(raw, f"environment variable {env}")
    return default


def resolve_limits(max_pixels: int | None = None, max_bytes: int | None = None) -> Limits:
    """Limits for one read: argument, else environment variable, else default."""
    return Limits(
        max_pixels=_resolve(max_pixels, ENV_MAX_PIXELS, DEFAULT_MAX_PIXELS, "max_pixels"),
        max_bytes=_resolve(max_bytes, ENV_MAX_BYTES, DEFAULT_MAX_BYTES, "max_bytes"),
    )


def check_bytes(size: int, limits: Limits, name: str) -> None:
    """Refuse an encoded input larger than ``limits.max_bytes``."""
    if size > limits.max_bytes:
        raise ImageTooLargeError(
            f"file is {size:,} bytes, over the limit of {limits.max_bytes:,} "
            f"(pass max_bytes= or set {ENV_MAX_BYTES} to raise it)", name)


def check_shape(shape: Sequence[int], limits: Limits, name: str) -> None:
    """Refuse a declared shape with a zero dimension or too many values, before decoding."""
    dims = [int(d) for d in shape]
    if any(d <= 0 for d in dims):
        raise EmptyImageError(f"image has a zero-size dimension (shape {tuple(dims)})", name)
    total = math.prod(dims)
    if total > limits.max_pixels:
        text = " x ".join(str(d) for d in dims)
        raise ImageTooLargeError(
            f"image of {text} = {total:,} values is over the limit of {limits.max_pixels:,} "
            f"(pass max_pixels= or set {ENV_MAX_PIXELS} to raise it)", name)
