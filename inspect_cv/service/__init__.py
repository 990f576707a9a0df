"""``inspect-cv serve``: the inspection station's HTTP service.

Importing this package imports no web stack: FastAPI is imported by :func:`create_app`
(the ``serve`` extra). Modules: :mod:`.config` (:class:`ServiceConfig`), :mod:`.keys`
(hashed API keys with roles), :mod:`.pool` (bounded worker pool, back-pressure),
:mod:`.metrics` (Prometheus text), :mod:`.audit` (decision log), :mod:`.models`
(models loaded once and shared), :mod:`.app` (routes), :mod:`.records` (JSON objects
shared with the CLI).
"""
from __future__ import annotations

from .config import ServiceConfig


def create_app(config: ServiceConfig, models=None):
    """The FastAPI application for ``config`` (see :func:`inspect_cv.service.app.create_app`)."""
    from .app import create_app as _create

    return _create(config, models)


__all__ = ["ServiceConfig", "create_app"]
