"""Dataset formats: COCO, YOLO, Pascal VOC and the native layouts of public X-ray sets.

Everything converts through :class:`DetectionDataset` (see ``core``). Entry points:
:func:`read_dataset`, :func:`write_dataset`, :func:`convert` and the :data:`FORMATS`
registry; :func:`merge`, :func:`remap`, :func:`split`, :func:`stats` operate on datasets.
Readers never print: skipped or changed annotations are listed in ``ds.attrs``.
"""
from .coco import read_coco, write_coco
from .convert import FORMATS, Format, convert, read_dataset, write_dataset
from .core import DetectionDataset, ImageRecord
from .native import read_gdxray, read_hixray, read_opixray, read_pidray, read_sixray, read_sixray_labels
from .ops import merge, remap, split, stats
from .voc import read_voc, write_voc
from .yolo import read_yolo, write_yolo

__all__ = [
    "DetectionDataset", "ImageRecord", "FORMATS", "Format", "read_dataset", "write_dataset", "convert",
    "read_coco", "write_coco", "read_yolo", "write_yolo", "read_voc", "write_voc",
    "read_opixray", "read_sixray", "read_sixray_labels", "read_pidray", "read_hixray", "read_gdxray",
    "merge", "remap", "split", "stats",
]
