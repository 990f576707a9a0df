"""The FastAPI application: routes, auth, limits, error mapping, metrics.

Every error answer is ``{"error": "<one line>"}``: a bad upload 400 (415 unsupported
format, 413 too large, 422 photo rejected by the quality gate), a missing or unknown key
401, a key without the role 403, a full worker pool 429 (with ``Retry-After``), a request
over its time limit 504, an unusable model 503, and a bug 500 with the exception's type
only (the traceback goes to the server log, never to the client).
"""
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .. import __version__
# No ``from __future__ import annotations`` here: FastAPI reads the route signatures at run time.
from ..errors import (ConfigError, ImageTooLargeError, InputError, InspectCVError, MissingDependencyError,
                      ModelError, PhotoRejectedError, UnsupportedFormatError)
from .audit import AuditLog
from .config import ServiceConfig
from .keys import KeyStore, Principal
from .metrics import CONTENT_TYPE, Metrics
from .models import ModelSet
from .pool import JobTimeoutError, PoolFullError, WorkerPool
from .records import detection_record, parse_manifest, parse_tile

log = logging.getLogger("inspect_cv.service")

OPEN = Principal("anonymous", "admin")  # who acts when the service runs without keys


@dataclass
class ServiceState:
    """What the routes share (``app.state.service``)."""

    config: ServiceConfig
    models: ModelSet
    pool: WorkerPool
    metrics: Metrics
    keys: KeyStore | None
    audit: AuditLog


def _import_fastapi():
    try:
        import fastapi  # noqa: F401
    except ImportError:
        raise MissingDependencyError("fastapi", "serve", "run the HTTP service") from None
    import importlib.util

    if not any(importlib.util.find_spec(m) for m in ("python_multipart", "multipart")):
        raise MissingDependencyError("python-multipart", "serve", "accept uploads")


# ------------------------------------------------------------------------------ helpers
def one_line(text: str, limit: int = 500) -> str:
    """A message as one line of at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def upload_name(filename: str | None, default: str) -> str:
    """A safe display name for an uploaded file: its base name, printable, at most 120 chars."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:120] or default


# first match wins: subclasses before their bases
_STATUS = ((PoolFullError, 429), (JobTimeoutError, 504), (ImageTooLargeError, 413),
           (UnsupportedFormatError, 415), (PhotoRejectedError, 422), ((InputError, ConfigError), 400),
           (MissingDependencyError, 501), (ModelError, 503), (InspectCVError, 400))


def error_status(exc: BaseException) -> int:
    """HTTP status of an exception raised while serving a request (500: not one of ours)."""
    return next((status for types, status in _STATUS if isinstance(exc, types)), 500)


def _decode(data: bytes, name: str, config: ServiceConfig) -> np.ndarray:
    from ..io import decode_image

    return decode_image(data, name, max_pixels=config.max_pixels, max_bytes=config.max_upload_bytes)


def _pair(high: np.ndarray, low: np.ndarray, names: tuple[str, str]) -> np.ndarray:
    """A dual-energy ``(H, W, 2)`` stack of two single-channel images of equal size and type."""
    for arr, name, which in ((high, names[0], "high"), (low, names[1], "low")):
        if arr.ndim != 2:
            raise UnsupportedFormatError(f"the {which}-energy image must have one channel, got shape {arr.shape}",
                                         name)
    if high.shape != low.shape or high.dtype != low.dtype:
        raise InputError(f"dual-energy images differ: high {names[0]} is {high.shape} {high.dtype}, "
                         f"low {names[1]} is {low.shape} {low.dtype}")
    return np.stack([high, low], axis=-1)


# ---------------------------------------------------------------------- worker jobs
def _detect_job(state: ServiceState, kind: str, uploads: list[tuple[bytes, str]], conf, iou, tile) -> dict:
    t0 = time.perf_counter()
    images = [_decode(d, n, state.config) for d, n in uploads]
    image = images[0] if len(images) == 1 else _pair(images[0], images[1], (uploads[0][1], uploads[1][1]))
    record, _, alarm = detection_record(state.models.detectors[kind], image, uploads[0][1], conf, iou, tile)
    if len(uploads) == 2:
        record["low_image"] = uploads[1][1]
    state.metrics.inference.observe(time.perf_counter() - t0, kind)
    if alarm:
        state.metrics.alarms.inc(kind)
    return record


def _container_job(state: ServiceState, uploads: list[tuple[bytes, str]], manifest: tuple[bytes, str] | None,
                   pixel_mm, profile, conf, tile) -> dict:
    from ..container.inspect import inspect_container, read_container_scan

    t0 = time.perf_counter()
    man = parse_manifest(manifest[0], manifest[1]) if manifest is not None else None
    images = [_decode(d, n, state.config) for d, n in uploads]
    scan = read_container_scan(images[0], images[1] if len(images) == 2 else None, pixel_mm=pixel_mm,
                               profile=profile or None)
    scan.path = uploads[0][1]
    if len(uploads) == 2:
        scan.low_path = uploads[1][1]
    insp = inspect_container(scan, state.models.container_detector, man, tile=tile, conf=conf)
    record = insp.to_record()
    state.metrics.inference.observe(time.perf_counter() - t0, "container")
    if record.get("alarm"):
        state.metrics.alarms.inc("container")
    return record


def _gallery(state: ServiceState):
    g = state.models.gallery_for_thread()
    if g is None:  # pragma: no cover - routes check first
        raise ConfigError("the horse-reid model is not served")
    return g


def _enrol_job(state: ServiceState, horse_id: str, photos: list[tuple[bytes, str]], fields: dict, who: str) -> dict:
    images = [_decode(d, n, state.config) for d, n in photos]
    result = _gallery(state).enroll(horse_id, images, operator=who, **fields).to_dict()
    for entry, (_, name) in zip(result.get("photos", []), photos):
        entry["source"] = name
    return result


def _verify_job(state: ServiceState, horse_id: str, photo: tuple[bytes, str], who: str) -> dict:
    image = _decode(*photo, state.config)
    return _gallery(state).verify(horse_id, image, operator=who).to_dict()


def _identify_job(state: ServiceState, photo: tuple[bytes, str], top: int, who: str) -> dict:
    image = _decode(*photo, state.config)
    return _gallery(state).identify(image, top_k=top, operator=who).to_dict()


def _view_job(state: ServiceState, uploads: list[tuple[bytes, str]], level, width, mode: str, max_side: int,
              kind: str):
    from .view import render_view, view_png

    images = [_decode(d, n, state.config) for d, n in uploads]
    image = images[0] if len(images) == 1 else _pair(images[0], images[1], (uploads[0][1], uploads[1][1]))
    view = render_view(image, level, width, mode=mode, max_side=max_side, kind=kind, name=uploads[0][1])
    return view_png(view), view.headers()


def _photo_job(state: ServiceState, horse_id: str) -> bytes | None:
    return _gallery(state).photo(horse_id)


def _list_job(state: ServiceState) -> dict:
    g = _gallery(state)
    cal = g.calibration()
    return {"horses": g.list(), "calibration": cal.to_dict() if cal else None}


def _remove_job(state: ServiceState, horse_id: str, who: str) -> dict:
    n = _gallery(state).remove(horse_id, operator=who)
    return {"removed": horse_id, "embeddings": n}


# ----------------------------------------------------------------------- middleware
class _BodyLimit:
    """Refuse request bodies over ``max_bytes``: by the declared Content-Length before
    reading, and by counting the bytes that actually arrive (chunked uploads)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from starlette.exceptions import HTTPException
        from starlette.responses import JSONResponse

        message = f"request body is over the limit of {self.max_bytes:,} bytes"
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    declared = -1
                if declared < 0:
                    return await JSONResponse({"error": "bad Content-Length header"}, 400)(scope, receive, send)
                if declared > self.max_bytes:
                    return await JSONResponse({"error": message}, 413,
                                              headers={"Connection": "close"})(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, message)
            return msg

        await self.app(scope, counted, send)


class _EarlyAuth:
    """Refuse a request with a missing or unknown key before its body is read (uploads of
    strangers are never parsed); the role check stays with each route."""

    def __init__(self, app, keys: KeyStore, metrics: Metrics):
        self.app, self.keys, self.metrics = app, keys, metrics

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/"):
            return await self.app(scope, receive, send)
        from starlette.responses import JSONResponse

        headers = dict(scope.get("headers", []))
        key = headers.get(b"x-api-key", b"").decode("latin-1")
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if self.keys.check(key) is None:
            self.metrics.auth_failures.inc(401)
            return await JSONResponse({"error": "missing or unknown API key (send X-API-Key: KEY)"}, 401,
                                      headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
        await self.app(scope, receive, send)


class _Observe:
    """Request id header, request counter and latency histogram per route template."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid
        status = [500]
        t0 = time.perf_counter()

        async def send_wrapped(msg):
            if msg["type"] == "http.response.start":
                status[0] = msg["status"]
                msg = {**msg, "headers": list(msg.get("headers", [])) + [(b"x-request-id", rid.encode())]}
            await send(msg)

        try:
            await self.app(scope, receive, send_wrapped)
        finally:
            route = getattr(scope.get("route"), "path", None) or "other"
            self.metrics.requests.inc(route, status[0])
            self.metrics.latency.observe(time.perf_counter() - t0, route)


# ------------------------------------------------------------------------------- app
def create_app(config: ServiceConfig, models: ModelSet | None = None):
    """Build the FastAPI app for ``config``; ``models`` overrides loading (tests, embedding).

    Routes: ``POST /v1/detect``, ``POST /v1/scan-container``, ``POST /v1/horses`` (enrol),
    ``GET /v1/horses``, ``DELETE /v1/horses/{id}``, ``POST /v1/horses/{id}/verify``,
    ``POST /v1/horses/identify``, ``GET /v1/horses/{id}/photo``, ``POST|GET /v1/decisions``,
    ``POST /v1/view`` (a windowed PNG of a raw scan for the web page), ``GET /v1/models``,
    ``GET /healthz``, ``GET /metrics``; OpenAPI at ``/openapi.json`` and ``/docs``;
    ``config.static_dir`` served under ``/ui`` (and ``/`` redirects there).
    """
    _import_fastapi()
    from typing import Literal

    from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
    from fastapi.security import APIKeyHeader
    from pydantic import BaseModel, Field
    from starlette.exceptions import HTTPException

    keys = KeyStore(config.keys) if config.keys is not None else None
    models = models if models is not None else ModelSet.load(config)
    pool = WorkerPool(config.workers, config.queue)
    metrics = Metrics()
    audit = AuditLog(config.audit)
    state = ServiceState(config, models, pool, metrics, keys, audit)
    metrics.gauge("inspect_cv_pool_running", "Jobs running in the worker pool", lambda: pool.stats()["running"])
    metrics.gauge("inspect_cv_pool_waiting", "Jobs waiting for a worker", lambda: pool.stats()["waiting"])
    metrics.gauge("inspect_cv_pool_workers", "Worker threads", lambda: pool.workers)
    metrics.gauge("inspect_cv_pool_rejected_total", "Requests refused with 429 (pool full)",
                  lambda: pool.stats()["rejected"])
    metrics.gauge("inspect_cv_pool_timed_out_total", "Requests over their time limit (504)",
                  lambda: pool.stats()["timed_out"])

    @asynccontextmanager
    async def lifespan(app):
        yield
        pool.shutdown(wait=False)

    app = FastAPI(title="inspect-cv", version=__version__, lifespan=lifespan,
                  description="Inspection station service: baggage detection, container inspection, "
                              "horse identity. Errors are {\"error\": \"...\"}.")
    app.state.service = state

    # -- errors: always one line of JSON --------------------------------------------
    def error_response(status: int, message: str, headers: dict | None = None):
        return JSONResponse({"error": one_line(message)}, status, headers=headers)

    @app.exception_handler(HTTPException)
    async def _http_error(request, exc):
        return error_response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request, exc):
        parts = []
        for e in exc.errors()[:3]:
            loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path", "form"))
            parts.append(f"{loc}: {e.get('msg', 'invalid')}" if loc else e.get("msg", "invalid"))
        return error_response(422, "; ".join(parts) or "invalid request")

    @app.exception_handler(InspectCVError)
    async def _inspect_error(request, exc):
        return error_response(error_status(exc), str(exc))

    @app.exception_handler(PoolFullError)
    async def _busy(request, exc):
        return error_response(429, str(exc), {"Retry-After": "1"})

    @app.exception_handler(JobTimeoutError)
    async def _timeout(request, exc):
        return error_response(504, str(exc))

    @app.exception_handler(Exception)
    async def _bug(request, exc):
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, f"internal error ({type(exc).__name__}); see the server log")

    app.add_middleware(_BodyLimit, max_bytes=config.max_upload_bytes)
    if keys is not None:
        app.add_middleware(_EarlyAuth, keys=keys, metrics=metrics)
    app.add_middleware(_Observe, metrics=metrics)

    # -- auth --------------------------------------------------------------------------
    api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                                  description="API key (or send it as 'Authorization: Bearer KEY')")

    def needs(role: str):
        def check(request: Request, api_key: Optional[str] = Depends(api_key_header)) -> Principal:
            if keys is None:
                return OPEN
            key = api_key
            auth = request.headers.get("authorization", "")
            if not key and auth.lower().startswith("bearer "):
                key = auth[7:].strip()
            who = keys.check(key)
            if who is None:  # normally refused earlier by _EarlyAuth
                raise HTTPException(401, "missing or unknown API key (send X-API-Key: KEY)",
                                    headers={"WWW-Authenticate": "Bearer"})
            if not who.may(role):
                metrics.auth_failures.inc(403)
                raise HTTPException(403, f"key '{who.name}' has role {who.role}; this needs {role}")
            return who
        return check

    operator, admin = needs("operator"), needs("admin")

    async def read_upload(upload: UploadFile, default: str) -> tuple[bytes, str]:
        pool.check_room()  # refuse (429) before loading the upload into memory
        data = await upload.read()
        return data, upload_name(upload.filename, default)

    def given(upload: Optional[UploadFile]) -> bool:
        """An optional file field that was really sent (HTML forms send empty ones)."""
        return upload is not None and bool(upload.filename or upload.size)

    def require(ok: bool, what: str) -> None:
        if not ok:
            raise HTTPException(404, f"this service does not run the {what} model (see GET /v1/models)")

    def check_unit(name: str, value: float | None) -> None:
        if value is not None and not 0 <= value <= 1:
            raise HTTPException(400, f"{name} must lie in [0, 1], got {value}")

    # -- routes ------------------------------------------------------------------------
    @app.get("/healthz", tags=["service"])
    async def healthz() -> dict:
        """Liveness: always 200 while the process serves; says what is loaded."""
        return {"status": "ok", "version": __version__, "models": [m["kind"] for m in models.summary()],
                "auth": "keys" if keys is not None else "open", "pool": pool.stats()}

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        """Prometheus metrics (text exposition format 0.0.4)."""
        return PlainTextResponse(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/v1/models", tags=["service"])
    async def list_served_models(who: Principal = Depends(operator)) -> dict:
        """The models this service runs."""
        return {"models": models.summary()}

    @app.post("/v1/detect", tags=["inspection"])
    async def detect(file: UploadFile = File(..., description="scan: PNG, JPEG, TIFF, DICOM (or the high-energy image)"),
                     low: Optional[UploadFile] = File(None, description="low-energy image of a dual-energy pair"),
                     model: Optional[str] = Form(None, description="which detection model (default: the first)"),
                     conf: Optional[float] = Form(None), iou: Optional[float] = Form(None),
                     tile: str = Form("auto"), who: Principal = Depends(operator)) -> dict:
        """Detect objects in one scan: the ``inspect-cv detect`` JSON object."""
        require(bool(models.detectors), "detection")
        kind = model or next(iter(models.detectors))
        if kind not in models.detectors:
            raise HTTPException(404, f"no detection model {kind!r} here (served: {', '.join(models.detectors)})")
        check_unit("conf", conf)
        check_unit("iou", iou)
        tile_v = parse_tile(tile)
        uploads = [await read_upload(file, "upload")]
        if given(low):
            uploads.append(await read_upload(low, "upload-low"))
        return await pool.run(_detect_job, state, kind, uploads, conf, iou, tile_v, timeout=config.timeout_s)

    @app.post("/v1/scan-container", tags=["inspection"])
    async def scan_container(file: UploadFile = File(..., description="2-channel TIFF, or the high-energy image"),
                             low: Optional[UploadFile] = File(None, description="low-energy image"),
                             manifest: Optional[UploadFile] = File(None, description="manifest JSON"),
                             pixel_mm: Optional[float] = Form(None), profile: Optional[str] = Form(None),
                             conf: Optional[float] = Form(None), tile: str = Form("auto"),
                             who: Principal = Depends(operator)) -> dict:
        """Inspect one container scan: the ``inspect-cv scan-container`` JSON object."""
        require(models.container, "container")
        check_unit("conf", conf)
        tile_v = parse_tile(tile)
        uploads = [await read_upload(file, "upload")]
        if given(low):
            uploads.append(await read_upload(low, "upload-low"))
        man = await read_upload(manifest, "manifest") if given(manifest) else None
        return await pool.run(_container_job, state, uploads, man, pixel_mm, profile, conf, tile_v,
                              timeout=config.timeout_s)

    @app.post("/v1/view", tags=["inspection"], response_class=Response,
              responses={200: {"content": {"image/png": {}}, "description": "the view; its numbers in X- headers"}})
    async def view(file: UploadFile = File(..., description="scan: PNG, JPEG, TIFF, DICOM (or the high-energy image)"),
                   low: Optional[UploadFile] = File(None, description="low-energy image of a dual-energy pair"),
                   level: Optional[float] = Form(None, description="window centre, in the image's stored units"),
                   width: Optional[float] = Form(None, description="window width, in the image's stored units"),
                   mode: Literal["auto", "grey", "colour"] = Form("auto"),
                   max_side: int = Form(2048, description="longest side of the view, 16..8192 px"),
                   kind: Literal["baggage", "container"] = Form("baggage", description="pseudo-colour table"),
                   who: Principal = Depends(operator)) -> Response:
        """A display PNG of a raw scan: downscaled to ``max_side``, windowed on the stored
        (e.g. 16-bit) values, grey or dual-energy pseudo-colour. Headers: ``X-Image-Width``,
        ``X-Image-Height`` (original), ``X-View-Scale`` (view px per original px),
        ``X-Value-Min`` / ``X-Value-Max``, ``X-Window-Level`` / ``X-Window-Width`` (used),
        ``X-Window-Default-Level`` / ``X-Window-Default-Width``, ``X-View-Mode``,
        ``X-View-Source`` (grey, rgb or dual)."""
        uploads = [await read_upload(file, "upload")]
        if given(low):
            uploads.append(await read_upload(low, "upload-low"))
        png, headers = await pool.run(_view_job, state, uploads, level, width, mode, max_side, kind,
                                      timeout=config.timeout_s)
        return Response(png, media_type="image/png", headers={**headers, "Cache-Control": "no-store"})

    @app.get("/v1/horses/{horse_id}/photo", tags=["horses"], response_class=Response,
             responses={200: {"content": {"image/jpeg": {}}, "description": "JPEG thumbnail"}})
    async def horse_photo(horse_id: str, who: Principal = Depends(operator)) -> Response:
        """The JPEG thumbnail of the horse's first enrolled face (404 when none is stored)."""
        require(models.embedder is not None, "horse-reid")
        data = await pool.run(_photo_job, state, horse_id, timeout=config.timeout_s)
        if data is None:
            raise HTTPException(404, f"no enrolment photo stored for horse '{one_line(horse_id, 80)}'")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})

    @app.post("/v1/horses", tags=["horses"], status_code=201)
    async def enrol(id: str = Form(..., description="horse id (e.g. UELN)"),
                    photos: list[UploadFile] = File(..., description="face photos"),
                    name: Optional[str] = Form(None), passport: Optional[str] = Form(None),
                    microchip: Optional[str] = Form(None), notes: Optional[str] = Form(None),
                    who: Principal = Depends(admin)) -> dict:
        """Enrol a horse or add photos to it (admin): the ``inspect-cv horse enroll --json`` object."""
        require(models.embedder is not None, "horse-reid")
        if len(photos) > 32:
            raise HTTPException(400, f"at most 32 photos per enrolment, got {len(photos)}")
        data = [await read_upload(p, f"photo{i}") for i, p in enumerate(photos)]
        fields = dict(name=name, passport=passport, microchip=microchip, notes=notes)
        return await pool.run(_enrol_job, state, id, data, fields, who.name, timeout=config.timeout_s)

    @app.get("/v1/horses", tags=["horses"])
    async def list_horses(who: Principal = Depends(operator)) -> dict:
        """Enrolled horses."""
        require(models.embedder is not None, "horse-reid")
        return await pool.run(_list_job, state, timeout=config.timeout_s)

    @app.delete("/v1/horses/{horse_id}", tags=["horses"])
    async def remove_horse(horse_id: str, who: Principal = Depends(admin)) -> dict:
        """Remove a horse and its embeddings (admin; audit rows stay)."""
        require(models.embedder is not None, "horse-reid")
        return await pool.run(_remove_job, state, horse_id, who.name, timeout=config.timeout_s)

    @app.post("/v1/horses/identify", tags=["horses"])
    async def identify(photo: UploadFile = File(...), top: int = Form(5, ge=1, le=100),
                       who: Principal = Depends(operator)) -> dict:
        """1:N: which enrolled horse is this? The ``inspect-cv horse identify --json`` object."""
        require(models.embedder is not None, "horse-reid")
        data = await read_upload(photo, "photo")
        return await pool.run(_identify_job, state, data, top, who.name, timeout=config.timeout_s)

    @app.post("/v1/horses/{horse_id}/verify", tags=["horses"])
    async def verify(horse_id: str, photo: UploadFile = File(...), who: Principal = Depends(operator)) -> dict:
        """1:1: is this the horse ``horse_id``? The ``inspect-cv horse verify --json`` object."""
        require(models.embedder is not None, "horse-reid")
        data = await read_upload(photo, "photo")
        return await pool.run(_verify_job, state, horse_id, data, who.name, timeout=config.timeout_s)

    class Decision(BaseModel):
        """An operator's decision on one inspected item."""

        item: str = Field(..., min_length=1, max_length=256, description="scan / container / horse id")
        decision: Literal["clear", "hold"]
        kind: Literal["baggage", "container", "horse", "other"] = "other"
        note: Optional[str] = Field(None, max_length=2000)
        request_id: Optional[str] = Field(None, max_length=64,
                                          description="X-Request-ID of the inspection answered")

    @app.post("/v1/decisions", tags=["audit"], status_code=201)
    async def decide(body: Decision, request: Request, who: Principal = Depends(operator)) -> dict:
        """Record an operator's clear / hold decision in the audit log (with the key's name)."""
        row = await pool.run(audit.record, who.name, who.role, body.kind, body.item, body.decision, body.note,
                             body.request_id, {"via": request.scope.get("state", {}).get("request_id")},
                             timeout=config.timeout_s)
        metrics.decisions.inc(body.decision)
        return row

    @app.get("/v1/decisions", tags=["audit"])
    async def decisions(limit: int = 100, item: Optional[str] = None, who: Principal = Depends(admin)) -> dict:
        """Recorded decisions, newest first (admin)."""
        if not 1 <= limit <= 10000:
            raise HTTPException(400, f"limit must lie in 1..10000, got {limit}")
        return {"decisions": await pool.run(audit.entries, limit, item, timeout=config.timeout_s)}

    if config.static_dir is not None:
        from fastapi.staticfiles import StaticFiles

        if not config.static_dir.is_dir():
            raise ConfigError(f"{config.static_dir}: the static folder does not exist")
        app.mount("/ui", StaticFiles(directory=str(config.static_dir), html=True), name="ui")

        @app.get("/", include_in_schema=False)
        async def root() -> RedirectResponse:
            return RedirectResponse("/ui/", status_code=307)
    return app


__all__ = ["create_app", "ServiceState", "error_status", "one_line", "upload_name"]
