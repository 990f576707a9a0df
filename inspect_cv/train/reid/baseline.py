"""Plain ImageNet features of a backbone (global average pooling, no metric learning), for comparison.

:func:`baseline_embeddings` embeds an identity set in torch; :func:`export_baseline` writes the
same network as an ``embed`` ONNX model, so it can be scored by ``inspect-cv evaluate reid``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from inspect_cv.evaluation.reid import IdentitySet

from .data import ReidDataset
from .engine import embed_dataset
from .model import create_baseline


def baseline_embeddings(data: IdentitySet, backbone: str = "mobilenet_v2", input_size: int = 128,
                        batch_size: int = 64, progress: Callable | None = None) -> np.ndarray:
    """``(N, C)`` L2-normalised average-pooled ImageNet features of every image of ``data``."""
    model = create_baseline(backbone, input_size)
    return embed_dataset(model, ReidDataset(data, input_size, None, cache=False), batch_size, "cpu", progress)


def export_baseline(out_path: str | Path, backbone: str = "mobilenet_v2", input_size: int = 128, name: str | None = None):
    """Export the ImageNet-features baseline as an ONNX embedder (card task ``embed``)."""
    from .export import export_embedder

    return export_embedder(create_baseline(backbone, input_size), out_path, input_size,
                           name or f"{backbone}-imagenet", description="ImageNet features, average-pooled "
                           "(baseline without metric learning)", training_data={"imagenet": backbone})
