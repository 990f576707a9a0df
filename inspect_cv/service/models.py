"""The models a service holds: loaded once at start, shared by every worker thread.

onnxruntime sessions are cached one per file by :mod:`inspect_cv.runtime.session` and
``InferenceSession.run`` is safe to call from several threads, so one Detector /
Embedder object serves all workers. The horse gallery is SQLite and a
:class:`~inspect_cv.reid.gallery.Gallery` belongs to one thread, so each worker thread
opens its own (sharing the embedder).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .config import ServiceConfig


@dataclass
class ModelSet:
    """Loaded models by kind.

    ``detectors``: detection models for ``/v1/detect`` (kind -> Detector);
    ``container``: True when container inspection is served, with ``container_detector``
    (None: physics verdicts only); ``embedder`` + ``gallery`` for the horse routes.
    """

    detectors: dict[str, Any] = field(default_factory=dict)
    container: bool = False
    container_detector: Any = None
    embedder: Any = None
    gallery: Path | None = None
    face: Any = None
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @classmethod
    def load(cls, config: ServiceConfig) -> "ModelSet":
        """Load what ``config.models`` names (errors name the model)."""
        from ..runtime.registry import list_models, load

        kw = dict(device=config.device, threads=config.threads)
        out = cls(gallery=config.gallery)
        for kind, spec in config.models.items():
            if kind == "baggage":
                out.detectors[kind] = _expect(load(spec, **kw), "detect", kind)
            elif kind == "container":
                out.container = True
                bundled = {m.name for m in list_models()}
                if spec is not None and not (spec == "container" and "container" not in bundled):
                    out.container_detector = _expect(load(spec, **kw), "detect", kind)
            elif kind == "horse-reid":
                out.embedder = _expect(load(spec, **kw), "embed", kind)
                out.face = _face_model(config.face_model)
        if out.embedder is not None:
            from ..reid.gallery import Gallery

            # create the gallery now and check it was enrolled with this embedder
            Gallery(config.gallery, model=out.embedder, detector=out.face, create=True).close()
        return out

    def gallery_for_thread(self):
        """This thread's Gallery (opened on first use, kept for the thread's life)."""
        if self.embedder is None or self.gallery is None:
            return None
        g = getattr(self._local, "gallery", None)
        if g is None:
            from ..reid.gallery import Gallery

            g = Gallery(self.gallery, model=self.embedder, detector=self.face, create=True)
            self._local.gallery = g
        return g

    def summary(self) -> list[dict]:
        """One entry per served kind: ``{"kind", "name", "task", "version", "classes", ...}``."""
        rows = [_describe(k, d) for k, d in self.detectors.items()]
        if self.container:
            row = _describe("container", self.container_detector) if self.container_detector is not None else \
                {"kind": "container", "name": "none", "task": "physics", "version": None, "classes": []}
            rows.append(row)
        if self.embedder is not None:
            rows.append({**_describe("horse-reid", self.embedder), "gallery": str(self.gallery)})
        return rows


def _expect(model, task: str, kind: str):
    got = getattr(getattr(model, "card", None), "task", None)
    if got != task:
        raise ConfigError(f"the {kind} model must be a {task!r} model, {getattr(model, 'path', model)} is {got!r}")
    return model


def _face_model(spec: str | None):
    from ..cli.horse import _face_detector

    return _face_detector(spec)


def _describe(kind: str, model) -> dict:
    card = getattr(model, "card", None)
    if card is None:  # a stand-in object (tests)
        return {"kind": kind, "name": type(model).__name__, "task": None, "version": None, "classes": []}
    return {"kind": kind, "name": card.name, "task": card.task, "version": card.version,
            "classes": list(card.classes), "input_size": list(card.input_size),
            "embedding_dim": card.embedding_dim, "weights_sha256": card.weights_sha256 or None}


__all__ = ["ModelSet"]
