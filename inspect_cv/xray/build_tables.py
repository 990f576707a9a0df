"""Build the shipped photon attenuation table ``data/attenuation.npz`` (offline, dev only).

Run ``python -m inspect_cv.xray.build_tables``. Needs ``xraylib`` (imported lazily, here
only); the runtime reads the shipped ``.npz`` and never imports xraylib.

What goes into the table (per element Z = 1..92, mass attenuation in cm^2/g, no
coherent-scattering exclusion, i.e. "total with coherent" as XCOM calls it):

* 10 keV .. 800 keV: xraylib ``CS_Photo + CS_Rayl + CS_Compt`` (== ``CS_Total``).
  xraylib's total has **no pair production** and its splines stop at 800 keV (it raises
  "Spline extrapolation is not allowed" above), so above 800 keV we extend it:
* Compton above 800 keV: Klein-Nishina per electron times Z, scaled by the ratio
  xraylib/KN at 800 keV (binding corrections are < 1 % there and shrink with energy).
* Photoelectric above 800 keV: continued from xraylib's local log-log slope s0 at 800 keV,
  letting the slope relax towards the asymptotic -1 (Sauter high-energy limit):
  d ln(sigma)/d ln(E) = -1 + (s0 + 1) * (800 keV / E).
* Rayleigh above 800 keV: continued with slope -2 (form-factor regime); negligible.
* Pair production in the nuclear field (>= 1.022 MeV): Born cross section of
  Maximon (1968, J. Res. NBS 72B, 79): his near-threshold series for k < 4 and his
  high-energy series for k >= 4 (k = E / m_e c^2), times an empirical Coulomb factor
  1 + f(aZ) g(k) built on the Davies-Bethe-Maximon (1954) function f, with g's two
  constants fitted to XCOM lead totals (see ``_pair_nuclear``). Screening is not
  modelled separately (the fit absorbs it for lead).
* Triplet (pair in the electron field, >= 2.044 MeV): Z * (nuclear Born cross section per
  Z^2) * (1 - 4/k)^2, a stated rough approximation (triplet is < 1.5 % of the total for
  Z >= 6 below 10 MeV).

The energy grid is 200 log-spaced points from 10 keV to 10 MeV plus both sides of the
K and L absorption edges of the elements used by ``materials.MATERIALS`` inside that range,
so that log-log interpolation does not smear those edges. Accuracy against NIST XCOM is
checked by ``compare_with_xcom`` and documented in ``data/SOURCES.md``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

E_MIN_KEV = 10.0
E_MAX_KEV = 10000.0
N_LOG = 200
E_SPLIT_KEV = 800.0  # xraylib's upper limit
ME_C2_KEV = 510.99895
ALPHA = 1.0 / 137.035999
R_E_CM = 2.8179403262e-13
AVOGADRO = 6.02214076e23
Z_MAX = 92
ZETA3 = 1.2020569031595942

# Elements whose K/L edges in 10 keV..10 MeV are inserted into the grid (materials use them).
EDGE_ELEMENTS = (29, 30, 35, 48, 50, 53, 55, 56, 64, 74, 82)

# NIST XCOM / Hubbell & Seltzer (NISTIR 5632) total mass attenuation with coherent, cm^2/g,
# quoted from the NIST tables for accuracy checks (see data/SOURCES.md).
XCOM_REFERENCE = {
    ("water", 100.0): 0.1707,
    ("water", 1000.0): 0.07072,
    ("water", 2000.0): 0.04942,
    ("water", 5000.0): 0.03031,
    ("water", 10000.0): 0.02219,
    ("Fe", 100.0): 0.3717,
    ("Fe", 1000.0): 0.05995,
    ("Fe", 2000.0): 0.04265,
    ("Fe", 5000.0): 0.03139,
    ("Fe", 10000.0): 0.02994,
    ("Pb", 100.0): 5.549,
    ("Pb", 1000.0): 0.07102,
    ("Pb", 2000.0): 0.04606,
    ("Pb", 5000.0): 0.04272,
    ("Pb", 10000.0): 0.04972,
    ("Al", 1000.0): 0.06146,
    ("Al", 5000.0): 0.02840,
    ("Al", 10000.0): 0.02318,
}


def energy_grid(xrl) -> np.ndarray:
    """200 log-spaced energies plus both sides of the selected K/L edges (keV)."""
    grid = list(np.geomspace(E_MIN_KEV, E_MAX_KEV, N_LOG))
    for z in EDGE_ELEMENTS:
        for shell in (xrl.K_SHELL, xrl.L1_SHELL, xrl.L2_SHELL, xrl.L3_SHELL):
            e = xrl.EdgeEnergy(z, shell)
            if E_MIN_KEV * 1.001 < e < E_SPLIT_KEV:
                grid += [e - 0.02, e + 0.02]
    return np.unique(np.round(np.asarray(grid), 6))


def klein_nishina_cm2(e_kev: np.ndarray) -> np.ndarray:
    """Klein-Nishina total cross section per free electron (cm^2)."""
    k = np.asarray(e_kev, dtype=float) / ME_C2_KEV
    l2k = np.log1p(2 * k)
    t1 = (1 + k) / k**2 * (2 * (1 + k) / (1 + 2 * k) - l2k / k)
    return 2 * math.pi * R_E_CM**2 * (t1 + l2k / (2 * k) - (1 + 3 * k) / (1 + 2 * k) ** 2)


def _coulomb_f(a: float) -> float:
    """Davies-Bethe-Maximon Coulomb correction function f(aZ)."""
    a2 = a * a
    return a2 * (1 / (1 + a2) + 0.20206 - 0.0369 * a2 + 0.0083 * a2**2 - 0.002 * a2**3)


def _pair_born_unit(k: np.ndarray) -> np.ndarray:
    """Maximon (1968) Born pair cross section in units of alpha r_e^2 Z^2 (unscreened)."""
    k = np.asarray(k, dtype=float)
    out = np.zeros_like(k)
    lo = (k > 2) & (k < 4)
    if lo.any():
        kl = k[lo]
        eps = (2 * kl - 4) / (2 + kl + 2 * np.sqrt(2 * kl))
        series = 1 + eps / 2 + 23 * eps**2 / 40 + 11 * eps**3 / 60 + 29 * eps**4 / 960
        out[lo] = 2 * math.pi / 3 * ((kl - 2) / kl) ** 3 * series
    hi = k >= 4
    if hi.any():
        kh = k[hi]
        ln = np.log(2 * kh)
        u = 2 / kh
        out[hi] = (
            28 / 9 * ln
            - 218 / 27
            + u**2 * (6 * ln - 3.5 + 2 / 3 * ln**3 - ln**2 - math.pi**2 / 3 * ln
                      + 2 * ZETA3 + math.pi**2 / 6)
            - u**4 * (3 / 16 * ln + 1 / 8)
            - u**6 * (29 / (9 * 256) * ln - 77 / (27 * 512))
        )
    return out


def _pair_nuclear(z: int, e_kev: np.ndarray) -> np.ndarray:
    """Nuclear-field pair cross section per atom (cm^2): Born times a Coulomb factor.

    Coulomb factor 1 + f(aZ) * g(k), g(k) = 3.67 / (k - 2) - 0.50, with f the
    Davies-Bethe-Maximon function: positive near threshold, negative at high energy, as
    the exact (Overbo 1977) results are. g's two constants are fitted to the XCOM totals
    of lead at 2 and 5 MeV (stated in data/SOURCES.md); other points are checks.
    """
    k = np.asarray(e_kev, dtype=float) / ME_C2_KEV
    unit = _pair_born_unit(k)
    g = 3.67 / np.maximum(k - 2, 1e-9) - 0.50
    factor = np.clip(1 + _coulomb_f(ALPHA * z) * g, 0, None)
    return ALPHA * R_E_CM**2 * z**2 * unit * factor


def _pair_triplet(z: int, e_kev: np.ndarray) -> np.ndarray:
    """Electron-field (triplet) pair cross section per atom (cm^2), rough approximation."""
    k = np.asarray(e_kev, dtype=float) / ME_C2_KEV
    ramp = np.clip(1 - 4 / np.maximum(k, 1e-9), 0, None) ** 2
    return ALPHA * R_E_CM**2 * z * _pair_born_unit(k) * ramp


def element_components(xrl, z: int, e_kev: np.ndarray) -> dict[str, np.ndarray]:
    """Photo, Rayleigh, Compton, pair mass attenuation (cm^2/g) of element z."""
    e = np.asarray(e_kev, dtype=float)
    photo, rayl, compt = (np.empty_like(e) for _ in range(3))
    below = e <= E_SPLIT_KEV
    for i in np.flatnonzero(below):
        photo[i] = xrl.CS_Photo(z, float(e[i]))
        rayl[i] = xrl.CS_Rayl(z, float(e[i]))
        compt[i] = xrl.CS_Compt(z, float(e[i]))
    above = ~below
    if above.any():
        ea = e[above]
        e0, e1 = 0.9 * E_SPLIT_KEV, E_SPLIT_KEV
        p0, p1 = xrl.CS_Photo(z, e0), xrl.CS_Photo(z, e1)
        s0 = math.log(p1 / p0) / math.log(e1 / e0)
        x = ea / e1
        photo[above] = p1 * np.exp(-np.log(x) + (s0 + 1) * (1 - 1 / x))
        rayl[above] = xrl.CS_Rayl(z, e1) * x**-2.0
        per_gram = AVOGADRO / xrl.AtomicWeight(z)
        kn_scale = xrl.CS_Compt(z, e1) / (z * klein_nishina_cm2(np.array([e1]))[0] * per_gram)
        compt[above] = kn_scale * z * klein_nishina_cm2(ea) * per_gram
    per_gram = AVOGADRO / xrl.AtomicWeight(z)
    pair = (_pair_nuclear(z, e) + _pair_triplet(z, e)) * per_gram
    return {"photo": photo, "rayleigh": rayl, "compton": compt, "pair": pair}


def build(out_path: Path | None = None) -> Path:
    """Compute the element table and write it as ``data/attenuation.npz``; return the path."""
    try:
        import xraylib as xrl  # dev-only dependency
    except ImportError as exc:  # pragma: no cover - dev tool
        from inspect_cv.errors import MissingDependencyError

        raise MissingDependencyError("xraylib", "dev", "build the attenuation table") from exc
    e = energy_grid(xrl)
    total = np.zeros((Z_MAX, e.size))
    pair = np.zeros((Z_MAX, e.size))
    for z in range(1, Z_MAX + 1):
        comp = element_components(xrl, z, e)
        total[z - 1] = comp["photo"] + comp["rayleigh"] + comp["compton"] + comp["pair"]
        pair[z - 1] = comp["pair"]
    out = out_path or Path(__file__).parent / "data" / "attenuation.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        energies_kev=e.astype(np.float64),
        total=total.astype(np.float32),
        pair=pair.astype(np.float32),
        atomic_weight=np.array([xrl.AtomicWeight(z) for z in range(1, Z_MAX + 1)]),
        symbols=np.array([xrl.AtomicNumberToSymbol(z) for z in range(1, Z_MAX + 1)]),
    )
    meta = {
        "file": out.name,
        "quantity": "total mass attenuation coefficient with coherent scattering, cm^2/g",
        "elements": f"Z=1..{Z_MAX}",
        "energies": f"{e.size} points, 10 keV..10 MeV (200 log-spaced + edges)",
        "xraylib_version": getattr(xrl, "__version__", "unknown"),
        "sources": "see SOURCES.md",
    }
    (out.parent / "attenuation.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


def compare_with_xcom() -> list[tuple[str, float, float, float, float]]:
    """(name, keV, table value, XCOM value, relative error) for the reference points."""
    from inspect_cv.xray import materials

    materials._load_table.cache_clear()
    materials._material_table.cache_clear()
    rows = []
    for (name, e), ref in XCOM_REFERENCE.items():
        mat = name if name in materials.MATERIALS else None
        if mat is None:
            val = float(materials.element_mass_attenuation(name, e))
        else:
            val = float(materials.mass_attenuation(mat, e))
        rows.append((name, e, val, ref, val / ref - 1))
    return rows


def main() -> int:  # pragma: no cover - dev tool
    path = build()
    lines = [f"wrote {path}"]
    for name, e, val, ref, rel in compare_with_xcom():
        lines.append(f"{name:6s} {e:8.0f} keV  table {val:.5f}  XCOM {ref:.5f}  {rel:+.1%}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
