"""Re-identification metrics in numpy: ranking (rank-k, mAP) and verification (TAR at FAR, EER).

Embeddings are compared by cosine similarity (rows are L2-normalised here). Two protocols:

- ``"leave-one-out"``: every image is a query against all the *other* images; queries whose
  identity has no other image are skipped.
- ``"query-gallery"``: queries are ranked against a separate gallery (pass ``query_mask``:
  ``True`` for queries, ``False`` for gallery images; :func:`split_query_gallery` makes one).
- ``"sessions"``: like query-gallery, with the enrolment session as gallery and the later
  sessions as queries (:func:`session_query_mask` reads them from the data set's ``meta.json``);
  verification pairs are then only (query, gallery) pairs: enrolment photo against a photo
  from another day, which is what a border check does.

Verification scores are all same-identity pairs (genuine) and all different-identity pairs
(impostor) of the whole set, ``i < j`` (``"sessions"``: across query and gallery only). Plots (:func:`save_plots`) import matplotlib lazily.
Nothing here imports torch.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import DatasetError, InputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
FARS = (0.01, 0.001)

__all__ = ["ReidMetrics", "IdentitySet", "evaluate_embeddings", "ranking_metrics", "roc_curve",
           "tar_at_far", "equal_error_rate", "pair_scores", "split_query_gallery", "read_identity_folder",
           "session_query_mask", "save_plots"]


# -- data: folder per identity ---------------------------------------------------------------
@dataclass
class IdentitySet:
    """Images of a folder-per-identity data set: ``paths[i]`` shows identity ``names[labels[i]]``."""

    root: Path
    paths: list[Path]
    labels: np.ndarray  # int64 [N], index into names
    names: list[str]

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def num_identities(self) -> int:
        return len(self.names)

    def subset(self, keep: np.ndarray) -> "IdentitySet":
        """The images where ``keep`` is true, identities renumbered densely (names kept)."""
        keep = np.asarray(keep, bool)
        labels = self.labels[keep]
        used = np.unique(labels)
        remap = {int(o): i for i, o in enumerate(used)}
        return IdentitySet(self.root, [p for p, k in zip(self.paths, keep) if k],
                           np.array([remap[int(v)] for v in labels], np.int64), [self.names[int(u)] for u in used])


def read_identity_folder(root: str | Path, min_images: int = 1) -> IdentitySet:
    """Scan ``root/<identity>/<image>``; identities with fewer than ``min_images`` images are dropped.

    Raises :class:`DatasetError` when ``root`` is not a folder or holds no usable identity.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError("not a folder (expected one sub-folder of images per identity)", root)
    paths: list[Path] = []
    labels: list[int] = []
    names: list[str] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(f for f in sub.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        if len(files) < max(1, min_images):
            continue
        labels += [len(names)] * len(files)
        paths += files
        names.append(sub.name)
    if not names:
        raise DatasetError(f"no identity folder with at least {max(1, min_images)} image(s) "
                           f"({', '.join(IMAGE_SUFFIXES)})", root)
    return IdentitySet(root, paths, np.asarray(labels, np.int64), names)


def split_identities(data: IdentitySet, val_fraction: float, seed: int = 0) -> tuple[IdentitySet, IdentitySet | None]:
    """Identity-disjoint split: a seeded ``val_fraction`` of the identities is held out.

    Training (``data.val_fraction``, ``seed``) holds out its validation identities with this.
    """
    n_val = int(round(val_fraction * data.num_identities))
    if n_val <= 0:
        return data, None
    val_ids = np.random.default_rng(seed).permutation(data.num_identities)[:n_val]
    is_val = np.isin(data.labels, val_ids)
    return data.subset(~is_val), data.subset(is_val)


def split_query_gallery(labels: Sequence[int], per_identity: int = 1, seed: int = 0) -> np.ndarray:
    """Query mask: ``per_identity`` random images of each identity go to the gallery, the rest are queries.

    Identities with ``per_identity`` images or fewer have no query.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    query = np.ones(len(labels), bool)
    for ident in np.unique(labels):
        idx = np.flatnonzero(labels == ident)
        query[rng.permutation(idx)[:per_identity]] = False
    return query


def session_query_mask(data: IdentitySet) -> np.ndarray:
    """Query mask from the sessions in ``<root>/meta.json`` (written by ``inspect-cv synth horse``).

    Images of session 0 (enrolment) are the gallery, images of later sessions are queries.
    Raises :class:`DatasetError` when the file is missing, unreadable or does not list an image.
    """
    meta_path = Path(data.root) / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
        session = {img["file"]: int(img["session"]) for ident in meta["identities"] for img in ident["images"]}
    except FileNotFoundError:
        raise DatasetError("no meta.json with sessions (protocol 'sessions' needs a synthetic set "
                           "from `inspect-cv synth horse`)", meta_path) from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(f"unreadable sessions ({e})", meta_path) from None
    mask = np.zeros(len(data.paths), bool)
    for i, path in enumerate(data.paths):
        key = Path(path).relative_to(data.root).as_posix()
        if key not in session:
            raise DatasetError(f"{key} is not listed in meta.json", meta_path)
        mask[i] = session[key] > 0
    return mask


# -- metrics ------------------------------------------------------------------------------------
@dataclass
class ReidMetrics:
    """Ranking and verification results; ``genuine``/``impostor`` hold the pair scores for plots."""

    protocol: str
    rank1: float
    rank5: float
    mAP: float
    tar_at_far: dict[float, float]
    eer: float
    eer_threshold: float
    n_images: int
    n_identities: int
    n_queries: int
    genuine: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.float32))
    impostor: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.float32))

    def to_dict(self) -> dict:
        """JSON-ready summary (no score arrays)."""
        out = {"protocol": self.protocol, "rank1": self.rank1, "rank5": self.rank5, "mAP": self.mAP,
               "eer": self.eer, "eer_threshold": self.eer_threshold, "n_images": self.n_images,
               "n_identities": self.n_identities, "n_queries": self.n_queries,
               "n_genuine_pairs": int(self.genuine.size), "n_impostor_pairs": int(self.impostor.size)}
        for far, tar in self.tar_at_far.items():
            out[f"tar_at_far_{far:g}"] = tar
        return out

    def summary(self) -> str:
        tars = "  ".join(f"TAR@FAR{far * 100:g}%={tar:.4f}" for far, tar in self.tar_at_far.items())
        return (f"{self.protocol}: {self.n_identities} ids, {self.n_images} images, {self.n_queries} queries  "
                f"rank-1={self.rank1:.4f}  rank-5={self.rank5:.4f}  mAP={self.mAP:.4f}  {tars}  "
                f"EER={self.eer:.4f}")


def _normalise(emb: np.ndarray, what: str = "embeddings") -> np.ndarray:
    emb = np.asarray(emb, np.float64)
    if emb.ndim != 2 or emb.shape[0] == 0:
        raise InputError(f"{what} must be a non-empty (N, D) array, got shape {emb.shape}")
    if not np.isfinite(emb).all():
        raise InputError(f"{what} contain NaN or infinite values")
    return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)


def ranking_metrics(sim: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray,
                    exclude: np.ndarray | None = None, ks: Sequence[int] = (1, 5)) -> tuple[dict[int, float], float, int]:
    """Rank-k accuracies, mAP and the number of scored queries from a (Q, G) similarity matrix.

    ``exclude`` (Q, G) bool marks gallery items not to rank for a query (e.g. the query itself).
    Ties are broken by gallery order (stable sort). Queries with no true match are skipped.
    """
    sim = np.array(sim, np.float64, copy=True)
    if exclude is not None:
        sim[exclude] = -np.inf
    order = np.argsort(-sim, axis=1, kind="stable")
    match = g_labels[order] == q_labels[:, None]
    if exclude is not None:
        match &= ~np.take_along_axis(exclude, order, axis=1)
    n_pos = match.sum(1)
    valid = n_pos > 0
    if not valid.any():
        return {k: float("nan") for k in ks}, float("nan"), 0
    match, n_pos = match[valid], n_pos[valid]
    first = match.argmax(1)  # 0-based rank of the first true match
    ranks = {k: float(np.mean(first < k)) for k in ks}
    hits = np.cumsum(match, axis=1)
    positions = np.arange(1, match.shape[1] + 1)
    ap = (match * hits / positions).sum(1) / n_pos
    return ranks, float(ap.mean()), int(valid.sum())


def pair_scores(emb: np.ndarray, labels: np.ndarray, max_impostors: int | None = 2_000_000,
                seed: int = 0, norm=None) -> tuple[np.ndarray, np.ndarray]:
    """Cosine scores of all genuine pairs and of the impostor pairs (``i < j``).

    With more than ``max_impostors`` impostor pairs, a seeded uniform sample of that size is kept.
    ``norm`` (a :class:`~inspect_cv.reid.scorenorm.CohortNorm`) normalises the scores first.
    """
    emb = _normalise(emb)
    labels = np.asarray(labels)
    sim = emb @ emb.T
    if norm is not None:
        st = norm.stats(emb)
        sim = norm.normalise(sim, st, st)
    iu, ju = np.triu_indices(len(labels), k=1)
    same = labels[iu] == labels[ju]
    scores = sim[iu, ju].astype(np.float32)
    genuine, impostor = scores[same], scores[~same]
    if max_impostors is not None and impostor.size > max_impostors:
        impostor = np.random.default_rng(seed).choice(impostor, max_impostors, replace=False)
    return genuine, impostor


def cross_pair_scores(q_emb: np.ndarray, q_labels: np.ndarray, g_emb: np.ndarray, g_labels: np.ndarray,
                      max_impostors: int | None = 2_000_000, seed: int = 0, norm=None) -> tuple[np.ndarray, np.ndarray]:
    """Cosine scores of every (query, gallery) pair, split into genuine and impostor (``norm``: as
    :func:`pair_scores`)."""
    q_emb, g_emb = _normalise(q_emb), _normalise(g_emb)
    sim = (q_emb @ g_emb.T if norm is None else norm.score(q_emb, g_emb)).astype(np.float32)
    same = np.asarray(q_labels)[:, None] == np.asarray(g_labels)[None, :]
    genuine, impostor = sim[same], sim[~same]
    if max_impostors is not None and impostor.size > max_impostors:
        impostor = np.random.default_rng(seed).choice(impostor, max_impostors, replace=False)
    return genuine, impostor


def roc_curve(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(far, tar, thresholds)`` for "accept when score >= threshold", thresholds descending.

    Starts at (0, 0) with threshold +inf and ends at (1, 1).
    """
    genuine, impostor = np.asarray(genuine, np.float64), np.asarray(impostor, np.float64)
    if genuine.size == 0 or impostor.size == 0:
        raise InputError("a ROC needs at least one genuine and one impostor pair")
    scores = np.concatenate([genuine, impostor])
    is_gen = np.concatenate([np.ones(genuine.size, bool), np.zeros(impostor.size, bool)])
    order = np.argsort(-scores, kind="stable")
    scores, is_gen = scores[order], is_gen[order]
    tp, fp = np.cumsum(is_gen), np.cumsum(~is_gen)
    last = np.r_[np.flatnonzero(np.diff(scores) != 0), scores.size - 1]  # last index of each distinct score
    tar = np.r_[0.0, tp[last] / genuine.size]
    far = np.r_[0.0, fp[last] / impostor.size]
    thr = np.r_[np.inf, scores[last]]
    return far, tar, thr


def tar_at_far(far: np.ndarray, tar: np.ndarray, target: float) -> float:
    """Highest TAR among operating points whose FAR is at most ``target``."""
    ok = far <= target + 1e-12
    return float(tar[ok].max()) if ok.any() else 0.0


def equal_error_rate(far: np.ndarray, tar: np.ndarray, thr: np.ndarray) -> tuple[float, float]:
    """EER (where FAR = FRR, linearly interpolated between ROC points) and its threshold."""
    frr = 1.0 - tar
    diff = far - frr  # rises from -1 to +1 along the curve
    i = int(np.argmax(diff >= 0))
    if i == 0 or diff[i] == 0:
        t = thr[i] if np.isfinite(thr[i]) else thr[min(i + 1, len(thr) - 1)]
        return float(far[i]), float(t)
    d0, d1 = diff[i - 1], diff[i]
    w = -d0 / (d1 - d0)
    eer = far[i - 1] + w * (far[i] - far[i - 1])
    t0 = thr[i - 1] if np.isfinite(thr[i - 1]) else thr[i]
    return float(eer), float(t0 + w * (thr[i] - t0))


TEMPLATES = ("max", "mean")


def identity_scores(q_emb: np.ndarray, g_emb: np.ndarray, g_owner: np.ndarray, n_ids: int,
                    templates: str = "max", norm=None) -> np.ndarray:
    """(Q, n_ids) scores of each query against each gallery identity ``0 .. n_ids-1``.

    ``"max"``: the best cosine over the identity's gallery embeddings; ``"mean"``: the cosine
    with its template, the L2-normalised mean of its (normalised) gallery embeddings. Every
    identity needs at least one gallery embedding. Rows are expected L2-normalised.
    ``norm`` (a :class:`~inspect_cv.reid.scorenorm.CohortNorm`) normalises each cosine first
    (for ``"mean"``, the template is the gallery side).
    """
    score = (lambda a, b: a @ b.T) if norm is None else norm.score
    if templates not in TEMPLATES:
        raise InputError(f"templates must be one of {', '.join(TEMPLATES)}, got {templates!r}")
    g_owner = np.asarray(g_owner)
    if np.bincount(g_owner, minlength=n_ids).min() == 0:
        raise InputError("every identity needs at least one gallery embedding")
    if templates == "mean":
        t = np.zeros((n_ids, g_emb.shape[1]), np.float64)
        np.add.at(t, g_owner, g_emb)
        t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
        return score(q_emb, t)
    order = np.argsort(g_owner, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(g_owner[order]) != 0])
    return np.maximum.reduceat(score(q_emb, g_emb[order]), starts, axis=1)


def evaluate_embeddings(emb: np.ndarray, labels: Sequence[int], protocol: str = "leave-one-out",
                        query_mask: np.ndarray | None = None, fars: Sequence[float] = FARS,
                        max_impostors: int | None = 2_000_000, chunk: int = 2048,
                        templates: str | None = None, norm=None) -> ReidMetrics:
    """Rank-1/5, mAP, TAR at each FAR in ``fars``, EER of embeddings ``emb`` (N, D) with identities ``labels``.

    ``protocol`` is ``"leave-one-out"``, ``"query-gallery"`` or ``"sessions"`` (both need
    ``query_mask``; ``"sessions"`` scores verification on query x gallery pairs only).
    ``templates`` (``"max"`` or ``"mean"``, with a query mask only) scores each query against
    each gallery *identity* as the horse gallery does (:func:`identity_scores`) instead of
    against each gallery image: ranks are over identities and verification pairs are
    (query, identity) pairs. ``norm`` (a :class:`~inspect_cv.reid.scorenorm.CohortNorm`) scores
    every pair with cohort-normalised scores instead of plain cosines (ranking and verification).
    """
    emb = _normalise(emb)
    labels = np.asarray(labels)
    if labels.shape != (emb.shape[0],):
        raise InputError(f"{emb.shape[0]} embeddings but {labels.size} labels")
    n_ids = int(np.unique(labels).size)
    if protocol == "leave-one-out":
        q_idx, g_idx = np.arange(len(labels)), np.arange(len(labels))
    elif protocol in ("query-gallery", "sessions"):
        if query_mask is None:
            raise InputError(f"protocol {protocol!r} needs a query_mask")
        query_mask = np.asarray(query_mask, bool)
        if query_mask.shape != labels.shape:
            raise InputError(f"query_mask has shape {query_mask.shape}, expected {labels.shape}")
        q_idx, g_idx = np.flatnonzero(query_mask), np.flatnonzero(~query_mask)
        if q_idx.size == 0 or g_idx.size == 0:
            raise InputError(f"protocol {protocol!r} needs at least one query and one gallery image")
    else:
        raise InputError(f"unknown protocol {protocol!r} (leave-one-out, query-gallery or sessions)")
    if templates is not None:
        if protocol == "leave-one-out":
            raise InputError("templates need a gallery: use protocol 'query-gallery' or 'sessions'")
        return _evaluate_templates(emb, labels, q_idx, g_idx, protocol, templates, fars, max_impostors, norm)
    mu, sd = norm.stats(emb) if norm is not None else (None, None)
    tot_r1 = tot_r5 = tot_ap = 0.0
    n_q = 0
    for s in range(0, q_idx.size, chunk):  # chunked: Q x G similarity matrices stay small
        qi = q_idx[s:s + chunk]
        sim = emb[qi] @ emb[g_idx].T
        if norm is not None:
            sim = norm.normalise(sim, (mu[qi], sd[qi]), (mu[g_idx], sd[g_idx]))
        exclude = qi[:, None] == g_idx[None, :] if protocol == "leave-one-out" else None
        ranks, m_ap, n = ranking_metrics(sim, labels[qi], labels[g_idx], exclude)
        if n:
            tot_r1, tot_r5, tot_ap = tot_r1 + ranks[1] * n, tot_r5 + ranks[5] * n, tot_ap + m_ap * n
            n_q += n
    if n_q == 0:
        raise InputError("no query has a true match: every identity needs at least two images")
    if protocol == "sessions":
        genuine, impostor = cross_pair_scores(emb[q_idx], labels[q_idx], emb[g_idx], labels[g_idx], max_impostors,
                                              norm=norm)
    else:
        genuine, impostor = pair_scores(emb, labels, max_impostors, norm=norm)
    far, tar, thr = roc_curve(genuine, impostor)
    eer, eer_thr = equal_error_rate(far, tar, thr)
    return ReidMetrics(protocol + _norm_tag(norm), tot_r1 / n_q, tot_r5 / n_q, tot_ap / n_q,
                       {float(f): tar_at_far(far, tar, f) for f in fars}, eer, eer_thr,
                       int(len(labels)), n_ids, n_q, genuine, impostor)


def _norm_tag(norm) -> str:
    return "" if norm is None else f", AS-norm (top {norm.top_k} of a {len(norm)}-embedding cohort)"


def _evaluate_templates(emb, labels, q_idx, g_idx, protocol, templates, fars, max_impostors, norm=None) -> ReidMetrics:
    ids, g_owner = np.unique(labels[g_idx], return_inverse=True)
    keep = np.isin(labels[q_idx], ids)  # a query whose identity has no gallery image cannot be found
    q_idx = q_idx[keep]
    if q_idx.size == 0:
        raise InputError("no query has a true match: every identity needs at least two images")
    sim = identity_scores(emb[q_idx], emb[g_idx], g_owner, len(ids), templates, norm)
    ranks, m_ap, n_q = ranking_metrics(sim, labels[q_idx], ids)
    same = labels[q_idx][:, None] == ids[None, :]
    genuine, impostor = sim[same].astype(np.float32), sim[~same].astype(np.float32)
    if max_impostors is not None and impostor.size > max_impostors:
        impostor = np.random.default_rng(0).choice(impostor, max_impostors, replace=False)
    far, tar, thr = roc_curve(genuine, impostor)
    eer, eer_thr = equal_error_rate(far, tar, thr)
    return ReidMetrics(f"{protocol}, {templates} per identity{_norm_tag(norm)}", ranks[1], ranks[5], m_ap,
                       {float(f): tar_at_far(far, tar, f) for f in fars}, eer, eer_thr,
                       int(len(labels)), int(np.unique(labels).size), n_q, genuine, impostor)


# -- plots ------------------------------------------------------------------------------------
def save_plots(metrics: ReidMetrics | dict[str, ReidMetrics], out_dir: str | Path) -> list[Path]:
    """Write ``roc.png`` (TAR vs FAR), ``det.png`` (FRR vs FAR, log-log) and ``scores.png``
    (genuine/impostor histograms) to ``out_dir``; a dict compares several models (label -> metrics).
    """
    from matplotlib.figure import Figure  # no pyplot: the caller's backend (e.g. a notebook's) is left alone

    runs = metrics if isinstance(metrics, dict) else {"model": metrics}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    curves = {k: roc_curve(m.genuine, m.impostor) for k, m in runs.items()}
    paths = []

    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.subplots()
    for label, (far, tar, _) in curves.items():
        m = runs[label]
        ax.plot(np.maximum(far, 1e-6), tar, label=f"{label} (EER {m.eer:.3f})")
    for f in FARS:
        ax.axvline(f, color="grey", lw=0.6, ls=":")
    ax.set(xscale="log", xlim=(1e-5, 1), ylim=(0, 1.01), xlabel="false accept rate (FAR)",
           ylabel="true accept rate (TAR)", title="ROC (verification, all pairs)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    paths.append(_save(fig, out / "roc.png"))

    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.subplots()
    for label, (far, tar, _) in curves.items():
        ax.plot(np.maximum(far, 1e-6), np.maximum(1 - tar, 1e-6), label=label)
    lim = (1e-5, 1)
    ax.plot(lim, lim, color="grey", lw=0.6, ls="--", label="FAR = FRR")
    ax.set(xscale="log", yscale="log", xlim=lim, ylim=(1e-4, 1), xlabel="false accept rate (FAR)",
           ylabel="false reject rate (FRR)", title="DET")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower left", fontsize=8)
    paths.append(_save(fig, out / "det.png"))

    fig = Figure(figsize=(6, 2.8 * len(runs)))
    axes = fig.subplots(len(runs), 1, squeeze=False)
    cosine = [m for m in runs.values() if "AS-norm" not in m.protocol]
    lo = min((float(min(m.genuine.min(), m.impostor.min())) for m in cosine), default=-1.0)
    cos_bins = np.linspace(max(-1.0, np.floor(lo * 10) / 10), 1.0, 81)  # one scale for all cosine runs
    for ax, (label, m) in zip(axes[:, 0], runs.items()):
        normed = "AS-norm" in m.protocol  # z-scores, not cosines: a scale of their own
        both = np.concatenate([m.genuine, m.impostor])
        bins = np.linspace(float(both.min()), float(both.max()) + 1e-9, 81) if normed else cos_bins
        ax.hist(m.impostor, bins=bins, density=True, alpha=0.55, label=f"impostor ({m.impostor.size})")
        ax.hist(m.genuine, bins=bins, density=True, alpha=0.55, label=f"genuine ({m.genuine.size})")
        ax.axvline(m.eer_threshold, color="k", lw=0.8, ls="--", label=f"EER threshold {m.eer_threshold:.3f}")
        ax.set(xlabel="AS-norm score" if normed else "cosine similarity", ylabel="density",
               title=f"pair scores: {label}")
        ax.legend(fontsize=8)
    paths.append(_save(fig, out / "scores.png"))
    return paths


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def write_metrics(metrics: ReidMetrics | dict[str, ReidMetrics], path: str | Path, extra: dict | None = None) -> Path:
    """Write the metrics summary (or a dict of them) as JSON."""
    data = metrics.to_dict() if isinstance(metrics, ReidMetrics) else {k: m.to_dict() for k, m in metrics.items()}
    if extra:
        data = {**data, **extra}
    Path(path).write_text(json.dumps(data, indent=2) + "\n")
    return Path(path)


def embed_identity_set(embed: Callable[[list[np.ndarray]], np.ndarray], data: IdentitySet, batch_size: int = 64,
                       progress: Callable | None = None) -> np.ndarray:
    """Embed every image of ``data`` with ``embed(list of images) -> (n, D)`` (e.g. ``Embedder.embed``)."""
    from ..io import read_image

    chunks = [range(i, min(i + batch_size, len(data))) for i in range(0, len(data), batch_size)]
    it = progress(chunks, total=len(chunks), desc="embed") if progress else chunks
    return np.concatenate([np.asarray(embed([read_image(data.paths[i]) for i in c]), np.float32) for c in it])
