"""Folder-per-identity data for training: torch datasets, identity-disjoint splits, augmentation.

Images are prepared exactly as the runtime :class:`~inspect_cv.runtime.detector.Embedder` does
(RGB in [0, 255], direct resize to the square input size, card normalisation), so training,
export parity and deployment see the same tensors. Augmentation (albumentations) runs on the
resized uint8 image.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from inspect_cv.evaluation.reid import IdentitySet, read_identity_folder, split_identities  # noqa: F401 - re-exported

from .config import NORMALIZE

__all__ = ["ReidDataset", "split_identities", "build_augment", "load_resized", "to_tensor", "read_identity_folder"]


def load_resized(path, size: int) -> np.ndarray:
    """``uint8 (size, size, 3)`` RGB, prepared like the runtime Embedder (any readable image)."""
    import cv2

    from inspect_cv.io import read_image
    from inspect_cv.runtime.preprocess import to_model_rgb

    rgb = to_model_rgb(read_image(path), str(path))
    if rgb.shape[:2] != (size, size):
        interp = cv2.INTER_AREA if rgb.shape[0] > size else cv2.INTER_LINEAR
        rgb = cv2.resize(rgb, (size, size), interpolation=interp)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


_MEAN = np.asarray(NORMALIZE["mean"], np.float32)
_STD = np.asarray(NORMALIZE["std"], np.float32)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 HWC RGB -> normalised float32 CHW tensor (card normalisation)."""
    x = (image.astype(np.float32) * np.float32(NORMALIZE["scale"]) - _MEAN) / _STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


def build_augment(cfg: dict) -> Callable[[np.ndarray], np.ndarray] | None:
    """Face augmentation: flip, small affine (rotation, scale, shift), colour jitter, grey,
    blur, JPEG artefacts and random erasing (occlusion). ``None`` when disabled."""
    if not cfg.get("enabled", True):
        return None
    import albumentations as A
    import cv2

    rot, shift = float(cfg["rotate"]), float(cfg["shift"])
    ops = [
        A.HorizontalFlip(p=float(cfg["flip"])),
        A.Affine(scale=tuple(cfg["scale"]), translate_percent=(-shift, shift), rotate=(-rot, rot),
                 border_mode=cv2.BORDER_REFLECT_101, p=0.8),
        A.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.04, p=float(cfg["colour"])),
        A.ToGray(p=float(cfg["gray"])),
        A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.MotionBlur(blur_limit=(3, 5))], p=float(cfg["blur"])),
        A.ImageCompression(quality_range=(40, 95), p=float(cfg["jpeg"])),
        A.CoarseDropout(num_holes_range=(1, 2), hole_height_range=(0.1, 0.35), hole_width_range=(0.1, 0.35),
                        fill="random_uniform", p=float(cfg["erase"])),
    ]
    pipeline = A.Compose(ops)
    return lambda image: pipeline(image=image)["image"]


class ReidDataset(Dataset):
    """``(image tensor [3, S, S], label)`` items of an :class:`IdentitySet`.

    With ``cache``, every image is decoded and resized once, up front (call :meth:`preload`
    before forking loader workers so they share it).
    """

    def __init__(self, data: IdentitySet, size: int, augment: Callable | None = None, cache: bool = True):
        self.data, self.size, self.augment, self.cache = data, size, augment, cache
        self._images: list[np.ndarray] | None = None
        self.labels = data.labels

    def preload(self, progress: Callable | None = None) -> "ReidDataset":
        if self.cache and self._images is None:
            it = range(len(self.data))
            it = progress(it, total=len(self.data), desc="load") if progress else it
            self._images = [load_resized(self.data.paths[i], self.size) for i in it]
        return self

    def __len__(self) -> int:
        return len(self.data)

    def plain(self) -> "ReidDataset":
        """The same items without augmentation, sharing the decoded-image cache."""
        view = ReidDataset(self.data, self.size, None, self.cache)
        view._images = self._images
        return view

    def image(self, i: int) -> np.ndarray:
        if self._images is not None:
            return self._images[i]
        return load_resized(self.data.paths[i], self.size)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img = self.image(i)
        if self.augment is not None:
            img = self.augment(img)
        return to_tensor(img), int(self.labels[i])
