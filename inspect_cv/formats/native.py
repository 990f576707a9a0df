"""Readers for the native on-disk layouts of public baggage X-ray datasets.

Each returns a :class:`DetectionDataset` with the dataset's own class strings, boxes in
continuous pixels ``[x1, y1, x2, y2]``, ``ds.root`` at the dataset root (file names
relative to it) and what was skipped listed in ``ds.attrs["warnings"]`` with counts in
``ds.attrs["dropped"]`` by reason. The per-dataset notes in ``datasets/*.md`` describe
the layouts.

OPIXray / HiXray / SIXray-battery share one txt syntax, one object per line::

    <image_file_name> <class_name> <x1> <y1> <x2> <y2>

and one reference behaviour (the authors' loaders): lines of an unknown class are
skipped, lines with ``x1 > width`` are skipped (for SIXray-battery these describe the
second, side view), then ``x1, y1`` are raised to 0 and ``x2, y2`` lowered to the image
size. We additionally drop boxes left with no area (the reference keeps them).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import DatasetError
from ._util import (IMAGE_EXTS, clamp_box, find_image, image_size, is_degenerate, read_id_list,
                    read_lines, to_float)
from .core import DetectionDataset, ImageRecord

OPIXRAY_CLASSES = ["Folding_Knife", "Straight_Knife", "Scissor", "Utility_Knife", "Multi-tool_Knife"]
HIXRAY_CLASSES = ["Portable_Charger_1", "Portable_Charger_2", "Water", "Laptop", "Mobile_Phone",
                  "Tablet", "Cosmetic", "Nonmetallic_Lighter"]
SIXRAY_CLASSES = ["Gun", "Knife", "Wrench", "Pliers", "Scissors", "Hammer"]
SIXRAY_BATTERY_CLASSES = ["带电芯充电宝", "不带电芯充电宝"]  # with / without battery core
PIDRAY_CLASSES = ["Baton", "Pliers", "Hammer", "Powerbank", "Scissors", "Wrench", "Gun", "Bullet",
                  "Sprayer", "HandCuffs", "Knife", "Lighter"]
PIDRAY_SPLITS = {"train": "xray_train.json", "easy": "xray_test_easy.json",
                 "hard": "xray_test_hard.json", "hidden": "xray_test_hidden.json"}


# ---- shared 6-field txt syntax ----------------------------------------------------------

def parse_beihang_txt(path: Path, width: int, height: int, classes: list[str],
                      ds: DetectionDataset) -> tuple[list, list]:
    """Boxes and labels of one ``<file> <class> x1 y1 x2 y2`` annotation file.

    Applies the reference loaders' rules (see module doc). Malformed lines raise
    :class:`DatasetError` with the line number.
    """
    boxes, labels = [], []
    index = {c: i for i, c in enumerate(classes)}
    for n, line in enumerate(read_lines(path), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 6:
            raise DatasetError(f"expected '<image> <class> x1 y1 x2 y2', got {len(parts)} fields", path, n)
        # the image name comes first; the class and the 4 numbers are the last 5 fields
        name = parts[-5]
        coords = [to_float(v, path, n, "coordinate") for v in parts[-4:]]
        if name not in index:
            ds.warn(f"{path}:{n}: skipped unknown class {name!r}", "unknown_class")
            continue
        if coords[0] > width:
            ds.warn(f"{path}:{n}: skipped box with x1 > image width ({coords[0]:g} > {width})", "x1_beyond_width")
            continue
        box = clamp_box(coords, width, height)
        if box != coords:
            ds.attrs["clamped"] = ds.attrs.get("clamped", 0) + 1
        if is_degenerate(box):
            ds.warn(f"{path}:{n}: dropped box with no area after clamping", "degenerate")
            continue
        boxes.append(box)
        labels.append(index[name])
    return boxes, labels


def _resolve_root(root: Path, sub: str, inner: str) -> Path:
    """``root`` itself if it holds ``sub``, else ``root/inner`` if that does."""
    if (root / sub).is_dir():
        return root
    if (root / inner / sub).is_dir():
        return root / inner
    raise DatasetError(f"no '{sub}' folder here (is this the dataset root?)", root)


def _read_split(root: Path, split: str, ids: list[tuple[int, str]], ids_file: Path | None,
                classes: list[str], ds: DetectionDataset, exts: Iterable[str], progress) -> None:
    ann_dir = root / split / f"{split}_annotation"
    img_dir = root / split / f"{split}_image"
    items = ids if progress is None else progress(ids, total=len(ids), desc=split)
    for line_no, img_id in items:
        img = find_image(img_dir, img_id, exts)
        if img is None:
            raise DatasetError(f"no image for id {img_id!r} in {img_dir}", ids_file, line_no)
        ann = ann_dir / f"{img_id}.txt"
        if not ann.is_file():
            raise DatasetError(f"no annotation file {ann}", ids_file, line_no)
        w, h = image_size(img)
        boxes, labels = parse_beihang_txt(ann, w, h, classes, ds)
        ds.images.append(ImageRecord(img.relative_to(root).as_posix(), w, h,
                                     np.asarray(boxes, np.float32).reshape(-1, 4),
                                     np.asarray(labels, np.int64), {"id": img_id, "split": split}))


def _ids(list_file: Path | None, ann_dir: Path) -> list[tuple[int, str]]:
    if list_file is not None and list_file.is_file():
        return read_id_list(list_file)
    if not ann_dir.is_dir():
        raise DatasetError("annotation folder not found", ann_dir)
    return [(None, p.stem) for p in sorted(ann_dir.glob("*.txt"))]


# ---- OPIXray ------------------------------------------------------------------------------

def read_opixray(root: str | Path, split: str = "test", occlusion: int | Iterable[int] | None = None,
                 progress=None) -> DetectionDataset:
    """OPIXray (``OPIXray_Dataset/{train,test}/...``); ``root`` is that folder or its parent.

    Ids come from ``<split>/<split>_knife.txt`` (all annotation files if absent). For
    the test split the occlusion level (1, 2, 3 from ``test_knife-{1,2,3}.txt``) is put
    in ``attrs["occlusion"]``; ``occlusion=`` keeps only those levels.
    """
    root = _resolve_root(Path(root), split, "OPIXray_Dataset")
    sdir = root / split
    ids_file = sdir / f"{split}_knife.txt"
    ids = _ids(ids_file if ids_file.is_file() else None, sdir / f"{split}_annotation")
    levels: dict[str, int] = {}
    for k in (1, 2, 3):
        f = sdir / f"{split}_knife-{k}.txt"
        if f.is_file():
            for _, i in read_id_list(f):
                levels[i] = k
    if occlusion is not None:
        want = {occlusion} if isinstance(occlusion, int) else set(occlusion)
        if not levels:
            raise DatasetError(f"occlusion lists {split}_knife-{{1,2,3}}.txt not found", sdir)
        ids = [(n, i) for n, i in ids if levels.get(i) in want]
    ds = DetectionDataset(list(OPIXRAY_CLASSES), [], root, {"format": "opixray", "split": split})
    _read_split(root, split, ids, ids_file if ids_file.is_file() else None, ds.classes, ds, (".jpg",), progress)
    for r in ds.images:
        if r.attrs["id"] in levels:
            r.attrs["occlusion"] = levels[r.attrs["id"]]
    return ds


# ---- HiXray -------------------------------------------------------------------------------

def read_hixray(root: str | Path, split: str = "train", progress=None) -> DetectionDataset:
    """HiXray (``{train,test}/{split}_image``, ``{split}_annotation``, ``{split}_name.txt``).

    Images are looked up as ``<id>.TIFF``, ``<id>.tiff`` then ``<id>.jpg`` (the reference
    loader's order).
    """
    root = _resolve_root(Path(root), split, "HiXray")
    sdir = root / split
    ids_file = sdir / f"{split}_name.txt"
    ids = _ids(ids_file if ids_file.is_file() else None, sdir / f"{split}_annotation")
    ds = DetectionDataset(list(HIXRAY_CLASSES), [], root, {"format": "hixray", "split": split})
    _read_split(root, split, ids, ids_file if ids_file.is_file() else None, ds.classes, ds,
                (".TIFF", ".tiff", ".jpg"), progress)
    return ds


# ---- SIXray -------------------------------------------------------------------------------

def read_sixray(root: str | Path, variant: str = "auto", ids: str | Path | None = None,
                classes: list[str] | None = None, image_dir: str | Path | None = None,
                progress=None) -> DetectionDataset:
    """SIXray, either variant.

    ``variant="voc"``: the CVPR 2019 release, one VOC XML per positive image
    (``P%05d.xml``) in ``root/Annotation(s)`` or ``root``; class names are matched
    case-insensitively and written in their canonical form (``Gun, Knife, Wrench, Pliers,
    Scissors, Hammer``; pass ``classes`` to keep fewer, e.g. without Hammer). The XML
    coordinates are read as they are (0-based top-left, no VOC ``-1``), clamped to the
    image size; boxes with no area are dropped.

    ``variant="battery"``: the power-bank subset (``root/Annotation/<id>.txt``,
    ``root/Image/<id>.{TIFF,tiff,jpg}``) in the OPIXray txt syntax with the two Chinese
    class names; ``ids`` names an id list (a path, or e.g. ``"test_1650"`` for
    ``root/test_1650.txt``), default all annotation files.

    ``"auto"`` picks ``battery`` when ``root/Annotation`` holds ``.txt`` files.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError("dataset folder not found", root)
    if variant == "auto":
        ann = root / "Annotation"
        variant = "battery" if ann.is_dir() and any(ann.glob("*.txt")) else "voc"
    if variant == "battery":
        return _read_sixray_battery(root, ids, progress)
    if variant != "voc":
        raise DatasetError(f"unknown SIXray variant {variant!r} (use 'voc' or 'battery')", root)
    return _read_sixray_voc(root, classes, image_dir, progress)


def _read_sixray_battery(root: Path, ids, progress) -> DetectionDataset:
    ann_dir, img_dir = root / "Annotation", root / "Image"
    ids_file = None
    if ids is not None:
        ids_file = Path(ids)
        if not ids_file.is_file():
            ids_file = root / (str(ids) if str(ids).endswith(".txt") else f"{ids}.txt")
        if not ids_file.is_file():
            raise DatasetError("id list not found", ids_file)
    id_list = _ids(ids_file, ann_dir)
    ds = DetectionDataset(list(SIXRAY_BATTERY_CLASSES), [], root, {"format": "sixray", "variant": "battery"})
    items = id_list if progress is None else progress(id_list, total=len(id_list), desc="sixray")
    for line_no, img_id in items:
        img = find_image(img_dir, img_id, (".TIFF", ".tiff", ".jpg"))
        if img is None:
            raise DatasetError(f"no image for id {img_id!r} in {img_dir}", ids_file, line_no)
        ann = ann_dir / f"{img_id}.txt"
        if not ann.is_file():
            raise DatasetError(f"no annotation file {ann}", ids_file, line_no)
        w, h = image_size(img)
        boxes, labels = parse_beihang_txt(ann, w, h, ds.classes, ds)
        ds.images.append(ImageRecord(img.relative_to(root).as_posix(), w, h,
                                     np.asarray(boxes, np.float32).reshape(-1, 4),
                                     np.asarray(labels, np.int64), {"id": img_id}))
    return ds


def _read_sixray_voc(root: Path, classes, image_dir, progress) -> DetectionDataset:
    from .voc import read_voc_file

    classes = list(classes or SIXRAY_CLASSES)
    canon = {c.lower(): c for c in classes}
    ann_dir = next((root / d for d in ("Annotations", "Annotation", "annotations") if (root / d).is_dir()), root)
    xmls = sorted(ann_dir.glob("*.xml"))
    if not xmls:
        raise DatasetError("no SIXray XML annotations found", ann_dir)
    if image_dir is None:
        image_dir = next((root / d for d in ("JPEGImages", "Images", "images", "Image", "image")
                          if (root / d).is_dir()), ann_dir)
    image_dir = Path(image_dir)
    ds = DetectionDataset(classes, [], root, {"format": "sixray", "variant": "voc"})
    items = xmls if progress is None else progress(xmls, total=len(xmls), desc="sixray")
    for xml in items:
        rec = read_voc_file(xml, ds, "", image_dir, one_based=False,
                            class_key=lambda n: canon.get(n.strip().lower()), add_classes=False)
        img = image_dir / rec.file_name
        if not img.is_file():
            found = find_image(image_dir, Path(rec.file_name).stem, IMAGE_EXTS) or \
                find_image(image_dir, xml.stem, IMAGE_EXTS)
            if found is None:
                raise DatasetError(f"image {rec.file_name!r} not found in {image_dir}", xml)
            img = found
        rec.file_name = img.relative_to(root).as_posix() if img.is_relative_to(root) else str(img.resolve())
        keep = []
        for j, box in enumerate(rec.boxes.tolist()):
            c = clamp_box(box, rec.width, rec.height)
            if c != box:
                ds.attrs["clamped"] = ds.attrs.get("clamped", 0) + 1
            rec.boxes[j] = c
            ok = not is_degenerate(c)
            if not ok:
                ds.warn(f"{xml}: dropped box with no area after clamping", "degenerate")
            keep.append(ok)
        rec = rec.select(np.array(keep, bool)) if keep else rec
        rec.attrs["id"] = xml.stem
        ds.images.append(rec)
    return ds


def read_sixray_labels(csv_path: str | Path) -> dict[str, list[str]]:
    """SIXray image-level labels (``name,Gun,Knife,...`` with ``1``/``-1``): name -> classes present."""
    lines = read_lines(Path(csv_path))
    if not lines:
        raise DatasetError("empty CSV", csv_path)
    header = [h.strip() for h in lines[0].split(",")]
    out = {}
    for n, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(header):
            raise DatasetError(f"expected {len(header)} columns, got {len(cells)}", csv_path, n)
        present = []
        for name, v in zip(header[1:], cells[1:]):
            if v not in ("1", "-1", "0"):
                raise DatasetError(f"label {v!r} for {name} is not 1, 0 or -1", csv_path, n)
            if v == "1":
                present.append(name)
        out[cells[0]] = present
    return out


# ---- PIDray -------------------------------------------------------------------------------

def read_pidray(root: str | Path, split: str = "easy") -> DetectionDataset:
    """PIDray: ``annotations/xray_{train,test_easy,test_hard,test_hidden}.json`` (COCO) with
    images in ``{train,easy,hard,hidden}/``. Classes follow the json's categories (by id);
    a set of names other than the 12 documented ones is reported in ``ds.attrs["warnings"]``.
    """
    from .coco import read_coco

    if split not in PIDRAY_SPLITS:
        raise DatasetError(f"unknown PIDray split {split!r} (one of {', '.join(PIDRAY_SPLITS)})", root)
    root = Path(root)
    js = root / "annotations" / PIDRAY_SPLITS[split]
    if not js.is_file():
        raise DatasetError("PIDray annotation file not found", js)
    ds = read_coco(js, root / split)
    # file names relative to the dataset root, so several splits can be merged
    for r in ds.images:
        r.file_name = f"{split}/{r.file_name}"
        r.attrs["subset"] = split
    ds.root = root
    ds.attrs.update({"format": "pidray", "split": split})
    if sorted(ds.classes) != sorted(PIDRAY_CLASSES):
        ds.warn(f"{js}: categories {ds.classes} differ from the documented 12 PIDray classes")
    return ds


# ---- GDXray -------------------------------------------------------------------------------

_SERIES = re.compile(r"^[A-Z]\d{4}$")


def parse_gdxray_gt(path: Path) -> list[tuple[int, list[float], int]]:
    """Rows of a GDXray ``ground_truth.txt`` as ``(image index, [x1, y1, x2, y2], line)``.

    5 columns: ``i x1 x2 y1 y2`` (both x first, then both y). 9 columns: ``i`` and four
    corner points ``(x, y)`` of a possibly rotated box, reduced to min/max per axis.
    """
    rows = []
    for n, line in enumerate(read_lines(path, "ascii"), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (5, 9):
            raise DatasetError(f"expected 5 or 9 columns, got {len(parts)}", path, n)
        vals = [to_float(v, path, n, "value") for v in parts]
        idx = vals[0]
        if idx != int(idx) or idx < 1:
            raise DatasetError(f"image index {parts[0]} is not a positive integer", path, n)
        if len(vals) == 5:
            xa, xb, ya, yb = vals[1:]
            box = [min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)]
        else:
            xs, ys = vals[1::2], vals[2::2]
            box = [min(xs), min(ys), max(xs), max(ys)]
        rows.append((int(idx), box, n))
    return rows


def read_gdxray(root: str | Path, series: str | Iterable[str] | None = None, class_name: str = "object",
                series_classes: dict[str, str] | None = None, extra_files: bool = False,
                include_empty: bool = True, progress=None) -> DetectionDataset:
    """GDXray baggage series (``Baggages/Bxxxx/Bxxxx_iiii.png`` + ``ground_truth.txt``).

    ``root`` is ``Baggages`` or its parent. Only series with a ``ground_truth.txt`` are
    read (``series`` restricts them). ``ground_truth.txt`` carries no class: its boxes are
    labelled ``series_classes.get(series, class_name)``. With ``extra_files`` the other
    per-object files of a series (e.g. ``razor_blades.txt``) are read too, labelled by
    their stem (``razor_blades``); they can repeat objects of ``ground_truth.txt``.
    Boxes are clamped to the image and dropped when left with no area. Images of a read
    series without boxes are kept (as negatives) when ``include_empty``. Each record has
    ``attrs["series"]`` (use ``split(..., group_by="series")``).
    """
    root = Path(root)
    if (root / "Baggages").is_dir():
        root = root / "Baggages"
    if not root.is_dir():
        raise DatasetError("GDXray folder not found", root)
    want = None if series is None else ({series} if isinstance(series, str) else set(series))
    all_series = sorted(p for p in root.iterdir() if p.is_dir() and _SERIES.match(p.name))
    if want is not None:
        missing = want - {p.name for p in all_series}
        if missing:
            raise DatasetError(f"series not found: {', '.join(sorted(missing))}", root)
        all_series = [p for p in all_series if p.name in want]
    ds = DetectionDataset([], [], root, {"format": "gdxray"})
    items = all_series if progress is None else progress(all_series, total=len(all_series), desc="gdxray")
    for sdir in items:
        gt = sdir / "ground_truth.txt"
        if not gt.is_file():
            if want is not None:
                ds.warn(f"{sdir}: no ground_truth.txt; series skipped", "series_without_ground_truth")
            continue
        files = [(gt, (series_classes or {}).get(sdir.name, class_name))]
        if extra_files:
            files += [(p, p.stem) for p in sorted(sdir.glob("*.txt")) if p.name != "ground_truth.txt"]
        per_image: dict[int, tuple[list, list]] = {}
        for f, cname in files:
            for idx, box, n in parse_gdxray_gt(f):
                img = sdir / f"{sdir.name}_{idx:04d}.png"
                if not img.is_file():
                    raise DatasetError(f"image {img.name} not found", f, n)
                per_image.setdefault(idx, ([], [], []))
                per_image[idx][0].append(box)
                per_image[idx][1].append(cname)
                per_image[idx][2].append(f"{sdir.name}/{f.name}:{n}")
        images = {int(p.stem.rsplit("_", 1)[1]): p for p in sdir.glob(f"{sdir.name}_[0-9][0-9][0-9][0-9].png")}
        wanted = sorted(images) if include_empty else sorted(per_image)
        for idx in wanted:
            img = images[idx]
            w, h = image_size(img)
            boxes, labels = [], []
            for box, cname, n in zip(*per_image.get(idx, ([], [], []))):
                c = clamp_box(box, w, h)
                if c != box:
                    ds.attrs["clamped"] = ds.attrs.get("clamped", 0) + 1
                if is_degenerate(c):
                    ds.warn(f"{n}: dropped box with no area inside the image",
                            "degenerate")
                    continue
                if cname not in ds.classes:
                    ds.classes.append(cname)
                boxes.append(c)
                labels.append(ds.classes.index(cname))
            ds.images.append(ImageRecord(f"{sdir.name}/{img.name}", w, h, np.asarray(boxes, np.float32).reshape(-1, 4),
                                         np.asarray(labels, np.int64), {"series": sdir.name, "index": idx}))
    return ds
