"""Cohort score normalisation for verification scores (adaptive S-norm, "AS-norm").

A raw cosine score says how alike two faces are, but not how unusual that likeness is: some
faces are close to many others (a common coat, a frontal pose, a plain background) and score
high against everyone. Adaptive symmetric normalisation (Cumani et al., 2011; Matejka et al.,
2017, from speaker verification) measures this against a fixed *cohort*, embeddings of other
individuals that are neither enrolled nor probed (for the shipped models: the training
identities). Each side of a pair is scored against the cohort; the ``top_k`` highest cohort
scores give that side's mean ``mu`` and spread ``sd``; the pair's score becomes

    0.5 * ((s - mu_a) / sd_a + (s - mu_b) / sd_b)

a z-score, "how many spreads above what this face scores against its nearest strangers".
Thresholds then mean the same for easy and for hard faces, which raises the true-accept rate
at a fixed false-accept rate. The ranking of one query against a gallery changes only through
the gallery side's term.

Plain numpy over arrays, independent of the model: build it from any ``(C, D)`` array or from
an embeddings ``.npz`` of :func:`inspect_cv.reid.embed.save_npz`.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> norm = CohortNorm(rng.normal(size=(50, 8)), top_k=10)
>>> q, g = rng.normal(size=(3, 8)), rng.normal(size=(4, 8))
>>> norm.score(q, g).shape
(3, 4)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..evaluation.reid import _normalise as _unit  # checked (N, D), L2-normalised float64

DEFAULT_TOP_K = 100


class CohortNorm:
    """AS-norm of cosine scores against a fixed cohort of embeddings.

    Args:
        cohort: ``(C, D)`` embeddings of individuals outside the gallery and the probes.
        top_k: how many of the highest cohort scores define each side's mean and spread
            (all of them when the cohort is smaller; ``top_k >= C`` is plain S-norm).
    """

    def __init__(self, cohort: np.ndarray, top_k: int = DEFAULT_TOP_K, *, chunk: int = 1024):
        self.cohort = _unit(cohort, "cohort embeddings")
        if not isinstance(top_k, (int, np.integer)) or top_k < 2:
            raise InputError(f"top_k must be an integer >= 2, got {top_k!r}")
        if self.cohort.shape[0] < 2:
            raise InputError(f"a cohort needs at least 2 embeddings, got {self.cohort.shape[0]}")
        self.top_k = int(min(top_k, self.cohort.shape[0]))
        self.chunk = int(chunk)

    @property
    def dim(self) -> int:
        return int(self.cohort.shape[1])

    def __len__(self) -> int:
        return int(self.cohort.shape[0])

    def __repr__(self) -> str:
        return f"CohortNorm({len(self)} x {self.dim}, top_k={self.top_k})"

    @classmethod
    def from_npz(cls, path: str | Path, top_k: int = DEFAULT_TOP_K, model_sha256: str | None = None) -> "CohortNorm":
        """A cohort from an embeddings ``.npz`` (``inspect-cv reid embed``).

        With ``model_sha256``, the file must have been written by that model: embeddings of
        another model live in another space and would normalise nothing.
        """
        from .embed import load_npz

        _, emb = load_npz(path)
        if model_sha256:
            with np.load(Path(path), allow_pickle=False) as z:
                written_by = str(z["model_sha256"]) if "model_sha256" in z.files else ""
            if written_by and written_by != model_sha256:
                raise InputError(f"the cohort was embedded by another model (weights {written_by[:12]}..., "
                                 f"this model {model_sha256[:12]}...): embed the cohort again with this model", path)
        return cls(emb, top_k)

    def stats(self, emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, sd)``, each ``(N,)``: mean and spread of each row's ``top_k`` cohort scores."""
        emb = _unit(emb, "embeddings")
        if emb.shape[1] != self.dim:
            raise InputError(f"embeddings have {emb.shape[1]} dimensions, the cohort {self.dim}")
        mu, sd = np.empty(len(emb)), np.empty(len(emb))
        k = self.top_k
        for s in range(0, len(emb), self.chunk):
            sc = emb[s:s + self.chunk] @ self.cohort.T
            top = sc if k >= sc.shape[1] else np.partition(sc, sc.shape[1] - k, axis=1)[:, -k:]
            mu[s:s + self.chunk] = top.mean(1)
            sd[s:s + self.chunk] = top.std(1)
        return mu, np.maximum(sd, 1e-6)

    @staticmethod
    def normalise(scores: np.ndarray, a: tuple[np.ndarray, np.ndarray],
                  b: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """AS-norm of a ``(Q, G)`` cosine matrix given the rows' stats ``a`` and the columns' ``b``."""
        scores = np.asarray(scores, np.float64)
        (mu_a, sd_a), (mu_b, sd_b) = a, b
        return 0.5 * ((scores - mu_a[:, None]) / sd_a[:, None] + (scores - mu_b[None, :]) / sd_b[None, :])

    def score(self, q_emb: np.ndarray, g_emb: np.ndarray) -> np.ndarray:
        """Normalised ``(Q, G)`` scores of queries against gallery embeddings (or templates)."""
        q, g = _unit(q_emb, "query embeddings"), _unit(g_emb, "gallery embeddings")
        return self.normalise(q @ g.T, self.stats(q), self.stats(g))


__all__ = ["CohortNorm", "DEFAULT_TOP_K"]
