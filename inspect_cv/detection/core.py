"""The one result type of every detector: :class:`Detections`.

Boxes are ``[x1, y1, x2, y2]`` in pixels of the original image (x to the right,
y down, x2/y2 exclusive edges as floats), scores in ``[0, 1]`` and integer labels
indexing ``class_names``. Results are plain numpy data with converters, never
dicts of dicts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np


def _as_boxes(boxes) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float32)
    if b.size == 0:
        return np.zeros((0, 4), np.float32)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4), got {b.shape}")
    return b


@dataclass
class Detections:
    """Detections in one image.

    Attributes:
        boxes: ``(N, 4)`` float32, ``[x1, y1, x2, y2]`` in original-image pixels.
        scores: ``(N,)`` float32 confidence in ``[0, 1]``.
        labels: ``(N,)`` int64 class indices into ``class_names``.
        class_names: names of the model's classes (shared by all results of a model).
        image_size: ``(height, width)`` of the image the boxes refer to, if known.
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...] = ()
    image_size: tuple[int, int] | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.boxes = _as_boxes(self.boxes)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        self.class_names = tuple(self.class_names)
        n = len(self.boxes)
        if len(self.scores) != n or len(self.labels) != n:
            raise ValueError(
                f"boxes, scores and labels differ in length: {n}, {len(self.scores)}, {len(self.labels)}"
            )

    # -- construction -------------------------------------------------------------
    @classmethod
    def empty(cls, class_names: Sequence[str] = (), image_size: tuple[int, int] | None = None) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64),
                   tuple(class_names), image_size)

    @classmethod
    def concatenate(cls, items: Iterable["Detections"]) -> "Detections":
        items = list(items)
        if not items:
            return cls.empty()
        first = items[0]
        return cls(
            np.concatenate([d.boxes for d in items]) if items else np.zeros((0, 4)),
            np.concatenate([d.scores for d in items]),
            np.concatenate([d.labels for d in items]),
            first.class_names,
            first.image_size,
        )

    # -- container protocol -----------------------------------------------------------
    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, index) -> "Detections":
        """Select by an index array, boolean mask or slice (always returns Detections)."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(self.boxes[index], self.scores[index], self.labels[index],
                          self.class_names, self.image_size, dict(self.meta))

    def __iter__(self):
        for i in range(len(self)):
            yield self.boxes[i], float(self.scores[i]), int(self.labels[i])

    # -- views --------------------------------------------------------------------
    @property
    def label_names(self) -> list[str]:
        names = self.class_names
        return [names[i] if 0 <= i < len(names) else str(i) for i in self.labels.tolist()]

    @property
    def area(self) -> np.ndarray:
        b = self.boxes
        return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)

    def filter(self, conf: "float | Mapping[str, float]" = 0.0,
               classes: Iterable[str | int] | None = None) -> "Detections":
        """Keep detections with score >= ``conf`` (and of ``classes``). ``conf`` may be a
        mapping class name -> threshold (an operating point per class); classes it does not
        name get its lowest threshold."""
        if isinstance(conf, Mapping):
            if not conf:
                raise ValueError("per-class thresholds: empty mapping")
            low = min(float(v) for v in conf.values())
            per = np.array([float(conf.get(n, low)) for n in self.class_names] + [low], np.float64)
            keep = self.scores >= per[np.where((self.labels >= 0) & (self.labels < len(self.class_names)),
                                               self.labels, len(self.class_names))]
        else:
            keep = self.scores >= conf
        if classes is not None:
            wanted = {self.class_names.index(c) if isinstance(c, str) else int(c) for c in classes}
            keep &= np.isin(self.labels, list(wanted))
        return self[keep]

    def sort(self) -> "Detections":
        """Highest score first (stable)."""
        return self[np.argsort(-self.scores, kind="stable")]

    def scale(self, sx: float, sy: float | None = None, dx: float = 0.0, dy: float = 0.0) -> "Detections":
        """Return boxes mapped by ``x * sx + dx``, ``y * sy + dy``."""
        sy = sx if sy is None else sy
        b = self.boxes * np.array([sx, sy, sx, sy], np.float32) + np.array([dx, dy, dx, dy], np.float32)
        return Detections(b, self.scores, self.labels, self.class_names, self.image_size, dict(self.meta))

    def clip(self, height: int, width: int) -> "Detections":
        b = self.boxes.copy()
        b[:, [0, 2]] = b[:, [0, 2]].clip(0, width)
        b[:, [1, 3]] = b[:, [1, 3]].clip(0, height)
        return Detections(b, self.scores, self.labels, self.class_names, self.image_size, dict(self.meta))

    # -- converters ---------------------------------------------------------------
    def to_records(self, decimals: int = 2) -> list[dict]:
        """``[{"label": str, "score": float, "box": [x1, y1, x2, y2]}, ...]`` (the CLI's JSON)."""
        names = self.label_names
        return [
            {
                "label": names[i],
                "score": round(float(self.scores[i]), 4),
                "box": [round(float(v), decimals) for v in self.boxes[i]],
            }
            for i in range(len(self))
        ]

    def to_coco(self, image_id: int, category_ids: Sequence[int] | None = None) -> list[dict]:
        """COCO result entries (``bbox`` as ``[x, y, w, h]``)."""
        out = []
        for b, s, l in self:
            cat = int(category_ids[l]) if category_ids is not None else int(l)
            out.append({"image_id": int(image_id), "category_id": cat, "score": s,
                        "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]})
        return out

    def to_yolo(self, width: int, height: int, with_scores: bool = False) -> list[str]:
        """YOLO txt lines ``cls cx cy w h [score]`` normalised by image size."""
        lines = []
        for b, s, l in self:
            cx, cy = (b[0] + b[2]) / 2 / width, (b[1] + b[3]) / 2 / height
            w, h = (b[2] - b[0]) / width, (b[3] - b[1]) / height
            line = f"{l} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"
            lines.append(line + (f" {s:.5f}" if with_scores else ""))
        return lines

    def __repr__(self) -> str:
        return f"Detections(n={len(self)}, classes={len(self.class_names)}, image_size={self.image_size})"
