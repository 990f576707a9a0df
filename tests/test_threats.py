"""Threat signatures: every class/family renders, seeded, physically sized, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from inspect_cv.errors import InputError
from inspect_cv.xray import materials
from inspect_cv.xray.threats import (
    EXTRA_CLASSES, HELD_OUT, THREAT_CLASSES, VARIANTS, ThreatSignature, families, render_threat,
)

ALL = THREAT_CLASSES + EXTRA_CLASSES


def _check(sig: ThreatSignature, cls: str):
    assert sig.cls == cls
    assert sig.mask.dtype == bool and sig.mask.sum() > 10
    assert sig.thickness, "no material"
    for m, t in sig.thickness.items():
        assert m in materials.MATERIALS, m
        assert t.shape == sig.mask.shape and t.dtype == np.float32
        assert np.isfinite(t).all() and (t >= 0).all()
    total = sig.total()
    assert total.max() > 0.005  # at least 50 micrometres somewhere
    assert total[~sig.mask].max(initial=0) < 0.5 * total.max()


def test_core_classes_listed():
    assert THREAT_CLASSES == ["gun", "knife", "scissors", "wrench", "pliers", "hammer",
                              "shuriken", "razor_blade"]


@pytest.mark.parametrize("cls", ALL)
def test_every_family_renders(cls):
    for v in VARIANTS[cls]:
        sig = render_threat(cls, 3, pixel_pitch_mm=0.8, variant=v)
        _check(sig, cls)
        assert sig.variant == v


@pytest.mark.parametrize("cls", THREAT_CLASSES)
def test_deterministic_and_seed_dependent(cls):
    a, b, c = (render_threat(cls, s, 0.8) for s in (5, 5, 6))
    assert a.mask.shape == b.mask.shape and (a.mask == b.mask).all()
    for m in a.thickness:
        np.testing.assert_array_equal(a.thickness[m], b.thickness[m])
    differs = a.mask.shape != c.mask.shape or not np.array_equal(a.total(), c.total())
    assert differs


def test_size_follows_pixel_pitch():
    pose = {"angle": 0.0, "tilt": 0.0, "scale": 1.0, "flip": False, "open": 1.0}
    fine = render_threat("wrench", 11, 0.4, pose=pose, variant="combination")
    coarse = render_threat("wrench", 11, 0.8, pose=pose, variant="combination")
    w_f = np.ptp(np.flatnonzero(fine.mask.any(0)))
    w_c = np.ptp(np.flatnonzero(coarse.mask.any(0)))
    assert abs(w_f / w_c - 2.0) < 0.1
    # physical length of a wrench: 12-25 cm plus heads
    assert 110 < w_c * 0.8 < 330


def test_blade_edge_thinner_than_spine():
    pose = {"angle": 0.0, "tilt": 0.0, "scale": 1.0, "flip": False}
    sig = render_threat("knife", 2, 0.25, pose=pose, variant="kitchen")
    steel = sig.thickness["steel"]
    # columns through the blade only (right of the bolster): steel is max on the spine side
    col = steel[:, int(steel.shape[1] * 0.85)]
    rows = np.flatnonzero(col > 0)
    assert len(rows) > 4
    prof = col[rows[1:-1]]
    assert prof.max() > 2 * prof[-1] or prof.max() > 2 * prof[0]


def test_tilt_foreshortens_and_thickens():
    base = {"angle": 0.0, "tilt_axis": 90.0, "scale": 1.0, "flip": False}
    flat = render_threat("shuriken", 4, 0.5, pose={**base, "tilt": 0.0}, variant="star")
    tilted = render_threat("shuriken", 4, 0.5, pose={**base, "tilt": 60.0}, variant="star")
    assert tilted.mask.sum() < 0.7 * flat.mask.sum()
    assert tilted.total().max() > 1.5 * flat.total().max()


def test_open_and_closed_scissors_differ():
    pose = {"angle": 0.0, "tilt": 0.0, "scale": 1.0, "flip": False}
    closed = render_threat("scissors", 1, 0.8, pose={**pose, "open": 0.0}, variant="office")
    opened = render_threat("scissors", 1, 0.8, pose={**pose, "open": 1.0}, variant="office")
    assert opened.mask.shape[0] > closed.mask.shape[0]


def test_held_out_families():
    for cls in ALL:
        train = families(cls, "exclude")
        assert train and not (set(train) & set(HELD_OUT[cls])) or not HELD_OUT[cls]
        for s in range(3):
            sig = render_threat(cls, s, 1.0, held_out="only")
            if HELD_OUT[cls]:
                assert sig.variant in HELD_OUT[cls]
            sig = render_threat(cls, s, 1.0, held_out="exclude")
            assert sig.variant not in HELD_OUT[cls]


@pytest.mark.parametrize("kwargs", [
    {"cls": "bazooka"}, {"cls": "gun", "variant": "musket"}, {"cls": "gun", "pixel_pitch_mm": 0},
    {"cls": "gun", "held_out": "sometimes"},
])
def test_bad_input(kwargs):
    with pytest.raises(InputError):
        render_threat(rng=0, **kwargs)


@settings(max_examples=25, deadline=None)
@given(cls=st.sampled_from(ALL), seed=st.integers(0, 2**31), angle=st.floats(0, 360),
       tilt=st.floats(0, 70), scale=st.floats(0.7, 1.3), flip=st.booleans(), open_=st.floats(0, 1),
       pitch=st.floats(0.5, 1.5))
def test_any_pose_renders(cls, seed, angle, tilt, scale, flip, open_, pitch):
    sig = render_threat(cls, seed, pitch, pose={"angle": angle, "tilt": tilt, "scale": scale,
                                                "flip": flip, "open": open_})
    _check(sig, cls)
