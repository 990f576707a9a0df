"""Materials and their photon attenuation, 10 keV .. 10 MeV, from the shipped table.

The table ``data/attenuation.npz`` holds the total mass attenuation coefficient (with
coherent scattering and pair production) of the elements Z = 1..92 on one energy grid; it
is built offline by :mod:`inspect_cv.xray.build_tables` (sources in ``data/SOURCES.md``).
A material's coefficient is the mass-fraction weighted sum over its elements (mixture
rule); values between grid energies are interpolated log-log.

``Material.category`` says what the material *is* (organic, mixed, inorganic or metal).
What a dual-energy scanner *shows* follows the effective atomic number: aluminium is a
metal but shows "mixed" (green) as on real screening systems; see
:func:`expected_class` and ``datasets/xray_physics.md``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from inspect_cv.errors import InputError
from inspect_cv.lazy import LazyDict

_DATA = Path(__file__).parent / "data" / "attenuation.npz"

# Boundaries in effective atomic number between the screening classes (see
# datasets/xray_physics.md): organic < 9.5 <= mixed < 14.5 <= inorganic < 21.5 <= metal.
ZEFF_BOUNDARIES = (9.5, 14.5, 21.5)
CLASS_NAMES = ("background", "organic", "mixed", "inorganic", "metal", "impenetrable")
ZEFF_EXPONENT = 2.94  # Spiers' power-law exponent for the photoelectric Zeff


@dataclass(frozen=True)
class Material:
    """A material: elemental composition by mass fraction, nominal density, category.

    ``formula`` is informative (e.g. ``"C2H4"``); ``composition`` maps element symbols to
    mass fractions summing to 1. ``zeff`` is Spiers' power-law effective atomic number.
    """

    name: str
    composition: dict[str, float]
    density: float
    category: str
    formula: str = ""
    zeff: float = field(default=0.0, compare=False)


# ---------------------------------------------------------------------------- table
@lru_cache(maxsize=1)
def _load_table() -> dict[str, np.ndarray]:
    with np.load(_DATA) as npz:
        tab = {k: npz[k] for k in npz.files}
    tab["log_e"] = np.log(tab["energies_kev"])
    tab["log_total"] = np.log(tab["total"].astype(np.float64))
    tab["index"] = {str(s): i for i, s in enumerate(tab["symbols"])}
    return tab


def _atomic_weights() -> dict[str, float]:
    tab = _load_table()
    return {str(s): float(w) for s, w in zip(tab["symbols"], tab["atomic_weight"])}


def table_energies() -> np.ndarray:
    """Energies (keV) of the shipped table."""
    return _load_table()["energies_kev"].copy()


_FORMULA_RE = re.compile(r"([A-Z][a-z]?)(\d*\.?\d*)")


def parse_formula(formula: str) -> dict[str, float]:
    """Mass fractions of a simple chemical formula such as ``"C17H21NO4"``."""
    weights = _atomic_weights()
    counts: dict[str, float] = {}
    pos = 0
    for m in _FORMULA_RE.finditer(formula):
        if m.start() != pos:
            break
        sym, num = m.group(1), m.group(2)
        if sym not in weights:
            raise InputError(f"unknown element '{sym}' in formula '{formula}'")
        counts[sym] = counts.get(sym, 0.0) + (float(num) if num else 1.0)
        pos = m.end()
    if pos != len(formula) or not counts:
        raise InputError(f"cannot parse chemical formula '{formula}'")
    mass = {s: n * weights[s] for s, n in counts.items()}
    tot = sum(mass.values())
    return {s: m / tot for s, m in mass.items()}


def _normalise(comp: dict[str, float]) -> dict[str, float]:
    tot = sum(comp.values())
    return {s: f / tot for s, f in comp.items()}


def compute_zeff(composition: dict[str, float]) -> float:
    """Spiers' effective atomic number (electron-fraction weighted, exponent 2.94)."""
    weights = _atomic_weights()
    index = _load_table()["index"]
    electrons = {s: f * (index[s] + 1) / weights[s] for s, f in composition.items()}
    tot = sum(electrons.values())
    acc = sum(e / tot * (index[s] + 1) ** ZEFF_EXPONENT for s, e in electrons.items())
    return float(acc ** (1 / ZEFF_EXPONENT))


def expected_class(zeff: float) -> int:
    """Screening class (1 organic, 2 mixed, 3 inorganic, 4 metal) of an effective Z."""
    return 1 + int(np.searchsorted(ZEFF_BOUNDARIES, zeff, side="right"))


def make_material(name: str, density: float, category: str, formula: str = "",
                  composition: dict[str, float] | None = None) -> Material:
    """Build a :class:`Material` from a formula or a mass-fraction composition."""
    if category not in ("organic", "mixed", "inorganic", "metal"):
        raise InputError(f"material '{name}': unknown category '{category}'")
    if density <= 0:
        raise InputError(f"material '{name}': density must be > 0, got {density}")
    comp = parse_formula(formula) if composition is None else _normalise(dict(composition))
    return Material(name, comp, float(density), category, formula, compute_zeff(comp))


# Mass fractions and densities: chemical formulas; concrete, air and glass from the NIST
# material compositions (PNNL-15870 / NIST XCOM "ordinary concrete", "air, dry (near sea
# level)", soda-lime glass); steels and brass nominal alloys. Densities are typical bulk
# values (cotton, paper, wood, tobacco, grain as packed in bags/cargo).
_SPECS: list[tuple[str, float, str, str, dict[str, float] | None]] = [
    ("air", 0.001205, "organic", "", {"C": 0.000124, "N": 0.755267, "O": 0.231781,
                                      "Ar": 0.012827}),
    ("water", 1.0, "organic", "H2O", None),
    ("polyethylene", 0.94, "organic", "C2H4", None),
    ("nylon", 1.14, "organic", "C6H11NO", None),
    ("cellulose", 1.5, "organic", "C6H10O5", None),
    ("cotton", 0.3, "organic", "C6H10O5", None),
    ("paper", 0.8, "organic", "C6H10O5", None),
    ("wood", 0.6, "organic", "C6H10O5", None),
    ("rubber", 0.92, "organic", "C5H8", None),
    ("sugar", 0.85, "organic", "C12H22O11", None),
    ("cocaine", 1.2, "organic", "C17H21NO4", None),
    ("tobacco", 0.3, "organic", "", {"C": 0.40, "H": 0.06, "O": 0.46, "N": 0.03,
                                     "K": 0.025, "Ca": 0.025}),
    ("starch", 0.75, "organic", "C6H10O5", None),
    ("tnt", 1.65, "organic", "C7H5N3O6", None),
    ("rdx", 1.82, "organic", "C3H6N6O6", None),
    ("pvc", 1.38, "mixed", "C2H3Cl", None),
    ("glass", 2.5, "mixed", "", {"O": 0.4598, "Na": 0.0964, "Mg": 0.0241, "Si": 0.3365,
                                 "Ca": 0.0832}),
    ("ceramic", 3.9, "mixed", "Al2O3", None),
    ("concrete", 2.3, "mixed", "", {"H": 0.0221, "C": 0.002484, "O": 0.57493,
                                    "Na": 0.015208, "Mg": 0.001266, "Al": 0.019953,
                                    "Si": 0.304627, "K": 0.010045, "Ca": 0.042951,
                                    "Fe": 0.006435}),
    ("sand", 1.6, "mixed", "SiO2", None),
    ("fr4", 1.85, "mixed", "", {"Si": 0.18, "O": 0.40, "C": 0.28, "H": 0.03, "Ca": 0.07,
                                "Br": 0.04}),
    ("salt", 2.16, "inorganic", "NaCl", None),
    ("aluminium", 2.70, "metal", "Al", None),
    ("titanium", 4.51, "metal", "Ti", None),
    ("steel", 7.85, "metal", "", {"Fe": 0.985, "C": 0.005, "Mn": 0.01}),
    ("stainless_steel", 8.0, "metal", "", {"Fe": 0.695, "Cr": 0.19, "Ni": 0.095,
                                           "Mn": 0.02}),
    ("iron", 7.874, "metal", "Fe", None),
    ("copper", 8.96, "metal", "Cu", None),
    ("brass", 8.5, "metal", "", {"Cu": 0.65, "Zn": 0.35}),
    ("tin", 7.31, "metal", "Sn", None),
    ("tungsten", 19.3, "metal", "W", None),
    ("lead", 11.35, "metal", "Pb", None),
    # detector / filter materials used by the scanner model
    ("csi", 4.51, "inorganic", "CsI", None),
    ("gos", 7.32, "inorganic", "Gd2O2S", None),
    ("cdwo4", 7.9, "metal", "CdWO4", None),
]


def _build_materials() -> dict[str, Material]:
    return {name: make_material(name, dens, cat, formula, comp) for name, dens, cat, formula, comp in _SPECS}


MATERIALS: dict[str, Material] = LazyDict(_build_materials)  # filled on first use


def register_material(material: Material) -> None:
    """Add (or replace) a material in :data:`MATERIALS` and clear its cached table."""
    MATERIALS._fill()  # type: ignore[attr-defined]
    dict.__setitem__(MATERIALS, material.name, material)
    _material_table.cache_clear()


def get_material(name: str) -> Material:
    """The material called ``name``; :class:`InputError` naming it if unknown."""
    if name not in MATERIALS:
        known = ", ".join(sorted(MATERIALS))
        raise InputError(f"unknown material '{name}' (known: {known})")
    return MATERIALS[name]


@lru_cache(maxsize=256)
def _material_table(name: str) -> np.ndarray:
    """log of the material's mass attenuation on the table grid."""
    mat = get_material(name)
    tab = _load_table()
    mu = np.zeros_like(tab["energies_kev"])
    for sym, frac in mat.composition.items():
        mu += frac * tab["total"][tab["index"][sym]].astype(np.float64)
    return np.log(mu)


def _check_energy(energy_kev) -> np.ndarray:
    e = np.asarray(energy_kev, dtype=np.float64)
    tab = _load_table()["energies_kev"]
    if e.size and (not np.all(np.isfinite(e)) or e.min() < tab[0] * 0.999
                   or e.max() > tab[-1] * 1.001):
        raise InputError(f"energy must lie in {tab[0]:g}..{tab[-1]:g} keV")
    return e


def mass_attenuation(name: str, energy_kev) -> np.ndarray:
    """Total mass attenuation coefficient mu/rho (cm^2/g) of a material.

    Vectorised over ``energy_kev`` (scalar or array, 10..10000 keV); log-log interpolation
    in the shipped table. Returns a float64 array of the shape of ``energy_kev``.
    """
    e = _check_energy(energy_kev)
    log_mu = _material_table(name)
    return np.exp(np.interp(np.log(e), _load_table()["log_e"], log_mu))


def element_mass_attenuation(symbol: str, energy_kev) -> np.ndarray:
    """Mass attenuation (cm^2/g) of one element given by its symbol, e.g. ``"Fe"``."""
    tab = _load_table()
    if symbol not in tab["index"]:
        raise InputError(f"unknown element '{symbol}'")
    e = _check_energy(energy_kev)
    return np.exp(np.interp(np.log(e), tab["log_e"], tab["log_total"][tab["index"][symbol]]))


def element_symbol(z: int) -> str:
    """Chemical symbol of atomic number ``z`` (1..92)."""
    return str(_load_table()["symbols"][z - 1])


def linear_attenuation(name: str, energy_kev, density: float | None = None) -> np.ndarray:
    """Linear attenuation coefficient mu (1/cm) at the material's (or given) density."""
    rho = get_material(name).density if density is None else float(density)
    if not rho > 0:
        raise InputError(f"material '{name}': density must be > 0, got {density}")
    return mass_attenuation(name, energy_kev) * rho
