"""Pascal VOC XML to and from :class:`DetectionDataset`.

Pixel convention: VOC stores 1-based, inclusive pixel indices (a box over the first 10
columns is ``xmin=1, xmax=10``). We read ``x1 = xmin - 1, y1 = ymin - 1, x2 = xmax,
y2 = ymax`` (continuous, exclusive-edge pixels as everywhere in inspect-cv) and write the
inverse, so round trips are exact. Readers of datasets whose XML uses 0-based
coordinates pass ``one_based=False``.

Layout: ``read_voc`` takes the annotation folder (searched recursively; a sub-folder
``a/b.xml`` means image ``a/<filename>``) or a VOC root holding ``Annotations/`` and
``JPEGImages/``. Per-object ``difficult`` and ``truncated`` are kept in
``attrs["box"]``. Boxes with no area are dropped and counted in ``ds.attrs["dropped"]``.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from ..errors import DatasetError
from ._util import IMAGE_EXTS, find_image, fmt_num, image_size, parse_xml, short_float, to_float
from .core import DetectionDataset, ImageRecord


def _default_dirs(ann_dir: Path, image_dir) -> tuple[Path, Path]:
    if (ann_dir / "Annotations").is_dir():
        root = ann_dir
        ann_dir = root / "Annotations"
        if image_dir is None and (root / "JPEGImages").is_dir():
            image_dir = root / "JPEGImages"
    if image_dir is None:
        sib = ann_dir.parent / "JPEGImages"
        image_dir = sib if sib.is_dir() else ann_dir
    return ann_dir, Path(image_dir)


def read_voc_file(xml_path: Path, ds: DetectionDataset, rel_dir: str = "", image_dir: Path | None = None,
                  one_based: bool = True, class_key=None, add_classes: bool = True) -> ImageRecord | None:
    """Parse one VOC XML into a record, adding new class names to ``ds.classes``.

    ``class_key(name)`` maps an object name to a class name, or ``None`` to skip the
    object (counted as ``unknown_class``). When ``add_classes`` is false, names not in
    ``ds.classes`` are skipped too.
    """
    root = parse_xml(xml_path)
    if root.tag != "annotation":
        raise DatasetError(f"root element is <{root.tag}>, expected <annotation>", xml_path, root.line)
    fname = root.findtext("filename") or ""
    if not fname:
        fname = xml_path.stem + ".jpg"
        if image_dir is not None:
            found = find_image(image_dir / rel_dir, xml_path.stem, IMAGE_EXTS)
            if found is not None:
                fname = found.name
    file_name = f"{rel_dir}/{fname}" if rel_dir else fname
    w = h = 0
    size = root.find("size")
    if size is not None:
        w = int(to_float(size.findtext("width", "0") or "0", xml_path, size.line, "width"))
        h = int(to_float(size.findtext("height", "0") or "0", xml_path, size.line, "height"))
    if w <= 0 or h <= 0:
        if image_dir is None:
            raise DatasetError("no <size> and no image folder to measure the image", xml_path)
        w, h = image_size(image_dir / file_name)
    off = 1.0 if one_based else 0.0
    boxes, labels, diff, trunc = [], [], [], []
    for obj in root.findall("object"):
        name = obj.findtext("name")
        if not name:
            raise DatasetError("<object> without <name>", xml_path, obj.line)
        cname = class_key(name) if class_key else name
        if cname is None or (not add_classes and cname not in ds.classes):
            ds.warn(f"{xml_path}:{obj.line}: skipped object of unknown class {name!r}", "unknown_class")
            continue
        bb = obj.find("bndbox")
        if bb is None:
            raise DatasetError("<object> without <bndbox>", xml_path, obj.line)
        vals = []
        for key in ("xmin", "ymin", "xmax", "ymax"):
            node = bb.find(key)
            if node is None or not node.text.strip():
                raise DatasetError(f"<bndbox> without <{key}>", xml_path, bb.line)
            vals.append(to_float(node.text.strip(), xml_path, node.line, key))
        box = [vals[0] - off, vals[1] - off, vals[2], vals[3]]
        if not (box[2] > box[0] and box[3] > box[1]):
            ds.warn(f"{xml_path}:{bb.line}: dropped degenerate box {vals}", "degenerate")
            continue
        if cname not in ds.classes:
            ds.classes.append(cname)
        boxes.append(box)
        labels.append(ds.classes.index(cname))
        diff.append(int(to_float(obj.findtext("difficult", "0") or "0", xml_path, obj.line, "difficult")))
        trunc.append(int(to_float(obj.findtext("truncated", "0") or "0", xml_path, obj.line, "truncated")))
    rec = ImageRecord(file_name, w, h, np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int64))
    if boxes:
        rec.attrs["box"] = {"difficult": diff, "truncated": trunc}
    return rec


def read_voc(ann_dir: str | Path, image_dir: str | Path | None = None, classes: list[str] | None = None,
             one_based: bool = True, progress=None) -> DetectionDataset:
    """Read every ``*.xml`` under ``ann_dir`` (sorted by path).

    ``classes`` fixes the class order (objects of other classes are skipped and
    counted); otherwise classes are sorted by name. ``image_dir`` defaults to a sibling
    ``JPEGImages`` folder, else ``ann_dir``; it becomes ``ds.root``.
    """
    ann_dir = Path(ann_dir)
    if not ann_dir.is_dir():
        raise DatasetError("annotation folder not found", ann_dir)
    ann_dir, img_dir = _default_dirs(ann_dir, image_dir)
    ds = DetectionDataset(list(classes or []), [], img_dir, {"format": "voc"})
    files = sorted(ann_dir.rglob("*.xml"))
    items = files if progress is None else progress(files, total=len(files), desc="voc")
    for xml in items:
        rel_dir = xml.parent.relative_to(ann_dir).as_posix()
        rec = read_voc_file(xml, ds, "" if rel_dir == "." else rel_dir, img_dir, one_based,
                            add_classes=classes is None)
        ds.images.append(rec)
    if classes is None:  # deterministic class order independent of file order
        order = sorted(ds.classes)
        remap = np.array([order.index(c) for c in ds.classes], np.int64)
        for r in ds.images:
            r.labels = remap[r.labels] if len(r.labels) else r.labels
        ds.classes = order
    return ds


def voc_xml(rec: ImageRecord, classes: list[str], folder: str = "JPEGImages", one_based: bool = True) -> str:
    """The VOC XML text of one record."""
    off = 1.0 if one_based else 0.0
    box_attrs = rec.attrs.get("box", {})
    lines = ["<annotation>", f"  <folder>{escape(folder)}</folder>",
             f"  <filename>{escape(Path(rec.file_name).name)}</filename>",
             "  <size>", f"    <width>{int(rec.width)}</width>", f"    <height>{int(rec.height)}</height>",
             "    <depth>3</depth>", "  </size>", "  <segmented>0</segmented>"]
    for j, (box, lab) in enumerate(zip(rec.boxes, rec.labels)):
        x1, y1, x2, y2 = (float(v) for v in box)
        xmin = short_float(x1 + off, lambda c: np.float32(c - off) == np.float32(x1))
        ymin = short_float(y1 + off, lambda c: np.float32(c - off) == np.float32(y1))
        xmax, ymax = short_float(x2), short_float(y2)
        diff = int(box_attrs.get("difficult", [0] * (j + 1))[j] or 0)
        trunc = int(box_attrs.get("truncated", [0] * (j + 1))[j] or 0)
        lines += ["  <object>", f"    <name>{escape(classes[int(lab)])}</name>", "    <pose>Unspecified</pose>",
                  f"    <truncated>{trunc}</truncated>", f"    <difficult>{diff}</difficult>", "    <bndbox>",
                  f"      <xmin>{fmt_num(xmin)}</xmin>", f"      <ymin>{fmt_num(ymin)}</ymin>",
                  f"      <xmax>{fmt_num(xmax)}</xmax>", f"      <ymax>{fmt_num(ymax)}</ymax>",
                  "    </bndbox>", "  </object>"]
    lines.append("</annotation>")
    return "\n".join(lines) + "\n"


def write_voc(ds: DetectionDataset, out_dir: str | Path, copy_images: bool = True,
              image_set: str | None = None, progress=None) -> Path:
    """Write ``out_dir/Annotations/<file_name stem>.xml`` (+ ``JPEGImages/`` copies).

    Sub-folders of ``file_name`` are kept under both folders. With ``image_set`` the
    record ids are also listed in ``ImageSets/Main/<image_set>.txt``. Returns ``out_dir``.
    """
    out = Path(out_dir)
    ann, imgs = out / "Annotations", out / "JPEGImages"
    ann.mkdir(parents=True, exist_ok=True)
    ids = []
    items = ds.images if progress is None else progress(ds.images, total=len(ds.images), desc="voc")
    for rec in items:
        rel = Path(rec.file_name)
        if rel.is_absolute() or ".." in rel.parts:
            rel = Path(rel.name)
        xml = ann / rel.with_suffix(".xml")
        xml.parent.mkdir(parents=True, exist_ok=True)
        xml.write_text(voc_xml(rec, ds.classes), encoding="utf-8")
        ids.append(rel.with_suffix("").as_posix())
        if copy_images:
            src, dst = ds.image_path(rec), imgs / rel
            if not src.is_file():
                raise DatasetError("image not found", src)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.resolve() != dst.resolve():
                shutil.copy2(src, dst)
    if image_set:
        sets = out / "ImageSets" / "Main"
        sets.mkdir(parents=True, exist_ok=True)
        (sets / f"{image_set}.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")
    return out
