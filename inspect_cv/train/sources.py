"""On-the-fly synthetic sources for training (``data.synthetic.source`` in a recipe).

A source is a factory ``factory(classes=..., **options) -> sample`` where
``sample(rng) -> (image uint8 RGB HxWx3, boxes [K,4] xyxy pixels, labels [K])`` with labels
indexing ``classes``. Name it in a recipe as ``"inspect_cv.train.sources:baggage"``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def baggage(classes: Sequence[str] | None = None, size: Sequence[int] = (704, 896), profile: str | None = "random",
            n_threats: Sequence[int] = (0, 3), negative_fraction: float = 0.2, clutter: float = 1.0,
            held_out: str = "exclude") -> Callable[[np.random.Generator], tuple]:
    """Cluttered-bag X-ray scans from :func:`inspect_cv.xray.bag.synthesize` (every call a new bag)."""
    from inspect_cv.xray.bag import synthesize

    def sample(rng: np.random.Generator):
        scan = synthesize(rng, profile=profile, threats=list(classes) if classes else None, size=tuple(size),
                          n_threats=tuple(n_threats), negative_fraction=negative_fraction,
                          held_out=held_out, clutter=clutter)
        img = scan.image
        if img.dtype != np.uint8:
            img = np.clip(img * (255.0 if img.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        return img, scan.boxes, scan.labels

    return sample


def container(classes: Sequence[str] | None = None, **options) -> Callable[[np.random.Generator], tuple]:
    """Tiles of simulated container scans in the runtime's view
    (:func:`inspect_cv.container.tiles.tile_sampler`; options: ``scans``, ``tile``,
    ``scale``, ``positive_fraction``, ``window``, ``cache``...)."""
    from inspect_cv.container.tiles import tile_sampler

    return tile_sampler(classes=classes, **options)
