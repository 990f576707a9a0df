"""Format registry and conversion: ``read_dataset``, ``write_dataset``, ``convert``.

``FORMATS[name]`` is a :class:`Format` with a ``reader(path, **kw)`` and, for the
interchange formats (coco, yolo, voc), a ``writer(ds, out, **kw)``.

Output paths: ``coco`` writes ``<out>/annotations.json`` and copies images under
``<out>/images/`` (or, if ``out`` ends in ``.json``, only that file, with file names
pointing at the existing images); ``yolo`` writes the YOLO tree under ``out``; ``voc``
writes ``Annotations/`` and ``JPEGImages/`` under ``out``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from ..errors import DatasetError, UnsupportedFormatError
from .core import DetectionDataset
from .ops import remap, split as split_dataset


@dataclass(frozen=True)
class Format:
    name: str
    reader: Callable[..., DetectionDataset]
    writer: Callable[..., object] | None = None
    description: str = ""


def _read_coco(path, image_root=None, **kw):
    from .coco import read_coco

    path = Path(path)
    if path.is_dir():
        cands = [path / "annotations.json"] + sorted(path.glob("*.json")) + sorted((path / "annotations").glob("*.json"))
        found = next((c for c in cands if c.is_file()), None)
        if found is None:
            raise DatasetError("no COCO .json file in this folder", path)
        ds = read_coco(found, image_root, **kw)
        # file names relative to the folder (``images/x.png``) or to ``images/`` (``x.png``)
        if image_root is None and ds.images and (path / "images").is_dir():
            first = ds.images[0].file_name
            if not (path / first).exists() and (path / "images" / first).exists():
                ds.root = path / "images"
        return ds
    return read_coco(path, image_root, **kw)


def _write_coco(ds, out, copy_images=None, **kw):
    from .coco import write_coco

    out = Path(out)
    if out.suffix.lower() == ".json":
        return write_coco(ds, out, copy_images=bool(copy_images), **kw)
    return write_coco(ds, out / "annotations.json", out / "images",
                      copy_images=True if copy_images is None else copy_images, **kw)


def _lazy(module: str, name: str) -> Callable:
    def call(*args, **kw):
        import importlib

        return getattr(importlib.import_module(f"inspect_cv.formats.{module}"), name)(*args, **kw)

    call.__name__ = name
    call.__doc__ = f"See :func:`inspect_cv.formats.{module}.{name}`."
    return call


FORMATS: dict[str, Format] = {
    "coco": Format("coco", _read_coco, _write_coco, "COCO instances JSON"),
    "yolo": Format("yolo", _lazy("yolo", "read_yolo"), _lazy("yolo", "write_yolo"), "YOLO txt + data.yaml"),
    "voc": Format("voc", _lazy("voc", "read_voc"), _lazy("voc", "write_voc"), "Pascal VOC XML"),
    "opixray": Format("opixray", _lazy("native", "read_opixray"), None, "OPIXray native layout"),
    "sixray": Format("sixray", _lazy("native", "read_sixray"), None, "SIXray (VOC XML or battery txt)"),
    "pidray": Format("pidray", _lazy("native", "read_pidray"), None, "PIDray (COCO json per split)"),
    "hixray": Format("hixray", _lazy("native", "read_hixray"), None, "HiXray native layout"),
    "gdxray": Format("gdxray", _lazy("native", "read_gdxray"), None, "GDXray Baggages ground_truth.txt"),
}


def _get(fmt: str, need_writer: bool = False) -> Format:
    f = FORMATS.get(str(fmt).lower())
    if f is None:
        raise UnsupportedFormatError(f"unknown dataset format {fmt!r} (one of {', '.join(FORMATS)})")
    if need_writer and f.writer is None:
        writable = ", ".join(k for k, v in FORMATS.items() if v.writer)
        raise UnsupportedFormatError(f"cannot write format {fmt!r} (writable: {writable})")
    return f


def read_dataset(path: str | Path, fmt: str, **kw) -> DetectionDataset:
    """Read a dataset in format ``fmt`` (a key of :data:`FORMATS`); ``kw`` go to the reader."""
    return _get(fmt).reader(path, **kw)


def write_dataset(ds: DetectionDataset, out: str | Path, fmt: str, **kw):
    """Write ``ds`` in format ``fmt`` (coco, yolo or voc); ``kw`` go to the writer."""
    return _get(fmt, need_writer=True).writer(ds, out, **kw)


def convert(src: str | Path, src_fmt: str, dst: str | Path, dst_fmt: str,
            label_map: Mapping[str, str | None] | None = None, classes: list[str] | None = None,
            fractions: Mapping[str, float] | None = None, seed: int = 0, group_by=None,
            read_kw: dict | None = None, write_kw: dict | None = None) -> dict[str, DetectionDataset]:
    """Read ``src``, rename classes, optionally split, write ``dst``; returns what was written.

    Without ``fractions`` the whole dataset is written once (for yolo as split
    ``"train"``) and returned as ``{"all": ds}``. With ``fractions`` each part is
    written: yolo gets one split per part in one tree; coco and voc get one
    sub-folder per part (``dst/<part>/``).
    """
    _get(dst_fmt, need_writer=True)
    ds = read_dataset(src, src_fmt, **(read_kw or {}))
    if label_map or classes:
        ds = remap(ds, label_map, classes)
    write_kw = dict(write_kw or {})
    dst = Path(dst)
    if not fractions:
        if dst_fmt == "yolo":
            write_kw.setdefault("split", "train")
        write_dataset(ds, dst, dst_fmt, **write_kw)
        return {"all": ds}
    parts = split_dataset(ds, fractions, seed=seed, group_by=group_by)
    for name, part in parts.items():
        if dst_fmt == "yolo":
            write_dataset(part, dst, "yolo", split=name, **write_kw)
        elif dst_fmt == "voc":
            write_dataset(part, dst / name, "voc", image_set=name, **write_kw)
        else:
            write_dataset(part, dst / name, dst_fmt, **write_kw)
    return parts
