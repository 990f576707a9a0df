"""A horse gallery: enrol, verify (1:1), identify (1:N), audit, calibrate; SQLite storage.

Storage (one SQLite file, WAL journal, ``synchronous=FULL`` by default):

- ``meta``: schema version, the embedding model (name, card ``weights_sha256``, dim),
  scoring rule and a ``gallery_version`` counter bumped by every enrol / remove;
- ``horses``: id, name, passport, microchip, notes, created, updated;
- ``embeddings``: horse_id, vector (float32 BLOB), photo_sha256, created, quality (JSON);
- ``audit``: time, action, horse_id, result, score, threshold, operator, details (JSON);
- ``calibration``: threshold, target FAR, measured FAR / TAR, numbers of pairs, created;
- ``thumbnails``: horse_id, a small JPEG (<= :data:`THUMB_SIDE` px) of the first enrolled
  face crop, for people to see whom a match names (created by the first enrolment that
  writes one, so galleries made before it still open; :meth:`Gallery.photo`).

Each enrolment is one ``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction: a crash (even
SIGKILL) mid-enrolment leaves either the whole enrolment or none of it, and never
touches horses enrolled before. Readers in other processes keep working during writes
(WAL). Embeddings of a different model are refused: the model's weights hash is pinned
in ``meta`` by the first enrolment.

Scoring: cosine similarity of L2-normalised embeddings. A gallery scores a horse against a
probe by one rule, fixed when the gallery is created and kept in its ``meta``:

- ``"mean"`` (new galleries): the cosine with the horse's **template**, the normalised mean of
  its enrolment embeddings. Averaging the enrolment photos (different light, pose, halter)
  keeps what is the horse and averages out what is the day: on held-out synthetic horses with
  four enrolment photos each (horse-reid v0.0.4), rank-1 0.935 against 0.912 for ``"max"``, TAR at FAR 0.1 %
  0.827 against 0.768 (``benchmarks/results/horse_templates.md``).
- ``"max"`` (galleries made before): the best cosine over the horse's enrolment embeddings.

A gallery may also be created with a score *cohort* (``cohort=``: embeddings of other
individuals, e.g. training identities, by the same model): every score is then the AS-norm of
the cosine (:class:`~inspect_cv.reid.scorenorm.CohortNorm`), a z-score against what each side
scores with its nearest strangers, which raises the true-accept rate at a fixed FAR
(DogFaceNet: ``benchmarks/results/reid_dogfacenet_asnorm.md``). The cohort is stored in the
gallery (schema version 2, which older inspect-cv refuses rather than misread) and fixed when
the gallery is created, like the scoring rule; thresholds are then in AS-norm units, so
calibrate such a gallery before use.

:meth:`Gallery.calibrate` measures impostor and genuine scores with the gallery's own rule and
several enrolment photos per identity, so the calibrated FAR holds for galleries enrolled the
same way.

Identification keeps the scoring rows (one template per horse, or every enrolment embedding
under ``"max"``) in an in-memory float32 matrix (loaded once, reloaded only when
``gallery_version`` changed, which is checked cheaply through ``PRAGMA data_version``): one
matrix-vector product, then ``argpartition`` of the row scores; the top-K horses are the first
K distinct owners of the best-scoring rows, so no per-horse reduction over all rows is needed.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import InputError, ModelError
from ..evaluation.reid import identity_scores
from .quality import PhotoRejectedError, QualityConfig, check_photo

SCHEMA_VERSION = 2  # the newest this code reads; 2 = a gallery with a score cohort
_PLAIN_SCHEMA = 1  # what a gallery without a cohort is written as (older inspect-cv reads it)
DEFAULT_THRESHOLD = 0.5  # used until the gallery is calibrated (reported with far=None)
DEFAULT_NORM_THRESHOLD = 3.7  # the same in AS-norm units (with a cohort): FAR 0.1 % on the DogFaceNet validation dogs, top 400
SCORING = "mean"  # of new galleries
LEGACY_SCORING = "max"  # a gallery whose meta names no rule (made before there was a choice)
SCORINGS = ("max", "mean")
THUMB_SIDE = 160  # longest side of the stored enrolment thumbnail, pixels

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS horses (
    id TEXT PRIMARY KEY, name TEXT, passport TEXT, microchip TEXT, notes TEXT,
    created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS embeddings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    horse_id TEXT NOT NULL REFERENCES horses(id) ON DELETE CASCADE,
    vector BLOB NOT NULL, photo_sha256 TEXT, created TEXT NOT NULL, quality TEXT);
CREATE INDEX IF NOT EXISTS embeddings_horse ON embeddings(horse_id);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, action TEXT NOT NULL,
    horse_id TEXT, result TEXT, score REAL, threshold REAL, operator TEXT, details TEXT);
CREATE TABLE IF NOT EXISTS calibration (
    id INTEGER PRIMARY KEY AUTOINCREMENT, threshold REAL NOT NULL, target_far REAL NOT NULL,
    far REAL, tar REAL, n_genuine INTEGER, n_impostor INTEGER, created TEXT NOT NULL, details TEXT);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------

@dataclass
class EnrolResult:
    horse_id: str
    added: int
    total: int
    created: bool
    warnings: list[str] = field(default_factory=list)
    similar: list[dict] = field(default_factory=list)  # [{"horse_id", "name", "score"}], other horses
    photos: list[dict] = field(default_factory=list)   # per photo: sha256, quality

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class VerifyResult:
    match: bool
    score: float
    threshold: float
    far: float | None  # target FAR the threshold was calibrated for; None: uncalibrated default
    horse_id: str
    name: str | None = None
    calibrated: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Candidate:
    horse_id: str
    name: str | None
    score: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class IdentifyResult:
    candidates: list[Candidate]
    unknown: bool
    threshold: float
    far: float | None
    calibrated: bool = False

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def to_dict(self) -> dict:
        return {"unknown": self.unknown, "best": None if self.unknown or not self.best else self.best.horse_id,
                "candidates": [c.to_dict() for c in self.candidates], "threshold": self.threshold,
                "far": self.far, "calibrated": self.calibrated}


@dataclass
class Calibration:
    threshold: float
    target_far: float
    far: float
    tar: float
    n_genuine: int
    n_impostor: int
    created: str = ""
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ModelInfo:
    """Identity of the embedding model a gallery is pinned to."""

    name: str
    weights_sha256: str
    dim: int

    @classmethod
    def of(cls, embedder) -> "ModelInfo":
        card = embedder.card
        return cls(str(card.name), str(card.weights_sha256 or ""), int(card.embedding_dim or 0))


# --------------------------------------------------------------------------------------
# in-memory index
# --------------------------------------------------------------------------------------

class _Index:
    """Scoring rows as one growable float32 matrix with the owner (horse) of each row: every
    enrolment embedding (``scoring="max"``) or one template per horse (``"mean"``: the normalised
    sum of its enrolment embeddings, kept as a running sum)."""

    def __init__(self, dim: int, capacity: int = 1024, scoring: str = SCORING, norm=None):
        self.dim = dim
        self.scoring = scoring
        self.norm = norm  # CohortNorm or None: row stats (mu, sd) kept beside the rows
        self.mu = np.zeros(capacity if norm is not None else 0)
        self.sd = np.ones(capacity if norm is not None else 0)
        self.vectors = np.zeros((capacity, dim), np.float32)
        self.owner = np.zeros(capacity, np.int64)
        self.sums = np.zeros((capacity if scoring == "mean" else 0, dim), np.float64)
        self.n = 0
        self.horse_ids: list[str] = []
        self.names: list[str | None] = []
        self.slot: dict[str, int] = {}

    def _grow(self, need: int) -> None:
        cap = len(self.vectors)
        if need <= cap:
            return
        new = max(need, cap * 2)
        v = np.zeros((new, self.dim), np.float32)
        v[: self.n] = self.vectors[: self.n]
        o = np.zeros(new, np.int64)
        o[: self.n] = self.owner[: self.n]
        self.vectors, self.owner = v, o
        if self.norm is not None:
            mu, sd = np.zeros(new), np.ones(new)
            mu[: self.n], sd[: self.n] = self.mu[: self.n], self.sd[: self.n]
            self.mu, self.sd = mu, sd
        if self.scoring == "mean":
            t = np.zeros((new, self.dim), np.float64)
            t[: self.n] = self.sums[: self.n]
            self.sums = t

    def horse_slot(self, horse_id: str, name: str | None) -> int:
        s = self.slot.get(horse_id)
        if s is None:
            s = self.slot[horse_id] = len(self.horse_ids)
            self.horse_ids.append(horse_id)
            self.names.append(name)
        elif name is not None:
            self.names[s] = name
        return s

    def add(self, horse_id: str, name: str | None, vectors: np.ndarray) -> None:
        s = self.horse_slot(horse_id, name)
        if self.scoring == "mean":  # row s is horse s's template
            if s == self.n:
                self._grow(self.n + 1)
                self.owner[s] = s
                self.n += 1
            self.sums[s] += np.asarray(vectors, np.float64).sum(axis=0)
            self.vectors[s] = self.sums[s] / max(float(np.linalg.norm(self.sums[s])), 1e-12)
            self._row_stats(s, s + 1)
            return
        k = len(vectors)
        self._grow(self.n + k)
        self.vectors[self.n:self.n + k] = vectors
        self.owner[self.n:self.n + k] = s
        self.n += k
        self._row_stats(self.n - k, self.n)

    def _row_stats(self, a: int, b: int) -> None:
        if self.norm is not None and b > a:
            self.mu[a:b], self.sd[a:b] = self.norm.stats(self.vectors[a:b])

    def row_scores(self, q: np.ndarray) -> np.ndarray:
        """Each row's score against probe ``q``: cosine, or its AS-norm with a cohort."""
        raw = self.vectors[: self.n] @ q
        if self.norm is None:
            return raw
        rows = (self.mu[: self.n], self.sd[: self.n])
        return self.norm.normalise(raw[None], self.norm.stats(np.asarray(q)[None]), rows)[0]

    def top_horses(self, scores: np.ndarray, k: int, exclude: int | None = None) -> list[tuple[int, float]]:
        """The ``k`` best horses (slot, max row score), best first."""
        n = len(scores)
        if n == 0 or k <= 0:
            return []
        owner = self.owner[: self.n]
        m = min(n, max(4 * k, 32))
        while True:
            if m >= n:
                idx = np.argsort(-scores, kind="stable")
            else:
                part = np.argpartition(-scores, m - 1)[:m]
                idx = part[np.argsort(-scores[part], kind="stable")]
            out: list[tuple[int, float]] = []
            seen: set[int] = set()
            for i in idx:
                o = int(owner[i])
                if o == exclude or o in seen:
                    continue
                seen.add(o)
                out.append((o, float(scores[i])))
                if len(out) == k:
                    return out
            if m >= n:
                return out
            m = min(n, m * 4)

    def horse_score(self, scores: np.ndarray, slot: int) -> float | None:
        mask = self.owner[: self.n] == slot
        return float(scores[mask].max()) if mask.any() else None


# --------------------------------------------------------------------------------------
# gallery
# --------------------------------------------------------------------------------------

class Gallery:
    """A horse identity gallery in one SQLite file.

    Args:
        path: the database file (created when missing, unless ``create=False``).
        model: the embedding model: a bundled name (``"horse-reid"``), an ``.onnx`` path, a
            loaded Embedder, a :class:`ModelInfo` (embeddings-only use) or None (use the model
            recorded in the gallery; only embeddings can then be given, not photos).
            Names and paths are loaded when the gallery is opened, and refused if the
            gallery already holds embeddings of another model.
        detector: optional face detector (or a model name / path); photos are then full
            scenes and the best face is cropped; without it photos are face crops.
        quality: thresholds of the enrolment quality gate.
        scoring: how a horse is scored against a probe, ``"mean"`` (its template) or ``"max"``
            (its best enrolment photo); used when the gallery is created (default ``"mean"``),
            refused if it differs from an existing gallery's. None: the gallery's own.
        create: create the database when it does not exist.
        synchronous: SQLite ``synchronous`` setting, ``"FULL"`` (default: a committed
            enrolment survives power loss) or ``"NORMAL"`` (survives process crashes only).
        timeout: seconds to wait for another writer's lock.
        cohort: score cohort for AS-norm (a :class:`~inspect_cv.reid.scorenorm.CohortNorm` or an
            embeddings ``.npz`` of the same model, with ``cohort_k`` top scores): stored when the gallery is created
            (or while it is still empty and uncalibrated) and used by every score after that;
            refused if it differs from the gallery's. None: the gallery's own, if any.

    One ``Gallery`` object is meant for one thread; open one per thread or process.
    """

    def __init__(self, path: str | Path, model: Any = None, *, detector: Any = None,
                 quality: QualityConfig = QualityConfig(), scoring: str | None = None, create: bool = True,
                 synchronous: str = "FULL", timeout: float = 30.0, cohort: Any = None, cohort_k: int = 100):
        self.path = Path(path)
        if scoring is not None and scoring not in SCORINGS:
            raise InputError(f"scoring must be one of {', '.join(SCORINGS)}, got {scoring!r}")
        self.quality = quality
        self._model_spec = model
        self._embedder = None if isinstance(model, (str, Path, ModelInfo, type(None))) else model
        self._detector_spec = detector
        self._detector = None if isinstance(detector, (str, Path, type(None))) else detector
        if not create and not self.path.exists():
            raise InputError("no such gallery (enrol a horse first, or check --gallery)", self.path)
        if self.path.is_dir():
            raise InputError("is a folder, not a gallery database file", self.path)
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise InputError(f"synchronous must be FULL, NORMAL or EXTRA, got {synchronous!r}")
        if not self.path.parent.exists():
            raise InputError("the gallery's folder does not exist", self.path.parent)
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._init_schema(scoring or SCORING)
        except sqlite3.DatabaseError as e:
            raise InputError(f"not a usable gallery database ({e})", self.path) from None
        self._index: _Index | None = None
        self._index_version: str | None = None
        self._data_version: int | None = None
        self._meta = self._read_meta()
        if scoring is not None and scoring != self.scoring:
            self.conn.close()
            raise InputError(f"this gallery scores horses by {self.scoring!r}, not {scoring!r} (fixed when it was "
                             "created)", self.path)
        try:
            if isinstance(model, ModelInfo):
                self._check_model(model)
            elif model is not None:
                self.embedder()  # loads a name / path and checks it against the pinned model
            self._norm = self._setup_cohort(cohort, cohort_k)
        except BaseException:
            self.conn.close()
            raise

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Gallery":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Gallery('{self.path}', model={self._meta.get('model_name') or None!r})"

    # -- schema and meta ---------------------------------------------------------------
    def _init_schema(self, scoring: str) -> None:
        row = None
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.OperationalError:
            pass
        if row is not None:
            version = int(row[0])
            if version > SCHEMA_VERSION:
                raise InputError(f"gallery schema version {version} is newer than this inspect-cv supports "
                                 f"({SCHEMA_VERSION}); upgrade inspect-cv", self.path)
            return
        with self._write():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            now = _now()
            for key, value in (("schema_version", str(_PLAIN_SCHEMA)), ("created", now), ("scoring", scoring),
                               ("gallery_version", "0")):
                self.conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))

    @property
    def scoring(self) -> str:
        """``"mean"`` (templates) or ``"max"`` (best enrolment photo): see the module notes."""
        return self._meta.get("scoring", LEGACY_SCORING)

    def _read_meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    @property
    def model_info(self) -> ModelInfo | None:
        """The model the gallery's embeddings come from (None while it is empty)."""
        m = self._read_meta()
        if "dim" not in m:
            return None
        return ModelInfo(m.get("model_name", ""), m.get("model_sha256", ""), int(m["dim"]))

    def _check_model(self, info: ModelInfo) -> None:
        pinned = self.model_info
        if pinned is None:
            return
        same = (info.dim == pinned.dim and
                (info.weights_sha256 == pinned.weights_sha256 if (info.weights_sha256 or pinned.weights_sha256)
                 else info.name == pinned.name))
        if not same:
            raise ModelError(
                f"{self.path}: the gallery holds embeddings of model '{pinned.name}' "
                f"(weights {pinned.weights_sha256[:12] or '?'}..., dim {pinned.dim}), not of '{info.name}' "
                f"(weights {info.weights_sha256[:12] or '?'}..., dim {info.dim}); embeddings of different "
                f"models cannot be compared: use --model {pinned.name} or enrol into a new gallery")

    def _pin_model(self, info: ModelInfo) -> None:
        """Inside a write transaction: record the model on first enrolment, else check it."""
        row = self.conn.execute("SELECT value FROM meta WHERE key='dim'").fetchone()
        if row is None:
            self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                  [("model_name", info.name), ("model_sha256", info.weights_sha256),
                                   ("dim", str(info.dim))])
        else:
            self._check_model(info)

    # -- score cohort ------------------------------------------------------------------
    @property
    def cohort(self):
        """The gallery's :class:`~inspect_cv.reid.scorenorm.CohortNorm`, or None (plain cosines)."""
        return self._norm

    def _stored_cohort(self):
        from .scorenorm import CohortNorm

        try:
            row = self.conn.execute("SELECT top_k, dim, vectors FROM cohort ORDER BY id DESC LIMIT 1").fetchone()
        except sqlite3.OperationalError:  # no cohort table: a plain gallery
            return None
        if row is None:
            return None
        top_k, dim, blob = row
        return CohortNorm(np.frombuffer(blob, np.float32).reshape(-1, int(dim)), int(top_k))

    def _setup_cohort(self, cohort: Any, top_k: int = 100):
        from .scorenorm import CohortNorm

        stored = self._stored_cohort()
        if cohort is None:
            return stored
        if isinstance(cohort, (str, Path)):
            cohort = CohortNorm.from_npz(cohort, top_k, model_sha256=self._current_model(0).weights_sha256 or None)
        if not isinstance(cohort, CohortNorm):
            raise InputError(f"cohort must be a CohortNorm or an embeddings .npz, got {type(cohort).__name__}")
        vectors = cohort.cohort.astype(np.float32)
        if stored is not None:
            same = (stored.top_k == cohort.top_k and stored.cohort.shape == vectors.shape
                    and np.allclose(stored.cohort, vectors, atol=1e-6))
            if not same:
                raise InputError(f"this gallery scores against its own cohort ({len(stored)} embeddings, top "
                                 f"{stored.top_k}; fixed when it was created), not the one given", self.path)
            return stored
        pinned = self.model_info
        if pinned is not None and pinned.dim != cohort.dim:
            raise ModelError(f"the cohort has {cohort.dim}-value embeddings, the gallery's have {pinned.dim}")
        with self._write() as c:
            n_horses = c.execute("SELECT COUNT(*) FROM horses").fetchone()[0]
            n_cal = c.execute("SELECT COUNT(*) FROM calibration").fetchone()[0]
            if n_horses or n_cal:
                raise InputError("a score cohort can only be given to a new gallery (this one already holds "
                                 f"{n_horses} horse(s) and {n_cal} calibration(s) scored without one)", self.path)
            c.execute("CREATE TABLE IF NOT EXISTS cohort (id INTEGER PRIMARY KEY AUTOINCREMENT, top_k INTEGER NOT NULL, "
                      "dim INTEGER NOT NULL, n INTEGER NOT NULL, vectors BLOB NOT NULL, created TEXT NOT NULL)")
            c.execute("INSERT INTO cohort (top_k, dim, n, vectors, created) VALUES (?, ?, ?, ?, ?)",
                      (cohort.top_k, cohort.dim, len(vectors), vectors.tobytes(), _now()))
            c.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
            c.execute("INSERT OR REPLACE INTO meta VALUES ('score_norm', 'as-norm')")
            self._bump_version()
        self._meta = self._read_meta()
        return self._stored_cohort()

    # -- models ------------------------------------------------------------------------
    def embedder(self):
        """The embedding model (loaded on first use)."""
        if self._embedder is None:
            spec = self._model_spec
            if spec is None or isinstance(spec, ModelInfo):
                raise ModelError("this gallery was opened without an embedding model: give model= "
                                 "(e.g. 'horse-reid' or an .onnx path) to enrol or match photos")
            from .embed import as_embedder

            self._embedder = as_embedder(spec)
        self._check_model(ModelInfo.of(self._embedder))
        return self._embedder

    def detector(self):
        if self._detector is None and self._detector_spec is not None:
            from ..runtime.registry import load

            self._detector = load(self._detector_spec)
        return self._detector

    def _current_model(self, dim: int) -> ModelInfo:
        if self._embedder is not None:
            return ModelInfo.of(self._embedder)
        if isinstance(self._model_spec, ModelInfo):
            return self._model_spec
        pinned = self.model_info
        if pinned is not None:
            return pinned
        return ModelInfo("", "", dim)

    # -- transactions ------------------------------------------------------------------
    class _Tx:
        def __init__(self, conn: sqlite3.Connection):
            self.conn = conn

        def __enter__(self):
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type, exc, tb):
            if exc_type is None:
                self.conn.execute("COMMIT")
            else:
                self.conn.execute("ROLLBACK")
            return False

    def _write(self) -> "_Tx":
        return Gallery._Tx(self.conn)

    def _bump_version(self) -> None:
        self.conn.execute("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
                          "WHERE key='gallery_version'")

    # -- photos to embeddings ----------------------------------------------------------
    def _embed_items(self, items: Sequence[Any], gate: bool) -> tuple[np.ndarray, list[dict]]:
        """Embeddings and per-item info (sha256, quality) of photos / arrays / vectors."""
        from ..io import decode_image
        from ..io import read_bytes

        vectors: list[np.ndarray | None] = []
        crops: list[tuple[int, np.ndarray]] = []
        info: list[dict] = []
        for i, item in enumerate(items):
            if isinstance(item, np.ndarray) and item.ndim == 1:
                v = item.astype(np.float32)
                vectors.append(v)
                info.append({"source": "embedding", "sha256": None, "quality": None})
                continue
            if isinstance(item, (str, Path)):
                data = read_bytes(item)
                sha = hashlib.sha256(data).hexdigest()
                image = decode_image(data, str(item))
                name = str(item)
            elif isinstance(item, np.ndarray):
                image = item
                sha = hashlib.sha256(repr((item.shape, str(item.dtype))).encode() +
                                     np.ascontiguousarray(item).tobytes()).hexdigest()
                name = f"<image {i}>"
            else:
                raise InputError(f"item {i}: expected a photo path, an image array or a 1-D embedding, "
                                 f"got {type(item).__name__}")
            crop, report = check_photo(image, self.detector(), self.quality, name=name, gate=gate)
            crops.append((i, crop))
            vectors.append(None)
            info.append({"source": name, "sha256": sha, "quality": report.to_dict(), "crop": crop})
        if crops:
            emb = self.embedder().embed([c for _, c in crops])
            for (i, _), v in zip(crops, emb):
                vectors[i] = v
        if not vectors:
            return np.zeros((0, 0), np.float32), info
        dims = {len(v) for v in vectors if v is not None}
        if len(dims) != 1:
            raise InputError(f"embeddings of different sizes given: {sorted(dims)}")
        out = np.stack([v for v in vectors if v is not None]).astype(np.float32)
        if not np.isfinite(out).all():
            raise InputError("an embedding holds NaN or infinite values")
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        if (norms < 1e-12).any():
            raise InputError("an embedding is all zeros")
        return out / norms, info

    def _one(self, item: Any, gate: bool = False) -> np.ndarray:
        if isinstance(item, (list, tuple)):
            raise InputError("give one photo, image array or embedding")
        emb, _ = self._embed_items([item], gate=gate)
        return emb[0]

    # -- index -------------------------------------------------------------------------
    def _refresh(self) -> _Index | None:
        dv = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if self._index is not None and dv == self._data_version:
            return self._index
        version = self.conn.execute("SELECT value FROM meta WHERE key='gallery_version'").fetchone()
        version = version[0] if version else "0"
        self._data_version = dv
        if self._index is not None and version == self._index_version:
            return self._index
        self._load_index()
        return self._index

    def _load_index(self) -> None:
        c = self.conn
        c.execute("BEGIN")  # one read snapshot for meta, horses and embeddings
        try:
            meta = dict(c.execute("SELECT key, value FROM meta").fetchall())
            names = dict(c.execute("SELECT id, name FROM horses").fetchall())
            rows = c.execute("SELECT horse_id, vector FROM embeddings ORDER BY horse_id, id").fetchall()
        finally:
            c.execute("COMMIT")
        self._meta = meta
        self._index_version = meta.get("gallery_version", "0")
        if "dim" not in meta:
            self._index = None
            return
        dim = int(meta["dim"])
        index = _Index(dim, capacity=max(1024, len(rows) + len(rows) // 4), scoring=meta.get("scoring", LEGACY_SCORING),
                       norm=self._norm)
        if rows:
            blob = b"".join(r[1] for r in rows)
            mat = np.frombuffer(blob, np.float32).reshape(len(rows), dim)
            hids = [r[0] for r in rows]
            start = 0
            for j in range(1, len(rows) + 1):
                if j == len(rows) or hids[j] != hids[start]:
                    index.add(hids[start], names.get(hids[start]), mat[start:j])
                    start = j
        self._index = index

    # -- thresholds ----------------------------------------------------------------------
    def calibration(self) -> Calibration | None:
        """The latest stored calibration, if any."""
        row = self.conn.execute("SELECT threshold, target_far, far, tar, n_genuine, n_impostor, created, details "
                                "FROM calibration ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return Calibration(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7] or "{}"))

    def threshold(self) -> tuple[float, float | None]:
        """``(threshold, target_far)``: calibrated, else ``(DEFAULT_THRESHOLD, None)`` (with a cohort
        ``DEFAULT_NORM_THRESHOLD``)."""
        cal = self.calibration()
        if cal is None:
            return (DEFAULT_THRESHOLD if self._norm is None else DEFAULT_NORM_THRESHOLD), None
        return float(cal.threshold), float(cal.target_far)

    # -- audit ---------------------------------------------------------------------------
    def _audit(self, action: str, horse_id: str | None, result: str, score: float | None,
               threshold: float | None, operator: str | None, details: dict | None) -> None:
        self.conn.execute("INSERT INTO audit (time, action, horse_id, result, score, threshold, operator, details) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          (_now(), action, horse_id, result, score, threshold, operator,
                           json.dumps(details or {}, sort_keys=True)))

    def audit_log(self, limit: int | None = None, horse_id: str | None = None) -> list[dict]:
        """Audit rows, newest first."""
        sql = "SELECT id, time, action, horse_id, result, score, threshold, operator, details FROM audit"
        args: list[Any] = []
        if horse_id is not None:
            sql += " WHERE horse_id = ?"
            args.append(horse_id)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        keys = ("id", "time", "action", "horse_id", "result", "score", "threshold", "operator", "details")
        out = []
        for row in self.conn.execute(sql, args).fetchall():
            d = dict(zip(keys, row))
            d["details"] = json.loads(d["details"] or "{}")
            out.append(d)
        return out

    # -- enrol ---------------------------------------------------------------------------
    def enroll(self, horse_id: str, photos: Sequence[Any] = (), *, embeddings: np.ndarray | None = None,
               name: str | None = None, passport: str | None = None, microchip: str | None = None,
               notes: str | None = None, operator: str | None = None, check_similar: bool = True) -> EnrolResult:
        """Enrol a horse (or add photos to an enrolled one) in one transaction.

        ``photos`` are file paths, image arrays or 1-D embeddings; ``embeddings`` an
        ``(N, D)`` array. Every photo passes the quality gate first (a failure raises
        :class:`PhotoRejectedError` naming the file and reason) and nothing is written
        unless all succeed. Given metadata fields overwrite stored ones. The result warns
        when a photo is already enrolled, or when the horse scores above the verification
        threshold against another enrolled horse (a possible duplicate enrolment).
        """
        horse_id = _check_id(horse_id)
        items = list(photos)
        if embeddings is not None:
            e = np.asarray(embeddings, np.float32)
            if e.ndim != 2:
                raise InputError(f"embeddings must be an (N, D) array, got shape {e.shape}")
            items += list(e)
        if not items:
            raise InputError(f"nothing to enrol for horse '{horse_id}': give at least one photo")
        vectors, info = self._embed_items(items, gate=True)
        model = self._current_model(vectors.shape[1])
        if model.dim and model.dim != vectors.shape[1]:
            raise ModelError(f"embeddings have {vectors.shape[1]} values, the model gives {model.dim}")
        model = ModelInfo(model.name, model.weights_sha256, vectors.shape[1])
        self._check_model(model)

        warnings: list[str] = []
        # drop photos already enrolled for this horse; warn for photos enrolled for another
        shas = [d["sha256"] for d in info]
        keep = list(range(len(items)))
        known = {}
        if any(shas):
            q = [s for s in shas if s]
            marks = ",".join("?" * len(q))
            known = dict(self.conn.execute(
                f"SELECT photo_sha256, horse_id FROM embeddings WHERE photo_sha256 IN ({marks})", q).fetchall())
        seen: set[str] = set()
        for i, s in enumerate(shas):
            if not s:
                continue
            if s in seen or known.get(s) == horse_id:
                keep.remove(i)
                warnings.append(f"{info[i]['source']}: photo already enrolled for this horse; skipped")
            elif s in known:
                warnings.append(f"{info[i]['source']}: the same photo is enrolled for horse '{known[s]}'")
            seen.add(s)

        similar: list[dict] = []
        threshold, _ = self.threshold()
        index = self._refresh() if check_similar else None
        if index is not None and index.n and keep:
            # per stored row, its best score against any new photo; then the best other horses
            rows = np.max([index.row_scores(v) for v in vectors[keep]], axis=0)
            for slot, score in index.top_horses(rows, 3, exclude=index.slot.get(horse_id)):
                if score >= threshold:
                    similar.append({"horse_id": index.horse_ids[slot], "name": index.names[slot],
                                    "score": round(score, 4)})
                    warnings.append(f"face is close to enrolled horse '{index.horse_ids[slot]}' "
                                    f"(score {score:.3f} >= threshold {threshold:.3f}): check it is not the "
                                    "same horse enrolled twice")

        now = _now()
        with self._write() as c:
            self._pin_model(model)
            row = c.execute("SELECT name FROM horses WHERE id = ?", (horse_id,)).fetchone()
            created = row is None
            if created:
                c.execute("INSERT INTO horses (id, name, passport, microchip, notes, created, updated) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)", (horse_id, name, passport, microchip, notes, now, now))
            else:
                fields = {k: v for k, v in (("name", name), ("passport", passport), ("microchip", microchip),
                                            ("notes", notes)) if v is not None}
                sets = "".join(f", {k} = ?" for k in fields)
                c.execute(f"UPDATE horses SET updated = ?{sets} WHERE id = ?", (now, *fields.values(), horse_id))
            c.executemany("INSERT INTO embeddings (horse_id, vector, photo_sha256, created, quality) "
                          "VALUES (?, ?, ?, ?, ?)",
                          [(horse_id, vectors[i].tobytes(), info[i]["sha256"], now,
                            json.dumps(info[i]["quality"]) if info[i]["quality"] else None) for i in keep])
            total = c.execute("SELECT COUNT(*) FROM embeddings WHERE horse_id = ?", (horse_id,)).fetchone()[0]
            crop = next((info[i]["crop"] for i in keep if info[i].get("crop") is not None), None)
            if crop is not None:
                c.execute(_THUMB_TABLE)
                c.execute("INSERT OR IGNORE INTO thumbnails (horse_id, jpeg, created) VALUES (?, ?, ?)",
                          (horse_id, thumbnail_jpeg(crop), now))
            self._bump_version()
            self._audit("enroll", horse_id, "created" if created else "updated", None, None, operator,
                        {"added": len(keep), "total": total, "warnings": warnings})
            new_version = c.execute("SELECT value FROM meta WHERE key='gallery_version'").fetchone()[0]
        # keep the in-memory index in step without reloading everything
        if self._index is not None and self._index_version is not None and \
                int(new_version) == int(self._index_version) + 1:
            if keep:
                stored_name = name if name is not None else (row[0] if row else None)
                self._index.add(horse_id, stored_name, vectors[keep])
            elif name is not None and horse_id in self._index.slot:
                self._index.names[self._index.slot[horse_id]] = name
            self._index_version = new_version
            self._data_version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if self._meta.get("dim") is None:
            self._meta = self._read_meta()
        return EnrolResult(horse_id, len(keep), int(total), created, warnings, similar,
                           [{"source": d["source"], "sha256": d["sha256"], "quality": d["quality"]}
                            for d in info])

    # -- verify / identify ---------------------------------------------------------------
    def verify(self, horse_id: str, photo: Any, operator: str | None = None) -> VerifyResult:
        """1:1: does ``photo`` (path, image array or 1-D embedding) show horse ``horse_id``?"""
        horse_id = _check_id(horse_id)
        row = self.conn.execute("SELECT name FROM horses WHERE id = ?", (horse_id,)).fetchone()
        if row is None:
            raise InputError(f"no horse with id '{horse_id}' in the gallery", self.path)
        q = self._one(photo)
        index = self._require_index(q)
        slot = index.slot.get(horse_id)
        score = index.horse_score(index.row_scores(q), slot) if slot is not None else None
        if score is None:
            raise InputError(f"horse '{horse_id}' has no enrolment embeddings", self.path)
        threshold, far = self.threshold()
        match = bool(score >= threshold)
        with self._write():
            self._audit("verify", horse_id, "match" if match else "no_match", score, threshold, operator,
                        {"far": far, "probe": _probe_name(photo)})
        return VerifyResult(match, round(score, 6), threshold, far, horse_id, row[0], far is not None)

    def search(self, embedding: np.ndarray, top_k: int = 5) -> list[Candidate]:
        """The ``top_k`` best-scoring horses for an embedding (no audit, no threshold)."""
        q = np.asarray(embedding, np.float32).reshape(-1)
        index = self._require_index(q)
        top = index.top_horses(index.row_scores(q), top_k)
        return [Candidate(index.horse_ids[s], index.names[s], round(sc, 6)) for s, sc in top]

    def identify(self, photo: Any, top_k: int = 5, operator: str | None = None) -> IdentifyResult:
        """1:N: rank the enrolled horses for ``photo``; ``unknown`` when none reaches the threshold.

        Candidates are always listed (best first); ``unknown`` says whether the best one
        scores under the verification threshold.
        """
        if int(top_k) < 1:
            raise InputError(f"top_k must be at least 1, got {top_k}")
        q = self._one(photo)
        cands = self.search(q, int(top_k))
        threshold, far = self.threshold()
        unknown = not cands or cands[0].score < threshold
        best = None if unknown else cands[0]
        with self._write():
            self._audit("identify", best.horse_id if best else None, "unknown" if unknown else "match",
                        cands[0].score if cands else None, threshold, operator,
                        {"far": far, "probe": _probe_name(photo),
                         "candidates": [c.to_dict() for c in cands]})
        return IdentifyResult(cands, unknown, threshold, far, far is not None)

    def _require_index(self, q: np.ndarray) -> _Index:
        index = self._refresh()
        if index is None or index.n == 0:
            raise InputError("the gallery holds no enrolled horses", self.path)
        if len(q) != index.dim:
            raise ModelError(f"probe embedding has {len(q)} values, the gallery's have {index.dim}")
        return index

    # -- list / remove / export ----------------------------------------------------------
    def list(self) -> list[dict]:
        """Enrolled horses with their metadata and number of enrolment embeddings."""
        rows = self.conn.execute(
            "SELECT h.id, h.name, h.passport, h.microchip, h.notes, h.created, h.updated, "
            "(SELECT COUNT(*) FROM embeddings e WHERE e.horse_id = h.id) "
            "FROM horses h ORDER BY h.id").fetchall()
        keys = ("id", "name", "passport", "microchip", "notes", "created", "updated", "n_embeddings")
        return [dict(zip(keys, r)) for r in rows]

    def __len__(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM horses").fetchone()[0]

    def __contains__(self, horse_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM horses WHERE id = ?", (horse_id,)).fetchone() is not None

    def get(self, horse_id: str) -> dict:
        """One horse's record (as in :meth:`list`)."""
        for r in self.list():
            if r["id"] == horse_id:
                return r
        raise InputError(f"no horse with id '{horse_id}' in the gallery", self.path)

    def photo(self, horse_id: str) -> bytes | None:
        """The JPEG thumbnail of the horse's first enrolled face (None when there is none:
        enrolled from embeddings only, or in a gallery made before thumbnails were kept)."""
        try:
            row = self.conn.execute("SELECT jpeg FROM thumbnails WHERE horse_id = ?", (horse_id,)).fetchone()
        except sqlite3.OperationalError:  # no thumbnails table (an older gallery)
            return None
        return bytes(row[0]) if row is not None else None

    def remove(self, horse_id: str, operator: str | None = None) -> int:
        """Delete a horse and its embeddings (audit rows stay); returns embeddings removed."""
        horse_id = _check_id(horse_id)
        with self._write() as c:
            if c.execute("SELECT 1 FROM horses WHERE id = ?", (horse_id,)).fetchone() is None:
                raise InputError(f"no horse with id '{horse_id}' in the gallery", self.path)
            n = c.execute("DELETE FROM embeddings WHERE horse_id = ?", (horse_id,)).rowcount
            if c.execute("SELECT 1 FROM sqlite_master WHERE name = 'thumbnails'").fetchone():
                c.execute("DELETE FROM thumbnails WHERE horse_id = ?", (horse_id,))
            c.execute("DELETE FROM horses WHERE id = ?", (horse_id,))
            self._bump_version()
            self._audit("remove", horse_id, "removed", None, None, operator, {"embeddings": n})
        self._index = None  # rebuilt on next use
        return int(n)

    def export(self, path: str | Path, include_embeddings: bool = True, include_audit: bool = False) -> Path:
        """Write the gallery to ``.json`` (horses, photo hashes, optional vectors) or ``.npz``.

        The ``.npz`` holds ``horse_ids`` (one per embedding), ``embeddings`` (float32),
        ``photo_sha256`` and ``gallery_json`` (the JSON document without vectors), and for a
        gallery with a score cohort ``cohort`` (its embeddings; the JSON names its size and top K).
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".json", ".npz"):
            raise InputError("export format must be .json or .npz", path)
        c = self.conn
        c.execute("BEGIN")
        try:
            meta = dict(c.execute("SELECT key, value FROM meta").fetchall())
            horses = self.list()
            rows = c.execute("SELECT horse_id, vector, photo_sha256, created, quality FROM embeddings "
                             "ORDER BY horse_id, id").fetchall()
            audit = self.audit_log() if include_audit else None
            cal = self.calibration()
        finally:
            c.execute("COMMIT")
        dim = int(meta.get("dim", 0) or 0)
        by_horse: dict[str, list[dict]] = {}
        for hid, vec, sha, created, quality in rows:
            e = {"photo_sha256": sha, "created": created, "quality": json.loads(quality) if quality else None}
            if include_embeddings and suffix == ".json":
                e["vector"] = [round(float(x), 7) for x in np.frombuffer(vec, np.float32)]
            by_horse.setdefault(hid, []).append(e)
        doc = {"schema_version": int(meta.get("schema_version", SCHEMA_VERSION)),
               "model": {"name": meta.get("model_name"), "weights_sha256": meta.get("model_sha256"), "dim": dim},
               "scoring": meta.get("scoring", LEGACY_SCORING), "calibration": cal.to_dict() if cal else None,
               "cohort": None if self._norm is None else {"embeddings": len(self._norm), "top_k": self._norm.top_k},
               "exported": _now(),
               "horses": [h | {"embeddings": by_horse.get(h["id"], [])} for h in horses]}
        if audit is not None:
            doc["audit"] = audit
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp" + suffix)
        if suffix == ".json":
            tmp.write_text(json.dumps(doc, indent=1) + "\n")
        else:
            mat = (np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), dim)
                   if rows else np.zeros((0, dim), np.float32))
            extra = {} if self._norm is None else {"cohort": self._norm.cohort.astype(np.float32)}
            np.savez(tmp, horse_ids=np.array([r[0] for r in rows], dtype=str).reshape(-1),
                     embeddings=mat, photo_sha256=np.array([r[2] or "" for r in rows], dtype=str).reshape(-1),
                     gallery_json=np.array(json.dumps(doc)), **extra)
        os.replace(tmp, path)
        return path

    # -- calibration -----------------------------------------------------------------------
    def calibrate(self, data: Any, target_far: float = 0.001, enrol_per_identity: int = 3,
                  progress: Callable | None = None, store: bool = True) -> Calibration:
        """Choose the threshold reaching ``target_far`` on a labelled set and store it.

        ``data``: a folder with one sub-folder of photos per identity, a mapping
        ``{identity: [photos or embeddings]}``, or a pair ``(labels, embeddings)``.
        Per identity, the first ``enrol_per_identity`` items (sorted) play the enrolment
        photos (at most half of them, at least one) and the rest the probes. Genuine
        scores: each probe against its own identity; impostor scores: each probe against
        every other identity; both with the gallery's scoring rule (:attr:`scoring`). The
        threshold is the smallest value with (impostor scores >= threshold) / n_impostor
        <= ``target_far``; a match is ``score >= threshold``.
        """
        if not 0.0 < float(target_far) < 1.0:
            raise InputError(f"target FAR must lie in (0, 1), got {target_far}")
        labels, emb = self._labelled_embeddings(data, progress)
        pinned = self.model_info
        if pinned is not None:
            if emb.shape[1] != pinned.dim:
                raise ModelError(f"calibration embeddings have {emb.shape[1]} values, the gallery's {pinned.dim}")
            self._check_model(self._current_model(emb.shape[1]))
        enrol_rows, probe_rows, ident = [], [], []
        names = sorted(set(labels))
        for k, name in enumerate(names):
            rows = [i for i, l in enumerate(labels) if l == name]
            if len(rows) < 2:
                continue
            n_enrol = max(1, min(enrol_per_identity, len(rows) // 2))
            enrol_rows.append(rows[:n_enrol])
            probe_rows.append(rows[n_enrol:])
            ident.append(name)
        if len(ident) < 2:
            raise InputError("calibration needs at least two identities with two or more photos each")
        enrol_idx = np.concatenate([np.array(r) for r in enrol_rows])
        enrol_owner = np.concatenate([np.full(len(r), j) for j, r in enumerate(enrol_rows)])
        probe_idx = np.concatenate([np.array(r) for r in probe_rows])
        probe_owner = np.concatenate([np.full(len(r), j) for j, r in enumerate(probe_rows)])
        per_id = identity_scores(emb[probe_idx], emb[enrol_idx], enrol_owner, len(ident), self.scoring,
                                 self._norm)  # (P, I)
        genuine_mask = probe_owner[:, None] == np.arange(len(ident))[None, :]
        genuine = per_id[genuine_mask]
        impostor = per_id[~genuine_mask]
        threshold = threshold_for_far(impostor, float(target_far))
        far = float(np.mean(impostor >= threshold))
        tar = float(np.mean(genuine >= threshold))
        details = {"identities": len(ident), "probes": int(len(probe_idx)), "enrol_per_identity": enrol_per_identity,
                   "far_resolution": 1.0 / len(impostor), "scoring": self.scoring,
                   "score_norm": None if self._norm is None else f"as-norm top {self._norm.top_k} of {len(self._norm)}",
                   "eer": round(_eer(genuine, impostor), 6),
                   "genuine_mean": float(genuine.mean()), "impostor_mean": float(impostor.mean())}
        if len(impostor) * target_far < 1:
            details["warning"] = (f"only {len(impostor)} impostor pairs: a FAR of {target_far} cannot be "
                                  f"measured below {1 / len(impostor):.2g}; use more identities")
        cal = Calibration(float(threshold), float(target_far), far, tar, int(len(genuine)), int(len(impostor)),
                          _now(), details)
        if store:
            with self._write():
                self._pin_model(self._current_model(emb.shape[1]))  # a threshold belongs to one model
                self.conn.execute("INSERT INTO calibration (threshold, target_far, far, tar, n_genuine, n_impostor, "
                                  "created, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                  (cal.threshold, cal.target_far, cal.far, cal.tar, cal.n_genuine, cal.n_impostor,
                                   cal.created, json.dumps(details)))
                self._audit("calibrate", None, "stored", None, cal.threshold, None,
                            {"target_far": target_far, "far": far, "tar": tar})
        return cal

    def _labelled_embeddings(self, data: Any, progress: Callable | None) -> tuple[list[str], np.ndarray]:
        if isinstance(data, tuple) and len(data) == 2:
            labels = [str(l) for l in data[0]]
            emb = np.asarray(data[1], np.float32)
            if emb.ndim != 2 or len(emb) != len(labels):
                raise InputError(f"expected {len(labels)} embeddings as an (N, D) array, got shape {emb.shape}")
            return labels, emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        if isinstance(data, (str, Path)):
            folder = Path(data)
            if not folder.is_dir():
                raise InputError("calibration data must be a folder with one sub-folder per identity", folder)
            from ..io import iter_image_files

            mapping = {}
            for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
                files = iter_image_files([sub])
                if files:
                    mapping[sub.name] = files
            if not mapping:
                raise InputError("no identity sub-folders with images found", folder)
            data = mapping
        if not isinstance(data, dict):
            raise InputError("calibration data must be a folder, a {identity: photos} mapping or (labels, embeddings)")
        labels: list[str] = []
        items: list[Any] = []
        for name, photos in data.items():
            for p in photos:
                labels.append(str(name))
                items.append(p)
        vectors = []
        it = range(0, len(items), 64)
        if progress is not None:
            it = progress(it, total=len(it), desc="calibrate")
        for s in it:
            vectors.append(self._embed_items(items[s:s + 64], gate=False)[0])
        return labels, np.concatenate(vectors)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------

def threshold_for_far(impostor: np.ndarray, target_far: float) -> float:
    """Smallest threshold t with mean(impostor >= t) <= target_far (match: score >= t)."""
    s = np.sort(np.asarray(impostor, np.float64))[::-1]
    if len(s) == 0:
        raise InputError("no impostor scores to calibrate on")
    k = int(np.floor(target_far * len(s) + 1e-9))  # impostors allowed at or above the threshold
    if k >= len(s):
        return float(s[-1])
    return float(np.nextafter(np.float32(s[k]), np.float32(np.inf)))


def _eer(genuine: np.ndarray, impostor: np.ndarray) -> float:
    ts = np.unique(np.concatenate([genuine, impostor]))
    far = np.array([np.mean(impostor >= t) for t in ts[:: max(1, len(ts) // 512)]])
    frr = np.array([np.mean(genuine < t) for t in ts[:: max(1, len(ts) // 512)]])
    i = int(np.argmin(np.abs(far - frr)))
    return float((far[i] + frr[i]) / 2)


_THUMB_TABLE = ("CREATE TABLE IF NOT EXISTS thumbnails (horse_id TEXT PRIMARY KEY, jpeg BLOB NOT NULL, "
                "created TEXT NOT NULL)")


def thumbnail_jpeg(image: np.ndarray, side: int = THUMB_SIDE, quality: int = 85) -> bytes:
    """A JPEG of ``image`` (any scan / photo array) no longer than ``side`` pixels."""
    import cv2

    from ..io import encode_image
    from ..runtime.preprocess import to_model_rgb

    rgb = to_model_rgb(image)
    h, w = rgb.shape[:2]
    s = min(1.0, side / max(h, w))
    if s < 1.0:
        rgb = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return encode_image(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "jpeg", jpeg_quality=quality)


def _check_id(horse_id: Any) -> str:
    hid = str(horse_id).strip() if horse_id is not None else ""
    if not hid:
        raise InputError("a horse id must be a non-empty string")
    if len(hid) > 200 or any(ord(ch) < 32 for ch in hid):
        raise InputError(f"invalid horse id {hid[:40]!r} (at most 200 printable characters)")
    return hid


def _probe_name(photo: Any) -> str:
    if isinstance(photo, (str, Path)):
        return str(photo)
    if isinstance(photo, np.ndarray):
        return "<embedding>" if photo.ndim == 1 else f"<image {photo.shape}>"
    return type(photo).__name__


__all__ = ["Gallery", "EnrolResult", "VerifyResult", "IdentifyResult", "Candidate", "Calibration", "ModelInfo",
           "threshold_for_far", "thumbnail_jpeg", "THUMB_SIDE", "DEFAULT_THRESHOLD", "SCHEMA_VERSION",
           "PhotoRejectedError"]
