"""MeV linac spectra, detector model and the fast dual-energy renderer for container scans.

Model (numbers and sources in ``datasets/container_scans.md``):

* Bremsstrahlung photon fluence of a thick tungsten target, Kramers' shape
  ``N(E) ~ (E0 - E) / E`` up to the endpoint ``E0`` (6, 4 or 9 MeV), filtered by the
  target backing and the beam filter (``filtration``, e.g. 2 mm W + 10 mm Cu). Kramers'
  shape is the standard first-order thick-target law; it under-weights the forward
  high-energy tail compared with Monte Carlo spectra of linac heads, which is acceptable
  for a simulator whose dual-energy curves are derived from the same spectra.
* Detector: energy-integrating scintillator crystal (CdWO4 ~3 cm deep along the beam),
  signal weight ``E * (1 - exp(-mu(E) * t))`` (all the photon energy assumed deposited
  on interaction; escaping Compton photons ignored).
* Attenuation: total mass attenuation coefficients (with pair production) of the shipped
  table :mod:`inspect_cv.xray.materials` (xraylib cross-sections + Maximon pair
  production, checked against NIST XCOM; see ``inspect_cv/xray/data/SOURCES.md``).
* Rendering: ``T = sum_b w_b exp(-sum_m (mu/rho)_m(E_b) * M_m)`` over a few energy bins,
  where ``M_m`` are the mass-thickness maps (g/cm^2) of :mod:`.geometry`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from inspect_cv.errors import InputError
from inspect_cv.xray import materials
from inspect_cv.xray.scanner import Spectrum, detected_spectrum

N_BINS = 12
"""Energy bins of the rendered spectra (uniform from 10 keV to the endpoint)."""


@dataclass(frozen=True, eq=False)
class LinacProfile:
    """A simulated dual-energy container scanner.

    ``high_mev``/``low_mev``: linac endpoints (interlaced pulses); ``filtration``:
    {material: cm} between target and object; ``detector``: (material, depth cm);
    ``i0_high``/``i0_low``: effective detected quanta per pixel on air, which sets the
    Poisson noise (the "dose" setting: noise std on air = 1/sqrt(i0));
    ``pixel_mm``: detector pitch (and nominal column pitch at nominal speed);
    ``row_gain_std``: residual per-detector-row gain error (horizontal streaks);
    ``module_rows``/``module_gain_std``: detector boards and their common gain error;
    ``pulse_std``: residual pulse-to-pulse dose error per column (faint vertical
    stripes); ``scatter_fraction``/``scatter_sigma_cm``: broad scatter halo;
    ``blur_px``: detector cross-talk blur; ``speed_jitter``: relative std of the
    vehicle speed (low-frequency), which stretches columns; ``air_counts``: uint16 value
    of air after calibration; ``dark_counts``: offset added (with noise) to every pixel.
    """

    name: str
    high_mev: float = 6.0
    low_mev: float = 4.0
    filtration: tuple = (("tungsten", 0.2), ("copper", 1.0))
    detector: tuple = ("cdwo4", 3.0)
    i0_high: float = 3.0e5
    i0_low: float = 1.5e5
    pixel_mm: float = 3.5
    row_gain_std: float = 0.002
    module_rows: int = 16
    module_gain_std: float = 0.0015
    pulse_std: float = 0.002
    scatter_fraction: float = 3e-4
    scatter_sigma_cm: float = 6.0
    blur_px: float = 0.7
    speed_jitter: float = 0.03
    air_counts: float = 60000.0
    dark_counts: float = 300.0
    description: str = ""

    def replace(self, **changes) -> "LinacProfile":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def check(self) -> "LinacProfile":
        """Validate the numbers; returns self."""
        if not (0.5 <= self.low_mev < self.high_mev <= 10.0):
            raise InputError(f"profile {self.name}: need 0.5 <= low < high <= 10 MeV, "
                             f"got {self.low_mev}/{self.high_mev}")
        if not (self.i0_high > 0 and self.i0_low > 0 and 0.5 <= self.pixel_mm <= 20):
            raise InputError(f"profile {self.name}: i0 must be > 0 and pixel 0.5-20 mm")
        if not (0 < self.dark_counts < self.air_counts <= 65535):
            raise InputError(f"profile {self.name}: need 0 < dark < air <= 65535 counts")
        if not (0 <= self.scatter_fraction < 0.5 and 0 <= self.speed_jitter < 0.3):
            raise InputError(f"profile {self.name}: scatter fraction or speed jitter "
                             "out of range")
        return self

    @property
    def spectra(self) -> tuple[Spectrum, Spectrum]:
        """(high, low) detected spectra (cached per endpoint/filter/detector)."""
        return (_spectrum(self.high_mev, self.filtration, self.detector),
                _spectrum(self.low_mev, self.filtration, self.detector))


@lru_cache(maxsize=16)
def _spectrum(endpoint_mev: float, filtration: tuple, detector: tuple) -> Spectrum:
    filt = {m: float(t) for m, t in filtration}
    fine = detected_spectrum(endpoint_mev * 1000.0, filt, (detector[0], float(detector[1])),
                             n_bins=4096)
    return _rebin(fine, N_BINS)


def _rebin(spec: Spectrum, n: int) -> Spectrum:
    e = spec.energies_kev
    edges = np.linspace(e[0], e[-1] + 1e-6, n + 1)
    idx = np.clip(np.searchsorted(edges, e, side="right") - 1, 0, n - 1)
    w = np.bincount(idx, spec.weights, minlength=n)
    ew = np.bincount(idx, spec.weights * e, minlength=n)
    keep = w > 1e-9
    return Spectrum(ew[keep] / w[keep], w[keep])


PROFILES: dict[str, LinacProfile] = {
    "sim-6-4mv-cdwo4": LinacProfile(
        "sim-6-4mv-cdwo4", 6.0, 4.0,
        description="6/4 MV interlaced linac, 2 mm W + 10 mm Cu, 30 mm CdWO4, 3.5 mm pitch"),
    "sim-9-6mv-cdwo4": LinacProfile(
        "sim-9-6mv-cdwo4", 9.0, 6.0, i0_high=4.0e5, i0_low=2.5e5, pixel_mm=5.0,
        description="9/6 MV interlaced linac, 2 mm W + 10 mm Cu, 30 mm CdWO4, 5 mm pitch"),
    "sim-6-3mv-csi": LinacProfile(
        "sim-6-3mv-csi", 6.0, 3.0, detector=("csi", 3.0), i0_high=2.0e5, i0_low=8.0e4,
        pixel_mm=3.0, row_gain_std=0.003,
        description="6/3 MV interlaced linac, 2 mm W + 10 mm Cu, 30 mm CsI, 3 mm pitch"),
}
DEFAULT_PROFILE = "sim-6-4mv-cdwo4"


def get_profile(profile: LinacProfile | str | None) -> LinacProfile:
    """A profile by name (default :data:`DEFAULT_PROFILE`) or the given one, checked."""
    if profile is None:
        profile = DEFAULT_PROFILE
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise InputError(f"unknown container scanner profile '{profile}' "
                             f"(known: {', '.join(PROFILES)})")
        profile = PROFILES[profile]
    if not isinstance(profile, LinacProfile):
        raise InputError(f"profile must be a LinacProfile or a name, got {type(profile).__name__}")
    return profile.check()


def mu_table(spec: Spectrum, names: list[str]) -> np.ndarray:
    """(bins, materials) mass attenuation coefficients (cm^2/g), float32."""
    return np.stack([materials.mass_attenuation(n, spec.energies_kev) for n in names],
                    axis=1).astype(np.float32)


def transmission(maps: dict[str, np.ndarray], spec: Spectrum) -> np.ndarray:
    """Noise-free polychromatic transmission of mass-thickness maps (float32 (H, W)).

    ``maps``: {material: (H, W) g/cm^2}.
    """
    return transmissions(maps, [spec])[0]


def transmissions(maps: dict[str, np.ndarray], specs: list[Spectrum]) -> list[np.ndarray]:
    """Transmissions for several spectra in one pass over the maps (float32 (H, W) each).

    ``T = sum_b w_b exp(-sum_m (mu/rho)_m(E_b) M_m)``; computed in row chunks, on the
    pixels where some map is non-zero (air stays exactly 1).
    """
    import cv2

    if not maps:
        raise InputError("no mass-thickness maps to render")
    names = list(maps)
    shape = next(iter(maps.values())).shape
    mu = -np.concatenate([mu_table(s, names) for s in specs], axis=0)      # (sum B, M)
    split = np.cumsum([len(s.weights) for s in specs])[:-1]
    wts = [s.weights.astype(np.float32) for s in specs]
    outs = [np.ones(shape, dtype=np.float32) for _ in specs]
    rows = max(1, (1 << 18) // max(shape[1], 1))
    for r in range(0, shape[0], rows):
        sub = np.stack([maps[n][r:r + rows].reshape(-1) for n in names])  # (M, P)
        active = np.flatnonzero(sub.any(axis=0))
        if active.size == 0:
            continue
        if active.size < sub.shape[1]:
            sub = sub[:, active]
        a = mu @ sub
        cv2.exp(a, a)
        for out, w, part in zip(outs, wts, np.split(a, split, axis=0)):
            flat = out[r:r + rows].reshape(-1)
            flat[active] = w @ part
            out[r:r + rows] = flat.reshape(-1, shape[1])
    return outs


def slab_transmission(material: str, mass_thickness, spec: Spectrum) -> np.ndarray:
    """Transmission of uniform slabs of ``material`` (g/cm^2, array) for a spectrum."""
    mt = np.atleast_1d(np.asarray(mass_thickness, dtype=np.float64))
    mu = materials.mass_attenuation(material, spec.energies_kev)
    return np.exp(-np.outer(mt, mu)) @ spec.weights


def mass_thickness_from_attenuation(material: str, attenuation, spec: Spectrum,
                                    max_mass_thickness: float = 2000.0) -> np.ndarray:
    """Invert the polychromatic slab law: mass thickness (g/cm^2) of ``material`` that
    gives attenuation ``A = -ln T`` for the spectrum (monotone interpolation)."""
    a = np.asarray(attenuation, dtype=np.float64)
    grid = np.concatenate([[0.0], np.geomspace(1e-3, max_mass_thickness, 600)])
    a_grid = -np.log(slab_transmission(material, grid, spec))
    return np.interp(a, a_grid, grid)


def effective_mu(material: str, spec: Spectrum) -> float:
    """Thin-slab effective mass attenuation (cm^2/g) of a material for a spectrum."""
    mu = materials.mass_attenuation(material, spec.energies_kev)
    return float(np.dot(spec.weights, mu))


__all__ = ["LinacProfile", "PROFILES", "DEFAULT_PROFILE", "get_profile", "transmission", "transmissions",
           "slab_transmission", "mass_thickness_from_attenuation", "effective_mu",
           "mu_table", "N_BINS"]
