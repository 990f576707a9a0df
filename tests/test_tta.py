"""Mirror test-time augmentation: plain box functions, the tiled predictor, the container path."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_cv.detection.boxes import batched_nms, box_iou
from inspect_cv.detection.core import Detections
from inspect_cv.detection.slicing import TiledPredictor
from inspect_cv.detection.tta import (apply_tta, fuse_views, gated_mirror_tta, mirror, mirror_boxes, mirror_tta,
                                      parse_tta, resolve_tta)
from inspect_cv.errors import InputError
from tests.test_slicing import BlobDetector, random_scene


def boxes_strategy(max_n=12, width=200.0):
    corner = st.tuples(st.floats(0, width - 20), st.floats(0, 100), st.floats(2, 19), st.floats(2, 40))
    return st.lists(corner, max_size=max_n).map(
        lambda rows: np.array([[x, y, x + w, y + h] for x, y, w, h in rows], np.float32).reshape(-1, 4))


@given(boxes_strategy(), st.floats(20, 400))
def test_mirror_is_its_own_inverse_and_keeps_sizes(b, width):
    m = mirror_boxes(b, width)
    assert np.allclose(mirror_boxes(m, width), b, atol=1e-3)
    assert np.allclose(m[:, 2] - m[:, 0], b[:, 2] - b[:, 0], atol=1e-3)
    assert (m[:, 0] <= m[:, 2]).all()


@settings(max_examples=60)
@given(boxes_strategy(), st.integers(0, 10_000))
def test_two_equal_views_fuse_to_themselves(b, seed):
    rng = np.random.default_rng(seed)
    n = len(b)
    d = Detections(b, rng.uniform(0.1, 1.0, n), rng.integers(0, 3, n), ("a", "b", "c"))
    d = d[batched_nms(d.boxes, d.scores, d.labels, 0.5)]   # a view is a detector's output: NMS-ed
    n = len(d)
    f = fuse_views(d, d)
    assert len(f) == n
    # every input box comes back once with its own score (pairs of a box with its twin)
    order = np.argsort(-d.scores, kind="stable")
    assert np.allclose(np.sort(f.scores), np.sort(d.scores), atol=1e-6)
    iou = box_iou(d.boxes[order], f.boxes) if n else np.zeros((0, 0))
    assert n == 0 or (iou.max(axis=1) > 0.999).all()


@settings(max_examples=60)
@given(boxes_strategy(), boxes_strategy(), st.integers(0, 10_000))
def test_fusion_counts_and_scores(a_boxes, b_boxes, seed):
    rng = np.random.default_rng(seed)
    a = Detections(a_boxes, rng.uniform(0.05, 1, len(a_boxes)), rng.integers(0, 2, len(a_boxes)), ("x", "y"))
    b = Detections(b_boxes, rng.uniform(0.05, 1, len(b_boxes)), rng.integers(0, 2, len(b_boxes)), ("x", "y"))
    f = fuse_views(a, b)
    assert max(len(a), len(b)) <= len(f) <= len(a) + len(b)
    # a fused score is a mean of two view scores with 0 for a missing partner
    top = max([*a.scores, *b.scores], default=0.0)
    assert (f.scores <= top + 1e-6).all() and (f.scores > 0).all()
    assert (np.diff(f.scores) <= 1e-7).all()            # sorted, best first


def test_unpaired_boxes_lose_half_their_score_and_classes_never_pair():
    a = Detections([[0, 0, 10, 10], [50, 50, 60, 60]], [0.8, 0.6], [0, 0], ("x", "y"))
    b = Detections([[1, 0, 11, 10], [50, 50, 60, 60]], [0.4, 0.6], [0, 1], ("x", "y"))
    f = fuse_views(a, b)
    got = sorted(zip(f.label_names, f.scores.tolist(), f.boxes[:, 0].tolist()))
    # pair at (0,0): mean 0.6, corners weighted 2:1 to view a; the other two have no partner
    assert [g[0] for g in got] == ["x", "x", "y"]
    assert [g[1:] for g in got] == [pytest.approx((0.3, 50.0)), pytest.approx((0.6, 1 / 3)), pytest.approx((0.3, 50.0))]
    with pytest.raises(ValueError):
        fuse_views(a, b, iou=0.0)


def test_mirror_tta_on_a_mirror_symmetric_detector_changes_nothing():
    """The blob detector sees the mirrored image the same way: fusing both views gives the
    plain boxes and scores, and each view runs at half the threshold."""
    rng = np.random.default_rng(3)
    img, truth = random_scene(rng, 120, 160, 5, 30)
    det = BlobDetector()
    seen = []

    def predict(tiles, conf=None, **kw):
        seen.append(conf)
        return det.predict_tiles(tiles)

    plain = det.predict_tiles([img])[0]
    fused = mirror_tta(predict, [img], conf=0.5)[0]
    assert seen == [0.25]                 # one call over both views
    assert len(fused) == len(plain) == len(truth)
    assert np.allclose(np.sort(fused.boxes, axis=0), np.sort(plain.boxes, axis=0), atol=1e-4)
    assert np.allclose(fused.scores, 0.9)


class _LeftOnly:
    """Sees objects in the left half of a tile only: each view finds a different half."""

    input_size = (64, 64)

    def __init__(self):
        self.inner = BlobDetector()

    def predict_tiles(self, tiles, conf=None, **_):
        out = []
        for t, d in zip(tiles, self.inner.predict_tiles(tiles)):
            keep = (d.boxes[:, 0] + d.boxes[:, 2]) / 2 < t.shape[1] / 2
            out.append(d[keep])
        return out


def test_tiled_predictor_with_flip_finds_what_either_view_finds_at_half_score():
    rng = np.random.default_rng(5)
    img, truth = random_scene(rng, 64, 64, 4, 14)
    plain = TiledPredictor(_LeftOnly(), tile=64, overlap=0.2).predict(img, conf=0.1)
    fused = TiledPredictor(_LeftOnly(), tile=64, overlap=0.2, tta="flip").predict(img, conf=0.1)
    assert len(fused) == len(truth) > len(plain)
    assert np.allclose(fused.scores, 0.45) and fused.meta["tta"] == "flip"
    # at a threshold above half the score only objects both views see would stay
    assert len(TiledPredictor(_LeftOnly(), tile=64, tta="flip").predict(img, conf=0.5)) == 0
    with pytest.raises(InputError):
        TiledPredictor(_LeftOnly(), tile=64, tta="rot").predict(img)


def test_mirror_keeps_everything_but_the_boxes():
    d = Detections([[0, 0, 4, 2]], [0.5], [1], ("a", "b"), (10, 20))
    m = mirror(d, 20)
    assert m.boxes.tolist() == [[16, 0, 20, 2]] and m.scores.tolist() == [0.5]
    assert m.label_names == ["b"] and m.image_size == (10, 20)


def test_container_path_with_flip_reports_each_square_once(tmp_path):
    """scan-container's path: every tile also mirrored; the squares on tile borders and in
    overlaps are still reported once each, and a bad mode is one typed error."""
    from inspect_cv import load
    from inspect_cv.container.inspect import run_detector
    from inspect_cv.errors import InputError
    from tests.fixture_models import grid_detector
    from tests.test_container_inspect import long_scan_with_squares

    det = load(grid_detector(tmp_path / "g.onnx", size=128, cell=16, tiling={"tile": 128, "overlap": 0.25, "batch": 4}))
    xs = [96, 112, 208, 400, 800]
    scan = long_scan_with_squares(xs)
    plain = run_detector(det, scan, conf=0.3)
    fused = run_detector(det, scan, conf=0.3, tta="flip")
    assert fused.meta.get("tta") == "flip" and "tta" not in plain.meta
    for found in (plain, fused):
        blue = found.boxes[np.array(found.label_names) == "blue_thing"]
        assert sorted(blue[:, 0].round().astype(int).tolist()) == xs
    with pytest.raises(InputError):
        run_detector(det, scan, conf=0.3, tta="sideways")


def test_module_examples_hold():
    import doctest

    import inspect_cv.detection.tta as tta

    result = doctest.testmod(tta)
    assert result.attempted > 0 and result.failed == 0


def test_detector_predict_with_flip_and_cli(grid_model, tmp_path, capsys):
    """Detector.predict(tta="flip"): the grid model is mirror-symmetric on cell-aligned squares,
    so the fused result equals the plain one. The CLI passes --tta through; a bad mode is one
    typed error."""
    import json

    import cv2

    from inspect_cv import load
    from inspect_cv.cli.main import main
    from inspect_cv.errors import InputError

    det = load(grid_model)
    img = np.full((128, 128, 3), 255, np.uint8)
    img[48:64, 32:48] = (0, 255, 255)      # dark red channel: one blue_thing cell
    img[96:112, 80:96] = (255, 255, 0)     # dark blue channel: one red_thing cell
    plain, fused = det.predict(img, conf=0.3), det.predict(img, conf=0.3, tta="flip")
    assert len(plain) == len(fused) == 2
    assert np.allclose(np.sort(plain.boxes, 0), np.sort(fused.boxes, 0), atol=1e-3)
    assert np.allclose(np.sort(plain.scores), np.sort(fused.scores), atol=1e-5)
    with pytest.raises(InputError):
        det.predict(img, tta="upside-down")
    cv2.imwrite(str(tmp_path / "a.png"), img[..., ::-1])
    code = main(["detect", str(tmp_path / "a.png"), "--model", str(grid_model), "--tta", "flip", "--conf", "0.3"])
    out = capsys.readouterr().out
    assert code == 0 and len(json.loads(out.strip().splitlines()[0])["detections"]) == 2


def test_cli_offers_the_runtime_modes():
    """The CLI lists the modes without importing the runtime (no numpy at parse time)."""
    from inspect_cv.cli._options import TTA_MODES
    from inspect_cv.detection.tta import MODES

    assert TTA_MODES == MODES


class _Scripted:
    """Returns one box per image with the score written in its top-left pixel (x100), the box
    on the left half of the image; mirrored images see the same score. Counts its calls."""

    def __init__(self):
        self.calls = []

    def predict_tiles(self, tiles, conf=None, **_):
        self.calls.append((len(tiles), conf))
        out = []
        for t in tiles:
            s = max(float(t[0, 0]), float(t[0, -1])) / 100.0   # the mirror keeps the pixel at the right edge
            d = Detections([[2, 2, 10, 10]], [s], [0], ("x",), t.shape[:2])
            out.append(d[d.scores >= conf])
        return out


def _scored_images(scores):
    out = []
    for s in scores:
        im = np.zeros((20, 40), np.uint8)
        im[0, 0] = round(100 * s)
        out.append(im)
    return out


def test_gated_mirror_runs_the_second_view_only_inside_the_gate():
    det = _Scripted()
    scores = [0.05, 0.35, 0.45, 0.9]
    got = gated_mirror_tta(det.predict_tiles, _scored_images(scores), gate=(0.3, 0.5), conf=0.2)
    # plain call over all four at min(conf / 2, lo); one more call over the two gated images
    assert det.calls == [(4, 0.1), (2, 0.1)]
    assert [d.meta["mirrored"] for d in got] == [False, True, True, False]
    # the mirror view boxes the right half: no pair, so each gated score halves (0.175 falls
    # under conf, 0.225 stays); outside the gate the plain box stays as it was, kept from conf
    assert [np.round(d.scores.astype(float), 3).tolist() for d in got] == [[], [], [0.225, 0.225], [0.9]]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 100), min_size=1, max_size=6), st.floats(0.02, 0.6))
def test_gate_everything_is_flip_and_gate_nothing_is_plain(raw, conf):
    images = _scored_images([r / 100 for r in raw])
    det = _Scripted()
    flip = mirror_tta(det.predict_tiles, images, conf=conf)
    every = gated_mirror_tta(det.predict_tiles, images, gate=(0.0, 1.0), conf=conf)
    none = gated_mirror_tta(det.predict_tiles, images, gate=(2.0, 3.0), conf=conf)
    plain = det.predict_tiles(images, conf=conf)
    for a, b in zip(flip, every):
        assert a.boxes.tolist() == b.boxes.tolist() and np.allclose(a.scores, b.scores)
    for a, b in zip(plain, none):
        assert a.boxes.tolist() == b.boxes.tolist() and np.allclose(a.scores, b.scores)
        assert not b.meta["mirrored"]


def test_gated_modes_parse_and_resolve_against_the_card():
    class Card:
        extra = {"tta_gate": [0.3, 0.5]}

    class WithGate:
        card = Card()

    assert parse_tta("gated:0.3,0.5") == ("gated", (0.3, 0.5))
    assert parse_tta("flip") == ("flip", None)
    assert resolve_tta(WithGate(), "gated") == "gated:0.3,0.5"
    assert resolve_tta(WithGate(), "gated:0.1,0.2") == "gated:0.1,0.2"
    assert resolve_tta(None, None) == "none"
    for bad in ("gated:0.5", "gated:a,b", "gated:0.6,0.2", "gated:-1,1", "flip:0.1,0.2", "mirror"):
        with pytest.raises(InputError):
            parse_tta(bad)
    with pytest.raises(InputError, match="names no gate"):
        resolve_tta(object(), "gated")
    with pytest.raises(InputError):
        apply_tta(_Scripted().predict_tiles, _scored_images([0.4]), "gated")


def test_detector_predict_gated_and_cli(grid_model, tmp_path, capsys):
    """Detector.predict(tta="gated:LO,HI") on the mirror-symmetric grid model: a gate over every
    score equals flip; the CLI takes the mode, rejects a bad one in one line, and a card
    without a gate makes a bare ``gated`` one clear error."""
    import json

    import cv2

    from inspect_cv import load
    from inspect_cv.cli.main import main

    det = load(grid_model)
    img = np.full((128, 128, 3), 255, np.uint8)
    img[48:64, 32:48] = (0, 255, 255)
    flip, gated = det.predict(img, conf=0.3, tta="flip"), det.predict(img, conf=0.3, tta="gated:0,1")
    assert gated.meta["mirrored"] and np.allclose(flip.scores, gated.scores)
    assert not det.predict(img, conf=0.3, tta="gated:0,0.01").meta["mirrored"]
    cv2.imwrite(str(tmp_path / "a.png"), img[..., ::-1])
    args = ["detect", str(tmp_path / "a.png"), "--model", str(grid_model), "--conf", "0.3", "--tta"]
    assert main(args + ["gated:0,1"]) == 0
    assert len(json.loads(capsys.readouterr().out.strip().splitlines()[0])["detections"]) == 1
    assert main(args + ["gated"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "names no gate" in err[0]
    with pytest.raises(SystemExit):
        main(args + ["sideways"])
    assert "gated:LO,HI" in capsys.readouterr().err
