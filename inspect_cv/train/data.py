"""Training data: a torch Dataset over a :class:`DetectionDataset`, plus synthetic samples.

Every sample goes through the same geometry as inference: aspect-preserving resize so
the longer side equals ``input_size``, then (training only) augmentation, then padding
right/bottom with 255 to ``input_size x input_size``, then normalisation
``(x / 255 - mean) / std``. Boxes are ``xyxy`` in input-tensor pixels.

Synthetic data: ``sample(rng) -> (image uint8 RGB HxWx3, boxes [K,4] xyxy, labels [K])``,
labels indexing the training classes; :class:`MixedDataset` draws such samples at a
configured ratio, reproducibly from ``(seed, epoch, index)``.
"""
from __future__ import annotations

import importlib
from typing import Callable

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from inspect_cv.errors import ConfigError, CorruptImageError, EmptyImageError
from inspect_cv.formats.core import DetectionDataset

from .config import NORMALIZE

Sampler = Callable[[np.random.Generator], tuple]
PAD_VALUE = 255


def resize_keep_aspect(image: np.ndarray, boxes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Resize so the longer side is ``size``; returns image, scaled boxes, scale."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    if (nw, nh) != (w, h):
        image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return image, boxes * np.float32(scale), scale


def pad_to(image: np.ndarray, size: int, value: int = PAD_VALUE) -> np.ndarray:
    """Pad right/bottom to ``size x size`` (the image must already fit)."""
    h, w = image.shape[:2]
    return cv2.copyMakeBorder(image, 0, size - h, 0, size - w, cv2.BORDER_CONSTANT, value=(value,) * 3)


def letterbox(image: np.ndarray, boxes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Aspect-preserving resize then right/bottom padding, as in the model card."""
    image, boxes, scale = resize_keep_aspect(image, boxes, size)
    return pad_to(image, size), boxes, scale


def normalize(image: np.ndarray) -> torch.Tensor:
    """uint8 ``HxWx3`` RGB to float ``3xHxW`` normalised per :data:`NORMALIZE`."""
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() * NORMALIZE["scale"]
    mean = torch.tensor(NORMALIZE["mean"]).view(3, 1, 1)
    std = torch.tensor(NORMALIZE["std"]).view(3, 1, 1)
    return (x - mean) / std


def read_rgb(path) -> np.ndarray:
    """Read an image file as uint8 RGB (grey and 16-bit inputs converted)."""
    data = np.fromfile(str(path), dtype=np.uint8)
    if data.size == 0:
        raise EmptyImageError("empty file", path)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise CorruptImageError("cannot decode image", path)
    if img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def build_augment(cfg: dict):
    """Albumentations pipeline from the ``augment`` config section (or None if disabled)."""
    if not cfg.get("enabled", True):
        return None
    import albumentations as A

    s0, s1 = cfg["scale"]
    blur = cfg["blur"]
    tf = [
        A.HorizontalFlip(p=cfg["flip"]),
        A.VerticalFlip(p=cfg["flip"]),
        A.RandomRotate90(p=cfg["rot90"]),  # belt direction is arbitrary
        A.Affine(scale=(s0, s1), keep_ratio=True, translate_percent=(-0.1, 0.1), fill=PAD_VALUE, p=0.5),
        A.ToGray(num_output_channels=3, p=cfg["gray"]),
        A.RandomBrightnessContrast(0.2, 0.2, p=cfg["brightness"]),
        A.Downscale(scale_range=(0.5, 0.9), p=cfg["downscale"]),
        A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.MotionBlur(blur_limit=(3, 7))], p=blur),
        A.GaussNoise(std_range=(0.02, 0.08), p=cfg["noise"]),
        A.ImageCompression(quality_range=(40, 90), p=cfg["jpeg"]),
    ]
    return A.Compose(tf, bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"],
                                                  min_visibility=0.3, clip=True))


def prepare(image: np.ndarray, boxes: np.ndarray, labels: np.ndarray, size: int, augment=None):
    """Resize, augment (optional), pad and normalise one sample -> (tensor, target dict)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    labels = np.asarray(labels, np.int64).reshape(-1)
    image, boxes, _ = resize_keep_aspect(image, boxes, size)
    h, w = image.shape[:2]
    boxes = np.clip(boxes, 0, [w, h, w, h]).astype(np.float32)
    ok = (boxes[:, 2] - boxes[:, 0] > 1) & (boxes[:, 3] - boxes[:, 1] > 1)
    boxes, labels = boxes[ok], labels[ok]
    if augment is not None:
        out = augment(image=image, bboxes=boxes, labels=labels)
        image = out["image"]
        boxes = np.asarray(out["bboxes"], np.float32).reshape(-1, 4)
        labels = np.asarray(out["labels"], np.int64).reshape(-1)
        h, w = image.shape[:2]
        if max(h, w) > size:  # rot90 keeps the longer side; never grows, but be safe
            image, boxes, _ = resize_keep_aspect(image, boxes, size)
    image = pad_to(image, size)
    return normalize(image), {"boxes": torch.from_numpy(boxes), "labels": torch.from_numpy(labels)}


class DetectionTorchDataset(Dataset):
    """Samples of a :class:`DetectionDataset` prepared for the model."""

    def __init__(self, ds: DetectionDataset, input_size: int, augment=None):
        self.ds, self.size, self.augment = ds, input_size, augment

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int):
        rec = self.ds.images[i]
        image = read_rgb(self.ds.image_path(rec))
        return prepare(image, rec.boxes, rec.labels, self.size, self.augment)


class MixedDataset(Dataset):
    """Real samples followed by synthetic ones drawn from ``sampler(rng)``.

    With a real dataset of ``R`` images and ``ratio`` r, ``round(R * r / (1 - r))``
    synthetic samples are appended (so a fraction r of each epoch is synthetic); with
    no real data, ``length`` synthetic samples. Call :meth:`set_epoch` each epoch so the
    synthetic samples change while staying reproducible.
    """

    def __init__(self, real: Dataset | None, sampler: Sampler | None, ratio: float, length: int,
                 input_size: int, augment=None, seed: int = 0):
        self.real, self.sampler, self.size, self.augment, self.seed = real, sampler, input_size, augment, seed
        n_real = 0 if real is None else len(real)
        if sampler is None:
            self.n_synth = 0
        elif n_real == 0:
            self.n_synth = int(length)
        else:
            self.n_synth = int(length) if length else round(n_real * ratio / max(1e-9, 1.0 - ratio))
        self.n_real, self.epoch = n_real, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n_real + self.n_synth

    def __getitem__(self, i: int):
        if i < self.n_real:
            return self.real[i]
        rng = np.random.default_rng([self.seed, self.epoch, i])
        image, boxes, labels = self.sampler(rng)
        return prepare(np.asarray(image, np.uint8), boxes, labels, self.size, self.augment)


def resolve_sampler(spec: str | None, options: dict | None = None, classes: list[str] | None = None) -> Sampler | None:
    """``"package.module:factory"`` -> ``factory(classes=..., **options)``, the sampler.

    The factory returns ``sample(rng) -> (image, boxes, labels)``.
    """
    if not spec:
        return None
    mod_name, _, attr = str(spec).partition(":")
    try:
        factory = getattr(importlib.import_module(mod_name), attr or "make_sampler")
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"data.synthetic.source: cannot import {spec!r} ({e})") from None
    return factory(classes=classes, **(options or {}))


def collate(batch):
    """Stack images; keep targets as a list of dicts."""
    images, targets = zip(*batch)
    return torch.stack(images), list(targets)
