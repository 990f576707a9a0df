"""Synthetic container scanner: geometry, physics, labels, data set, CLI, bad inputs."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_cv.container import physics as cphys
from inspect_cv.container import synth
from inspect_cv.container.geometry import (Grid, Profile, box, cyl_x, cyl_y, disc,
                                           prims_box_px, rasterize, uniform_grid)
from inspect_cv.container.sim import (CARGO_CATEGORIES, CLASSES, CONCEALMENTS, EXTRA_CARGO,
                                      sample_scene)
from inspect_cv.errors import InputError
from inspect_cv.xray import materials

PX = 20.0  # mm: coarse scans keep the tests fast


def _scene(seed, **kw):
    return sample_scene(np.random.default_rng(seed), **kw)


def _render(scene, seed=0, **kw):
    kw.setdefault("pixel_mm", PX)
    return synth.render_scan(scene, np.random.default_rng(seed), **kw)


# ------------------------------------------------------------------------ geometry
@settings(max_examples=30, deadline=None)
@given(x0=st.floats(-50, 50), w=st.floats(0.5, 200), y0=st.floats(0, 100),
       h=st.floats(0.5, 150), depth=st.floats(0.1, 300), pitch=st.floats(0.3, 5))
def test_box_raster_preserves_mass(x0, w, y0, h, depth, pitch):
    grid = uniform_grid(-60, 260, -5, 260, pitch)
    p = box("steel", x0, x0 + w, y0, y0 + h, depth)
    maps = rasterize([p], grid)
    got = synth.integrated_mass_kg(maps, grid)
    assert got == pytest.approx(p.mass_kg, rel=1e-4)
    assert p.mass_kg == pytest.approx(7.85 * w * h * depth / 1000, rel=1e-9)


@pytest.mark.parametrize("make, rel", [
    (lambda: cyl_x("rubber", 10, 90, 50, 20), 1e-5),
    (lambda: cyl_y("steel", 50, 30, 5, 60, inner=20), 1e-5),
    (lambda: disc("rubber", 60, 60, 40, 30, inner=25), 5e-3),
    (lambda: disc("steel", 60, 60, 12, 100), 5e-3),
])
def test_shapes_raster_preserves_mass(make, rel):
    p = make()
    edges = np.cumsum(np.r_[0.0, np.random.default_rng(0).uniform(0.3, 0.5, 400)])
    grid = Grid(edges, 130.0, 0.37, 360)  # irregular columns (speed jitter)
    got = synth.integrated_mass_kg(rasterize([p], grid), grid)
    assert got == pytest.approx(p.mass_kg, rel=rel)


def test_cylinder_chord_profile():
    # axis along x: path on the axis is the diameter, zero outside the radius
    p = cyl_x("steel", 0, 10, 50, 20)
    grid = uniform_grid(0, 10, 0, 100, 0.1)
    m = rasterize([p], grid)["steel"][:, 50] / 7.85
    rows_y = grid.y_top - grid.pitch_y * (np.arange(grid.height) + 0.5)
    assert m[np.argmin(abs(rows_y - 50))] == pytest.approx(40.0, rel=1e-3)
    assert np.all(m[(rows_y > 70.1) | (rows_y < 29.9)] == 0)


def test_profile_bad_inputs():
    with pytest.raises(InputError):
        Profile("const", 5, 5)
    with pytest.raises(InputError):
        Profile("wobbly", 0, 1)
    with pytest.raises(InputError):
        box("steel", 0, 1, 0, 1, -2.0)
    with pytest.raises(InputError):
        disc("steel", 0, 0, 5, 1, inner=6)


# ------------------------------------------------------------------------- physics
def test_mass_attenuation_at_mev_matches_nist():
    # NIST XCOM total attenuation with coherent scattering (cm^2/g)
    assert materials.mass_attenuation("iron", 2000.0) == pytest.approx(4.254e-2, rel=0.02)
    assert materials.mass_attenuation("water", 1000.0) == pytest.approx(7.072e-2, rel=0.02)
    assert materials.mass_attenuation("lead", 6000.0) == pytest.approx(4.349e-2, rel=0.03)


def test_spectra_are_mev_and_ordered():
    for prof in cphys.PROFILES.values():
        high, low = prof.spectra
        assert 1000 < low.mean_energy < high.mean_energy < prof.high_mev * 1000
        assert high.energies_kev.max() <= prof.high_mev * 1000
        assert np.isclose(high.weights.sum(), 1.0)


def test_attenuation_additive_monochromatic_and_beam_hardening():
    from inspect_cv.xray.scanner import Spectrum

    mono = Spectrum(np.array([2000.0]), np.array([1.0]))
    a = {"steel": np.full((2, 3), 40.0, np.float32)}
    b = {"cellulose": np.full((2, 3), 90.0, np.float32)}
    ab = {**a, **b}
    t_a, t_b, t_ab = (cphys.transmission(m, mono) for m in (a, b, ab))
    np.testing.assert_allclose(t_ab, t_a * t_b, rtol=1e-5)
    # polychromatic: the beam hardens, so the attenuation of the sum is below the sum
    high, _ = cphys.get_profile(None).spectra
    a_sum = -np.log(cphys.transmission(a, high)) - np.log(cphys.transmission(b, high))
    a_ab = -np.log(cphys.transmission(ab, high))
    assert np.all(a_ab < a_sum) and np.all(a_ab > 0.9 * a_sum)


@pytest.mark.parametrize("material, mt", [("steel", 60.0), ("cellulose", 25.0),
                                          ("steel", 250.0)])
def test_mass_from_attenuation_of_known_slab(material, mt):
    prof = cphys.get_profile(None)
    high, _ = prof.spectra
    t = cphys.transmission({material: np.full((40, 40), mt, np.float32)}, high)
    est = cphys.mass_thickness_from_attenuation(material, -np.log(t), high)
    np.testing.assert_allclose(est, mt, rtol=1e-3)
    # through the detector chain: noisy 16-bit counts, calibrated back
    rng = np.random.default_rng(1)
    row_gain = np.ones(40, np.float32)
    noisy = synth._detect(t, prof.i0_high, prof.replace(scatter_fraction=0.0), row_gain,
                          rng, True)
    counts = synth._counts(noisy, prof, rng, True)
    tc = (counts.astype(np.float64) - prof.dark_counts) / (prof.air_counts - prof.dark_counts)
    est = cphys.mass_thickness_from_attenuation(material, -np.log(tc.mean()), high)
    assert est == pytest.approx(mt, rel=0.02)


def test_dual_energy_ratio_falls_with_z_at_mev():
    # at equal high-energy attenuation, R = A_low / A_high: organic > steel > lead
    high, low = cphys.get_profile(None).spectra
    for a in (1.0, 3.0):
        r = {}
        for m in ("cellulose", "aluminium", "steel", "lead"):
            mt = cphys.mass_thickness_from_attenuation(m, a, high)
            r[m] = float(-np.log(cphys.slab_transmission(m, [mt], low))[0] / a)
        assert r["cellulose"] > r["aluminium"] + 0.005 > r["steel"] + 0.01 > r["lead"] + 0.01
    lut = synth.zeff_lut(None)
    mt = cphys.mass_thickness_from_attenuation("steel", 2.0, high)
    r_steel = -np.log(cphys.slab_transmission("steel", [mt], low))[0] / 2.0
    mt = cphys.mass_thickness_from_attenuation("cellulose", 2.0, high)
    r_org = -np.log(cphys.slab_transmission("cellulose", [mt], low))[0] / 2.0
    z = lut.lookup(np.array([2.0, 2.0]), np.array([r_steel, r_org]))
    assert z[0] > 20 and z[1] < 9


# -------------------------------------------------------------------------- scenes
def test_render_is_deterministic():
    a = _render(_scene(3, length_ft=20, concealment="drugs"), seed=9)
    b = _render(_scene(3, length_ft=20, concealment="drugs"), seed=9)
    assert np.array_equal(a.high, b.high) and np.array_equal(a.low, b.low)
    assert np.array_equal(a.boxes, b.boxes) and a.cargo_mass_kg == b.cargo_mass_kg
    c = _render(_scene(4, length_ft=20, concealment="drugs"), seed=9)
    assert not np.array_equal(a.high, c.high)


def test_scan_sizes_and_16bit_ranges():
    prof = cphys.get_profile(None)
    scan = _render(_scene(1, length_ft=40, cargo="machinery"))
    h, w = scan.high.shape
    # 40 ft truck: ~17-19 m long, 4.45 m tall at 20 mm pitch
    assert 850 <= w <= 1000 and h == int(np.ceil(445 / 2.0))
    for img in (scan.high, scan.low):
        assert img.dtype == np.uint16 and img.shape == (h, w)
        air = img[:5, :40].astype(float)       # air above the cab
        assert abs(air.mean() - prof.air_counts) < 0.01 * prof.air_counts
        assert img.max() <= 65535 and img.min() >= 0.8 * prof.dark_counts
    # the 6 MeV channel penetrates more than the 4 MeV channel
    th, tl = scan.transmission()
    dense = th < 0.5
    assert np.median(tl[dense]) < np.median(th[dense])


def test_impenetrable_goes_to_dark_offset():
    prof = cphys.get_profile(None)
    scene = _scene(2, length_ft=20, cargo="empty")
    from dataclasses import replace

    scene = replace(scene, prims=scene.prims + [box("lead", 300, 400, 200, 300, 80.0)])
    scan = _render(scene, flip=False)
    grid = synth.scan_grid(scene, prof, None, PX)
    c0, r0, c1, r1 = grid.box_px(300, 400, 200, 300)
    core = scan.high[r0 + 2:r1 - 2, c0 + 2:c1 - 2].astype(float)
    assert core.mean() < prof.dark_counts + 60


@pytest.mark.parametrize("kind", CONCEALMENTS)
def test_concealed_box_contains_item(kind):
    prof = cphys.get_profile(None)
    for seed in range(3):
        scene = _scene(seed, length_ft=20 if seed % 2 else 40, concealment=kind)
        assert scene.items, kind
        scan = _render(scene, seed, noise=False, flip=False)
        grid = synth.scan_grid(scene, prof, None, PX)
        assert len(scan.boxes) == len(scene.items)
        for item, b, lab in zip(scene.items, scan.boxes, scan.labels):
            assert CLASSES[lab] == item.cls
            own = synth.mass_maps(scene.prims_of(tag=item.item_id), grid)
            total = sum(own.values())
            x1, y1, x2, y2 = b.astype(int)
            inside = np.zeros(total.shape, bool)
            inside[y1:y2, x1:x2] = True
            assert total[inside].sum() > 0 and total[y1:y2, x1:x2].max() > 0
            assert np.all(total[~inside] == 0)
            # tight: every edge row/column of the box holds some of the item
            sub = total[y1:y2, x1:x2] > 0
            assert sub[0].any() and sub[-1].any() and sub[:, 0].any() and sub[:, -1].any()


def test_flip_mirrors_boxes():
    scene = _scene(5, length_ft=20, concealment="firearms")
    a = _render(scene, 1, noise=False, flip=False)
    b = _render(scene, 1, noise=False, flip=True)
    w = a.high.shape[1]
    np.testing.assert_array_equal(a.high[:, ::-1], b.high)
    np.testing.assert_array_equal(b.boxes[:, [0, 2]], w - a.boxes[:, [2, 0]])


@pytest.mark.parametrize("length", [20, 40])
@pytest.mark.parametrize("truck", [True, False])
def test_empty_scene_has_no_cargo(length, truck):
    scene = _scene(length + truck, length_ft=length, cargo="empty", with_truck=truck)
    scan = _render(scene)
    assert scene.empty and scan.empty and scan.cargo == "empty"
    assert scan.cargo_mass_kg == 0.0 and len(scan.boxes) == 0
    assert not scene.cargo_prims
    # tare near the ISO figures (20 ft ~2.2 t, 40 ft ~3.7 t)
    assert 1800 < scene.tare_kg < (2700 if length == 20 else 4500)
    assert (length == 20) == (scene.tare_kg < 3000)


@pytest.mark.parametrize("cargo", CARGO_CATEGORIES[1:] + EXTRA_CARGO)
def test_cargo_mass_equals_integrated_mass_thickness(cargo):
    prof = cphys.get_profile(None)
    rng = np.random.default_rng(7)
    scene = sample_scene(rng, 20, cargo=cargo, concealment=None)
    assert not scene.empty and scene.cargo == cargo
    grid = synth.scan_grid(scene, prof, rng, 8.0)   # jittered columns
    maps = synth.mass_maps(scene.cargo_prims, grid)
    assert synth.integrated_mass_kg(maps, grid) == pytest.approx(scene.cargo_mass_kg,
                                                                 rel=2e-3)
    assert 30 < scene.cargo_mass_kg < 28000    # within a 20 ft payload


@pytest.mark.parametrize("cargo", EXTRA_CARGO)
def test_extra_cargo_is_drawn_only_by_name(cargo):
    # held-out test cargo: never in a default draw, built when named, with a real load
    rng = np.random.default_rng(3)
    drawn = {sample_scene(rng, 20, concealment=None, with_truck=False).cargo for _ in range(40)}
    assert not drawn & set(EXTRA_CARGO)
    masses = [sample_scene(np.random.default_rng(s), 40, cargo=cargo, fill=1.0).cargo_mass_kg
              for s in range(4)]
    assert min(masses) > 1000 and max(masses) < 28000, masses
    opts = synth.SynthOptions(cargo=(cargo,)).check()
    assert opts.cargo == (cargo,)


def test_vehicle_mass_and_single_item():
    scene = _scene(11, length_ft=40, concealment="vehicle", cargo="textiles")
    car = [i for i in scene.items if i.cls == "vehicle"][0]
    car_mass = sum(p.mass_kg for p in scene.prims_of(tag=car.item_id))
    assert 700 < car_mass < 2500
    one = _scene(12, length_ft=20, cargo="cartons", single=True)
    assert not one.empty and one.cargo_mass_kg < 200


def test_bad_inputs():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError):
        sample_scene(rng, 30)
    with pytest.raises(InputError):
        sample_scene(rng, 20, cargo="gold")
    with pytest.raises(InputError):
        sample_scene(rng, 20, concealment="tunnel")
    with pytest.raises(InputError):
        sample_scene(rng, 20, fill=0)
    scene = sample_scene(rng, 20)
    with pytest.raises(InputError):
        synth.render_scan("not a scene", rng)
    with pytest.raises(InputError):
        synth.render_scan(scene, rng, profile="sim-1mv")
    with pytest.raises(InputError):
        synth.render_scan(scene, rng, pixel_mm=0.01)
    with pytest.raises(InputError):
        cphys.get_profile(cphys.PROFILES["sim-6-4mv-cdwo4"].replace(low_mev=7.0))
    with pytest.raises(InputError):
        cphys.get_profile(cphys.PROFILES["sim-6-4mv-cdwo4"].replace(air_counts=70000))


# -------------------------------------------------------------------------- data set
def test_write_dataset(tmp_path):
    from inspect_cv.formats.coco import read_coco
    from inspect_cv.io import read_dual_energy

    out = tmp_path / "ds"
    coco = synth.write_dataset(out, 3, seed=4, pixel_mm=25.0, length="20",
                               empty_fraction=0.34, false_manifest_fraction=1.0)
    ds = read_coco(coco)
    assert len(ds) == 3 and ds.classes == list(CLASSES)
    data = json.loads(coco.read_text())
    for im, rec in zip(data["images"], ds.images):
        cid = im["container_id"]
        pair = read_dual_energy(out / im["file_name"], out / im["low_file_name"])
        assert pair.high.dtype == np.uint16 and pair.high.shape == (im["height"], im["width"])
        truth = json.loads((out / "truth" / f"{cid}.json").read_text())
        man = json.loads((out / "manifests" / f"{cid}.json").read_text())
        assert set(man) >= {"container_id", "declared", "declared_mass_kg"}
        assert man["declared"] in CARGO_CATEGORIES
        assert truth["manifest_false"] and truth["manifest_errors"]
        if "declared_empty_but_loaded" in truth["manifest_errors"]:
            assert man["declared"] == "empty" and not truth["empty"]
        if "wrong_category" in truth["manifest_errors"]:
            assert man["declared"] != ("empty" if truth["empty"] else truth["cargo"])
        assert len(truth["boxes"]) == len(rec.boxes)
        assert truth["cargo_mass_kg"] == im["cargo_mass_kg"]
    gen = json.loads((out / "generator.json").read_text())
    assert gen["n"] == 3 and gen["seed"] == 4
    # scan i depends only on (seed, i)
    coco1 = synth.write_dataset(tmp_path / "one", 1, seed=4, pixel_mm=25.0, length="20",
                                empty_fraction=0.34, false_manifest_fraction=1.0)
    from inspect_cv.io import read_image

    a = read_image(out / data["images"][0]["file_name"])
    b = read_image(tmp_path / "one" / json.loads(coco1.read_text())["images"][0]["file_name"])
    assert np.array_equal(a, b)


def test_write_dataset_bad_inputs(tmp_path):
    for kw in (dict(n=0), dict(n=1, seed=-1), dict(n=1, workers=0),
               dict(n=1, length="30"), dict(n=1, empty_fraction=1.5),
               dict(n=1, profile="nope"), dict(n=1, cargo=()), dict(n=1, cargo=("gold",)),
               dict(n=1, cargo="tyres")):
        with pytest.raises(InputError):
            synth.write_dataset(tmp_path / "x", **kw)


def test_cli(tmp_path, capsys):
    from inspect_cv.cli.main import main

    rc = main(["synth", "container", "--out", str(tmp_path / "c"), "--n", "1", "--seed", "2",
               "--length", "20", "--no-truck", "--pixel-mm", "25"])
    assert rc == 0
    assert "wrote 1 scans" in capsys.readouterr().out
    truth = json.loads(next((tmp_path / "c" / "truth").glob("*.json")).read_text())
    assert truth["with_truck"] is False
    assert main(["synth", "container", "--out", str(tmp_path / "d"), "--n", "1",
                 "--empty-fraction", "2"]) == 1
    assert "empty-fraction" in capsys.readouterr().err


def test_cargo_mix_is_held_out():
    """``cargo`` restricts the loaded cargo (a cargo mix held out of training)."""
    opts = synth.SynthOptions(empty_fraction=0.0, cargo=("tyres", "timber")).check()
    seen = {synth.sample_dataset_scene(synth.scan_rng(5, i), opts).cargo for i in range(12)}
    assert seen <= {"tyres", "timber"} and seen
    other = synth.SynthOptions(empty_fraction=0.0, cargo=("cartons", "grain")).check()
    assert {synth.sample_dataset_scene(synth.scan_rng(5, i), other).cargo for i in range(12)} <= {"cartons", "grain"}


def test_concealment_kinds_can_be_restricted():
    """``concealments`` restricts the concealment kinds (a hard-case set); the default draws
    exactly what every earlier data set drew (scan i of a seed unchanged)."""
    only = synth.SynthOptions(empty_fraction=0.0, concealment_fraction=1.0, concealments=("firearms",)).check()
    kinds = {synth.sample_dataset_scene(synth.scan_rng(7, i), only).concealment for i in range(20)}
    assert kinds <= {"firearms", None} and "firearms" in kinds
    default = synth.SynthOptions(empty_fraction=0.0, concealment_fraction=1.0).check()
    explicit = synth.SynthOptions(empty_fraction=0.0, concealment_fraction=1.0,
                                  concealments=tuple(CONCEALMENTS)).check()
    a = [synth.sample_dataset_scene(synth.scan_rng(7, i), default).concealment for i in range(20)]
    assert a == [synth.sample_dataset_scene(synth.scan_rng(7, i), explicit).concealment for i in range(20)]
    assert len(set(a) - {None}) >= 3
    for bad in (("guns",), (), "firearms"):
        with pytest.raises(InputError, match="concealments"):
            synth.SynthOptions(concealments=bad).check()


def test_cli_cargo_option(tmp_path, capsys):
    from inspect_cv.cli.main import main

    rc = main(["synth", "container", "--out", str(tmp_path / "c"), "--n", "2", "--seed", "3", "--length", "20",
               "--no-truck", "--pixel-mm", "25", "--empty-fraction", "0", "--cargo", "timber"])
    assert rc == 0
    coco = json.loads((tmp_path / "c" / "annotations.json").read_text())
    assert {im["cargo"] for im in coco["images"]} == {"timber"}
    assert main(["synth", "container", "--out", str(tmp_path / "d"), "--n", "1", "--cargo", "gold"]) == 1
    assert "cargo" in capsys.readouterr().err
    assert main(["synth", "container", "--out", str(tmp_path / "e"), "--n", "1", "--concealments", "gold"]) == 1
    assert "concealments" in capsys.readouterr().err


def test_empty_indices_pick_empty_scenes():
    from inspect_cv.container.calibrate import empty_indices, scene_for
    from inspect_cv.container.synth import scan_rng

    idx = empty_indices(5, start=3)
    assert len(set(idx)) == 5
    assert all(scene_for(i, scan_rng(11, i)).cargo == "empty" for i in idx)
