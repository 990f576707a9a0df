"""Embedding many image files with any embedding model (``inspect-cv reid embed``).

The ``.npz`` written by :func:`save_npz` holds ``paths`` (unicode strings) and
``embeddings`` (``(N, D)`` float32, L2-normalised), plus ``model_name`` and
``model_sha256`` (0-d strings). It loads without pickle: ``np.load(path)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..errors import InputError, InspectCVError


def as_embedder(model):
    """An :class:`~inspect_cv.runtime.detector.Embedder` from a name, a path or an embedder."""
    from ..errors import ModelCardError
    from ..runtime.registry import load

    if isinstance(model, (str, Path)):
        model = load(model)
    if not hasattr(model, "embed"):
        raise ModelCardError(f"{getattr(model, 'path', model)}: not an embedding model (card task must be 'embed')")
    return model


@dataclass
class EmbedResult:
    """Embedded files; unpacks as ``paths, embeddings = result``.

    ``errors`` lists ``(path, message)`` for the files that could not be used.
    """

    paths: list[str]
    embeddings: np.ndarray
    errors: list[tuple[str, str]] = field(default_factory=list)

    def __iter__(self):
        return iter((self.paths, self.embeddings))

    def __len__(self) -> int:
        return len(self.paths)


def embed_paths(model, paths: Sequence[str | Path], progress: Callable | None = None,
                batch_size: int = 32, read=None) -> EmbedResult:
    """Embed image files in batches; bad files are collected in ``result.errors``, not raised.

    Args:
        model: embedding model name, ``.onnx`` path or loaded Embedder.
        paths: image files (use :func:`inspect_cv.io.iter_image_files` to expand folders).
        progress: optional wrapper ``progress(iterable, total=, desc=)`` for a bar.
        read: optional ``read(path) -> image array`` (default :func:`inspect_cv.io.read_image`);
            it may raise :class:`InputError` to skip a file.
    """
    from ..io import read_image

    emb = as_embedder(model)
    read = read or read_image
    paths = [str(p) for p in paths]
    dim = int(emb.card.embedding_dim or 0)
    ok_paths: list[str] = []
    chunks: list[np.ndarray] = []
    errors: list[tuple[str, str]] = []
    batch: list[np.ndarray] = []
    batch_paths: list[str] = []

    def flush() -> None:
        if batch:
            chunks.append(emb.embed(batch, batch_size=batch_size))
            ok_paths.extend(batch_paths)
            batch.clear()
            batch_paths.clear()

    items: Iterable[str] = paths if progress is None else progress(paths, total=len(paths), desc="embed")
    for p in items:
        try:
            image = read(p)
            emb._prepare(image)  # validate shape/dtype per file so one bad file cannot sink a batch
        except InspectCVError as e:
            errors.append((p, str(e)))
            continue
        batch.append(image)
        batch_paths.append(p)
        if len(batch) >= batch_size:
            flush()
    flush()
    if chunks:
        out = np.concatenate(chunks).astype(np.float32)
    else:
        out = np.zeros((0, dim), np.float32)
    return EmbedResult(ok_paths, out, errors)


def save_npz(path: str | Path, paths: Sequence[str], embeddings: np.ndarray, model=None) -> Path:
    """Write ``paths`` and ``embeddings`` (float32) to an ``.npz`` (no pickled objects)."""
    path = Path(path)
    embeddings = np.asarray(embeddings, np.float32)
    if embeddings.ndim != 2 or len(embeddings) != len(paths):
        raise InputError(f"expected {len(paths)} embeddings as an (N, D) array, got shape {embeddings.shape}")
    card = getattr(model, "card", None)
    arrays = {
        "paths": np.array([str(p) for p in paths], dtype=str) if len(paths) else np.zeros(0, dtype="<U1"),
        "embeddings": embeddings,
        "model_name": np.array(getattr(card, "name", "") or ""),
        "model_sha256": np.array(getattr(card, "weights_sha256", "") or ""),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return path


def load_npz(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Read an embeddings ``.npz`` written by :func:`save_npz`: ``(paths, embeddings)``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            return [str(p) for p in z["paths"]], np.asarray(z["embeddings"], np.float32)
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except (KeyError, ValueError, OSError) as e:
        raise InputError(f"not an embeddings .npz with 'paths' and 'embeddings' ({e})", path) from None


__all__ = ["EmbedResult", "embed_paths", "save_npz", "load_npz", "as_embedder"]
