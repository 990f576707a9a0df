"""YOLO (Ultralytics) txt labels + ``data.yaml`` to and from :class:`DetectionDataset`.

Layout: ``<root>/images/<split>/<name>.jpg`` with ``<root>/labels/<split>/<name>.txt``
(``cls cx cy w h`` normalised to ``[0, 1]``, one box per line; a polygon line
``cls x1 y1 x2 y2 ...`` is read as its bounding box). An image without a label file has
no objects. ``data.yaml`` gives ``path`` (dataset root), ``train``/``val``/``test``
(image folders or ``.txt`` lists of image paths, relative to ``path``) and ``names``
(a list, or a dict ``id: name``). Boxes are written with 6 decimals, i.e. to within
``5e-7 * image size`` pixels.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ._util import IMAGE_EXTS, image_size, read_lines, to_float
from .core import DetectionDataset, ImageRecord


def _load_yaml(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise DatasetError("file not found", path) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise DatasetError(f"invalid YAML: {getattr(e, 'problem', e)}", path,
                           None if mark is None else mark.line + 1) from None
    if not isinstance(data, dict):
        raise DatasetError("data.yaml must be a mapping", path)
    return data


def parse_names(names, path=None) -> list[str]:
    """Class names from a ``names`` entry: a list, or a dict ``{id: name}`` with ids 0..K-1."""
    if isinstance(names, (list, tuple)):
        return [str(n) for n in names]
    if isinstance(names, dict):
        try:
            items = sorted((int(k), str(v)) for k, v in names.items())
        except (TypeError, ValueError):
            raise DatasetError("'names' keys must be integers", path) from None
        if [k for k, _ in items] != list(range(len(items))):
            raise DatasetError("'names' ids must be 0..K-1 without gaps", path)
        return [v for _, v in items]
    raise DatasetError("'names' must be a list or a mapping id -> name", path)


def _labels_dir(images_dir: Path) -> Path:
    """Ultralytics' rule: the last ``images`` path component becomes ``labels``."""
    parts = list(images_dir.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts)
    return images_dir.parent / "labels" / images_dir.name


def _resolve_split(path: Path, split: str) -> tuple[Path, list[Path] | None, list[str] | None, dict]:
    """(images dir, explicit image list or None, names or None, yaml dict)."""
    if path.is_file():
        data = _load_yaml(path)
        base = Path(str(data.get("path") or "."))
        if not base.is_absolute():
            base = path.parent / base
        if not base.exists():  # moved dataset: fall back to the yaml's folder
            base = path.parent
        names = parse_names(data["names"], path) if "names" in data else None
        if not data.get(split):
            raise DatasetError(f"no '{split}' entry", path)
        entry = data[split]
        if isinstance(entry, list):
            if len(entry) != 1:
                raise DatasetError(f"'{split}' lists several folders; read them one by one", path)
            entry = entry[0]
        target = Path(str(entry))
        target = target if target.is_absolute() else base / target
        if target.is_file() and target.suffix == ".txt":
            files = []
            for line in read_lines(target):
                if line.strip():
                    p = Path(line.strip())
                    files.append(p if p.is_absolute() else target.parent / p)
            return target.parent, files, names, data
        return target, None, names, data
    if not path.is_dir():
        raise DatasetError("no such YOLO dataset (a data.yaml or a folder)", path)
    yaml_path = next((p for p in (path / "data.yaml", path / "dataset.yaml") if p.is_file()), None)
    names, data = None, {}
    if yaml_path is not None:
        data = _load_yaml(yaml_path)
        names = parse_names(data["names"], yaml_path) if "names" in data else None
    return path / "images" / split, None, names, data


def read_yolo(path: str | Path, split: str = "train", classes: list[str] | None = None,
              progress=None) -> DetectionDataset:
    """Read one split of a YOLO dataset from a ``data.yaml`` or a root folder.

    Without ``names`` (and no ``classes`` given) classes are named ``"0".."K-1"`` from the
    largest label id seen. ``ds.root`` is the split's image folder.
    """
    path = Path(path)
    images_dir, files, names, _ = _resolve_split(path, split)
    if classes is not None:
        names = list(classes)
    if files is None:
        if not images_dir.is_dir():
            raise DatasetError(f"no image folder for split '{split}'", images_dir)
        files = sorted(p for p in images_dir.rglob("*") if p.suffix.lower() in IMAGE_EXTS)
    labels_dir = _labels_dir(images_dir)
    ds = DetectionDataset(list(names or []), [], images_dir, {"format": "yolo", "split": split})
    max_label = -1
    items = files if progress is None else progress(files, total=len(files), desc="yolo")
    for img in items:
        try:
            rel = img.relative_to(images_dir)
        except ValueError:
            rel = Path(img.name)
        w, h = image_size(img)
        label_file = labels_dir / rel.with_suffix(".txt")
        if not label_file.is_file():  # from a list: try the images -> labels sibling
            label_file = _labels_dir(img.parent) / (img.stem + ".txt")
        boxes, labels = _read_label_file(label_file, w, h, ds) if label_file.is_file() else ([], [])
        if labels:
            max_label = max(max_label, max(labels))
        ds.images.append(ImageRecord(rel.as_posix(), w, h, np.asarray(boxes, np.float32).reshape(-1, 4),
                                     np.asarray(labels, np.int64)))
    if names is None:
        ds.classes = [str(i) for i in range(max_label + 1)]
    elif max_label >= len(ds.classes):
        raise DatasetError(f"label id {max_label} but only {len(ds.classes)} names", path)
    return ds


def _read_label_file(path: Path, w: int, h: int, ds: DetectionDataset) -> tuple[list, list]:
    boxes, labels = [], []
    for n, line in enumerate(read_lines(path), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 5 or (len(parts) > 5 and len(parts) % 2 == 0):
            raise DatasetError(f"expected 'cls cx cy w h' (or 'cls x y x y ...'), got {len(parts)} fields",
                               path, n)
        try:
            cls = int(parts[0])
        except ValueError:
            raise DatasetError(f"class id is not an integer: {parts[0]!r}", path, n) from None
        if cls < 0:
            raise DatasetError(f"negative class id {cls}", path, n)
        vals = [to_float(v, path, n, "coordinate") for v in parts[1:]]
        if len(vals) == 4:
            cx, cy, bw, bh = vals
            box = [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
        else:
            xs, ys = vals[0::2], vals[1::2]
            box = [min(xs) * w, min(ys) * h, max(xs) * w, max(ys) * h]
        if not (box[2] > box[0] and box[3] > box[1]):
            ds.warn(f"{path}:{n}: dropped degenerate box", "degenerate")
            continue
        boxes.append(box)
        labels.append(cls)
    return boxes, labels


def yolo_lines(rec: ImageRecord) -> list[str]:
    """The label-file lines (``cls cx cy w h``, 6 decimals) of one record."""
    out = []
    W, H = float(rec.width), float(rec.height)
    for (x1, y1, x2, y2), lab in zip(rec.boxes.astype(np.float64), rec.labels):
        out.append(f"{int(lab)} {(x1 + x2) / 2 / W:.6f} {(y1 + y2) / 2 / H:.6f} "
                   f"{(x2 - x1) / W:.6f} {(y2 - y1) / H:.6f}")
    return out


def write_yolo(ds: DetectionDataset, out_dir: str | Path, split: str = "train",
               copy_images: bool = True, progress=None) -> Path:
    """Write ``ds`` as split ``split`` of a YOLO dataset under ``out_dir``; returns data.yaml.

    Images go to ``images/<split>/<file_name>`` (copied when ``copy_images``), labels to
    ``labels/<split>/<file_name stem>.txt`` (an empty file for an image without boxes).
    ``data.yaml`` gets ``path`` (absolute ``out_dir``), the split entry and ``names``
    (dict id -> name); writing another split later adds its entry to the same file
    (the class list must then be the same).
    """
    import yaml

    out = Path(out_dir)
    img_dir, lab_dir = out / "images" / split, out / "labels" / split
    lab_dir.mkdir(parents=True, exist_ok=True)
    img_dir.mkdir(parents=True, exist_ok=True)
    items = ds.images if progress is None else progress(ds.images, total=len(ds.images), desc="yolo")
    for rec in items:
        rel = Path(rec.file_name)
        if rel.is_absolute() or ".." in rel.parts:
            rel = Path(rel.name)
        if copy_images:
            dst = img_dir / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            src = ds.image_path(rec)
            if not src.is_file():
                raise DatasetError("image not found", src)
            if src.resolve() != dst.resolve():
                shutil.copy2(src, dst)
        label = lab_dir / rel.with_suffix(".txt")
        label.parent.mkdir(parents=True, exist_ok=True)
        lines = yolo_lines(rec)
        label.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    yaml_path = out / "data.yaml"
    data = _load_yaml(yaml_path) if yaml_path.is_file() else {}
    names = {i: n for i, n in enumerate(ds.classes)}
    if "names" in data and parse_names(data["names"], yaml_path) != list(ds.classes):
        raise DatasetError("existing data.yaml has different class names", yaml_path)
    data["path"] = str(out.resolve())
    data[split] = f"images/{split}"
    data["names"] = names
    order = ["path", "train", "val", "test"]
    data = {**{k: data[k] for k in order if k in data}, **{k: v for k, v in data.items() if k not in order}}
    yaml_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return yaml_path
