"""Tests of the X-ray physics: attenuation table, materials, scanner rendering, classes."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_cv.errors import InputError
from inspect_cv.xray import build_tables, materials, physics, scanner
from inspect_cv.xray.scanner import PROFILES, ScannerProfile, Spectrum

DUAL = [n for n in ("sim-160kv-sandwich", "sim-140kv-sandwich", "sim-dual-kvp-80-140")]


# ----------------------------------------------------------------------- table
@pytest.mark.parametrize("row", build_tables.compare_with_xcom(), ids=lambda r: f"{r[0]}-{r[1]:g}")
def test_table_matches_xcom(row):
    name, e, val, ref, rel = row
    tol = 0.005 if e <= 1000 else 0.02
    assert abs(rel) < tol, f"{name} at {e} keV: {val} vs XCOM {ref}"


def test_pair_production_only_above_threshold():
    tab = materials._load_table()
    e = tab["energies_kev"]
    pair_fe = tab["pair"][25]
    assert np.all(pair_fe[e < 1022] == 0)
    assert np.all(pair_fe[e > 1100] > 0)
    # iron: pair is about half of the total at 10 MeV (XCOM: 0.0155 of 0.0299)
    frac = pair_fe[-1] / tab["total"][25][-1]
    assert 0.4 < frac < 0.6


def test_table_spans_10kev_to_10mev_and_vectorises():
    e = np.geomspace(10, 10000, 7).reshape(7, 1)
    mu = materials.mass_attenuation("water", e)
    assert mu.shape == (7, 1)
    assert np.all(np.diff(mu.ravel()) < 0)  # water: no edges, monotone decreasing
    assert materials.mass_attenuation("lead", 88.5) > 3 * materials.mass_attenuation("lead", 87.5)


def test_linear_attenuation_density():
    mu = materials.mass_attenuation("cellulose", 60.0)
    assert materials.linear_attenuation("cellulose", 60.0) == pytest.approx(mu * 1.5)
    assert materials.linear_attenuation("cellulose", 60.0, density=0.3) == pytest.approx(mu * 0.3)
    assert materials.linear_attenuation("paper", 60.0) == pytest.approx(mu * 0.8)


def test_required_materials_exist_with_sane_zeff():
    need = ["air", "water", "polyethylene", "nylon", "pvc", "cellulose", "cotton", "paper",
            "wood", "rubber", "glass", "ceramic", "aluminium", "steel", "copper", "brass",
            "lead", "tungsten", "tin", "concrete", "cocaine", "tobacco", "starch", "sand"]
    for name in need:
        m = materials.MATERIALS[name]
        assert m.category in ("organic", "mixed", "inorganic", "metal")
        assert sum(m.composition.values()) == pytest.approx(1.0)
    assert 7.2 < materials.MATERIALS["water"].zeff < 7.6
    assert materials.MATERIALS["aluminium"].zeff == pytest.approx(13.0)


def test_bad_material_and_energy():
    with pytest.raises(InputError, match="unobtainium"):
        materials.mass_attenuation("unobtainium", 100.0)
    with pytest.raises(InputError):
        materials.mass_attenuation("water", 5.0)
    with pytest.raises(InputError):
        materials.parse_formula("C2Xx4")


# ---------------------------------------------------------------- conversions
@settings(max_examples=40, deadline=None)
@given(st.floats(4e-3, 1.0), st.floats(4e-3, 1.0))
def test_attenuation_additive(t1, t2):
    a = physics.attenuation(np.float32(t1) * np.float32(t2))
    assert a == pytest.approx(physics.attenuation(t1) + physics.attenuation(t2), abs=1e-4)
    assert physics.transmission(physics.attenuation(t1)) == pytest.approx(t1, rel=1e-5)


def test_attenuation_clipping():
    a = physics.attenuation(np.array([2.0, 1.0, 0.0, -1.0]))
    assert a[0] == 0 and a[1] == 0
    assert a[2] == a[3] == pytest.approx(-np.log(physics.T_FLOOR))
    assert physics.attenuation(50.0, I0=100.0) == pytest.approx(np.log(2), rel=1e-6)


def test_air_calibrate_rules():
    raw = np.array([[1200.0, 600.0, 90.0, 50.0, 500.0]])
    dark = 100.0
    air = np.array([[1100.0, 1100.0, 1100.0, 1100.0, 80.0]])  # last element dead
    t = physics.air_calibrate(raw, dark, air)
    assert t[0, 0] == 1.0  # above air
    assert t[0, 1] == pytest.approx(0.5)
    assert t[0, 2] == t[0, 3] == physics.T_FLOOR  # at/below dark
    assert t[0, 4] == physics.T_FLOOR  # dead element
    with pytest.raises(InputError):
        physics.air_calibrate(np.ones((3, 4)), 0.0, np.ones((2, 4)))


def test_dual_energy_ratio_guard():
    h = np.array([1.0, 0.999, np.exp(-1.0)], dtype=np.float32)
    lo = np.array([1.0, 0.9, np.exp(-1.5)], dtype=np.float32)
    r = physics.dual_energy_ratio(h, lo, fill=-1.0)
    assert r[0] == r[1] == -1.0
    assert r[2] == pytest.approx(1.5, rel=1e-4)
    with pytest.raises(InputError):
        physics.dual_energy_ratio(np.ones((2, 3)), np.ones((3, 2)))


# ------------------------------------------------------------------ rendering
def _slab(material, t, shape=(32, 32)):
    return {material: np.full(shape, t, dtype=np.float32)}


def test_beer_lambert_monochromatic():
    spec = Spectrum(np.array([60.0]), np.array([1.0]))
    prof = ScannerProfile("mono", spec, spec, blur_sigma_px=0, streak_amplitude=0)
    for mat, t in (("water", 5.0), ("aluminium", 1.0), ("steel", 0.2)):
        high, low = scanner.render(_slab(mat, t), prof, noise=False)
        expect = np.exp(-materials.linear_attenuation(mat, 60.0) * t)
        assert np.allclose(high, expect, rtol=1e-5)
        assert np.allclose(low, expect, rtol=1e-5)


def test_polychromatic_beam_hardening_and_additivity():
    prof = PROFILES["sim-160kv-sandwich"]
    ts = np.array([[0.5, 1.0, 2.0, 4.0]], dtype=np.float32)
    high, _ = scanner.render({"aluminium": ts}, prof, noise=False)
    mu_eff = -np.log(high[0]) / ts[0]
    assert np.all(np.diff(mu_eff) < 0)  # hardening: effective mu falls with thickness
    # stacking two materials = one render with both maps (monochromatic: exact product)
    spec = Spectrum(np.array([80.0]), np.array([1.0]))
    mono = ScannerProfile("mono", spec, spec, blur_sigma_px=0, streak_amplitude=0)
    a, _ = scanner.render(_slab("water", 3.0), mono, noise=False)
    b, _ = scanner.render(_slab("steel", 0.1), mono, noise=False)
    ab, _ = scanner.render({"water": np.full((32, 32), 3.0), "steel": np.full((32, 32), 0.1)},
                           mono, noise=False)
    assert np.allclose(ab, a * b, rtol=1e-5)


def test_render_deterministic_with_seed():
    prof = PROFILES["sim-140kv-sandwich"]
    th = _slab("nylon", 2.0, (40, 50))
    r1 = scanner.render(th, prof, np.random.default_rng(7))
    r2 = scanner.render(th, prof, np.random.default_rng(7))
    r3 = scanner.render(th, prof, np.random.default_rng(8))
    assert all(np.array_equal(x, y) for x, y in zip(r1, r2))
    assert not np.array_equal(r1[0], r3[0])
    for t in r1:
        assert t.dtype == np.float32 and t.shape == (40, 50)
        assert t.min() > 0 and t.max() <= 1


def test_noise_roughly_poisson():
    prof = PROFILES["sim-160kv-sandwich"].replace(blur_sigma_px=0, streak_amplitude=0,
                                                  i0=2.0e4)
    th = _slab("water", 8.0, (200, 200))
    clean, _ = scanner.render(th, prof, noise=False)
    noisy, _ = scanner.render(th, prof, np.random.default_rng(1))
    t = float(clean.mean())
    assert noisy.mean() == pytest.approx(t, rel=2e-3)
    assert noisy.var() == pytest.approx(t / prof.i0, rel=0.1)


def test_gain_streaks_follow_belt():
    base = PROFILES["sim-160kv-sandwich"].replace(blur_sigma_px=0, i0=1e9,
                                                  streak_amplitude=0.02)
    th = _slab("water", 2.0, (64, 64))
    for belt, axis in (("horizontal", 1), ("vertical", 0)):
        h, _ = scanner.render(th, base.replace(belt=belt), np.random.default_rng(3))
        # constant along the belt, varying across it
        assert h.std(axis=axis).max() < 1e-3
        assert h.mean(axis=axis).std() > 3e-3


def test_render_bad_inputs():
    prof = PROFILES["sim-160kv-sandwich"]
    with pytest.raises(InputError, match="kryptonite"):
        scanner.render(_slab("kryptonite", 1.0), prof)
    with pytest.raises(InputError, match="shape"):
        scanner.render({"water": np.ones((4, 4)), "steel": np.ones((4, 5))}, prof)
    with pytest.raises(InputError):
        scanner.render({"water": -np.ones((4, 4))}, prof)
    with pytest.raises(InputError):
        scanner.render({}, prof)
    with pytest.raises(InputError, match="nope"):
        scanner.render(_slab("water", 1.0), "nope")
    with pytest.raises(InputError):
        scanner.render(_slab("water", 1.0), prof, density={"water": 0.0})


def test_density_override():
    spec = Spectrum(np.array([70.0]), np.array([1.0]))
    mono = ScannerProfile("mono", spec, spec, blur_sigma_px=0, streak_amplitude=0)
    a, _ = scanner.render(_slab("cellulose", 2.0), mono, noise=False, density={"cellulose": 0.5})
    b, _ = scanner.render(_slab("cellulose", 6.0), mono, noise=False)  # 1.5 g/cm3
    assert np.allclose(-np.log(a) * 9, -np.log(b), rtol=1e-4)


# ------------------------------------------------------------------- classes
def _thickness_for(material, a_target, prof):
    ts = np.geomspace(1e-3, 300, 300, dtype=np.float32)[None, :]
    h, _ = scanner.render({material: ts}, prof, noise=False)
    return float(ts[0, np.argmin(np.abs(-np.log(h[0]) - a_target))])


@pytest.mark.parametrize("profile", DUAL)
@pytest.mark.parametrize("material", ["polyethylene", "water", "cellulose", "cocaine",
                                      "pvc", "glass", "aluminium", "salt", "steel",
                                      "copper", "brass"])
def test_pure_slabs_land_in_expected_class(profile, material):
    prof = PROFILES[profile].replace(blur_sigma_px=0, streak_amplitude=0)
    lut = scanner.zeff_lut(prof)
    expect = materials.expected_class(materials.MATERIALS[material].zeff)
    for a_target in (0.4, 1.5, 3.0):
        t = _thickness_for(material, a_target, prof)
        h, lo = scanner.render(_slab(material, t, (48, 48)), prof, np.random.default_rng(0))
        cls = physics.material_classes(h, lo, lut)
        majority = np.bincount(cls.ravel(), minlength=6).argmax()
        assert majority == expect, (material, a_target, np.bincount(cls.ravel()))


def test_background_and_impenetrable():
    prof = PROFILES["sim-160kv-sandwich"]
    th = np.zeros((40, 40), np.float32)
    th[:, 20:] = 10.0  # 10 cm of lead
    h, lo = scanner.render({"lead": th}, prof, np.random.default_rng(0))
    cls = physics.material_classes(h, lo)
    assert np.all(cls[:, :17] == 0)
    assert np.all(cls[:, 22:] == 5)


def test_thresholds_derived_from_table():
    lut = scanner.zeff_lut("sim-160kv-sandwich")
    r_b = [lut.boundary_ratio(zb, 1.0) for zb in lut.boundaries]
    assert r_b[0] < r_b[1] < r_b[2]
    # R of water lies below the organic/mixed boundary, iron's above the metal one
    prof = PROFILES["sim-160kv-sandwich"]
    for mat, lo_b, hi_b in (("water", None, r_b[0]), ("iron", r_b[2], None)):
        t = _thickness_for(mat, 1.0, prof)
        h, lo = scanner.render(_slab(mat, t, (4, 4)), prof, noise=False)
        r = physics.dual_energy_ratio(h, lo)[0, 0]
        assert (lo_b is None or r > lo_b) and (hi_b is None or r < hi_b)


# -------------------------------------------------------------- pseudo-colour
@pytest.mark.parametrize("palette", list(physics.PALETTES))
def test_pseudo_colour_hues(palette):
    prof = PROFILES["sim-160kv-sandwich"]
    shape = (24, 24)
    org = scanner.render(_slab("polyethylene", 6.0, shape), prof, np.random.default_rng(0))
    steel = scanner.render(_slab("steel", 0.3, shape), prof, np.random.default_rng(0))
    alu = scanner.render(_slab("aluminium", 1.5, shape), prof, np.random.default_rng(0))
    air = scanner.render(_slab("air", 1.0, shape), prof, np.random.default_rng(0))
    dense = scanner.render(_slab("lead", 5.0, shape), prof, np.random.default_rng(0))
    c = {k: physics.pseudo_colour(*v, palette=palette).reshape(-1, 3).mean(0)
         for k, v in dict(org=org, steel=steel, alu=alu, air=air, dense=dense).items()}
    assert c["org"][0] > c["org"][2] + 40  # orange: red >> blue
    assert c["steel"][2] > c["steel"][0] + 40  # blue
    assert c["alu"][1] > c["alu"][0] and c["alu"][1] > c["alu"][2]  # green
    assert c["air"].min() > 245  # white
    assert c["dense"].max() < 30  # black
    img = physics.pseudo_colour(*org, palette=palette)
    assert img.dtype == np.uint8 and img.shape == shape + (3,)


def test_pseudo_colour_brightness_falls_with_thickness():
    prof = PROFILES["sim-160kv-sandwich"]
    ts = np.repeat(np.array([[1.0, 4.0, 16.0]], np.float32), 4, axis=0)
    h, lo = scanner.render({"water": ts}, prof, noise=False)
    v = physics.pseudo_colour(h, lo).sum(axis=2)[0]
    assert v[0] > v[1] > v[2]
    with pytest.raises(InputError):
        physics.pseudo_colour(h, lo, palette="rainbow")


def test_greyscale_dark_is_dense():
    g = physics.greyscale(np.array([[1.0, 0.5, 0.01]], np.float32))
    assert g.dtype == np.uint8 and g[0, 0] == 255 and g[0, 0] > g[0, 1] > g[0, 2]


def test_display_profiles_and_random_profile():
    th = {"nylon": np.full((30, 40), 2.0, np.float32), "steel": np.zeros((30, 40), np.float32)}
    th["steel"][10:20, 10:20] = 0.2
    for name, prof in PROFILES.items():
        h, lo = scanner.render(th, prof, np.random.default_rng(0))
        img = scanner.display(h, lo, prof)
        assert img.dtype == np.uint8
        assert img.shape == ((30, 40) if prof.greyscale else (30, 40, 3))
    rng = np.random.default_rng(5)
    for base in (None, "sim-160kv-sandwich"):
        prof = scanner.random_profile(rng, base=base)
        h, lo = scanner.render(th, prof, rng)
        assert scanner.display(h, lo, prof, rng).dtype == np.uint8
        assert 1e4 <= prof.i0 <= 1e5
