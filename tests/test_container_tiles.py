"""Container detector tiles (training source, validation set) and the fast paths of the
container pipeline (air windows skipped, grey view, direct tensor)."""
import json

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_cv.container.inspect import ScanView, air_windows, read_container_scan, run_detector
from inspect_cv.container.sim import CLASSES
from inspect_cv.container.tiles import clip_boxes, crop_tile, tile_pixels, tile_sampler, write_tile_dataset
from inspect_cv.detection.slicing import TiledPredictor, tile_windows
from inspect_cv.errors import DatasetError, InputError

PM = 10.0   # coarse pitch: every scan renders in well under a second


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    from inspect_cv.container.synth import write_dataset

    out = tmp_path_factory.mktemp("scans")
    write_dataset(out, 3, seed=3, pixel_mm=PM, empty_fraction=0.0, concealment_fraction=1.0)
    return out


def truth_of(folder):
    coco = json.loads((folder / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    return {names[a["category_id"]] for a in coco["annotations"]}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-50, 300), st.floats(-50, 300), st.floats(1, 200), st.floats(1, 200)),
                max_size=8),
       st.integers(0, 100), st.integers(0, 100))
def test_clipped_boxes_lie_inside_the_window(raw, x0, y0):
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in raw], np.float32).reshape(-1, 4)
    labels = np.arange(len(boxes))
    win = (x0, y0, x0 + 64, y0 + 64)
    b, lab = clip_boxes(boxes, labels, win)
    assert len(b) == len(lab) <= len(boxes)
    assert np.all(b >= 0) and np.all(b[:, [0, 2]] <= 64) and np.all(b[:, [1, 3]] <= 64)
    assert np.all(b[:, 2] > b[:, 0]) and np.all(b[:, 3] > b[:, 1])
    for bb, k in zip(b, lab):            # each kept box is its source box clipped
        src = boxes[k] - np.array([x0, y0, x0, y0], np.float32)
        assert np.allclose(bb, np.clip(src, 0, 64), atol=1e-4)
    inside = [(bx[0] >= x0) & (bx[1] >= y0) & (bx[2] <= x0 + 64) & (bx[3] <= y0 + 64) & (bx[2] - bx[0] > 1)
              & (bx[3] - bx[1] > 1) for bx in boxes]
    assert set(np.flatnonzero(inside)) <= set(lab.tolist())   # wholly inside: never dropped


def test_tile_source_boxes_inside_and_classes_right(scans):
    classes = ["firearm", "contraband_package", "vehicle", "cigarettes"]   # not the simulator's order
    sample = tile_sampler(classes=classes, scans=str(scans), tile=64, scale=0.5, positive_fraction=1.0, cache=2)
    present = truth_of(scans)
    rng = np.random.default_rng(0)
    n_pos = 0
    for _ in range(12):
        img, boxes, labels = sample(rng)
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8
        assert np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 0], img[..., 2])
        assert len(boxes) == len(labels)
        assert np.all(boxes >= 0) and np.all(boxes <= 64)
        assert {classes[k] for k in labels} <= present
        n_pos += len(labels) > 0
    assert n_pos >= 6                  # tiles are drawn around items
    # a subset of classes: the others never appear
    only = tile_sampler(classes=["firearm"], scans=str(scans), tile=64, scale=0.5, positive_fraction=1.0)
    for _ in range(6):
        assert set(only(rng)[2].tolist()) <= {0}


def test_tile_source_is_reproducible_and_bad_input(scans, tmp_path):
    sample = tile_sampler(scans=str(scans), tile=64, scale=0.5)
    a, b = sample(np.random.default_rng([1, 2])), sample(np.random.default_rng([1, 2]))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    with pytest.raises(InputError):
        tile_sampler(classes=["horse"], scans=str(scans))
    with pytest.raises(DatasetError):
        tile_sampler(scans=str(tmp_path))


def test_tiles_are_the_pixels_the_runtime_feeds(scans):
    """Training tile == the detector's tile: same window, display LUT and resize."""
    coco = json.loads((scans / "annotations.json").read_text())
    scan = read_container_scan(scans / coco["images"][0]["file_name"])
    img, _, _, win = crop_tile(scan, np.zeros((0, 4)), np.zeros(0), np.random.default_rng(1), tile=48, scale=0.5)
    rgb = ScanView(scan)[win[1]:win[3], win[0]:win[2]]                     # 3-channel view
    assert np.array_equal(img, cv2.resize(rgb, (48, 48), interpolation=cv2.INTER_AREA))
    grey = ScanView(scan, channels=1)
    assert grey.shape == scan.shape and np.array_equal(tile_pixels(grey, win, 48, 0.5), img)


def test_write_tile_dataset(scans, tmp_path):
    path = write_tile_dataset(scans, tmp_path / "val", tiles_per_scan=2, seed=0, tile=64, scale=0.5)
    coco = json.loads(path.read_text())
    assert len(coco["images"]) == 6 and [c["name"] for c in coco["categories"]] == list(CLASSES)
    for im in coco["images"]:
        assert cv2.imread(str(tmp_path / "val" / im["file_name"])).shape == (64, 64, 3)
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        assert x >= 0 and y >= 0 and x + w <= 64.01 and y + h <= 64.01


def test_air_windows_skip_only_pure_air():
    hi = np.full((100, 400), 60000, np.uint16)
    hi[40, 250] = 100                                   # a single dense pixel
    scan = read_container_scan(hi, pixel_mm=PM, air=60000, dark=0)
    skip = air_windows(scan)
    # (8 px blocks: a window sharing a block with the pixel is run, never the other way)
    wins = np.array([[0, 0, 100, 100], [200, 0, 300, 100], [256, 0, 356, 100], [245, 35, 251, 41]])
    assert skip(wins).tolist() == [True, False, True, False]
    hi[:, :] = 59000                                    # 98 % of air: still air
    assert air_windows(scan)(wins).all()


def test_tiled_predictor_with_every_window_skipped(tmp_path):
    from inspect_cv import load
    from tests.fixture_models import grid_detector

    det = load(grid_detector(tmp_path / "g.onnx", size=64, cell=16, tiling={"tile": 64}))
    out = TiledPredictor(det, tile=64).predict(np.zeros((100, 300, 3), np.uint8),
                                               skip=lambda w: np.ones(len(w), bool))
    assert len(out) == 0 and out.meta["tiles"] == 0 and out.meta["tiles_skipped"] == len(tile_windows(100, 300, 64))
    assert out.class_names == det.classes


def test_direct_tensor_matches_the_general_path(tmp_path):
    from inspect_cv import load
    from tests.fixture_models import grid_detector

    det = load(grid_detector(tmp_path / "g.onnx", size=64, cell=16))
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    rgb = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    fast = det._direct_tensor([grey, rgb])
    slow = det._tensor([det._prepare(grey)[0], det._prepare(rgb)[0]])
    assert fast is not None and np.array_equal(fast, slow)
    assert det._direct_tensor([rng.integers(0, 256, (32, 64), dtype=np.uint8)]) is None   # not input-sized
    a = det.predict_tiles([grey], conf=0.3)[0]
    b = det.predict_tiles([grey.astype(np.float32) / 255.0], conf=0.3)[0]          # general path
    assert np.array_equal(a.boxes, b.boxes) and np.allclose(a.scores, b.scores)


def test_scan_view_channels():
    hi = np.full((40, 60), 30000, np.uint16)
    scan = read_container_scan(hi, pixel_mm=PM, air=60000, dark=0)
    g, c = ScanView(scan, channels=1), ScanView(scan)
    assert g.shape == (40, 60) and c.shape == (40, 60, 3)
    assert np.array_equal(np.repeat(g[5:9, 1:4][..., None], 3, axis=2), c[5:9, 1:4])
    with pytest.raises(InputError):
        ScanView(scan, channels=2)


def test_detail_view_brings_out_a_small_item_inside_dense_cargo():
    """Channel 1 of the detail view is the attenuation minus its local mean: flat cargo sits
    at 128 whatever its density, a small dense item inside it is far darker than in the grey
    window, and crops equal the same pixels of the whole view."""
    rng = np.random.default_rng(0)
    air, dark = 60000, 0
    a = np.full((200, 400), 0.2)
    a[40:160, 40:360] = 6.5                     # 6.5 attenuation lengths of cargo
    a[90:100, 190:215] += 0.6                   # a steel part inside it
    counts = rng.poisson(air * np.exp(-a)).clip(1, 65535).astype(np.uint16)
    scan = read_container_scan(counts, pixel_mm=5.0, air=air, dark=dark)
    v = ScanView(scan, mode="detail")
    assert v.shape == (200, 400, 3) and v.dtype == np.uint8
    whole = np.asarray(v)
    assert np.array_equal(whole[80:120, 150:260], v[80:120, 150:260])
    grey = ScanView(scan, channels=1)
    assert np.array_equal(whole[..., 0], np.asarray(grey))            # channel 0 is v0's window
    cargo, item = (slice(60, 80), slice(60, 120)), (slice(92, 98), slice(195, 210))
    assert abs(float(whole[cargo + (1,)].mean()) - 128) < 6
    step0 = float(whole[cargo + (0,)].mean() - whole[item + (0,)].mean())
    step1 = float(whole[cargo + (1,)].mean() - whole[item + (1,)].mean())
    assert step1 > 40 and step1 > 3 * step0
    assert ScanView.for_window(scan, {"mode": "detail"}).shape == (200, 400, 3)
    assert ScanView.for_window(scan, {}).shape == (200, 400)
    with pytest.raises(InputError):
        ScanView(scan, mode="sharp")
    with pytest.raises(InputError):
        ScanView(scan, mode="detail", channels=1)
    with pytest.raises(InputError):
        ScanView(scan, mode="detail", sigma_mm=0)


def test_detail_tiles_are_the_pixels_the_runtime_feeds(scans):
    coco = json.loads((scans / "annotations.json").read_text())
    scan = read_container_scan(scans / coco["images"][0]["file_name"])
    win_cfg = {"a_max": 9.0, "gamma": 0.5, "mode": "detail"}
    img, _, _, win = crop_tile(scan, np.zeros((0, 4)), np.zeros(0), np.random.default_rng(1), tile=48, scale=0.5,
                               window=win_cfg)
    rgb = ScanView(scan, **win_cfg)[win[1]:win[3], win[0]:win[2]]
    assert np.array_equal(img, cv2.resize(rgb, (48, 48), interpolation=cv2.INTER_AREA))
    assert not np.array_equal(img[..., 0], img[..., 1])


def test_run_detector_on_a_long_scan_skips_air(tmp_path):
    from inspect_cv import load
    from tests.fixture_models import grid_detector

    det = load(grid_detector(tmp_path / "g.onnx", size=64, cell=16, tiling={"tile": 64, "overlap": 0.25}))
    hi = np.full((64, 640), 60000, np.uint16)
    hi[20:36, 500:516] = 5
    found = run_detector(det, read_container_scan(hi, pixel_mm=PM, air=60000, dark=0), conf=0.5)
    assert found.meta["tiles"] >= 1 and found.meta["tiles_skipped"] >= 8
    assert len(found) >= 1 and found.boxes[:, 0].min() >= 496
    det.card.extra = dict(det.card.extra or {}, container_window={"mode": "detail"})   # a three-channel model
    found3 = run_detector(det, read_container_scan(hi, pixel_mm=PM, air=60000, dark=0), conf=0.5)
    assert len(found3) >= 1 and found3.boxes[:, 0].min() >= 496 and found3.meta["tiles"] == found.meta["tiles"]
    # per-class thresholds of the card apply when no conf is given
    name = det.classes[int(found.labels[0])]
    det.card.extra["class_conf"] = {name: 1.01}
    assert len(run_detector(det, read_container_scan(hi, pixel_mm=PM, air=60000, dark=0))) == 0
    det.card.extra["class_conf"] = {name: 0.5}
    assert len(run_detector(det, read_container_scan(hi, pixel_mm=PM, air=60000, dark=0))) == len(found3)


@pytest.mark.parametrize("recipe, mode", [("config_cpu_v0.yaml", "grey"), ("config_cpu_v1.yaml", "detail"),
                                          ("config_cpu_v2.yaml", "detail"), ("config_cpu_v3.yaml", "detail")])
def test_cpu_recipe_matches_the_tile_cutter(recipe, mode):
    """The CPU recipes train on tiles cut by make_tiles.py (``--mode``) with the default tiling
    and window: their card hint and input size must be those defaults."""
    pytest.importorskip("torch")
    import inspect
    from pathlib import Path

    from inspect_cv.container.tiles import DEFAULT_TILING, DEFAULT_WINDOW
    from inspect_cv.train.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[1] / "training" / "container" / recipe)
    ex = cfg["export"]
    assert ex["tiling"] == DEFAULT_TILING and cfg["data"]["input_size"] == DEFAULT_TILING["tile"]
    defaults = {k: p.default for k, p in inspect.signature(ScanView).parameters.items()
                if k not in ("scan", "channels")}
    window = dict(ex["extra"]["container_window"])
    assert window.get("mode", "grey") == mode
    assert {k: window.get(k, defaults[k]) for k in defaults} == dict(defaults, **DEFAULT_WINDOW, mode=mode)
    assert cfg["data"]["classes"] == list(CLASSES)


def test_recipe_config_and_card_carry_the_tiling():
    """The recipe's tile size, scale and window agree, and the export puts them in the card."""
    pytest.importorskip("torch")
    from pathlib import Path

    from inspect_cv.runtime.card import ModelCard
    from inspect_cv.train.config import load_config
    from inspect_cv.train.export import build_card

    cfg = load_config(Path(__file__).resolve().parents[1] / "training" / "container" / "config.yaml")
    opts, ex = cfg["data"]["synthetic"]["options"], cfg["export"]
    assert ex["tiling"]["tile"] == cfg["data"]["input_size"] == opts["tile"]
    assert ex["tiling"]["scale"] == opts["scale"] and ex["extra"]["container_window"] == opts["window"]
    assert cfg["data"]["classes"] == list(CLASSES)
    ckpt = {"config": cfg, "input_size": cfg["data"]["input_size"], "classes": cfg["data"]["classes"],
            "model_name": cfg["model"]["name"], "epoch": 0}
    card = ModelCard(**build_card(ckpt, "container", "0", 0.25, 0.5))
    back = ModelCard.from_metadata(card.to_metadata())
    assert back.tiling == ex["tiling"] and back.extra["container_window"] == opts["window"]


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2 ** 31 - 1))
def test_curve_lookup_matches_interp(seed):
    from inspect_cv.container.inspect import ORGANIC, METAL, _curves, curve_lookup
    from inspect_cv.container import physics as cphys

    x = np.random.default_rng(seed).uniform(-1, 14, 2000).astype(np.float32)
    c = _curves(cphys.DEFAULT_PROFILE)
    for m in (ORGANIC, METAL):
        for k in (1, 2):
            ref = np.interp(x, c[m][0], c[m][k])
            got = curve_lookup(x, c[m][0], c[m][k])
            assert got.dtype == np.float32
            assert np.all(np.abs(got - ref) <= 1e-4 * np.maximum(np.abs(ref), 1.0))
