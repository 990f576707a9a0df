import cv2
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from inspect_cv.detection.boxes import box_iou
from inspect_cv.detection.core import Detections
from inspect_cv.detection.slicing import TiledPredictor, merge_tile_detections, tile_windows


class BlobDetector:
    """Finds dark connected regions: a real detector that returns partial boxes at tile edges."""

    input_size = (64, 64)

    def __init__(self):
        self.calls = 0

    def predict_tiles(self, tiles, **_):
        self.calls += 1
        out = []
        for t in tiles:
            n, _, stats, _ = cv2.connectedComponentsWithStats((t < 128).astype(np.uint8), connectivity=4)
            b = np.array([[x, y, x + w, y + h] for x, y, w, h, _ in stats[1:]], np.float32).reshape(-1, 4)
            out.append(Detections(b, np.full(len(b), 0.9), np.zeros(len(b)), ("blob",)))
        return out


@given(st.integers(1, 500), st.integers(1, 500), st.integers(8, 128), st.floats(0, 0.6))
def test_windows_cover_image_inside_bounds(h, w, tile, overlap):
    win = tile_windows(h, w, tile, overlap)
    cover = np.zeros((h, w), bool)
    for x1, y1, x2, y2 in win:
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert x2 - x1 == min(tile, w) and y2 - y1 == min(tile, h)
        cover[y1:y2, x1:x2] = True
    assert cover.all()


def random_scene(rng, h, w, n, max_side):
    img = np.full((h, w), 255, np.uint8)
    occupied = np.zeros((h, w), bool)
    boxes = []
    for _ in range(n * 10):
        bw, bh = rng.integers(4, max_side, 2)
        x, y = rng.integers(0, w - bw), rng.integers(0, h - bh)
        if occupied[max(0, y - 8):y + bh + 8, max(0, x - 8):x + bw + 8].any():
            continue
        occupied[y:y + bh, x:x + bw] = True
        img[y:y + bh, x:x + bw] = 0
        boxes.append([x, y, x + bw, y + bh])
        if len(boxes) == n:
            break
    return img, np.array(boxes, np.float32).reshape(-1, 4)


@given(st.integers(0, 10_000), st.sampled_from([0.1, 0.25, 0.5]))
def test_objects_cut_by_tile_borders_are_reported_once(seed, overlap):
    rng = np.random.default_rng(seed)
    img, truth = random_scene(rng, 300, 420, 8, 90)  # objects up to 1.4x the tile
    det = TiledPredictor(BlobDetector(), tile=64, overlap=overlap, batch=5).predict(img)
    assert len(det) == len(truth), (det.boxes, truth)
    iou = box_iou(truth, det.boxes)
    assert (iou.max(axis=1) > 0.99).all()


def test_tile_results_same_tile_not_merged():
    # two touching boxes from the same tile stay two boxes
    d = Detections(np.array([[0, 0, 10, 10], [10, 0, 20, 10]]), [0.9, 0.8], [0, 0], ("a",))
    merged = merge_tile_detections([d], np.array([[0, 0, 64, 64]]), (64, 64))
    assert len(merged) == 2


def test_scaled_tiling_maps_back():
    rng = np.random.default_rng(3)
    img, truth = random_scene(rng, 400, 700, 5, 60)
    blob = BlobDetector()
    det = TiledPredictor(blob, tile=64, overlap=0.3, scale=0.5, batch=4).predict(img)
    assert len(det) == len(truth)
    assert (box_iou(truth, det.boxes).max(axis=1) > 0.8).all()  # half resolution: +-1 px on small boxes
    assert blob.calls >= 2  # batched, not one call per image


def test_grid_model_tiled_on_large_image(grid_model):
    import inspect_cv

    det = inspect_cv.load(grid_model)
    img = np.full((1000, 3000, 3), 255, np.uint8)
    img[700:740, 2500:2540] = (255, 0, 0)  # one red square, far from the origin
    img[100:140, 64:104] = (0, 0, 255)
    r = det.predict(img, tile=128)
    assert r.meta["tiles"] > 20
    names = np.array(r.label_names)
    assert set(names) == {"blue_thing", "red_thing"}
    for name, (x1, y1, x2, y2) in (("red_thing", (2500, 700, 2540, 740)), ("blue_thing", (64, 100, 104, 140))):
        b = r.boxes[names == name]
        # the grid model scores 16-px cells: every box lies on the square, together they cover most of it
        assert (b[:, 0] >= x1 - 16).all() and (b[:, 2] <= x2 + 16).all()
        assert (b[:, 1] >= y1 - 16).all() and (b[:, 3] <= y2 + 16).all()
