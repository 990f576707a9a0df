"""Synthetic bags, scans with exact threat boxes, the dataset writer and its CLI."""
import argparse
import json

import numpy as np
import pytest

from inspect_cv.errors import InputError
from inspect_cv.xray import materials
from inspect_cv.xray.bag import make_bag, synthesize
from inspect_cv.xray.threats import THREAT_CLASSES

SIZE = (192, 256)


def test_make_bag_is_seeded_and_valid():
    a, b, c = make_bag(7, SIZE), make_bag(7, SIZE), make_bag(8, SIZE)
    assert a.shape == SIZE and a.bag_mask.mean() > 0.3
    assert set(a.thickness) == set(b.thickness)
    for m, t in a.thickness.items():
        assert m in materials.MATERIALS
        assert t.shape == SIZE and np.isfinite(t).all() and (t >= 0).all()
        np.testing.assert_array_equal(t, b.thickness[m])
    tot = lambda s: sum(s.thickness.values())
    assert not np.array_equal(tot(a), tot(c))
    assert len(a.items) >= 3


def test_bag_has_clutter_of_several_kinds():
    kinds = set()
    for s in range(6):
        sc = make_bag(s, SIZE)
        kinds |= set(sc.items)
        assert {"cotton", "nylon", "polyethylene"} & set(sc.thickness)
    assert {"clothes", "cable"} <= kinds and len(kinds) >= 6


LOOK_ALIKES = ["toothed", "cutlery", "strap_hardware", "grooming", "wallet", "glasses", "watch",
               "appliance", "office"]


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_benign_look_alikes_are_metal_objects_of_real_size(name):
    from inspect_cv.xray.bag import ITEMS
    from inspect_cv.xray.threats import pose_matrix, render_parts

    metals = {"steel", "brass", "aluminium", "copper"}
    for seed in range(12):
        parts = ITEMS[name][0](np.random.default_rng([len(name), seed]))
        assert parts and all(p.material in materials.MATERIALS for p in parts)
        thick, mask = render_parts(parts, pose_matrix(0.0), 0.5, ss=2)
        assert all(np.isfinite(t).all() and (t >= -1e-6).all() for t in thick.values())
        ys, xs = np.nonzero(mask)
        extent_mm = max(np.ptp(xs), np.ptp(ys)) * 0.5
        assert 8 <= extent_mm <= 400, (name, seed, extent_mm)
        if name != "toothed":  # a toothed disc may be a plastic gear
            assert metals & set(thick), (name, seed)


def test_bags_carry_look_alikes():
    seen = set()
    for s in range(30):
        seen |= set(make_bag(s, SIZE).items)
    assert len(set(LOOK_ALIKES) & seen) >= 6


def test_bad_bag_size():
    with pytest.raises(InputError):
        make_bag(0, (10, 10))


@pytest.mark.parametrize("profile", [None, "random", "sim-greyscale-single-energy"])
def test_synthesize_boxes_tight_and_inside(profile):
    for seed in range(3):
        s = synthesize(seed, profile=profile, size=SIZE, n_threats=(1, 3), negative_fraction=0.0)
        H, W = s.image.shape[:2]
        assert (H, W) == SIZE and s.image.dtype == np.uint8
        assert s.high_T.shape == SIZE and s.low_T.shape == SIZE
        assert 1 <= len(s.boxes) <= 3 and len(s.labels) == len(s.boxes) == len(s.masks)
        assert s.seed == seed and isinstance(s.profile, str)
        for box, label, m in zip(s.boxes, s.labels, s.masks):
            assert 0 <= label < len(s.class_names)
            x1, y1, x2, y2 = box
            assert 0 <= x1 < x2 <= W and 0 <= y1 < y2 <= H
            ys, xs = np.nonzero(m)
            assert (x1, y1, x2, y2) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_threats_are_visible_in_the_scan():
    s = synthesize(3, profile="sim-160kv-sandwich", size=SIZE, n_threats=(1, 1), negative_fraction=0.0,
                   threats=["wrench"])
    m = s.masks[0]
    assert s.high_T[m].mean() < 0.8 * s.high_T[~m].mean()


def test_synthesize_deterministic_and_negatives():
    a = synthesize(11, size=SIZE)
    b = synthesize(11, size=SIZE)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    neg = synthesize(12, size=SIZE, negative_fraction=1.0)
    assert len(neg.boxes) == 0 and neg.boxes.shape == (0, 4)


def test_synthesize_bad_input():
    with pytest.raises(InputError):
        synthesize(0, profile="no-such-scanner", size=SIZE)
    with pytest.raises(InputError):
        synthesize(0, size=SIZE, n_threats=(3, 1))
    with pytest.raises(InputError):
        synthesize(0, size=SIZE, threats=["bazooka"], negative_fraction=0.0)


def test_write_dataset_coco_reads_back_and_subsets_reproduce(tmp_path):
    from inspect_cv.formats.coco import read_coco
    from inspect_cv.synth.baggage import write_dataset

    ann = write_dataset(tmp_path / "full", 3, seed=5, fmt="coco", size=SIZE)
    ds = read_coco(ann)
    assert len(ds) == 3 and ds.classes == THREAT_CLASSES
    for rec in ds.images:
        assert ds.image_path(rec).is_file() and (rec.width, rec.height) == (SIZE[1], SIZE[0])
        if len(rec.boxes):
            assert (rec.boxes[:, 2] <= rec.width).all() and (rec.boxes[:, 3] <= rec.height).all()
    meta = json.loads((tmp_path / "full" / "generator.json").read_text())
    assert meta["seed"] == 5 and len(meta["images"]) == 3 and meta["generator"]
    sub = write_dataset(tmp_path / "sub", 1, seed=5, fmt="coco", size=SIZE, start=2)
    one = read_coco(sub)
    full_bytes = (tmp_path / "full" / "images" / "000002.png").read_bytes()
    assert (tmp_path / "sub" / "images" / "000002.png").read_bytes() == full_bytes
    np.testing.assert_allclose(one.images[0].boxes, ds.images[2].boxes, atol=1e-3)


def test_write_dataset_yolo(tmp_path):
    from inspect_cv.formats.yolo import read_yolo
    from inspect_cv.synth.baggage import write_dataset

    write_dataset(tmp_path, 2, seed=1, fmt="yolo", size=SIZE, profile="random",
                  classes=["gun", "knife"], negative_fraction=0.0)
    ds = read_yolo(tmp_path)
    assert len(ds) == 2 and ds.classes == ["gun", "knife"] and ds.num_boxes >= 2
    assert len(list((tmp_path / "labels" / "train").glob("*.txt"))) == 2


@pytest.mark.parametrize("kwargs", [{"fmt": "voc"}, {"profile": "nope"}, {"size": "12x"},
                                    {"classes": ["laser"]}, {"n": 0}])
def test_write_dataset_bad_input(tmp_path, kwargs):
    from inspect_cv.synth.baggage import write_dataset

    args = {"n": 1, "seed": 0, "size": SIZE, **kwargs}
    with pytest.raises(InputError):
        write_dataset(tmp_path, **args)


def _cli(argv):
    from inspect_cv.cli import synth_baggage

    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers()
    synth = sub.add_parser("synth").add_subparsers()
    synth_baggage.register(synth)
    args = ap.parse_args(argv)
    return args.func(args)


def test_cli_tiny_run(tmp_path, capsys):
    rc = _cli(["synth", "baggage", "--out", str(tmp_path), "--n", "2", "--seed", "3",
               "--size", "192x256", "--format", "coco"])
    assert rc == 0
    assert len(list((tmp_path / "images").glob("*.png"))) == 2
    assert (tmp_path / "annotations.json").is_file()
    assert "wrote 2 images" in capsys.readouterr().out


def test_cli_bad_args(tmp_path):
    with pytest.raises(InputError):
        _cli(["synth", "baggage", "--out", str(tmp_path), "--n", "0"])
    with pytest.raises(InputError):
        _cli(["synth", "baggage", "--out", str(tmp_path), "--n", "1", "--size", "axb"])
