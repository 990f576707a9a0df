"""Detector training tiles from container scans, in exactly the pixels the runtime sees.

At inference :func:`inspect_cv.container.inspect.run_detector` wraps the scan in a
:class:`~inspect_cv.container.inspect.ScanView` (high-energy log window, 8-bit grey x 3)
and a :class:`~inspect_cv.detection.slicing.TiledPredictor` cuts ``tile / scale`` source
pixels per window and resizes them to ``tile`` (the card's ``tiling`` hint). The
functions here cut training tiles through the *same* two objects, so a detector trained
on them sees at inference the pixels it was trained on:

* :func:`crop_tile`: one tile of a scan, around a labelled item or anywhere, with the
  boxes it contains (in tile pixels);
* :func:`tile_sampler`: the ``data.synthetic.source`` factory of the training recipe
  (``inspect_cv.train.sources:container``) over a folder of simulated scans or, without
  one, over scans rendered on the fly;
* :func:`write_tile_dataset`: a fixed COCO set of PNG tiles (the held-out validation set).

Torch-free: the training code imports it, the runtime does not need to.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from inspect_cv.errors import DatasetError, InputError

from .inspect import ContainerScanInput, ScanView, read_container_scan
from .sim import CLASSES

DEFAULT_TILING = {"tile": 384, "overlap": 0.2, "scale": 0.5, "batch": 8, "pixel_mm": 7.0}
"""Card ``tiling`` hint of the container recipe: 384 px model tiles cut from 768 px of a
3.5 mm scan (7 mm per model pixel, the physics' binning): 20 tiles on 1,200 x 6,000.
``pixel_mm`` is the model's own pitch: a scan of another pitch is tiled at
``scale = scan pitch / 7 mm`` (:meth:`inspect_cv.runtime.detector.Detector.tile_scale`)."""
DEFAULT_WINDOW = {"a_max": 9.0, "gamma": 0.5}
"""Card ``extra["container_window"]``: the :class:`ScanView` display window."""


def tile_pixels(view: ScanView, window: Sequence[int], tile: int, scale: float) -> np.ndarray:
    """The model-input pixels of one window ``[x1, y1, x2, y2]`` (uint8 RGB), cut and
    resized by :meth:`TiledPredictor.iter_tiles` itself (the runtime path)."""
    from inspect_cv.detection.slicing import TiledPredictor

    tp = TiledPredictor(None, tile=tile, scale=scale)
    img = next(tp.iter_tiles(view, np.asarray([window], np.int64)))
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img


def _choose_window(hw: tuple[int, int], src: int, boxes: np.ndarray, rng: np.random.Generator,
                   positive_fraction: float) -> tuple[int, int, int, int]:
    h, w = hw
    sh, sw = min(src, h), min(src, w)
    if len(boxes) and rng.random() < positive_fraction:
        b = boxes[int(rng.integers(len(boxes)))]
        cx, cy = rng.uniform(b[0], b[2]), rng.uniform(b[1], b[3])  # a point of the item...
        x0 = int(round(cx - rng.uniform(0.1, 0.9) * sw))            # ...anywhere in the tile
        y0 = int(round(cy - rng.uniform(0.1, 0.9) * sh))
    else:
        x0, y0 = int(rng.integers(0, w - sw + 1)), int(rng.integers(0, h - sh + 1))
    x0, y0 = int(np.clip(x0, 0, w - sw)), int(np.clip(y0, 0, h - sh))
    return x0, y0, x0 + sw, y0 + sh


def clip_boxes(boxes: np.ndarray, labels: np.ndarray, window: Sequence[int], min_visible: float = 0.3,
               min_side_fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (image pixels) clipped to ``window``, in window pixels, with their labels.

    A box is kept when at least ``min_visible`` of its area is inside, or when its
    visible part spans ``min_side_fraction`` of the window both ways (an item larger
    than a tile, e.g. a car: the runtime merges its parts across tiles).
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    labels = np.asarray(labels, np.int64).reshape(-1)
    x1, y1, x2, y2 = (float(v) for v in window)
    c = np.stack([np.clip(boxes[:, 0], x1, x2), np.clip(boxes[:, 1], y1, y2),
                  np.clip(boxes[:, 2], x1, x2), np.clip(boxes[:, 3], y1, y2)], 1)
    cw, ch = c[:, 2] - c[:, 0], c[:, 3] - c[:, 1]
    area = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1e-6)
    vis = cw * ch / area
    big = (cw >= min_side_fraction * (x2 - x1)) & (ch >= min_side_fraction * (y2 - y1))
    keep = (cw > 1) & (ch > 1) & ((vis >= min_visible) | big)
    return c[keep] - np.array([x1, y1, x1, y1], np.float32), labels[keep]


def crop_tile(scan: ContainerScanInput, boxes: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
              tile: int = DEFAULT_TILING["tile"], scale: float = DEFAULT_TILING["scale"],
              positive_fraction: float = 0.6, window: dict | None = None,
              view: ScanView | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """One training tile of ``scan``: (uint8 RGB tile x tile, boxes xyxy in tile pixels,
    labels, source window).

    With probability ``positive_fraction`` (and when ``boxes`` is not empty) the tile
    contains a point of a random labelled item; otherwise it is anywhere in the scan
    (cargo, container walls, truck, air: the negatives the detector meets).
    """
    if tile < 8 or not 0 < scale <= 4:
        raise InputError(f"tile must be >= 8 and scale in (0, 4], got tile={tile}, scale={scale}")
    view = view or ScanView.for_window(scan, window or DEFAULT_WINDOW)
    src = max(1, round(tile / scale))
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    win = _choose_window(scan.shape, src, boxes, rng, positive_fraction)
    img = tile_pixels(view, win, tile, scale)
    b, lab = clip_boxes(boxes, labels, win)
    sx, sy = img.shape[1] / (win[2] - win[0]), img.shape[0] / (win[3] - win[1])
    b = b * np.array([sx, sy, sx, sy], np.float32)
    return img, b, lab, win


def _read_coco_scans(folder: Path, classes: Sequence[str]) -> list[dict]:
    coco_path = folder / "annotations.json"
    if not coco_path.is_file():
        raise DatasetError("no annotations.json (make one with `inspect-cv synth container --out DIR`)", folder)
    try:
        coco = json.loads(coco_path.read_text())
        names = {c["id"]: c["name"] for c in coco["categories"]}
        recs = {im["id"]: {"path": folder / im["file_name"], "pixel_mm": im.get("pixel_mm"), "boxes": [],
                           "labels": []} for im in coco["images"]}
        for a in coco["annotations"]:
            name = names[a["category_id"]]
            if name not in classes:
                continue
            x, y, w, h = a["bbox"]
            recs[a["image_id"]]["boxes"].append([x, y, x + w, y + h])
            recs[a["image_id"]]["labels"].append(list(classes).index(name))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(f"not a container scan COCO file ({e.__class__.__name__}: {e})", coco_path) from None
    if not recs:
        raise DatasetError("no scans listed", coco_path)
    return list(recs.values())


def tile_sampler(classes: Sequence[str] | None = None, scans: str | None = None,
                 tile: int = DEFAULT_TILING["tile"], scale: float = DEFAULT_TILING["scale"],
                 positive_fraction: float = 0.6, window: dict | None = None, cache: int = 4,
                 concealment_fraction: float = 0.9, empty_fraction: float = 0.1,
                 length: str = "mixed", profile: str | None = None) -> Callable[[np.random.Generator], tuple]:
    """``sample(rng) -> (tile uint8 RGB, boxes xyxy tile pixels, labels)`` for training.

    ``scans``: a folder written by ``inspect-cv synth container`` (its ``annotations.json``):
    every sample cuts a fresh window from one of its scans (the last ``cache`` scans read
    stay in memory); without it every sample renders a new scan (about 1-2 s each: use a
    folder for real runs). ``classes``: the training classes (default: the simulator's).
    """
    classes = list(classes or CLASSES)
    unknown = [c for c in classes if c not in CLASSES]
    if unknown:
        raise InputError(f"unknown container classes {unknown} (known: {', '.join(CLASSES)})")
    win = dict(window or DEFAULT_WINDOW)
    if scans is not None:
        folder = Path(scans)
        recs = _read_coco_scans(folder, classes)
        memo: OrderedDict = OrderedDict()

        def load(i: int):
            if i not in memo:
                r = recs[i]
                scan = read_container_scan(r["path"], pixel_mm=r["pixel_mm"])
                memo[i] = (scan, ScanView.for_window(scan, win))
                while len(memo) > max(1, cache):
                    memo.popitem(last=False)
            return memo[i]

        def sample(rng: np.random.Generator):
            i = int(rng.integers(len(recs)))
            scan, view = load(i)
            r = recs[i]
            img, b, lab, _ = crop_tile(scan, np.asarray(r["boxes"], np.float32), np.asarray(r["labels"], np.int64),
                                       rng, tile, scale, positive_fraction, view=view)
            return img, b, lab

        return sample

    from .synth import SynthOptions, render_scan, sample_dataset_scene

    opts = SynthOptions(length=length, empty_fraction=empty_fraction, concealment_fraction=concealment_fraction,
                        **({"profile": profile} if profile else {})).check()

    def sample_rendered(rng: np.random.Generator):
        s = render_scan(sample_dataset_scene(rng, opts), rng, opts.profile)
        scan = read_container_scan(s.high, pixel_mm=s.pixel_mm, dark=s.meta["dark_counts"], profile=opts.profile)
        keep = np.isin(np.asarray([CLASSES[i] for i in s.labels], object), classes)
        lab = np.asarray([classes.index(CLASSES[i]) for i in s.labels[keep]], np.int64)
        img, b, lab, _ = crop_tile(scan, s.boxes[keep], lab, rng, tile, scale, positive_fraction, win)
        return img, b, lab

    return sample_rendered


def write_tile_dataset(scans: str | Path, out_dir: str | Path, tiles_per_scan: int = 4, seed: int = 0,
                       classes: Sequence[str] | None = None, tile: int = DEFAULT_TILING["tile"],
                       scale: float = DEFAULT_TILING["scale"], positive_fraction: float = 0.6,
                       window: dict | None = None, progress=None) -> Path:
    """A fixed COCO data set of PNG tiles cut from one scan folder or several (the
    training tiles of the CPU recipe, the held-out validation set); returns the path of its
    ``annotations.json``. Tile names carry the scan id, so folders must not share ids."""
    import cv2

    from inspect_cv.formats.coco import to_coco_dict
    from inspect_cv.formats.core import DetectionDataset, ImageRecord

    classes = list(classes or CLASSES)
    folders = [scans] if isinstance(scans, (str, Path)) else list(scans)
    if not folders:
        raise InputError("no scan folders given")
    recs = []
    for f, folder in enumerate(folders):
        recs += [dict(r, rng_key=(f, i)) for i, r in enumerate(_read_coco_scans(Path(folder), classes))]
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    ds = DetectionDataset(classes)
    it = range(len(recs))
    if progress is not None:
        it = progress(it, total=len(recs), desc="scans")
    for i in it:
        r = recs[i]
        scan = read_container_scan(r["path"], pixel_mm=r["pixel_mm"])
        view = ScanView.for_window(scan, window or DEFAULT_WINDOW)
        f, j = r["rng_key"]
        rng = np.random.default_rng([int(seed), j] if f == 0 else [int(seed), j, f])
        for k in range(int(tiles_per_scan)):
            img, b, lab, _ = crop_tile(scan, np.asarray(r["boxes"], np.float32), np.asarray(r["labels"], np.int64),
                                       rng, tile, scale, positive_fraction, view=view)
            name = f"images/{Path(r['path']).name.split('.')[0]}_t{k}.png"
            cv2.imwrite(str(out / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            ds.images.append(ImageRecord(name, img.shape[1], img.shape[0], b, list(lab), {"id": len(ds.images) + 1}))
    path = out / "annotations.json"
    path.write_text(json.dumps(to_coco_dict(ds)))
    return path


__all__ = ["DEFAULT_TILING", "DEFAULT_WINDOW", "tile_pixels", "clip_boxes", "crop_tile", "tile_sampler",
           "write_tile_dataset"]
