"""Dual-energy baggage scanner model: spectra, profiles and a fast polychromatic renderer.

Spectrum model (documented in ``datasets/xray_physics.md``): Kramers' law for the tube's
bremsstrahlung photon fluence ``N(E) ~ (kVp - E) / E`` (tungsten characteristic lines
ignored), filtered by the tube's inherent + added filtration, then weighted by the
energy-integrating detector's absorbed energy ``E * (1 - exp(-mu_scint t))`` behind any
layer in front of it (a sandwich detector's front layer and Cu filter for the high channel).
The weights of a :class:`Spectrum` are the fraction of the *detected signal* per bin.

``render`` does polychromatic Beer-Lambert per spectrum,
``T = sum_b w_b exp(-sum_m mu_m(E_b) t_m)``, then blur, Poisson noise at ``I0`` and
per-detector-element gain streaks along the belt.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from inspect_cv.errors import InputError
from inspect_cv.lazy import LazyDict
from inspect_cv.xray import materials, physics

DEFAULT_PROFILE = "sim-160kv-sandwich"
E_LOW_CUT_KEV = 10.0
N_BINS = 24
K_EDGES_KEV = (29.2, 33.17, 35.98, 37.44, 50.24, 69.53, 88.0)
"""K edges (Sn, I, Cs, Ba, Gd, W, Pb) that bin edges are placed on, so no energy bin
straddles a jump of the materials and detectors used here."""


@dataclass(frozen=True, eq=False)
class Spectrum:
    """Detected spectrum: bin energies (keV) and signal weights summing to 1."""

    energies_kev: np.ndarray
    weights: np.ndarray

    def __post_init__(self):
        e = np.asarray(self.energies_kev, dtype=np.float64)
        w = np.asarray(self.weights, dtype=np.float64)
        if e.ndim != 1 or e.shape != w.shape or e.size == 0:
            raise InputError("spectrum energies and weights must be equal-length 1-D arrays")
        if np.any(w < 0) or w.sum() <= 0:
            raise InputError("spectrum weights must be >= 0 with a positive sum")
        object.__setattr__(self, "energies_kev", e)
        object.__setattr__(self, "weights", w / w.sum())

    @property
    def mean_energy(self) -> float:
        """Signal-weighted mean energy (keV)."""
        return float(np.dot(self.energies_kev, self.weights))

    def rebinned(self, n: int = N_BINS) -> "Spectrum":
        """The same spectrum on about ``n`` bins (weighted-mean energy per bin).

        Uniform bins in energy, with extra bin edges on the K edges of ``K_EDGES_KEV``.
        """
        if self.energies_kev.size <= n:
            return self
        e0, e1 = self.energies_kev[0], self.energies_kev[-1] + 1e-9
        kedges = [k for k in K_EDGES_KEV if e0 < k < e1]
        edges = np.linspace(e0, e1, max(n - len(kedges), 2) + 1)
        edges = np.unique(np.concatenate([edges, kedges]))
        n = len(edges) - 1
        idx = np.clip(np.searchsorted(edges, self.energies_kev, side="right") - 1, 0, n - 1)
        w = np.bincount(idx, self.weights, minlength=n)
        ew = np.bincount(idx, self.weights * self.energies_kev, minlength=n)
        keep = w > 1e-6
        return Spectrum(ew[keep] / w[keep], w[keep])

    def key(self) -> bytes:
        """Hashable identity of the spectrum (for caches)."""
        return self.energies_kev.tobytes() + self.weights.tobytes()


def _mu_layers(layers: dict[str, float], e: np.ndarray) -> np.ndarray:
    """Total attenuation sum_m mu_m(E) t_m of slabs ``{material: thickness_cm}``."""
    out = np.zeros_like(e)
    for name, t in layers.items():
        out += materials.linear_attenuation(name, e) * t
    return out


def tube_fluence(kvp: float, filtration: dict[str, float] | None = None,
                 step_kev: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Kramers photon fluence per energy bin after filtration: (energies, counts)."""
    if not E_LOW_CUT_KEV + 2 * step_kev < kvp <= 10000:
        raise InputError(f"tube voltage must be in ({E_LOW_CUT_KEV + 2}, 10000] kV, got {kvp}")
    e = np.arange(E_LOW_CUT_KEV, kvp, step_kev) + step_kev / 2
    e = e[e < kvp]
    n = (kvp - e) / e
    return e, n * np.exp(-_mu_layers(filtration or {}, e))


def detected_spectrum(kvp: float, filtration: dict[str, float] | None,
                      scintillator: tuple[str, float],
                      in_front: dict[str, float] | None = None,
                      n_bins: int = N_BINS) -> Spectrum:
    """Signal-weighted spectrum of an energy-integrating detector layer.

    ``scintillator`` is (material, thickness_cm); ``in_front`` are layers between the
    object and that scintillator (front detector layer, Cu filter of a sandwich detector).
    """
    e, n = tube_fluence(kvp, filtration)
    mat, thick = scintillator
    absorbed = 1.0 - np.exp(-materials.linear_attenuation(mat, e) * thick)
    w = n * e * absorbed * np.exp(-_mu_layers(in_front or {}, e))
    return Spectrum(e, w).rebinned(n_bins)


@dataclass(frozen=True, eq=False)
class ScannerProfile:
    """What one (simulated) scanner model looks like.

    ``low``/``high``: detected spectra; ``i0``: photons (signal quanta) per pixel on air,
    which sets the Poisson noise; ``pixel_mm``; ``blur_sigma_px``: detector/scintillator
    spread; ``streak_amplitude``: relative std of the per-detector-element gain error left
    after calibration; ``belt``: 'horizontal' (bag moves along x, each image row is one
    detector element) or 'vertical'; ``jpeg_quality``: None for lossless output;
    ``greyscale``: single-energy display.
    """

    name: str
    low: Spectrum
    high: Spectrum
    i0: float = 4.0e4
    pixel_mm: float = 1.0
    blur_sigma_px: float = 0.7
    streak_amplitude: float = 0.004
    palette: str = "standard"
    belt: str = "horizontal"
    jpeg_quality: int | None = None
    greyscale: bool = False
    description: str = ""

    def replace(self, **changes) -> "ScannerProfile":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def _sandwich(name: str, kvp: float, filt_al_mm: float, front: tuple[str, float],
              cu_mm: float, rear: tuple[str, float], **kw) -> ScannerProfile:
    filt = {"aluminium": filt_al_mm / 10}
    low = detected_spectrum(kvp, filt, front)
    high = detected_spectrum(kvp, filt, rear, in_front={front[0]: front[1],
                                                         "copper": cu_mm / 10})
    desc = (f"{kvp:g} kVp, {filt_al_mm:g} mm Al; sandwich detector: front "
            f"{front[1] * 10:g} mm {front[0]}, {cu_mm:g} mm Cu, rear {rear[1] * 10:g} mm "
            f"{rear[0]}")
    return ScannerProfile(name, low, high, description=desc, **kw)


def _build_profiles() -> dict[str, ScannerProfile]:
    profiles = {
        "sim-160kv-sandwich": _sandwich(
            "sim-160kv-sandwich", 160, 1.5, ("csi", 0.03), 0.5, ("csi", 0.4),
            i0=4e4, pixel_mm=0.8, blur_sigma_px=0.7, palette="standard"),
        "sim-140kv-sandwich": _sandwich(
            "sim-140kv-sandwich", 140, 1.0, ("gos", 0.015), 0.3, ("cdwo4", 0.2),
            i0=2.5e4, pixel_mm=1.0, blur_sigma_px=0.9, palette="vendor-a",
            streak_amplitude=0.006, jpeg_quality=90),
    }
    low = detected_spectrum(80, {"aluminium": 0.1}, ("csi", 0.1))
    high = detected_spectrum(140, {"aluminium": 0.1, "copper": 0.05}, ("csi", 0.1))
    profiles["sim-dual-kvp-80-140"] = ScannerProfile(
        "sim-dual-kvp-80-140", low, high, i0=6e4, pixel_mm=0.6, blur_sigma_px=0.6,
        palette="vendor-b", streak_amplitude=0.003,
        description="dual kVp: 80 kVp + 1 mm Al / 140 kVp + 1 mm Al + 0.5 mm Cu, "
                    "1 mm CsI")
    single = detected_spectrum(160, {"aluminium": 0.2}, ("csi", 0.05))
    profiles["sim-greyscale-single-energy"] = ScannerProfile(
        "sim-greyscale-single-energy", single, single, i0=3e4, pixel_mm=0.8,
        blur_sigma_px=0.8, greyscale=True, jpeg_quality=92,
        description="160 kVp + 2 mm Al, 0.5 mm CsI, one energy, greyscale display")
    return profiles


class _Profiles(LazyDict):
    """Lazily built ``name -> ScannerProfile`` (spectra computed on first access)."""

    def __missing__(self, key):
        raise InputError(f"unknown scanner profile '{key}' (known: {', '.join(self)})")


PROFILES: dict[str, ScannerProfile] = _Profiles(_build_profiles)


def random_profile(rng: np.random.Generator | None = None,
                   base: ScannerProfile | str | None = None) -> ScannerProfile:
    """A randomised scanner: tube voltage, filtration, detector layers, noise, blur,
    streaks, palette, belt direction and JPEG quality drawn over plausible ranges.

    With ``base`` (a profile or its name) only the acquisition/display parameters (I0,
    blur, streaks, palette, belt, JPEG) are varied and the spectra are kept.
    """
    rng = rng or np.random.default_rng()
    if base is None:
        kvp = float(rng.uniform(130, 170))
        filt = float(rng.uniform(0.8, 2.5))
        front = (str(rng.choice(["csi", "gos"])), float(rng.uniform(0.01, 0.05)))
        cu = float(rng.uniform(0.2, 0.8))
        rear = (str(rng.choice(["csi", "cdwo4", "gos"])), float(rng.uniform(0.15, 0.5)))
        prof = _sandwich(f"random-{kvp:.0f}kv-sandwich", kvp, filt, front, cu, rear)
    else:
        prof = PROFILES[base] if isinstance(base, str) else base
    if prof.greyscale:
        palette = prof.palette
    else:
        palette = str(rng.choice(list(physics.PALETTES)))
    jpeg = None if rng.random() < 0.3 else int(rng.integers(70, 97))
    return prof.replace(
        i0=float(np.exp(rng.uniform(np.log(1e4), np.log(1e5)))),
        pixel_mm=float(rng.uniform(0.5, 1.2)),
        blur_sigma_px=float(rng.uniform(0.3, 1.3)),
        streak_amplitude=float(rng.uniform(0.0, 0.006)),
        palette=palette,
        belt=str(rng.choice(["horizontal", "vertical"])),
        jpeg_quality=jpeg,
    )


# ------------------------------------------------------------------------- rendering
def _check_thickness(thickness: dict[str, np.ndarray],
                     density: dict[str, float] | None) -> tuple[list[str], np.ndarray,
                                                               tuple[int, int]]:
    if not isinstance(thickness, dict) or not thickness:
        raise InputError("thickness must be a non-empty dict {material: (H, W) array in cm}")
    shape = None
    names, maps = [], []
    for name, t in thickness.items():
        materials.get_material(name)
        arr = np.asarray(t, dtype=np.float32)
        if arr.ndim != 2 or arr.size == 0:
            raise InputError(f"thickness map of '{name}' must be a non-empty (H, W) array, "
                             f"got shape {arr.shape}")
        if shape is None:
            shape = arr.shape
        elif arr.shape != shape:
            raise InputError(f"thickness map of '{name}' has shape {arr.shape}, "
                             f"expected {shape} like the others")
        if not np.all(np.isfinite(arr)) or arr.min() < 0:
            raise InputError(f"thickness map of '{name}' must be finite and >= 0 (cm)")
        names.append(name)
        maps.append(arr.reshape(-1))
    for name, rho in (density or {}).items():
        materials.get_material(name)
        if not (np.isfinite(rho) and rho > 0):
            raise InputError(f"density of '{name}' must be > 0, got {rho}")
    return names, np.stack(maps), shape  # type: ignore[return-value]


def _polychromatic(spec: Spectrum, names: list[str], rho: list[float],
                   t: np.ndarray) -> np.ndarray:
    import cv2  # cv2.exp is ~10x faster than np.exp on large float32 arrays

    mu = np.stack([materials.mass_attenuation(n, spec.energies_kev) * r
                   for n, r in zip(names, rho)], axis=1).astype(np.float32)  # (B, M)
    out = np.ones(t.shape[1], dtype=np.float32)
    active = t.any(axis=0)
    n_active = int(np.count_nonzero(active))
    if n_active == 0:
        return out
    sub = t if n_active == t.shape[1] else t[:, active]
    w = spec.weights.astype(np.float32)
    chunk = 1 << 17
    res = np.empty(sub.shape[1], dtype=np.float32)
    for s in range(0, sub.shape[1], chunk):
        a = np.matmul(-mu, sub[:, s:s + chunk])
        cv2.exp(a, a)
        res[s:s + chunk] = w @ a
    out[active] = res
    return out


def transmission_clean(thickness: dict[str, np.ndarray], spectrum: Spectrum,
                       density: dict[str, float] | None = None) -> np.ndarray:
    """Noise-free polychromatic transmission of the thickness maps for one spectrum."""
    names, t, shape = _check_thickness(thickness, density)
    rho = [(density or {}).get(n, materials.MATERIALS[n].density) for n in names]
    return _polychromatic(spectrum, names, rho, t).reshape(shape)


POISSON_EXACT_BELOW = 50.0
"""Mean quanta below which noise is drawn exactly from Poisson (normal approx above)."""


def _quantum_noise(T: np.ndarray, i0: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson counting noise at ``i0`` quanta on air: returns counts / i0.

    Normal approximation N(lam, lam) where lam >= POISSON_EXACT_BELOW (indistinguishable
    there, and ~10x faster), exact Poisson below.
    """
    lam = T.astype(np.float32) * np.float32(i0)
    out = lam + np.sqrt(lam) * rng.standard_normal(lam.shape, dtype=np.float32)
    low = lam < POISSON_EXACT_BELOW
    if low.any():
        out[low] = rng.poisson(lam[low].astype(np.float64))
    return out / np.float32(i0)


def _detector(T: np.ndarray, profile: ScannerProfile, rng: np.random.Generator,
              noise: bool, streaks: np.ndarray | None) -> np.ndarray:
    import cv2

    if profile.blur_sigma_px > 0:
        T = cv2.GaussianBlur(T, (0, 0), profile.blur_sigma_px,
                             borderType=cv2.BORDER_REPLICATE)
    if noise:
        T = _quantum_noise(T, profile.i0, rng)
        if streaks is not None:
            T = T * streaks
    return np.clip(T, physics.T_FLOOR, 1.0).astype(np.float32)


def render(thickness: dict[str, np.ndarray], profile: ScannerProfile | str,
           rng: np.random.Generator | None = None,
           density: dict[str, float] | None = None,
           noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Render (high_T, low_T) float32 transmissions in (0, 1] from thickness maps.

    ``thickness``: {material name: (H, W) cm}; ``density``: optional per-material density
    overrides (g/cm^3). Polychromatic Beer-Lambert per spectrum, then detector blur,
    Poisson noise at ``profile.i0`` and gain streaks (one gain per detector element,
    constant along the belt), clipped to ``[T_FLOOR, 1]``. Deterministic for a seeded rng.
    """
    prof = PROFILES[profile] if isinstance(profile, str) else profile
    rng = rng if rng is not None else np.random.default_rng()
    names, t, shape = _check_thickness(thickness, density)
    rho = [(density or {}).get(n, materials.MATERIALS[n].density) for n in names]
    high = _polychromatic(prof.high, names, rho, t).reshape(shape)
    low = high if prof.low is prof.high else _polychromatic(prof.low, names, rho,
                                                            t).reshape(shape)
    streaks = None
    if noise and prof.streak_amplitude > 0:
        n_el = shape[0] if prof.belt == "horizontal" else shape[1]
        g = 1 + prof.streak_amplitude * rng.standard_normal(n_el).astype(np.float32)
        streaks = g[:, None] if prof.belt == "horizontal" else g[None, :]
    high_T = _detector(high, prof, rng, noise, streaks)
    if prof.low is prof.high:
        low_T = high_T.copy()
    else:
        low_T = _detector(low, prof, rng, noise, streaks)
    return high_T, low_T


def display(high_T: np.ndarray, low_T: np.ndarray, profile: ScannerProfile | str,
            rng: np.random.Generator | None = None) -> np.ndarray:
    """What the operator sees: uint8 RGB pseudo-colour (H, W, 3), or (H, W) greyscale for
    greyscale profiles, with JPEG artefacts at ``profile.jpeg_quality`` if set."""
    import cv2

    prof = PROFILES[profile] if isinstance(profile, str) else profile
    if prof.greyscale:
        img = physics.greyscale(high_T)
    else:
        img = physics.pseudo_colour(high_T, low_T, prof.palette, lut=zeff_lut(prof))
    if prof.jpeg_quality is not None:
        q = int(prof.jpeg_quality)
        if img.ndim == 3:
            ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
        else:
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
            img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return img


# ------------------------------------------------------------------ Zeff look-up table
_LUT_CACHE: dict[bytes, physics.ZeffLUT] = {}
LUT_Z = tuple(range(1, 31))


def element_curve(z: int, low: Spectrum, high: Spectrum,
                  mass_thickness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A_high, R) of pure element ``z`` over mass thicknesses (g/cm^2), noise-free."""
    sym = materials.element_symbol(z)
    out = []
    for spec in (high, low):
        mu = materials.element_mass_attenuation(sym, spec.energies_kev)
        T = np.exp(-np.outer(mass_thickness, mu)) @ spec.weights
        out.append(-np.log(np.clip(T, 1e-300, 1)))
    a_h, a_l = out
    return a_h, a_l / np.maximum(a_h, 1e-12)


def zeff_lut(profile: ScannerProfile | str, n_a: int = 256, n_r: int = 256,
             a_max: float = 6.0) -> physics.ZeffLUT:
    """Zeff look-up table (A_high, R) -> Zeff for the profile's spectra (cached)."""
    prof = PROFILES[profile] if isinstance(profile, str) else profile
    key = prof.low.key() + prof.high.key() + bytes(f"{n_a},{n_r},{a_max}", "ascii")
    if key in _LUT_CACHE:
        return _LUT_CACHE[key]
    a_grid = np.linspace(0.0, a_max, n_a)
    curves = {}
    r_at = np.empty((len(LUT_Z), n_a))
    for k, z in enumerate(LUT_Z):
        # mass thickness up to far beyond a_max for every element
        mt = np.geomspace(1e-5, 3e3, 400)
        a_h, r = element_curve(z, prof.low, prof.high, mt)
        keep = a_h < a_max * 1.5 + 1
        a_h, r = a_h[keep], r[keep]
        a_h = np.concatenate([[0.0], a_h])
        r = np.concatenate([[r[0]], r])
        curves[z] = (a_h, r)
        r_at[k] = np.interp(a_grid, a_h, r)
    # Zeff increasing <=> R increasing at fixed A_high; enforce monotonic order
    r_at = np.maximum.accumulate(r_at, axis=0)
    r_lo = float(r_at.min()) * 0.9
    r_hi = float(r_at.max()) * 1.1
    r_grid = np.linspace(r_lo, r_hi, n_r)
    zs = np.asarray(LUT_Z, dtype=np.float64)
    table = np.empty((n_a, n_r), dtype=np.float32)
    for i in range(n_a):
        col = r_at[:, i] + np.arange(len(LUT_Z)) * 1e-9  # strictly increasing
        table[i] = np.interp(r_grid, col, zs)
    lut = physics.ZeffLUT(a_grid, r_grid, table, materials.ZEFF_BOUNDARIES, curves)
    _LUT_CACHE[key] = lut
    return lut


__all__ = ["Spectrum", "ScannerProfile", "PROFILES", "DEFAULT_PROFILE", "random_profile",
           "render", "display", "zeff_lut", "detected_spectrum", "tube_fluence",
           "transmission_clean", "element_curve"]
