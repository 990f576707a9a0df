"""Transmission/attenuation, air calibration, dual-energy classes and pseudo-colour.

Conventions (all documented with their numbers in ``datasets/xray_physics.md``):

* Transmission ``T = I / I0`` in ``[T_FLOOR, 1]``; attenuation ``A = -ln T`` in
  ``[0, -ln T_FLOOR]``. Attenuations of stacked objects add; transmissions multiply.
* Dual energy: ``R = A_low / A_high`` (= ln T_low / ln T_high). At fixed ``A_high`` R grows
  with the effective atomic number; it also drifts with thickness (beam hardening), so the
  class and colour boundaries are curves R_b(A_high), computed from the attenuation table
  for the scanner's spectra (:class:`ZeffLUT`, built by
  :func:`inspect_cv.xray.scanner.zeff_lut`), never hand-set constants.
* Classes: 0 background (air), 1 organic, 2 mixed, 3 inorganic, 4 metal, 5 impenetrable.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inspect_cv.errors import EmptyImageError, InputError

T_FLOOR = 1e-5
"""Smallest transmission kept (A_max = 11.5); below it nothing is measurable."""
AIR_T_HIGH = 0.975
"""High-energy transmission (3x3 mean) above which, with AIR_T_LOW, a pixel is background."""
AIR_T_LOW = 0.965
SMOOTH = 3
"""Box size of the attenuation smoothing before the ratio (scanners smooth R the same way)."""
AIR_ATTENUATION = 0.02
"""Guard of :func:`dual_energy_ratio`: R is undefined where A_high is below this."""
IMPENETRABLE_T_HIGH = 0.012
"""High-energy transmission below which a pixel is impenetrable (class 5, black)."""


# ------------------------------------------------------------------ basic conversions
def _as_float(a, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.size == 0:
        raise EmptyImageError(f"{name} is empty")
    if not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr.astype(np.float32, copy=False)


def attenuation(I, I0=1.0, eps: float = T_FLOOR) -> np.ndarray:
    """Attenuation ``-ln(clip(I / I0, eps, 1))`` (float32, >= 0).

    Values above ``I0`` (noise on air) give 0; values at or below ``eps * I0`` (or
    negative, e.g. after dark subtraction) give ``-ln(eps)``.
    """
    t = _as_float(I, "I") / np.asarray(I0, dtype=np.float32)
    return -np.log(np.clip(t, eps, 1.0)).astype(np.float32)


def transmission(att) -> np.ndarray:
    """Transmission ``exp(-att)`` (float32); negative attenuation is clipped to 0."""
    return np.exp(-np.clip(_as_float(att, "att"), 0.0, None)).astype(np.float32)


def air_calibrate(raw, dark, air, floor: float = T_FLOOR) -> np.ndarray:
    """Transmission from raw detector counts with a dark frame and an air (open-beam) frame.

    ``T = (raw - dark) / (air - dark)``, then the clipping rules:

    * ``T > 1`` (noise or drift on air) -> 1;
    * ``raw <= dark`` (no signal above the offset) -> ``floor``;
    * dead detector elements (``air <= dark``) -> ``floor`` (shown black, as on real
      scanners, rather than pretending the pixel is air).

    ``dark`` and ``air`` broadcast against ``raw`` (e.g. one value per detector row).
    """
    raw_f = _as_float(raw, "raw")
    dark_f = _as_float(dark, "dark")
    air_f = _as_float(air, "air")
    try:
        num = raw_f - dark_f
        den = air_f - dark_f
        num, den = np.broadcast_arrays(num, den)
    except ValueError as exc:
        raise InputError(f"raw {raw_f.shape}, dark {dark_f.shape} and air {air_f.shape} "
                         "do not broadcast") from exc
    out = np.full(num.shape, floor, dtype=np.float32)
    ok = (den > 0) & (num > 0)
    out[ok] = num[ok] / den[ok]
    return np.clip(out, floor, 1.0).astype(np.float32)


def _pair(high_T, low_T) -> tuple[np.ndarray, np.ndarray]:
    h = _as_float(high_T, "high_T")
    lo = _as_float(low_T, "low_T")
    if h.shape != lo.shape:
        raise InputError(f"high_T {h.shape} and low_T {lo.shape} differ in shape")
    return h, lo


def dual_energy_ratio(high_T, low_T, fill: float = 0.0,
                      min_attenuation: float = AIR_ATTENUATION) -> np.ndarray:
    """``R = ln T_low / ln T_high`` (float32); ``fill`` where ``A_high < min_attenuation``.

    The guard keeps near-air pixels (where both logs are noise) from giving wild ratios.
    """
    h, lo = _pair(high_T, low_T)
    a_h = attenuation(h)
    a_l = attenuation(lo)
    out = np.full(h.shape, fill, dtype=np.float32)
    ok = a_h >= min_attenuation
    out[ok] = a_l[ok] / a_h[ok]
    return out


# ----------------------------------------------------------------- Zeff look-up table
@dataclass(frozen=True)
class ZeffLUT:
    """Effective-Z estimate as a function of (A_high, R) for one pair of spectra.

    ``z[i, j]`` is the Zeff at ``A_high = a_grid[i]`` and ``R = r_grid[j]`` (both uniform
    grids), interpolated between the R(A_high) curves of pure elements Z = 1..30 computed
    from the attenuation table. ``boundaries`` are the class boundaries in Zeff.
    """

    a_grid: np.ndarray
    r_grid: np.ndarray
    z: np.ndarray
    boundaries: tuple[float, float, float]
    curves: dict[int, tuple[np.ndarray, np.ndarray]]

    def lookup(self, a_high: np.ndarray, ratio: np.ndarray) -> np.ndarray:
        """Zeff estimate per pixel (bilinear in the table, clamped at its edges)."""
        a0, da = self.a_grid[0], self.a_grid[1] - self.a_grid[0]
        r0, dr = self.r_grid[0], self.r_grid[1] - self.r_grid[0]
        fi = np.clip((a_high - a0) / da, 0, len(self.a_grid) - 1.001)
        fj = np.clip((ratio - r0) / dr, 0, len(self.r_grid) - 1.001)
        i = fi.astype(np.int32)
        j = fj.astype(np.int32)
        u = (fi - i).astype(np.float32)
        v = (fj - j).astype(np.float32)
        z = self.z
        top = z[i, j] * (1 - v) + z[i, j + 1] * v
        bot = z[i + 1, j] * (1 - v) + z[i + 1, j + 1] * v
        return (top * (1 - u) + bot * u).astype(np.float32)

    def boundary_ratio(self, zb: float, a_high) -> np.ndarray:
        """R of the class boundary ``zb`` (between element curves) at ``a_high``."""
        lo, hi = int(np.floor(zb)), int(np.ceil(zb))
        w = zb - lo
        r_lo = np.interp(a_high, *self.curves[lo])
        r_hi = np.interp(a_high, *self.curves[hi])
        return np.exp((1 - w) * np.log(r_lo) + w * np.log(r_hi))


def _default_lut() -> ZeffLUT:
    from inspect_cv.xray import scanner  # lazy: scanner imports this module

    return scanner.zeff_lut(scanner.PROFILES[scanner.DEFAULT_PROFILE])


def _smoothed_attenuations(h: np.ndarray, lo: np.ndarray, smooth: int
                           ) -> tuple[np.ndarray, np.ndarray]:
    a_h, a_l = attenuation(h), attenuation(lo)
    if smooth and smooth > 1 and h.ndim == 2:
        import cv2

        k = (int(smooth), int(smooth))
        a_h = cv2.blur(a_h, k, borderType=cv2.BORDER_REPLICATE)
        a_l = cv2.blur(a_l, k, borderType=cv2.BORDER_REPLICATE)
    return a_h, a_l


def zeff_map(high_T, low_T, lut: ZeffLUT | None = None, smooth: int = SMOOTH) -> np.ndarray:
    """Per-pixel effective-Z estimate from a dual-energy pair (float32; 0 near air).

    The attenuations are box-smoothed over ``smooth`` x ``smooth`` pixels first (0 or 1:
    none), then R = A_low / A_high is looked up against A_high in the table's curves.
    """
    h, lo = _pair(high_T, low_T)
    lut = lut or _default_lut()
    a_h, a_l = _smoothed_attenuations(h, lo, smooth)
    ok = a_h >= AIR_ATTENUATION
    r = np.ones_like(a_h)
    r[ok] = a_l[ok] / a_h[ok]
    z = lut.lookup(a_h, r)
    z[~ok] = 0.0
    return z


def material_classes(high_T, low_T, lut: ZeffLUT | None = None,
                     smooth: int = SMOOTH) -> np.ndarray:
    """uint8 class map: 0 background, 1 organic, 2 mixed, 3 inorganic, 4 metal, 5 impenetrable.

    Background: smoothed ``T_high > AIR_T_HIGH`` and ``T_low > AIR_T_LOW``. Impenetrable:
    smoothed ``T_high < IMPENETRABLE_T_HIGH``. Otherwise the Zeff estimate of
    :func:`zeff_map` against ``lut.boundaries`` (default 9.5 / 14.5 / 21.5), i.e. R against
    the R(A_high) curves of those boundary Z derived from the table for the spectra.
    """
    h, lo = _pair(high_T, low_T)
    lut = lut or _default_lut()
    z = zeff_map(h, lo, lut, smooth)
    cls = (1 + np.searchsorted(np.asarray(lut.boundaries, np.float32), z, side="right"))
    cls = cls.astype(np.uint8)
    a_h, a_l = _smoothed_attenuations(h, lo, smooth)
    cls[(a_h < -np.log(AIR_T_HIGH)) & (a_l < -np.log(AIR_T_LOW))] = 0
    cls[a_h > -np.log(IMPENETRABLE_T_HIGH)] = 5
    return cls


# --------------------------------------------------------------------- pseudo-colour
@dataclass(frozen=True)
class Palette:
    """Pseudo-colour rendering: hue stops over Zeff, saturation and brightness laws.

    ``stops`` are (zeff, (r, g, b)) with colours in 0..1 at full saturation; pixel colour
    is ``L * ((1 - s) * white + s * colour)`` with ``s = 1 - exp(-A_high / sat_scale)``
    and ``L = (T_high ** gamma)`` lifted by ``lift`` (so thin objects stay pale and
    bright, thick ones saturated and dark, impenetrable black). ``discrete`` colours by
    class instead of the continuous Zeff.
    """

    name: str
    stops: tuple[tuple[float, tuple[float, float, float]], ...]
    gamma: float = 0.5
    sat_scale: float = 0.35
    lift: float = 0.0
    discrete: bool = False


PALETTES: dict[str, Palette] = {
    "standard": Palette(
        "standard",
        stops=((5.0, (1.00, 0.55, 0.10)), (8.5, (1.00, 0.62, 0.12)),
               (10.5, (0.55, 0.80, 0.10)), (13.0, (0.15, 0.75, 0.20)),
               (16.0, (0.10, 0.60, 0.55)), (20.0, (0.10, 0.35, 0.90)),
               (26.0, (0.05, 0.20, 0.95)), (30.0, (0.10, 0.10, 0.80))),
        gamma=0.55, sat_scale=0.35),
    "vendor-a": Palette(
        "vendor-a",
        stops=((5.0, (1.00, 0.70, 0.20)), (9.0, (0.95, 0.75, 0.15)),
               (11.0, (0.45, 0.85, 0.25)), (14.0, (0.10, 0.80, 0.45)),
               (18.0, (0.10, 0.55, 0.85)), (24.0, (0.25, 0.30, 1.00)),
               (30.0, (0.35, 0.20, 0.90))),
        gamma=0.7, sat_scale=0.25, lift=0.03),
    "vendor-b": Palette(
        "vendor-b",
        stops=((1.0, (0.95, 0.50, 0.05)), (2.0, (0.45, 0.70, 0.10)),
               (3.0, (0.10, 0.55, 0.75)), (4.0, (0.05, 0.15, 0.85))),
        gamma=0.42, sat_scale=0.5, discrete=True),
}


def _palette(palette: str | Palette) -> Palette:
    if isinstance(palette, Palette):
        return palette
    if palette not in PALETTES:
        raise InputError(f"unknown palette '{palette}' (known: {', '.join(PALETTES)})")
    return PALETTES[palette]


def _colour_of(values: np.ndarray, pal: Palette) -> np.ndarray:
    keys = np.array([s[0] for s in pal.stops], dtype=np.float32)
    cols = np.array([s[1] for s in pal.stops], dtype=np.float32)
    out = np.empty(values.shape + (3,), dtype=np.float32)
    for c in range(3):
        out[..., c] = np.interp(values, keys, cols[:, c])
    return out


def pseudo_colour(high_T, low_T, palette: str | Palette = "standard",
                  lut: ZeffLUT | None = None) -> np.ndarray:
    """Screening-style pseudo-colour uint8 RGB (H, W, 3) from a dual-energy pair.

    Hue from the Zeff estimate (orange organic, green mixed, blue inorganic/metal),
    brightness from the high-energy attenuation (air white, impenetrable black).
    """
    h, lo = _pair(high_T, low_T)
    if h.ndim != 2:
        raise InputError(f"pseudo_colour needs (H, W) images, got {h.shape}")
    pal = _palette(palette)
    lut = lut or _default_lut()
    a_h = attenuation(h)
    if pal.discrete:
        key = np.clip(material_classes(h, lo, lut), 1, 4).astype(np.float32)
    else:
        key = zeff_map(h, lo, lut)
        key = np.where(a_h < AIR_ATTENUATION, pal.stops[0][0], key)
    colour = _colour_of(key, pal)
    s = (1.0 - np.exp(-a_h / pal.sat_scale))[..., None]
    lum = (pal.lift + (1 - pal.lift) * np.clip(h, 0, 1) ** pal.gamma)[..., None]
    lum = np.where((h < IMPENETRABLE_T_HIGH)[..., None], lum * 0.3, lum)
    rgb = lum * ((1 - s) + s * colour)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def greyscale(high_T, low_T=None, gamma: float = 0.6) -> np.ndarray:
    """Single-energy style uint8 image (dark = dense): ``255 * T ** gamma``.

    With ``low_T`` the two energies are averaged in the attenuation domain first.
    """
    h = _as_float(high_T, "high_T")
    if low_T is not None:
        h, lo = _pair(h, low_T)
        h = transmission(0.5 * (attenuation(h) + attenuation(lo)))
    return np.clip(255.0 * np.clip(h, 0, 1) ** gamma + 0.5, 0, 255).astype(np.uint8)
