"""COCO instances JSON (detection part) to and from :class:`DetectionDataset`.

Boxes: COCO ``bbox = [x, y, w, h]`` in continuous pixels maps to ``[x, y, x + w, y + h]``.
Classes are the categories sorted by id; :func:`write_coco` numbers them ``1..K`` in
class order. Image ids are kept in ``ImageRecord.attrs["id"]`` and written back when
they are unique integers (else images are numbered ``1..N``). ``iscrowd`` and
``segmentation`` are kept per box in ``attrs["box"]``. Annotations with ``w <= 0`` or
``h <= 0`` are dropped and counted in ``ds.attrs["dropped"]["degenerate"]``.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ._util import image_size, short_float, to_float
from .core import DetectionDataset, ImageRecord


def _load_json(path: Path) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError("file not found", path) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"invalid JSON: {e.msg}", path, e.lineno) from None
    if not isinstance(data, dict):
        raise DatasetError("a COCO file must hold a JSON object", path)
    return data


def _field(entry, key, path, where):
    if not isinstance(entry, dict) or key not in entry:
        raise DatasetError(f"{where} has no '{key}'", path)
    return entry[key]


def read_coco(json_path: str | Path, image_root: str | Path | None = None) -> DetectionDataset:
    """Read a COCO instances file. ``image_root`` defaults to the JSON file's folder (or its
    ``images/`` sub-folder when the files are there, as ``inspect-cv convert`` writes them).

    Images lacking ``width``/``height`` are measured from their file headers.
    """
    path = Path(json_path)
    data = _load_json(path)
    root = Path(image_root) if image_root is not None else path.parent
    first = next((im.get("file_name") for im in data.get("images", []) if isinstance(im, dict)), None)
    if image_root is None and isinstance(first, str) and not (root / first).exists() \
            and (root / "images" / first).exists():
        root = root / "images"  # the layout `inspect-cv convert --to coco` writes
    cats = data.get("categories", [])
    if not isinstance(cats, list):
        raise DatasetError("'categories' must be a list", path)
    cat_list = []
    for i, c in enumerate(cats):
        cid = _field(c, "id", path, f"categories[{i}]")
        cat_list.append((cid, str(_field(c, "name", path, f"categories[{i}]"))))
    try:
        cat_list.sort(key=lambda t: t[0])
    except TypeError:
        raise DatasetError("category ids must all be numbers", path) from None
    cat_index = {cid: k for k, (cid, _) in enumerate(cat_list)}
    if len(cat_index) != len(cat_list):
        raise DatasetError("duplicate category ids", path)
    ds = DetectionDataset([n for _, n in cat_list], [], root,
                          {"format": "coco", "category_ids": [c for c, _ in cat_list]})

    by_id: dict = {}
    boxes: dict = {}
    for i, im in enumerate(data.get("images", [])):
        where = f"images[{i}]"
        iid = _field(im, "id", path, where)
        name = str(_field(im, "file_name", path, where))
        if iid in by_id:
            raise DatasetError(f"{where}: duplicate image id {iid!r}", path)
        w, h = im.get("width"), im.get("height")
        if not w or not h:
            w, h = image_size(root / name)
        rec = ImageRecord(name, int(w), int(h), attrs={"id": iid})
        by_id[iid] = rec
        boxes[iid] = ([], [], [], [])
        ds.images.append(rec)

    for i, a in enumerate(data.get("annotations", [])):
        where = f"annotations[{i}]"
        iid = _field(a, "image_id", path, where)
        cid = _field(a, "category_id", path, where)
        bbox = _field(a, "bbox", path, where)
        if iid not in by_id:
            raise DatasetError(f"{where}: unknown image_id {iid!r}", path)
        if cid not in cat_index:
            raise DatasetError(f"{where}: unknown category_id {cid!r}", path)
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise DatasetError(f"{where}: bbox must be [x, y, w, h]", path)
        x, y, w, h = (to_float(v, path, None, f"{where}.bbox") for v in bbox)
        if w <= 0 or h <= 0:
            ds.warn(f"{path}: {where}: dropped degenerate bbox {bbox}", "degenerate")
            continue
        b, lab, crowd, seg = boxes[iid]
        b.append([x, y, x + w, y + h])
        lab.append(cat_index[cid])
        crowd.append(int(a.get("iscrowd", 0)))
        seg.append(a.get("segmentation"))

    for iid, rec in by_id.items():
        b, lab, crowd, seg = boxes[iid]
        rec.boxes = np.asarray(b, np.float32).reshape(-1, 4)
        rec.labels = np.asarray(lab, np.int64)
        if b:
            rec.attrs["box"] = {"iscrowd": crowd}
            if any(s for s in seg):
                rec.attrs["box"]["segmentation"] = seg
    return ds


def _image_ids(ds: DetectionDataset) -> list:
    ids = [r.attrs.get("id") for r in ds.images]
    ok = all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in ids)
    if ok and len(set(int(i) for i in ids)) == len(ids):
        return [int(i) for i in ids]
    return list(range(1, len(ds.images) + 1))


def _coco_box(box) -> tuple[list, float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    x = short_float(x1)
    y = short_float(y1)
    w = short_float(x2 - x1, lambda c: np.float32(float(x) + c) == np.float32(x2))
    h = short_float(y2 - y1, lambda c: np.float32(float(y) + c) == np.float32(y2))
    area = short_float(float(w) * float(h), lambda c: abs(c - float(w) * float(h)) < 1e-6)
    return [x, y, w, h], area


def to_coco_dict(ds: DetectionDataset, file_names: list[str] | None = None) -> dict:
    """The COCO dictionary for ``ds`` (``file_names`` override the records' names)."""
    ids = _image_ids(ds)
    images, anns = [], []
    for k, (iid, rec) in enumerate(zip(ids, ds.images)):
        images.append({"id": iid, "file_name": file_names[k] if file_names else rec.file_name,
                       "width": int(rec.width), "height": int(rec.height)})
        box_attrs = rec.attrs.get("box", {})
        for j, (box, lab) in enumerate(zip(rec.boxes, rec.labels)):
            bbox, area = _coco_box(box)
            ann = {"id": len(anns) + 1, "image_id": iid, "category_id": int(lab) + 1,
                   "bbox": bbox, "area": area,
                   "iscrowd": int(box_attrs.get("iscrowd", [0] * (j + 1))[j] or 0)}
            seg = box_attrs.get("segmentation")
            if seg and seg[j]:
                ann["segmentation"] = seg[j]
            anns.append(ann)
    cats = [{"id": i + 1, "name": n, "supercategory": ""} for i, n in enumerate(ds.classes)]
    return {"images": images, "annotations": anns, "categories": cats}


def write_coco(ds: DetectionDataset, json_path: str | Path, image_root: str | Path | None = None,
               copy_images: bool = False, indent: int | None = None, progress=None) -> Path:
    """Write ``ds`` as a COCO instances file.

    ``file_name`` entries are relative to ``image_root`` (default: the JSON's folder), so
    ``read_coco(json_path, image_root)`` finds the images again: with ``copy_images`` the
    images are copied to ``image_root/<file_name>``; otherwise the names point at the
    existing files (``../`` paths where needed). A dataset without ``root`` keeps its
    names unchanged.
    """
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    out_root = Path(image_root) if image_root is not None else json_path.parent
    names = []
    items = ds.images if progress is None else progress(ds.images, total=len(ds.images), desc="coco")
    for rec in items:
        src = ds.image_path(rec)
        if copy_images:
            dst = out_root / rec.file_name
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.resolve() != dst.resolve():
                shutil.copy2(src, dst)
            names.append(Path(rec.file_name).as_posix())
        elif ds.root is None:
            names.append(rec.file_name)
        else:
            names.append(Path(os.path.relpath(src.absolute(), out_root.absolute())).as_posix())
    data = to_coco_dict(ds, names)
    json_path.write_text(json.dumps(data, indent=indent, ensure_ascii=False), encoding="utf-8")
    return json_path
