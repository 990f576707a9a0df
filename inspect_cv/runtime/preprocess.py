"""Turn any scan array into the 3-channel float image a model expects.

Accepted: ``(H, W)`` grey, ``(H, W, 1)``, ``(H, W, 2)`` dual energy (channel 0 high,
channel 1 low energy transmission, rendered to the standard pseudo-colour), ``(H, W, 3)``
RGB, ``(H, W, 4)`` RGBA (alpha dropped); dtype uint8, uint16 or float (``[0, 1]``,
or ``[0, 255]`` when the maximum exceeds 1.5). The result is float32 ``(H, W, 3)`` in
``[0, 255]``: 16-bit precision is kept until the model's own normalisation.
"""
from __future__ import annotations

import numpy as np

from ..errors import EmptyImageError, InputError


def unit_range(image: np.ndarray) -> np.ndarray:
    """Scale by the dtype's range to float32 in [0, 1] (floats above 1.5 are taken as 0..255)."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    if np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        return (image.astype(np.float32) - max(info.min, 0)) / float(info.max - max(info.min, 0))
    if np.issubdtype(image.dtype, np.floating) or image.dtype == np.bool_:
        f = image.astype(np.float32)
        finite = np.isfinite(f)
        if not finite.all():
            f = np.where(finite, f, 0.0)
        if f.size and float(f.max()) > 1.5:
            f = f / 255.0
        return np.clip(f, 0.0, 1.0)
    raise InputError(f"unsupported image dtype {image.dtype}")


def to_model_rgb(image: np.ndarray, name: str | None = None) -> np.ndarray:
    """float32 (H, W, 3) in [0, 255] from any supported scan array."""
    image = np.asarray(image)
    if image.size == 0 or image.ndim < 2 or min(image.shape[:2]) == 0:
        raise EmptyImageError(f"empty image (shape {image.shape})", name)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise InputError(f"expected an (H, W) or (H, W, C) image, got shape {image.shape}", name)
    c = image.shape[2]
    if c == 2:
        from ..xray.physics import pseudo_colour  # lazy: only dual-energy input needs it

        t = unit_range(image)
        eps = 1.0 / 65535.0
        rgb = pseudo_colour(np.clip(t[..., 0], eps, 1.0), np.clip(t[..., 1], eps, 1.0))
        return rgb.astype(np.float32)
    if c == 1:
        g = unit_range(image[..., 0]) * 255.0
        return np.repeat(g[..., None], 3, axis=2)
    if c in (3, 4):
        return unit_range(image[..., :3]) * 255.0
    raise InputError(f"cannot feed a {c}-channel image to a detector (expected 1, 2, 3 or 4 channels)", name)
