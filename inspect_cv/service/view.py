"""Display views of raw scans for the operator web page (``POST /v1/view``).

Browsers cannot show 16-bit TIFF, DICOM or dual-energy stacks, and windowing must act
on the real stored values, not on an 8-bit copy. :func:`render_view` takes the decoded
raw array, downscales it (area mean, in float32, so 16-bit values are kept exactly
until the window), applies the radiology window (:func:`inspect_cv.io.window`, level
and width in the image's own units) and renders grey or dual-energy pseudo-colour:

- ``(H, W)`` grey scans: the window, grey;
- ``(H, W, 3|4)`` colour scans (8-bit pseudo-colour photos of a console): the window on
  each channel (colour) or on the luminance (grey);
- ``(H, W, 2)`` dual-energy stacks (channel 0 high, 1 low): grey is the window on the
  high-energy channel; colour keeps that brightness and takes the hue of the project's
  screening pseudo-colour (:func:`inspect_cv.xray.physics.pseudo_colour` on the
  transmissions, as the baggage detector sees them; for ``kind="container"`` with the
  MeV Zeff table of :func:`inspect_cv.container.synth.zeff_lut` and the air / dark
  levels of :func:`inspect_cv.container.inspect.read_container_scan`), so toggling
  grey / colour changes the hue only, never the window.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

MODES = ("auto", "grey", "colour")
KINDS = ("baggage", "container")
MAX_SIDE_RANGE = (16, 8192)


@dataclass
class View:
    """A rendered view: ``rgb`` uint8 ``(h, w, 3)`` and what the page needs to draw on it.

    ``scale``: view pixels per original pixel (boxes in original coordinates times
    ``scale`` land on the view); ``vmin`` / ``vmax``: the windowed channel's value range;
    ``level`` / ``width``: the window used; ``default_level`` / ``default_width``: the
    window used when none is given; ``mode``: ``grey`` or ``colour`` as rendered;
    ``source``: ``grey``, ``rgb`` or ``dual``.
    """

    rgb: np.ndarray
    width_px: int
    height_px: int
    scale: float
    vmin: float
    vmax: float
    level: float
    width: float
    default_level: float
    default_width: float
    mode: str
    source: str

    def headers(self) -> dict[str, str]:
        """The view's numbers as ``X-...`` response headers."""
        return {"X-Image-Width": str(self.width_px), "X-Image-Height": str(self.height_px),
                "X-View-Scale": f"{self.scale:.8g}", "X-Value-Min": f"{self.vmin:.8g}",
                "X-Value-Max": f"{self.vmax:.8g}", "X-Window-Level": f"{self.level:.8g}",
                "X-Window-Width": f"{self.width:.8g}", "X-Window-Default-Level": f"{self.default_level:.8g}",
                "X-Window-Default-Width": f"{self.default_width:.8g}", "X-View-Mode": self.mode,
                "X-View-Source": self.source}


def _source(image: np.ndarray, name: str | None) -> str:
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return "grey"
    if image.ndim == 3 and image.shape[2] == 2:
        return "dual"
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return "rgb"
    raise InputError(f"cannot display an image of shape {image.shape} (expected 1, 2, 3 or 4 channels)", name)


def _shrink(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 area-mean downscale to ``size`` = (w, h) (a no-op at full size)."""
    import cv2

    f = arr.astype(np.float32)
    if (f.shape[1], f.shape[0]) == size:
        return f
    if f.ndim == 3 and f.shape[2] > 4:  # pragma: no cover - _source refuses these
        raise InputError(f"too many channels: {f.shape[2]}")
    return cv2.resize(f, size, interpolation=cv2.INTER_AREA)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _chroma(rgb: np.ndarray) -> np.ndarray:
    """Hue and saturation of a uint8 RGB image: each pixel divided by its brightest channel."""
    f = rgb.astype(np.float32)
    v = f.max(axis=-1, keepdims=True)
    return np.where(v > 4.0, f / np.maximum(v, 1.0), 1.0)


def _dual_hue(image: np.ndarray, kind: str, size: tuple[int, int], name: str | None) -> np.ndarray:
    """Pseudo-colour chroma ``(h, w, 3)`` in [0, 1] of a dual-energy stack at the view size."""
    import cv2

    from ..xray.physics import pseudo_colour

    if kind == "container":
        from ..container.inspect import attenuation, read_container_scan
        from ..container.synth import zeff_lut

        scan = read_container_scan(image[..., 0], image[..., 1])
        f = max(1, int(image.shape[1] // max(1, size[0])))
        th = np.exp(-attenuation(scan.high, scan.air_high, scan.dark, f))
        tl = np.exp(-attenuation(scan.low, scan.air_low, scan.dark, f))
        rgb = pseudo_colour(th, tl, "standard", lut=zeff_lut(scan.profile))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    else:
        from ..runtime.preprocess import unit_range

        t = _shrink(unit_range(image), size)  # as the detector sees it (to_model_rgb)
        eps = 1.0 / 65535.0
        rgb = pseudo_colour(np.clip(t[..., 0], eps, 1.0), np.clip(t[..., 1], eps, 1.0))
    return _chroma(rgb)


def view_size(hw: tuple[int, int], max_side: int) -> tuple[tuple[int, int], float]:
    """``((w, h), scale)`` of a view of an ``hw`` image no longer than ``max_side`` pixels."""
    h, w = int(hw[0]), int(hw[1])
    s = min(1.0, max_side / max(h, w))
    size = (max(1, int(round(w * s))), max(1, int(round(h * s))))
    return size, size[0] / w


def render_view(image: np.ndarray, level: float | None = None, width: float | None = None, *,
                mode: str = "auto", max_side: int = 2048, kind: str = "baggage",
                name: str | None = None) -> View:
    """Window, colour and downscale a raw scan array for display (see the module doc).

    ``level`` / ``width`` in the stored units (both None: the default window, the dtype's
    range for 8-bit images, the data's min..max otherwise; one of them None: that one's
    default). Raises :class:`InputError` for a non-positive width, an unknown mode /
    kind, or a ``max_side`` outside 16..8192.
    """
    from ..io import window

    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}", name)
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}", name)
    if not MAX_SIDE_RANGE[0] <= int(max_side) <= MAX_SIDE_RANGE[1]:
        raise InputError(f"max_side must lie in {MAX_SIDE_RANGE[0]}..{MAX_SIDE_RANGE[1]}, got {max_side}", name)
    image = np.asarray(image)
    if image.size == 0 or image.ndim < 2:
        raise InputError(f"empty image (shape {image.shape})", name)
    if image.dtype.kind not in "uif" and image.dtype != bool:
        raise InputError(f"cannot display dtype {image.dtype}", name)
    if image.dtype == bool:
        image = image.astype(np.uint8)
    src = _source(image, name)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if src == "rgb":
        image = image[..., :3]
    size, scale = view_size(image.shape[:2], int(max_side))

    # the channel the window acts on, at full resolution, for the value range
    full = image[..., 0] if src == "dual" else image
    finite = full if full.dtype.kind in "ui" else full[np.isfinite(full)]
    if finite.size == 0:
        raise InputError("the image holds no finite value", name)
    vmin, vmax = float(finite.min()), float(finite.max())
    if image.dtype == np.uint8:
        d_level, d_width = 127.5, 255.0
    else:
        d_level, d_width = (vmin + vmax) / 2.0, max(vmax - vmin, 1e-6 if image.dtype.kind == "f" else 1.0)
    level = d_level if level is None else float(level)
    width = d_width if width is None else float(width)
    if not (np.isfinite(level) and np.isfinite(width)):
        raise InputError(f"window level and width must be finite numbers, got {level}, {width}", name)
    if not width > 0:
        raise InputError(f"window width must be positive, got {width:g}", name)

    colour = mode == "colour" or (mode == "auto" and src in ("rgb", "dual"))
    if src == "grey":
        colour = False
    small = _shrink(image, size)
    small = np.nan_to_num(small, nan=vmin, posinf=vmax, neginf=vmin)
    if src == "rgb":
        out = window(small, level, width) if colour else np.repeat(window(_luma(small), level, width)[..., None], 3, -1)
    elif src == "dual":
        lum = window(small[..., 0], level, width)[..., None]
        out = lum * _dual_hue(image, kind, size, name) if colour else np.repeat(lum, 3, -1)
    else:
        out = np.repeat(window(small, level, width)[..., None], 3, -1)
    rgb = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return View(np.ascontiguousarray(rgb), int(image.shape[1]), int(image.shape[0]), scale, vmin, vmax,
                level, width, d_level, d_width, "colour" if colour else "grey", src)


def view_png(view: View) -> bytes:
    """The view as PNG bytes (fast compression: it is sent once and shown)."""
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(view.rgb[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:  # pragma: no cover
        raise InputError("could not encode the view as PNG")
    return buf.tobytes()


__all__ = ["View", "render_view", "view_png", "view_size", "MODES", "KINDS"]
