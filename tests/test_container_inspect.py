import json
import numpy as np
import pytest

from inspect_cv.container import render_scan, sample_scene
from inspect_cv.container import physics as cphys
from inspect_cv.container.declaration import check_declaration
from inspect_cv.container.geometry import box
from inspect_cv.container.inspect import (ScanView, analyse_interior, attenuation, inspect_container,
                                          locate_container, read_container_scan, run_detector)
from inspect_cv.errors import InputError

PM = 10.0  # coarse pitch keeps every scan well under a second


def scan_of(seed, cargo="empty", truck=True, length=20, single=False, extra=None):
    rng = np.random.default_rng(seed)
    sc = sample_scene(rng, length, cargo=cargo, with_truck=truck, single=single)
    if extra:
        sc.prims += extra(sc)
    s = render_scan(sc, rng, pixel_mm=PM)
    return s, read_container_scan(s.high, s.low, pixel_mm=PM)


@pytest.mark.parametrize("truck", [True, False])
def test_localisation_finds_the_container(truck):
    s, inp = scan_of(3, truck=truck)
    body, _ = analyse_interior(inp)
    c0, c1 = s.meta["container_px"]
    assert abs(body.box[0] - c0) <= 2 and abs(body.box[2] - c1) <= 2
    assert abs(body.interior[3] - s.meta["floor_row"]) <= 3
    assert body.length_ft == 20


def test_localisation_fails_with_reason():
    blank = np.full((200, 900), 60000, np.uint16)
    inp = read_container_scan(blank, blank.copy(), pixel_mm=PM)
    with pytest.raises(InputError, match="no container found"):
        locate_container(attenuation(blank, inp.air_high, inp.dark), PM / 10)


def test_empty_vs_loaded_including_single_small_item():
    _, empty = scan_of(11)
    _, single = scan_of(12, cargo="cartons", single=True)
    _, full = scan_of(13, cargo="grain", truck=False, length=40)
    e, s, f = (analyse_interior(x)[1] for x in (empty, single, full))
    assert e.empty and e.score < 0.2 and e.mass_kg == 0
    assert not s.empty and s.score > 0.5
    assert not f.empty and f.score > 0.99


def test_mass_of_a_known_slab_and_of_a_scan():
    # a 100 x 80 cm water-like (cellulose) block, 120 cm deep: 0.5 g/cm^3 -> 480 kg
    def slab(sc):
        x0 = sc.container_x[0] + 200
        return [box("cellulose", x0, x0 + 100, sc.floor_y, sc.floor_y + 80, 120, density=0.5, role="cargo")]
    s, inp = scan_of(21, extra=slab)
    _, res = analyse_interior(inp)
    assert res.mass_kg == pytest.approx(480, rel=0.1)
    assert res.mass_sigma_kg > 0
    s, inp = scan_of(22, cargo="cartons", length=20)
    _, res = analyse_interior(inp)
    assert res.mass_kg == pytest.approx(s.cargo_mass_kg, rel=0.12)
    # the inversion itself on a slab
    spec = cphys.get_profile(None).spectra[0]
    a = -np.log(cphys.slab_transmission("steel", [40.0], spec))
    assert cphys.mass_thickness_from_attenuation("steel", a, spec)[0] == pytest.approx(40.0, rel=1e-3)


def result(empty, mass, sigma=100.0, feats=None):
    return {"empty": {"verdict": empty, "score": 0.0 if empty else 1.0}, "mass_kg": mass,
            "mass_sigma_kg": sigma, "features": feats or {}}


CLF = {"centroids": {"grain": [0.9, 0.4, 5.0, 0.0, 0.2, 0.2, 0.01],
                     "machinery": [0.5, 0.5, 3.0, 0.9, 1.0, 0.1, 0.2]},
       "scale": [0.2] * 7, "ratio": 1.5}
GRAIN = {"fill_length": 0.9, "fill_height": 0.4, "mean_mt": float(np.expm1(5.0)), "metal": 0.0,
         "texture": 0.2, "dark_frac": 0.2, "grad": 0.01}


def kinds(d):
    return {r["kind"] for r in d["reasons"]}


def test_declaration_reasons():
    ok = check_declaration({"declared": "grain", "declared_mass_kg": 10000}, result(False, 10100, feats=GRAIN), CLF)
    assert ok["consistent"] and ok["reasons"] == []
    d = check_declaration({"declared": "empty", "declared_mass_kg": 0}, result(False, 5000, feats=GRAIN), CLF)
    assert kinds(d) == {"declared_empty_but_loaded"}
    d = check_declaration({"declared": "machinery", "declared_mass_kg": 10000}, result(False, 10000, feats=GRAIN), CLF)
    assert kinds(d) == {"category_mismatch"} and d["observed_category"] == "grain"
    d = check_declaration({"declared": "grain", "declared_mass_kg": 6000}, result(False, 10000, 200, GRAIN), CLF)
    assert kinds(d) == {"mass_mismatch"} and d["mass_estimate_kg"] == 10000
    d = check_declaration({"declared": "grain", "declared_mass_kg": 6000}, result(True, 0.0), CLF)
    assert "declared_loaded_but_empty" in kinds(d)
    with pytest.raises(InputError):
        check_declaration({"declared": "bananas"}, result(True, 0.0), CLF)
    # a known cargo kind the category classifier was not fitted on: mass still checked,
    # no category verdict either way
    d = check_declaration({"declared": "furniture", "declared_mass_kg": 10000}, result(False, 10100, feats=GRAIN), CLF)
    assert d["consistent"] and d["observed_category"] == "grain"
    d = check_declaration({"declared": "scrap_metal", "declared_mass_kg": 3000}, result(False, 10100, feats=GRAIN), CLF)
    assert kinds(d) == {"mass_mismatch"}
    # the detector's alarm-raising boxes are undeclared items, even in an honest manifest
    items = [{"label": "firearm", "score": 0.81, "box": [1, 2, 30, 20]},
             {"label": "firearm", "score": 0.6, "box": [40, 2, 70, 20]},
             {"label": "vehicle", "score": 0.9, "box": [100, 0, 900, 300]}]
    d = check_declaration({"declared": "grain", "declared_mass_kg": 10000}, result(False, 10100, feats=GRAIN), CLF,
                          detections=items)
    assert kinds(d) == {"undeclared_items"} and not d["consistent"]
    r = d["reasons"][0]
    assert "2 firearm" in r["message"] and "1 vehicle" in r["message"] and len(r["items"]) == 3
    assert check_declaration({"declared": "grain", "declared_mass_kg": 10000}, result(False, 10100, feats=GRAIN),
                             CLF, detections=[])["consistent"]


def long_scan_with_squares(xs, h=128, w=992):
    hi = np.full((h, w), 60000, np.uint16)
    for x in xs:
        hi[48:64, x:x + 16] = 5  # opaque: black in the display window
    return read_container_scan(hi, hi.copy(), pixel_mm=PM, air=60000, dark=0)


def test_object_in_tile_overlaps_and_borders_reported_once(tmp_path):
    from inspect_cv import load
    from tests.fixture_models import grid_detector

    path = grid_detector(tmp_path / "g.onnx", size=128, cell=16,
                         tiling={"tile": 128, "overlap": 0.25, "batch": 4})
    det = load(path)
    xs = [96, 112, 208, 224, 400, 800]   # on tile borders / inside overlaps of two tiles
    scan = long_scan_with_squares(xs)
    found = run_detector(det, scan, conf=0.5)
    assert found.meta["tiles"] > 5
    blue = found.boxes[np.array(found.label_names) == "blue_thing"]
    assert len(blue) == len(xs)
    assert sorted(blue[:, 0].round().astype(int).tolist()) == xs
    # the lazy view converts crops only, and equals the full conversion
    view = ScanView(scan)
    assert np.array_equal(view[10:50, 100:300], np.asarray(view)[10:50, 100:300])


def test_tiles_follow_the_model_pixel_pitch(tmp_path):
    """A card that names its model pitch (tiling.pixel_mm) gets scans of any pitch tiled at
    that pitch: scale = scan pitch / model pitch; without it the card's fixed scale."""
    from inspect_cv import load
    from tests.fixture_models import grid_detector

    scan = long_scan_with_squares([96, 400, 800])          # pitch PM = 10 mm
    tiles = {}
    for name, mm in (("none", None), ("same", PM), ("coarse", 2 * PM)):
        tiling = {"tile": 128, "overlap": 0.25, "batch": 4, **({"pixel_mm": mm} if mm else {})}
        det = load(grid_detector(tmp_path / f"{name}.onnx", size=128, cell=16, tiling=tiling))
        assert det.tile_scale(scan.pixel_mm) == (None if mm is None else PM / mm)
        found = run_detector(det, scan, conf=0.5)
        tiles[name] = found.meta["tiles"] + found.meta["tiles_skipped"]
        if name != "coarse":
            blue = found.boxes[np.array(found.label_names) == "blue_thing"]
            assert sorted(blue[:, 0].round().astype(int).tolist()) == [96, 400, 800]
    assert tiles["same"] == tiles["none"]
    assert tiles["coarse"] < tiles["same"]   # 256 source pixels a tile at 20 mm per model pixel
    assert det.tile_scale(None) is None and det.tile_scale(0) is None
    with pytest.raises(InputError):
        det.tiler("auto", scan.shape, scale=-1.0)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from inspect_cv.container import write_dataset

    out = tmp_path_factory.mktemp("cds")
    write_dataset(out, 2, seed=5, pixel_mm=PM, empty_fraction=0.5)
    (out / "scans" / "broken_high.tif").write_bytes(b"II*\x00garbage")
    return out


def test_cli_jsonl_contract_model_none(dataset, tmp_path):
    from inspect_cv.cli import scan_container
    import argparse

    p = argparse.ArgumentParser()
    scan_container.register(p.add_subparsers())
    outp = tmp_path / "r.jsonl"
    args = p.parse_args(["scan-container", str(dataset / "scans"), "--model", "none",
                         "--manifests", str(dataset / "manifests"), "--out", str(outp),
                         "--save-vis", str(tmp_path / "vis")])
    assert args.func(args) == 0
    recs = [json.loads(line) for line in outp.read_text().splitlines()]
    assert len(recs) == 3
    bad = [r for r in recs if "error" in r]
    assert len(bad) == 1 and "broken" in bad[0]["image"]
    for r in recs:
        if "error" in r:
            continue
        truth = json.loads((dataset / "truth" / (r["image"].split("/")[-1][:-9] + ".json")).read_text())
        assert r["detector"] == "none" and r["detections"] is None
        assert r["empty"]["verdict"] == truth["empty"]
        assert set(r["declaration"]) >= {"consistent", "reasons", "mass_estimate_kg", "mass_sigma_kg"}
        assert r["pixel_mm"] == PM and r["pixel_mm_source"] == "coco"
    assert len(list((tmp_path / "vis").glob("*.png"))) == 2


def test_cli_requires_model_and_runs_with_grid_model(dataset, tmp_path, capsys):
    from inspect_cv.cli import scan_container
    import argparse
    from tests.fixture_models import grid_detector

    p = argparse.ArgumentParser()
    scan_container.register(p.add_subparsers())
    with pytest.raises(SystemExit) as e:
        p.parse_args(["scan-container", str(dataset / "scans")])
    assert e.value.code == 2
    model = grid_detector(tmp_path / "g.onnx", size=128, cell=16, tiling={"tile": 128, "overlap": 0.2})
    high = sorted((dataset / "scans").glob("SIMU*_high.tif"))[0]
    capsys.readouterr()
    args = p.parse_args(["scan-container", str(high), "--model", str(model)])
    assert args.func(args) == 0
    rec = json.loads(capsys.readouterr().out.splitlines()[0])
    assert isinstance(rec["detections"], list) and rec["detector"] == "grid-test"
    assert rec["low_image"].endswith("_low.tif") and rec["declaration"] is None


class _FixedBoxes:
    """A stand-in detector that returns the same boxes for any scan (no tiling)."""

    def __init__(self, boxes):
        self.boxes = np.asarray(boxes, np.float32)

    def tiler(self, tile, shape):
        return None

    def predict_tiles(self, images, conf=None, iou=None):
        from inspect_cv.detection.core import Detections

        n = len(self.boxes)
        return [Detections(self.boxes, np.full(n, 0.9), np.zeros(n), ("vehicle",))]


def test_boxes_outside_the_container_body_are_dropped():
    """A box on the tractor cab is not cargo: inspect_container keeps only boxes centred
    inside the located body; run_detector without a body keeps both."""
    from inspect_cv.container.inspect import find_body, inside_body, within_body

    s, inp = scan_of(3, truck=True)
    body = find_body(inp)
    assert body == analyse_interior(inp)[0]
    x0, y0, x1, y1 = body.box
    h, w = inp.shape
    # the tractor is on one side of the container: a box centred in the free span there
    cab = [max(0, x0 - 120), y0 + 20, max(8, x0 - 20), y1 - 20] if x0 > 150 else \
        [x1 + 20, y0 + 20, min(w, x1 + 120), y1 - 20]
    inner = [(x0 + x1) / 2 - 40, (y0 + y1) / 2 - 30, (x0 + x1) / 2 + 40, (y0 + y1) / 2 + 30]
    fake = _FixedBoxes([cab, inner])
    assert len(run_detector(fake, inp)) == 2
    kept = run_detector(fake, inp, body=body)
    assert len(kept) == 1 and np.allclose(kept.boxes[0], inner)
    ins = inspect_container(inp, detector=fake)
    assert len(ins.detections) == 1 and ins.alarm
    assert ins.to_record()["detections"][0]["box"] == pytest.approx(inner, abs=0.01)
    # only the centre counts: a box overlapping the front wall but centred inside stays
    straddle = [x0 - 30, y0 + 10, x0 + 50, y0 + 60]
    assert inside_body(np.array([straddle, cab]), body).tolist() == [True, False]
    assert len(within_body(run_detector(_FixedBoxes(np.zeros((0, 4))), inp), body)) == 0


def test_benchmark_counts_boxes_outside_the_body_apart(dataset):
    """benchmarks/container_detect.py scores what scan-container reports: a box at the scan's
    left edge (outside the container) is a false alarm only with --no-body-filter."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "container_detect.py"
    spec = importlib.util.spec_from_file_location("container_detect_bench_body", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fake = _FixedBoxes([[0, 0, 10, 10]])
    classes = ["contraband_package", "firearm", "vehicle", "cigarettes"]
    rows = mod.run_folder(fake, dataset, classes, 0.3, 0.0, None, lambda it, desc=None: it)
    rows_all = mod.run_folder(fake, dataset, classes, 0.3, 0.0, None, lambda it, desc=None: it, body_filter=False)
    assert len(rows) == len(rows_all) == 2 and not any("error" in r for r in rows)
    for r, ra in zip(rows, rows_all):
        assert r["outside_scores"] == pytest.approx([0.9]) and r["fa_scores"] == []
        assert ra["outside_scores"] == [] and ra["fa_scores"] == pytest.approx([0.9])
