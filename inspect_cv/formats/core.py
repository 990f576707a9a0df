"""In-memory form of a detection dataset, shared by every reader and writer.

A dataset is a list of :class:`ImageRecord` (file name relative to ``root``, size,
boxes ``[x1, y1, x2, y2]`` in pixels, integer labels) plus the ordered class names.
Every format converts to and from this; nothing else is passed between them.
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


@dataclass
class DetectionDataset:
    classes: list[str]
    images: list[ImageRecord] = field(default_factory=list)
    root: Path | None = None

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_boxes(self) -> int:
        return int(sum(len(r.boxes) for r in self.images))

    def image_path(self, record: ImageRecord) -> Path:
        return Path(record.file_name) if self.root is None else Path(self.root) / record.file_name
