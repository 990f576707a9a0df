"""Property and unit tests of threat image projection (inspect_cv.xray.tip)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_cv.errors import InputError
from inspect_cv.xray import tip

SETTINGS = settings(max_examples=30, deadline=None)


@st.composite
def threats(draw, channels=None):
    h = draw(st.integers(3, 24))
    w = draw(st.integers(3, 24))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    shape = (h, w) if channels is None else (h, w, channels)
    att = rng.uniform(0.02, 2.0, shape).astype(np.float32)
    att[rng.random((h, w)) < 0.3] = 0.0  # holes
    return att


def _scan(shape=(60, 70), seed=0):
    return np.random.default_rng(seed).uniform(0.05, 1.0, shape).astype(np.float32)


geometry = st.tuples(st.integers(-20, 70), st.integers(-20, 60), st.floats(0, 360),
                     st.floats(0.5, 2.0))


@SETTINGS
@given(st.integers(1, 20), st.integers(1, 20), geometry)
def test_zero_attenuation_leaves_scan_unchanged(h, w, geo):
    scan = _scan()
    x, y, rot, sc = geo
    new, box = tip.project_threat(scan, np.zeros((h, w), np.float32), position=(x, y),
                                  rotation_deg=rot, scale=sc)
    assert box is None
    assert np.array_equal(new, scan)


@SETTINGS
@given(threats(), st.integers(0, 2**31 - 1), geometry)
def test_attenuations_add(a, seed, geo):
    x, y, rot, sc = geo
    b = np.random.default_rng(seed).uniform(0, 1.5, a.shape).astype(np.float32)
    scan = _scan()
    kw = dict(position=(x, y), rotation_deg=rot, scale=sc)
    both, box_ab = tip.project_threat(scan, a + b, **kw)
    step, _ = tip.project_threat(scan, a, **kw)
    step, _ = tip.project_threat(step, b, **kw)
    # equal up to the ATT_MIN zeroing of interpolation dust in each projection
    assert np.abs(np.log(step) - np.log(both)).max() < 3 * tip.ATT_MIN
    # the attenuation domain gives the same sum
    att0 = -np.log(scan)
    s_att, _ = tip.project_threat(att0, a + b, domain="attenuation", **kw)
    assert np.allclose(s_att, -np.log(both), atol=1e-4)


@SETTINGS
@given(threats(), geometry, st.floats(0.1, 3.0))
def test_box_is_tight_around_changed_pixels(a, geo, density):
    x, y, rot, sc = geo
    scan = _scan()
    new, box = tip.project_threat(scan, a, position=(x, y), rotation_deg=rot, scale=sc,
                                  density=density)
    changed = new != scan
    if box is None:
        assert not changed.any()
        return
    x1, y1, x2, y2 = box
    assert 0 <= x1 < x2 <= scan.shape[1] and 0 <= y1 < y2 <= scan.shape[0]
    ys, xs = np.nonzero(changed)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x1, y1, x2, y2)
    assert np.all(new <= scan)


@st.composite
def smooth_threats(draw):
    """Object-like signatures: a blurred random blob on a zero (air) margin."""
    import cv2

    h, w = draw(st.integers(6, 30)), draw(st.integers(6, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    inner = rng.uniform(0.0, 2.0, (h, w)).astype(np.float32)
    a = np.pad(cv2.GaussianBlur(inner, (0, 0), 1.5), 3)
    return a


@SETTINGS
@given(smooth_threats(), st.floats(0, 360), st.floats(0.3, 3.0))
def test_rotation_scale_preserve_attenuation_area(a, rot, sc):
    sig = tip.transform_threat(a, rotation_deg=rot, scale=sc)
    # Bilinear rotation of an object only a few pixels across (after shrinking) has a
    # sampling error of several percent; objects of realistic size stay within 6 %.
    small = min(a.shape) * sc < 8
    assert sig.sum() == pytest.approx(a.sum() * sc * sc, rel=0.15 if small else 0.06)


def test_density_scales_attenuation():
    a = np.full((5, 6), 0.3, np.float32)
    s1 = tip.transform_threat(a, density=1.0)
    s2 = tip.transform_threat(a, density=2.5)
    assert np.allclose(s2, 2.5 * s1)


def test_exact_paste_and_clipping_at_edge():
    scan = np.full((20, 30), 0.8, np.float32)
    a = np.zeros((4, 5), np.float32)
    a[1:3, 1:4] = 1.0
    new, box = tip.project_threat(scan, a, position=(10, 5))
    assert box == (11, 6, 14, 8)  # threat pixel (i, j) lands on (5 + i, 10 + j)
    assert np.allclose(new[6:8, 11:14], 0.8 * np.exp(-1.0))
    new, box = tip.project_threat(scan, a, position=(28, -1))
    assert box == (29, 0, 30, 2)
    new, box = tip.project_threat(scan, a, position=(40, 40))
    assert box is None and np.array_equal(new, scan)


def test_mask_and_channels():
    scan = np.ones((20, 20, 2), np.float32) * 0.9
    a = np.full((6, 6), 0.5, np.float32)
    mask = np.zeros((6, 6), bool)
    mask[2:4, 2:5] = True
    new, box = tip.project_threat(scan, a, mask=mask, position=(3, 4))
    assert box == (5, 6, 8, 8)
    assert np.allclose(new[6:8, 5:8], 0.9 * np.exp(-0.5))  # both channels
    two = np.stack([a, 2 * a], axis=-1)
    new, _ = tip.project_threat(scan, two, position=(0, 0))
    assert np.allclose(new[0, 0], 0.9 * np.exp(-np.array([0.5, 1.0])))
    # attenuation domain adds
    att_scan = np.zeros((10, 10), np.float32)
    new, _ = tip.project_threat(att_scan, a, position=(1, 1), domain="attenuation")
    assert np.allclose(new[1:7, 1:7], 0.5)


def test_rgb_projection():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    zero = np.zeros((8, 8, 3), np.float32)
    same, box = tip.project_threat_rgb(img, zero, position=(5, 5))
    assert box is None and np.array_equal(same, img)
    threat = np.zeros((8, 8, 3), np.float32)
    threat[2:6, 2:6] = (0.2, 0.6, 1.2)  # bluish threat: removes more blue than red
    new, box = tip.project_threat_rgb(img, threat, position=(10, 12))
    assert box == (12, 14, 16, 18)
    region = (slice(14, 18), slice(12, 16))
    assert np.all(new[region] <= img[region])
    outside = np.ones(img.shape[:2], bool)
    outside[region] = False
    assert np.array_equal(new[outside], img[outside])
    white = np.full((8, 8, 3), 255, np.uint8)
    white[2:6, 2:6] = (200, 100, 50)
    sig = tip.threat_signature_from_rgb(white)
    assert np.all(sig[0, 0] == 0)
    out, _ = tip.project_threat_rgb(np.full((20, 20, 3), 255, np.uint8), sig, position=(0, 0))
    assert np.array_equal(out[:8, :8], white)


def test_bad_inputs():
    scan = np.ones((10, 10), np.float32)
    with pytest.raises(InputError):
        tip.project_threat(scan, -np.ones((3, 3), np.float32))
    with pytest.raises(InputError):
        tip.project_threat(scan, np.ones((3, 3)), mask=np.ones((2, 3)))
    with pytest.raises(InputError):
        tip.project_threat(scan, np.ones((3, 3)), domain="log")
    with pytest.raises(InputError):
        tip.project_threat(scan, np.ones((3, 3, 2)))
    with pytest.raises(InputError):
        tip.project_threat(scan, np.ones((3, 3)), scale=0)
    with pytest.raises(InputError):
        tip.project_threat(np.ones((0, 4)), np.ones((3, 3)))
    with pytest.raises(InputError):
        tip.project_threat_rgb(np.ones((5, 5, 3), np.float32), np.ones((2, 2)))
