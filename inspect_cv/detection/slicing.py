"""Slicing a large image into overlapping tiles and merging tile detections.

Plain functions over arrays, independent of any model:

* :func:`tile_windows` lists the ``[x1, y1, x2, y2]`` windows covering an image;
* :func:`merge_tile_detections` maps per-tile detections back to the image and merges
  duplicates: boxes seen twice in overlapping tiles, and an object cut by a tile border
  into two partial boxes, are reported once.

:class:`TiledPredictor` wires them to any object with
``predict_tiles(list_of_arrays) -> list[Detections]`` (every inspect-cv detector).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import cv2
import numpy as np

from .boxes import box_iou, box_ios
from .core import Detections
from .tta import alarm_labels, apply_tta, parse_tta, resolve_conf


def _starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    n = math.ceil((length - tile) / step) + 1
    last = length - tile
    return sorted({min(i * step, last) for i in range(n)} | {last})


def tile_windows(height: int, width: int, tile: int | tuple[int, int], overlap: float = 0.2) -> np.ndarray:
    """Windows ``(K, 4)`` int ``[x1, y1, x2, y2]`` of size ``tile`` covering the image.

    Neighbouring windows overlap by at least ``overlap`` of the tile; the last row and
    column are shifted inwards so that every window lies inside the image (an image
    smaller than the tile gives one window, the image itself).
    """
    th, tw = (tile, tile) if isinstance(tile, int) else tile
    if th <= 0 or tw <= 0:
        raise ValueError(f"tile size must be positive, got {tile}")
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    sy, sx = max(1, int(th * (1 - overlap))), max(1, int(tw * (1 - overlap)))
    ys, xs = _starts(height, th, sy), _starts(width, tw, sx)
    return np.array([[x, y, min(x + tw, width), min(y + th, height)] for y in ys for x in xs], np.int64)


def _cut_sides(boxes: np.ndarray, window: np.ndarray, image_hw: tuple[int, int], tol: float) -> np.ndarray:
    """(N, 4) bool: box touches the window's left/top/right/bottom edge inside the image."""
    h, w = image_hw
    x1, y1, x2, y2 = window
    return np.stack([
        (boxes[:, 0] <= x1 + tol) & (x1 > 0),
        (boxes[:, 1] <= y1 + tol) & (y1 > 0),
        (boxes[:, 2] >= x2 - tol) & (x2 < w),
        (boxes[:, 3] >= y2 - tol) & (y2 < h),
    ], axis=1)


def _overlap_1d(a0, a1, b0, b1) -> float:
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    smaller = max(min(a1 - a0, b1 - b0), 1e-6)
    return inter / smaller


def merge_tile_detections(
    tiles: Sequence[Detections],
    windows: np.ndarray,
    image_hw: tuple[int, int],
    iou: float = 0.5,
    ios: float = 0.6,
    edge_tol: float = 2.0,
) -> Detections:
    """Map tile detections (in tile pixels) to the image and merge duplicates.

    Two boxes of the same class from *different* tiles are merged into their union
    (score: the higher) when their IoU exceeds ``iou``, when one lies mostly inside the
    other (intersection over the smaller area above ``ios``), or when both are cut by
    facing tile borders, touch each other, and overlap along the border by more than
    ``ios``. Boxes from the same tile are left as the model gave them.
    """
    class_names: tuple[str, ...] = ()
    parts_boxes, parts_scores, parts_labels, parts_tile, parts_cut = [], [], [], [], []
    for k, (det, win) in enumerate(zip(tiles, windows)):
        class_names = class_names or det.class_names
        if len(det) == 0:
            continue
        b = det.boxes + np.array([win[0], win[1], win[0], win[1]], np.float32)
        parts_boxes.append(b)
        parts_scores.append(det.scores)
        parts_labels.append(det.labels)
        parts_tile.append(np.full(len(det), k))
        parts_cut.append(_cut_sides(b, win, image_hw, edge_tol))
    if not parts_boxes:
        return Detections.empty(class_names, image_hw)
    boxes = np.concatenate(parts_boxes)
    scores = np.concatenate(parts_scores)
    labels = np.concatenate(parts_labels)
    tile_id = np.concatenate(parts_tile)
    cut = np.concatenate(parts_cut)

    # Pairs that may belong to one object: same class, different tiles, boxes touching.
    # (Computed once; the groups then grow along these links only.)
    t = edge_tol
    touch = ~((boxes[:, None, 0] > boxes[None, :, 2] + t) | (boxes[:, None, 2] < boxes[None, :, 0] - t)
              | (boxes[:, None, 1] > boxes[None, :, 3] + t) | (boxes[:, None, 3] < boxes[None, :, 1] - t))
    touch &= (labels[:, None] == labels[None, :]) & (tile_id[:, None] != tile_id[None, :])
    neighbours = [np.flatnonzero(row).tolist() for row in touch]

    order = np.argsort(-scores, kind="stable")
    alive = np.ones(len(boxes), bool)
    out_b, out_s, out_l = [], [], []
    for i in order:
        if not alive[i]:
            continue
        alive[i] = False
        group_box = boxes[i].copy()
        group_tiles = {int(tile_id[i])}
        group_cut = cut[i].copy()
        frontier = [int(i)]
        while frontier:  # grow the group along touching links until no further box joins
            # one box per object per tile: boxes from tiles already in the group cannot join
            cand = list(dict.fromkeys(int(j) for k in frontier for j in neighbours[k]
                                      if alive[j] and int(tile_id[j]) not in group_tiles))
            frontier = []
            if not cand:
                break
            ious = box_iou(group_box[None], boxes[cand])[0]
            ioss = box_ios(group_box[None], boxes[cand])[0]
            for j, v_iou, v_ios in zip(cand, ious, ioss):
                if int(tile_id[j]) in group_tiles:
                    continue
                join = v_iou > iou or v_ios > ios or _cut_pair(group_box, group_cut, boxes[j], cut[j], ios)
                if join:
                    alive[j] = False
                    group_box, group_cut = _union(group_box, group_cut, boxes[j], cut[j])
                    group_tiles.add(int(tile_id[j]))
                    frontier.append(int(j))
        out_b.append(group_box)
        out_s.append(scores[i])
        out_l.append(labels[i])
    return Detections(np.array(out_b, np.float32), np.array(out_s, np.float32),
                      np.array(out_l, np.int64), class_names, image_hw)


def _union(a, a_cut, b, b_cut):
    """Union box of a and b; a side of the union is cut when the box giving it was."""
    box = np.array([min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])], np.float32)
    cut = np.array([a_cut[0] if a[0] <= b[0] else b_cut[0], a_cut[1] if a[1] <= b[1] else b_cut[1],
                    a_cut[2] if a[2] >= b[2] else b_cut[2], a_cut[3] if a[3] >= b[3] else b_cut[3]])
    return box, cut


def _cut_pair(a: np.ndarray, a_cut: np.ndarray, b: np.ndarray, b_cut: np.ndarray, ios: float) -> bool:
    """Two partial boxes of one object, cut by facing tile borders."""
    # a cut on its right and b cut on its left, b starting before a ends: horizontal neighbours.
    if (a_cut[2] and b_cut[0] and b[0] <= a[2]) or (b_cut[2] and a_cut[0] and a[0] <= b[2]):
        return _overlap_1d(a[1], a[3], b[1], b[3]) > ios
    if (a_cut[3] and b_cut[1] and b[1] <= a[3]) or (b_cut[3] and a_cut[1] and a[1] <= b[3]):
        return _overlap_1d(a[0], a[2], b[0], b[2]) > ios
    return False


@dataclass
class TiledPredictor:
    """Run a detector over overlapping tiles of a large image and merge the results.

    Args:
        detector: any object with ``predict_tiles(list[np.ndarray]) -> list[Detections]``
            returning boxes in tile pixels.
        tile: tile size in *model* pixels (default: the detector's input size).
        overlap: fraction of the tile shared by neighbours.
        scale: resize factor applied to the image before tiling (e.g. 0.5 to run a model
            trained at half resolution); tiles are cut from the original and resized one
            batch at a time, so the whole scaled image is never held in memory.
        batch: tiles per inference call.
        tta: ``"flip"`` also runs every tile mirrored left-right and fuses the two views
            (:func:`inspect_cv.detection.tta.mirror_tta`; twice the model time, other scores:
            choose thresholds with it on); ``"gated:LO,HI"`` mirrors only the tiles whose
            highest plain alarm score lies in the gate (:func:`~inspect_cv.detection.tta.gated_mirror_tta`);
            ``"none"`` (default) runs each tile once.
    """

    detector: object
    tile: int | tuple[int, int] | None = None
    overlap: float = 0.2
    scale: float = 1.0
    batch: int = 8
    iou: float = 0.5
    tta: str = "none"

    def windows(self, height: int, width: int) -> np.ndarray:
        tile = self.tile or tuple(getattr(self.detector, "input_size"))
        th, tw = (tile, tile) if isinstance(tile, int) else tile
        src = (max(1, round(th / self.scale)), max(1, round(tw / self.scale)))
        return tile_windows(height, width, src, self.overlap)

    def iter_tiles(self, image: np.ndarray, windows: np.ndarray) -> Iterator[np.ndarray]:
        for x1, y1, x2, y2 in windows:
            crop = image[y1:y2, x1:x2]
            if self.scale != 1.0:
                size = (max(1, round((x2 - x1) * self.scale)), max(1, round((y2 - y1) * self.scale)))
                crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR)
            yield crop

    def _runner(self, predict_kw: dict) -> Callable[[list], list[Detections]]:
        if self.tta == "none":
            return lambda batch: self.detector.predict_tiles(batch, **predict_kw)
        parse_tta(self.tta)  # InputError for an unknown mode
        kw = dict(predict_kw)
        conf = resolve_conf(self.detector, kw.pop("conf", None))
        labels = alarm_labels(self.detector)
        return lambda batch: apply_tta(self.detector.predict_tiles, batch, self.tta, conf=conf, labels=labels, **kw)

    def predict(self, image: np.ndarray, progress: Callable | None = None,
                skip: Callable[[np.ndarray], np.ndarray] | None = None, **predict_kw) -> Detections:
        """Detections over the whole image (boxes in image pixels).

        ``skip(windows) -> bool mask`` names windows not worth running (e.g. only air in a
        container scan): they count as tiles without detections. ``meta["tiles"]``: tiles
        run; ``meta["tiles_skipped"]``.
        """
        h, w = image.shape[:2]
        all_windows = self.windows(h, w)
        windows = all_windows
        if skip is not None:
            windows = all_windows[~np.asarray(skip(all_windows), bool).reshape(len(all_windows))]
        results: list[Detections] = []
        tiles = self.iter_tiles(image, windows)
        chunks = range(0, len(windows), self.batch)
        if progress is not None:
            chunks = progress(chunks, total=len(chunks), desc="tiles")
        run = self._runner(predict_kw)
        for start in chunks:
            batch = [next(tiles) for _ in range(min(self.batch, len(windows) - start))]
            for det in run(batch):
                results.append(det.scale(1.0 / self.scale) if self.scale != 1.0 else det)
        if len(windows) == 0:
            merged = Detections.empty(tuple(getattr(self.detector, "classes", ())), (h, w))
        else:
            merged = merge_tile_detections(results, windows, (h, w), iou=self.iou)
        merged.meta["tiles"] = int(len(windows))
        if self.tta != "none":
            merged.meta["tta"] = self.tta
        merged.meta["tiles_skipped"] = int(len(all_windows) - len(windows))
        return merged
