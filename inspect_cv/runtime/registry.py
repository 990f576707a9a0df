"""Bundled models by name, and :func:`load` for names or paths.

Bundled models are ``<name>.onnx`` files with a ``<name>.card.json`` sidecar, looked up
in order in ``$INSPECT_CV_MODELS`` (``os.pathsep``-separated folders), the source
checkout's ``exported_models/`` and ``<prefix>/share/inspect-cv/models`` (pip install).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import IntegrityError, ModelCardError, ModelNotFoundError
from .card import ModelCard, file_sha256, read_sidecar
from .session import get_session


def model_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get("INSPECT_CV_MODELS", "").split(os.pathsep) if p]
    dirs.append(Path(__file__).resolve().parents[2] / "exported_models")
    dirs.append(Path(sys.prefix) / "share" / "inspect-cv" / "models")
    return [d for d in dirs if d.is_dir()]


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path
    card: dict  # the sidecar card (fields of ModelCard plus file_sha256, file_bytes)

    def summary(self) -> dict:
        c = self.card
        return {"name": self.name, "task": c.get("task"), "version": c.get("version"),
                "classes": c.get("classes", []), "input_size": c.get("input_size"),
                "sha256": c.get("file_sha256"), "bytes": c.get("file_bytes"), "path": str(self.path)}


def list_models() -> list[ModelEntry]:
    """Bundled models (first folder wins for a repeated name), sorted by name."""
    seen: dict[str, ModelEntry] = {}
    for d in model_dirs():
        for onnx_path in sorted(d.glob("*.onnx")):
            card = read_sidecar(onnx_path)
            if card is None or onnx_path.stem in seen:
                continue
            seen[onnx_path.stem] = ModelEntry(onnx_path.stem, onnx_path, card)
    return [seen[k] for k in sorted(seen)]


def resolve(name_or_path: str | Path) -> tuple[Path, dict | None]:
    """Path of a bundled name or a file, plus its sidecar card if any."""
    p = Path(name_or_path)
    if p.suffix == ".onnx" or p.exists() or os.sep in str(name_or_path):
        if not p.is_file():
            raise ModelNotFoundError(f"{p}: no such model file")
        return p, read_sidecar(p)
    for entry in list_models():
        if entry.name == str(name_or_path):
            return entry.path, entry.card
    names = ", ".join(e.name for e in list_models()) or "none installed"
    raise ModelNotFoundError(f"no bundled model named {str(name_or_path)!r} (available: {names}); "
                             "give a path to an .onnx file instead")


def read_card(path: str | Path, device: str | None = None) -> ModelCard:
    info = get_session(path, device=device)
    return ModelCard.from_metadata(info.metadata, source=str(path))


def load(name_or_path: str | Path, device: str | None = None, threads: int | None = None, verify: bool = True):
    """Load a model by bundled name (``baggage``, ``container``, ``horse-reid``...) or ``.onnx`` path.

    Returns a :class:`~inspect_cv.runtime.detector.Detector` for detection cards and an
    :class:`~inspect_cv.runtime.detector.Embedder` for embedding cards. With ``verify``,
    a file whose sha256 differs from its sidecar card is refused.
    """
    from .detector import Detector, Embedder

    path, sidecar = resolve(name_or_path)
    if verify and sidecar and sidecar.get("file_sha256"):
        digest = file_sha256(path)
        if digest != sidecar["file_sha256"]:
            raise IntegrityError(f"{path}: sha256 {digest[:12]}... differs from its card "
                                 f"({sidecar['file_sha256'][:12]}...); the file was altered or corrupted")
    info = get_session(path, device=device, threads=threads)
    card = ModelCard.from_metadata(info.metadata, source=str(path))
    cls = {"detect": Detector, "embed": Embedder}.get(card.task)
    if cls is None:  # pragma: no cover - ModelCard already validates the task
        raise ModelCardError(f"{path}: unsupported task {card.task!r}")
    return cls(path, card, device=device, threads=threads)
