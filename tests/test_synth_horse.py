"""Tests of the synthetic horse-face generator (inspect_cv.synth.horse)."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from inspect_cv.errors import ConfigError, InputError
from inspect_cv.synth.horse import (HorseIdentity, Nuisance, canonical_marking_mask, make_identities,
                                    render_face, render_scene, sample_identity, split_identities,
                                    write_identities)

SIZE = 96


def _rng(*k):
    return np.random.default_rng(list(k))


def _iou(a, b):
    a, b = a > 0.5, b > 0.5
    return (a & b).sum() / max(1, (a | b).sum())


def test_render_is_deterministic_per_seed():
    ident = sample_identity(_rng(1, 2))
    a = render_face(ident, _rng(5), session=0, size=SIZE)
    b = render_face(ident, _rng(5), session=0, size=SIZE)
    c = render_face(ident, _rng(6), session=0, size=SIZE)
    assert a.dtype == np.uint8 and a.shape == (SIZE, SIZE, 3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    again = sample_identity(_rng(1, 2))
    assert again.to_dict() == ident.to_dict()


def test_identity_dict_round_trip_is_json():
    ident = make_identities(3, seed=4, hard_fraction=0.5)[2]
    d = json.loads(json.dumps(ident.to_dict()))
    assert HorseIdentity.from_dict(d).to_dict() == ident.to_dict()


def test_different_identities_differ():
    ids = make_identities(6, seed=11, hard_fraction=0.0)
    imgs = [render_face(i, _rng(0), session=0, size=SIZE, nuisance=0).astype(np.float32) for i in ids]
    for j in range(1, len(imgs)):
        assert np.abs(imgs[0] - imgs[j]).mean() > 2.0


def test_hard_family_members_differ_but_share_coat():
    # with hard_fraction=1 every horse is in one of a few families: same coat and layout
    ids = make_identities(30, seed=3, hard_fraction=1.0)
    fam = {}
    for i in ids:
        fam.setdefault(i.family, []).append(i)
    a, b = max(fam.values(), key=len)[:2]
    assert a.hard and b.hard and a.coat == b.coat
    assert [m.kind for m in a.markings] == [m.kind for m in b.markings]
    assert a.whorls != b.whorls and a.muzzle_spots != b.muzzle_spots
    ia = render_face(a, _rng(0), session=0, size=SIZE, nuisance=0).astype(np.float32)
    ib = render_face(b, _rng(0), session=0, size=SIZE, nuisance=0).astype(np.float32)
    assert np.abs(ia - ib).mean() > 0.5


def test_marking_layout_is_shared_across_photos():
    # a horse with a blaze: the white region of clean frontal photos is the same in all
    # sessions (canonical frame, no nuisances) and differs from another horse's blaze
    rng = _rng(0)
    ids = []
    while len(ids) < 2:
        i = sample_identity(rng)
        if [m.kind for m in i.markings] == ["blaze"] and i.coat in ("bay", "chestnut", "dark_bay"):
            ids.append(i)

    def white(img):
        f = img.astype(np.float32)
        return ((f.min(2) > 170) & (f.max(2) - f.min(2) < 45)).astype(np.float32)

    w0 = white(render_face(ids[0], _rng(1), session=0, size=128, nuisance=0))
    w1 = white(render_face(ids[0], _rng(2), session=1, size=128, nuisance=0))
    other = white(render_face(ids[1], _rng(1), session=0, size=128, nuisance=0))
    assert w0.sum() > 50
    assert _iou(w0, w1) > 0.6
    assert _iou(w0, w1) > _iou(w0, other) + 0.1
    # and the canonical mask is a property of the identity alone
    assert _iou(canonical_marking_mask(ids[0]), canonical_marking_mask(ids[0])) == 1.0
    assert _iou(canonical_marking_mask(ids[0]), canonical_marking_mask(ids[1])) < 0.9


def test_nuisance_zero_vs_default():
    ident = sample_identity(_rng(9))
    clean = [render_face(ident, _rng(k), session=0, size=SIZE, nuisance=0) for k in range(2)]
    noisy = [render_face(ident, _rng(k), session=0, size=SIZE) for k in range(2)]
    d_clean = np.abs(clean[0].astype(float) - clean[1]).mean()
    d_noisy = np.abs(noisy[0].astype(float) - noisy[1]).mean()
    assert d_clean < d_noisy
    with pytest.raises(ValueError):
        Nuisance.coerce(-1)


def test_render_scene_box_inside_image_and_on_the_head():
    ident = sample_identity(_rng(2))
    img, box = render_scene(ident, _rng(3), size=(120, 160), nuisance=Nuisance(blur=0, noise=0, jpeg=0))
    assert img.shape == (120, 160, 3) and img.dtype == np.uint8
    assert box is not None
    x1, y1, x2, y2 = box
    assert 0 <= x1 < x2 <= 160 and 0 <= y1 < y2 <= 120
    assert (y2 - y1) > (x2 - x1)  # a horse face is long
    with pytest.raises(ValueError):
        render_scene(ident, _rng(3), size=(8, 8))


def test_write_identities_layout_and_meta(tmp_path):
    ids = make_identities(3, seed=7)
    out = write_identities(tmp_path / "ds", ids, per_identity=4, seed=7, size=64, sessions=2)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seed"] == 7 and meta["generator_version"]
    assert [m["name"] for m in meta["identities"]] == [i.name for i in ids]
    for m in meta["identities"]:
        files = sorted(p.name for p in (out / m["name"]).iterdir())
        assert files == [f"{n}.png" for n in range(4)]
        assert [im["session"] for im in m["images"]] == [0, 0, 1, 1]
        assert HorseIdentity.from_dict(m["attributes"]).coat == m["attributes"]["coat"]
    # image (i, n) depends only on (seed, i, n): a smaller set reproduces the same files
    out2 = write_identities(tmp_path / "ds2", ids[:2], per_identity=4, seed=7, size=64, sessions=2)
    assert (out / ids[1].name / "3.png").read_bytes() == (out2 / ids[1].name / "3.png").read_bytes()
    with pytest.raises(ConfigError):
        write_identities(tmp_path / "bad", ids, per_identity=0, seed=1)


def test_render_in_parts_equals_one_render(tmp_path):
    """--first: horses 2..3 rendered on their own are the horses 2..3 of the full set, files and meta."""
    full = write_identities(tmp_path / "full", 4, per_identity=2, seed=5, size=48, sessions=2, scenes=1,
                            scene_size=(64, 80), hard_fraction=0.5)
    part = write_identities(tmp_path / "part", 2, per_identity=2, seed=5, size=48, sessions=2, scenes=1,
                            scene_size=(64, 80), hard_fraction=0.5, first=2)
    assert sorted(p.name for p in part.iterdir() if p.is_dir()) == ["h00002", "h00003"]
    for f in ["h00002/0.png", "h00003/1.png"]:
        assert (full / f).read_bytes() == (part / f).read_bytes()
    assert ((tmp_path / "full_scenes" / "h00003_0.png").read_bytes()
            == (tmp_path / "part_scenes" / "h00003_0.png").read_bytes())
    mf, mp = (json.loads((d / "meta.json").read_text()) for d in (full, part))
    assert mf["identities"][2:] == mp["identities"] and mp["first"] == 2
    with pytest.raises(ConfigError):
        write_identities(tmp_path / "bad", 1, per_identity=1, seed=5, first=-1)


def test_cli_tiny(tmp_path, capsys):
    from inspect_cv.cli import synth_horse
    ap = argparse.ArgumentParser()
    synth_horse.register(ap.add_subparsers())
    out = tmp_path / "h"
    args = ap.parse_args(["horse", "--out", str(out), "--identities", "2", "--per-identity", "2",
                          "--seed", "1", "--size", "48", "--scenes", "--scene-size", "64x80"])
    assert args.func(args) == 0
    assert len(list(out.glob("*/*.png"))) == 4
    coco = json.loads((tmp_path / "h_scenes" / "annotations.json").read_text())
    assert len(coco["images"]) == 2 and coco["categories"][0]["name"] == "horse_face"
    assert "wrote" in capsys.readouterr().out
    bad = ap.parse_args(["horse", "--out", str(out), "--identities", "0", "--per-identity", "2"])
    with pytest.raises(InputError):
        bad.func(bad)
    bad = ap.parse_args(["horse", "--out", str(out), "--identities", "1", "--per-identity", "2",
                         "--hard-fraction", "2"])
    with pytest.raises(InputError):
        bad.func(bad)
    bad = ap.parse_args(["horse", "--out", str(out), "--identities", "1", "--per-identity", "2", "--first", "-3"])
    with pytest.raises(InputError):
        bad.func(bad)
    part = ap.parse_args(["horse", "--out", str(tmp_path / "p"), "--identities", "1", "--per-identity", "2",
                          "--seed", "1", "--size", "48", "--first", "1"])
    assert part.func(part) == 0
    assert (tmp_path / "p" / "h00001" / "1.png").read_bytes() == (out / "h00001" / "1.png").read_bytes()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 60), seed=st.integers(0, 10**6),
       fr=st.lists(st.floats(0, 1), min_size=1, max_size=4))
def test_split_identities_disjoint(n, seed, fr):
    total = sum(fr)
    fr = [f / total for f in fr] if total > 0 else [1.0]
    ids = [f"h{i}" for i in range(n)]
    groups = split_identities(ids, fr, seed)
    flat = [x for g in groups for x in g]
    assert sorted(flat) == sorted(ids)          # a partition: disjoint and complete
    assert len(set(flat)) == len(flat)
    assert split_identities(ids, fr, seed) == groups


def test_split_identities_named_and_bad():
    s = split_identities(range(100), {"train": 0.8, "val": 0.1, "test": 0.1}, seed=0)
    assert [len(s[k]) for k in ("train", "val", "test")] == [80, 10, 10]
    assert not set(s["train"]) & set(s["test"])
    with pytest.raises(ConfigError):
        split_identities(range(5), [0.8, 0.8], 0)
    with pytest.raises(ConfigError):
        split_identities([1, 1], [1.0], 0)


@pytest.mark.parametrize("yaw_deg", [-28.0, 28.0])
def test_turned_head_keeps_one_outline(yaw_deg):
    """At the largest yaw the head is still one piece: no torn-off straps or cheek fragments."""
    import cv2

    from inspect_cv.synth.horse import render as R

    for ident in make_identities(6, 2):
        sess = R.session_conditions(ident, 0, Nuisance.coerce(1.0))
        maps = R.session_maps(ident, sess, 128)
        M = R._similarity(224, 224, (0.0, R.FACE_CENTRE_Y), R.FACE_SPAN / 224, 0.0)
        alpha = R._warp(maps, M, 224, 224, np.radians(yaw_deg), 0.1)[0][..., 3]
        n, _, stats, _ = cv2.connectedComponentsWithStats((alpha > 0.5).astype(np.uint8), connectivity=8)
        areas = np.sort(stats[1:, cv2.CC_STAT_AREA])[::-1]
        assert areas[0] > 5000
        assert areas[1:].sum() <= 0.001 * areas[0], (ident.name, areas[:5])
