"""Dataset operations: rename classes, merge, split reproducibly, summarise."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

from ..errors import DatasetError
from .core import DetectionDataset, ImageRecord

LabelMap = Mapping[str, "str | None"]


def remap(ds: DetectionDataset, label_map: LabelMap | None = None,
          classes: list[str] | None = None) -> DetectionDataset:
    """Rename classes with ``label_map`` (old -> new name, ``None`` drops the class).

    Names absent from the map are kept. Several old names may map to one new name. The
    new class list is ``classes`` if given (boxes of other classes are dropped and
    counted in ``attrs["dropped"]["not_in_classes"]``), else the mapped names in order
    of first appearance in ``ds.classes``. Returns a new dataset; ``ds`` is unchanged.
    """
    label_map = dict(label_map or {})
    mapped = [label_map.get(c, c) for c in ds.classes]
    if classes is None:
        new_classes: list[str] = []
        for m in mapped:
            if m is not None and m not in new_classes:
                new_classes.append(m)
    else:
        new_classes = list(classes)
        if len(set(new_classes)) != len(new_classes):
            raise DatasetError(f"duplicate names in classes {new_classes}")
    index = {c: i for i, c in enumerate(new_classes)}
    table = np.array([index.get(m, -1) if m is not None else -2 for m in mapped] or [0], np.int64)
    out = DetectionDataset(new_classes, [], ds.root, _copy_attrs(ds.attrs))
    for rec in ds.images:
        new = table[rec.labels] if len(rec.labels) else rec.labels
        for code, reason in ((-2, "mapped_to_none"), (-1, "not_in_classes")):
            k = int(np.sum(new == code))
            if k:
                out.attrs.setdefault("dropped", {})
                out.attrs["dropped"][reason] = out.attrs["dropped"].get(reason, 0) + k
        keep = new >= 0
        r = rec.select(keep)
        r.labels = new[keep]
        out.images.append(r)
    return out


def _copy_attrs(attrs: dict) -> dict:
    out = dict(attrs)
    if "warnings" in out:
        out["warnings"] = list(out["warnings"])
    if "dropped" in out:
        out["dropped"] = dict(out["dropped"])
    return out


def merge(datasets: Iterable[DetectionDataset], label_map: LabelMap | None = None,
          classes: list[str] | None = None) -> DetectionDataset:
    """One dataset from several, with classes renamed/dropped by ``label_map`` (see :func:`remap`).

    Paths: every image path is made absolute (a dataset without ``root`` is taken
    relative to the current directory) and the merged ``root`` is their deepest common
    folder, so ``file_name`` s become paths relative to it (e.g. ``opixray/test/...`` and
    ``pidray/easy/...`` under a shared parent) and stay unique and resolvable. Each
    record gets ``attrs["source"]``: the dataset's ``attrs["format"]`` or ``"dataset<i>"``.
    Class order: ``classes`` if given, else first appearance across the datasets in order.
    Warnings and drop counts are concatenated/summed.
    """
    datasets = list(datasets)
    if not datasets:
        return DetectionDataset(list(classes or []))
    label_map = dict(label_map or {})
    if classes is None:
        classes = []
        for ds in datasets:
            for c in ds.classes:
                m = label_map.get(c, c)
                if m is not None and m not in classes:
                    classes.append(m)
    remapped = [remap(ds, label_map, classes) for ds in datasets]
    paths = [[ds.image_path(r).absolute() for r in ds.images] for ds in remapped]
    flat = [p for ps in paths for p in ps]
    root = Path(os.path.commonpath([str(p.parent) for p in flat])) if flat else None
    out = DetectionDataset(list(classes), [], root, {"format": "merged"})
    for i, (ds, ps) in enumerate(zip(remapped, paths)):
        source = ds.attrs.get("format", f"dataset{i}")
        for rec, p in zip(ds.images, ps):
            r = rec.copy()
            r.file_name = Path(os.path.relpath(p, root)).as_posix()
            r.attrs.setdefault("source", source)
            out.images.append(r)
        for w in ds.attrs.get("warnings", []):
            out.attrs.setdefault("warnings", []).append(w)
        for k, v in ds.attrs.get("dropped", {}).items():
            d = out.attrs.setdefault("dropped", {})
            d[k] = d.get(k, 0) + v
    return out


def _unit_hash(key: str, seed: int) -> float:
    h = hashlib.sha256(f"{seed}\x00{key}".encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big") / 2.0 ** 64


def split(ds: DetectionDataset, fractions: Mapping[str, float] | None = None, seed: int = 0,
          group_by: str | Callable[[ImageRecord], str] | None = None) -> dict[str, DetectionDataset]:
    """Split into named parts, reproducibly and independently of the input order.

    Groups (each image by its ``file_name``; or by ``attrs[group_by]``, e.g. ``"series"``
    for GDXray; or by ``group_by(record)``) are ranked by a seeded SHA-256 hash of the key
    and cut at the cumulative ``fractions`` (normalised to sum 1) by image count, a group
    going where its middle image falls. A group never straddles two parts. Records in
    each part are sorted by ``file_name``. Every name in ``fractions`` is in the result
    (possibly empty).
    """
    fractions = dict(fractions or {"train": 0.8, "val": 0.1, "test": 0.1})
    if not fractions or any((not np.isfinite(f)) or f < 0 for f in fractions.values()):
        raise DatasetError(f"split fractions must be non-negative numbers: {fractions}")
    total = float(sum(fractions.values()))
    if total <= 0:
        raise DatasetError(f"split fractions sum to zero: {fractions}")
    names = list(fractions)
    groups: dict[str, list[ImageRecord]] = {}
    for rec in ds.images:
        if group_by is None:
            key = rec.file_name
        elif callable(group_by):
            key = str(group_by(rec))
        else:
            if group_by not in rec.attrs:
                raise DatasetError(f"{rec.file_name}: no attribute {group_by!r} to group by")
            key = str(rec.attrs[group_by])
        groups.setdefault(key, []).append(rec)
    order = sorted(groups, key=lambda k: (_unit_hash(k, seed), k))
    n = len(ds.images)
    cum = np.cumsum([fractions[k] / total * n for k in names])
    parts: dict[str, list[ImageRecord]] = {k: [] for k in names}
    done = 0
    for key in order:
        g = groups[key]
        mid = done + len(g) / 2.0
        i = int(np.searchsorted(cum, mid, side="right"))
        i = min(i, len(names) - 1)
        while fractions[names[i]] == 0 and i > 0:  # never place into a zero-fraction part
            i -= 1
        parts[names[i]].extend(g)
        done += len(g)
    out = {}
    for k in names:
        recs = sorted(parts[k], key=lambda r: r.file_name)
        attrs = {key: v for key, v in ds.attrs.items() if key not in ("warnings", "dropped")}
        attrs.update({"split": k, "seed": seed})
        out[k] = DetectionDataset(list(ds.classes), recs, ds.root, attrs)
    return out


def stats(ds: DetectionDataset) -> dict:
    """Counts and box sizes: ``images``, ``boxes``, ``classes``, ``empty_images``,
    ``boxes_per_class``, ``images_per_class``, ``box_width``/``box_height`` (min, median,
    max in pixels), ``warnings`` and ``dropped`` (from the readers)."""
    per_class = {c: 0 for c in ds.classes}
    img_per_class = {c: 0 for c in ds.classes}
    ws, hs = [], []
    empty = 0
    for r in ds.images:
        if not len(r.labels):
            empty += 1
        for lab in r.labels:
            per_class[ds.classes[int(lab)]] += 1
        for lab in set(int(x) for x in r.labels):
            img_per_class[ds.classes[lab]] += 1
        if len(r.boxes):
            ws.extend((r.boxes[:, 2] - r.boxes[:, 0]).tolist())
            hs.extend((r.boxes[:, 3] - r.boxes[:, 1]).tolist())

    def summary(v):
        return None if not v else {"min": float(np.min(v)), "median": float(np.median(v)), "max": float(np.max(v))}

    return {"images": len(ds.images), "boxes": ds.num_boxes, "classes": len(ds.classes),
            "empty_images": empty, "boxes_per_class": per_class, "images_per_class": img_per_class,
            "box_width": summary(ws), "box_height": summary(hs),
            "warnings": len(ds.attrs.get("warnings", [])), "dropped": dict(ds.attrs.get("dropped", {}))}
