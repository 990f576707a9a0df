"""The service's typed configuration."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

#: Service roles, each with the actions it may take (admin may do everything).
ROLES = ("operator", "admin")
MODEL_KINDS = ("baggage", "container", "horse-reid")
#: The operator web page shipped with the package (``inspect-cv serve`` serves it at ``/ui``).
UI_DIR = Path(__file__).resolve().parent / "static"


def default_workers() -> int:
    """Worker threads: one per core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_models(spec: str | list[str] | tuple[str, ...]) -> dict[str, str | None]:
    """``"baggage,container=none,horse-reid=/m/reid.onnx"`` -> ``{kind: model or None}``.

    A bare kind uses the bundled model of that name (``container`` falls back to the
    physics only when no bundled ``container`` detector exists); ``=none`` asks for the
    physics only; ``=NAME_OR_PATH`` picks another model.
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: dict[str, str | None] = {}
    for raw in (s.strip() for s in items):
        if not raw:
            continue
        kind, _, model = raw.partition("=")
        kind = kind.strip()
        if kind not in MODEL_KINDS:
            raise ConfigError(f"unknown model kind {kind!r} in --models (use {', '.join(MODEL_KINDS)}, "
                              "optionally as KIND=NAME_OR_PATH)")
        model = model.strip()
        out[kind] = None if model.lower() == "none" else (model or kind)
    if not out:
        raise ConfigError("--models names no model (e.g. --models baggage,container)")
    return out


@dataclass
class ServiceConfig:
    """Everything :func:`~inspect_cv.service.create_app` needs.

    Attributes:
        models: ``{kind: model name / path, or None}`` for ``baggage``, ``container``
            (None: physics only) and ``horse-reid`` (see :func:`parse_models`).
        gallery: horse gallery database (needed with ``horse-reid``; created if missing).
        keys: API keys file; None runs the service open (loopback only).
        audit: SQLite file of the service's own audit log (operator decisions).
        host: the address the server binds (checked: open services bind loopback only).
        workers: inference threads; queue: requests allowed to wait for one (more: 429).
        threads: onnxruntime threads per session (default: cores // workers).
        max_upload_bytes: per request body; max_pixels: decoded values per image.
        timeout_s: per request processing time before a 504.
        face_model: horse face detector ('auto', 'none', a name or path).
        static_dir: a folder served under ``/ui`` (``/`` redirects there), or None; the
            shipped operator page is :data:`UI_DIR` (the CLI's default).
    """

    models: dict[str, str | None] = field(default_factory=lambda: {"baggage": "baggage"})
    gallery: Path | None = None
    keys: Path | None = None
    audit: Path = Path("inspect-cv-audit.db")
    host: str = "127.0.0.1"
    workers: int = field(default_factory=default_workers)
    queue: int | None = None
    threads: int | None = None
    device: str = "auto"
    max_upload_bytes: int = 256 * 1024**2
    max_pixels: int = 120_000_000
    timeout_s: float = 60.0
    face_model: str = "auto"
    static_dir: Path | None = None

    def __post_init__(self) -> None:
        if isinstance(self.models, (str, list, tuple)):
            self.models = parse_models(self.models)
        for name in ("gallery", "keys", "audit", "static_dir"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, Path):
                setattr(self, name, Path(v))
        if self.queue is None:
            self.queue = 2 * self.workers
        if self.workers < 1 or self.queue < 0:
            raise ConfigError(f"workers must be >= 1 and queue >= 0, got {self.workers} and {self.queue}")
        if self.threads is None:
            self.threads = max(1, default_workers() // self.workers)
        for name in ("max_upload_bytes", "max_pixels"):
            if int(getattr(self, name)) <= 0:
                raise ConfigError(f"{name} must be positive")
        if not self.timeout_s > 0:
            raise ConfigError("timeout_s must be positive")
        if "horse-reid" in self.models and self.gallery is None:
            raise ConfigError("the horse-reid model needs a gallery: pass --gallery DB")
        if self.keys is None and not is_loopback(self.host):
            raise ConfigError(
                f"refusing to serve without API keys on {self.host}: without --keys the service "
                "is open and binds to loopback only (127.0.0.1 / ::1). Create keys with "
                "`inspect-cv serve keys add NAME --role operator --keys FILE` and pass --keys FILE")


__all__ = ["ServiceConfig", "UI_DIR", "ROLES", "MODEL_KINDS", "parse_models", "is_loopback", "default_workers"]
