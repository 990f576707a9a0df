"""In-memory form of a detection dataset, shared by every reader and writer.

A dataset is a list of :class:`ImageRecord` (file name relative to ``root``, size,
boxes ``[x1, y1, x2, y2]`` in pixels, integer labels) plus the ordered class names.
Every format converts to and from this; nothing else is passed between them.

Box convention: continuous pixel coordinates, ``(0, 0)`` the top-left corner of the
top-left pixel, ``x2``/``y2`` exclusive edges, so a box covering pixel columns 0..9 is
``x1=0, x2=10`` (COCO's ``[x, y, w, h]`` maps to it directly; see ``voc.py`` for VOC's
1-based convention).

Attributes:
    ``ImageRecord.attrs`` holds per-image facts (``id`` for COCO image ids, ``series``,
    ``occlusion``, ``subset``...). Per-box facts live in ``attrs["box"]``, a dict of
    lists aligned with ``boxes`` (e.g. ``{"difficult": [0, 1]}``); use
    :meth:`ImageRecord.select` to filter boxes so they stay aligned.
    ``DetectionDataset.attrs`` holds dataset facts; readers put what they skipped or
    changed there as ``attrs["warnings"]`` (list of ``"file:line: message"`` strings)
    and ``attrs["dropped"]`` (counts by reason) instead of printing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class ImageRecord:
    file_name: str
    width: int
    height: int
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        b = np.asarray(self.boxes, dtype=np.float32)
        self.boxes = b.reshape(-1, 4) if b.size else np.zeros((0, 4), np.float32)
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        if len(self.labels) != len(self.boxes):
            raise ValueError(f"{self.file_name}: {len(self.boxes)} boxes but {len(self.labels)} labels")

    @property
    def box_attrs(self) -> dict:
        """Per-box attributes (``attrs["box"]``), created empty if absent."""
        return self.attrs.setdefault("box", {})

    def select(self, keep) -> "ImageRecord":
        """A copy with only the boxes where ``keep`` (bool mask or index array) holds."""
        idx = np.arange(len(self.boxes))[np.asarray(keep)] if len(self.boxes) else np.zeros(0, np.int64)
        attrs = {k: v for k, v in self.attrs.items() if k != "box"}
        box = self.attrs.get("box")
        if box:
            attrs["box"] = {k: [v[i] for i in idx] for k, v in box.items()}
        return ImageRecord(self.file_name, self.width, self.height,
                           self.boxes[idx].copy(), self.labels[idx].copy(), attrs)

    def copy(self) -> "ImageRecord":
        """A copy whose arrays and attribute containers can be changed freely."""
        return self.select(np.ones(len(self.boxes), bool))


@dataclass
class DetectionDataset:
    classes: list[str]
    images: list[ImageRecord] = field(default_factory=list)
    root: Path | None = None
    attrs: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_boxes(self) -> int:
        return int(sum(len(r.boxes) for r in self.images))

    def image_path(self, record: ImageRecord) -> Path:
        return Path(record.file_name) if self.root is None else Path(self.root) / record.file_name

    def warn(self, message: str, reason: str | None = None) -> None:
        """Record a non-fatal problem (kept in ``attrs``; the API never prints)."""
        self.attrs.setdefault("warnings", []).append(message)
        if reason:
            dropped = self.attrs.setdefault("dropped", {})
            dropped[reason] = dropped.get(reason, 0) + 1

    @property
    def warnings(self) -> list[str]:
        return self.attrs.get("warnings", [])
