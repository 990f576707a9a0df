"""Would a linear map learnt on the training dogs' embeddings raise verification? Measured on the
DogFaceNet *validation* dogs only (never the test dogs).

    python benchmarks/dogface_whitening_val.py --model exported_models/dogface-reid.onnx \
        [--data ../shared/data/reid/dogfacenet/train] [--cohort-k 400] [--out runs/reid/whitening_val.json]

The validation dogs are the 10 % of the training identities the dogface recipes hold out
(``data.val_fraction: 0.1``, seed 0); the maps are fitted on the other training dogs:

* ``pca``: centre and whiten by the total covariance;
* ``wccn``: centre and whiten by the within-dog covariance (each dog's images around its mean);
* ``lda``: ``wccn``, then the ``dims`` directions of most between-dog spread.

Covariances are shrunk towards a multiple of the identity (``shrink``). Each map is scored by
cosine and by AS-norm against the mapped training dogs (top ``--cohort-k``), leave-one-out: one
JSON line per row. Torch-free.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def fit_map(x: np.ndarray, y: np.ndarray, kind: str, shrink: float, dims: int | None = None):
    """A function ``z -> unit((z - mean) @ P)`` fitted on embeddings ``x`` with identities ``y``."""
    mu = x.mean(0)
    xc = x - mu
    ids = np.unique(y)
    means = np.stack([xc[y == c].mean(0) for c in ids])
    if kind == "pca":
        cov = np.cov(xc.T)
    else:
        within = xc - means[np.searchsorted(ids, y)]
        cov = within.T @ within / len(x)
    d = x.shape[1]
    cov = (1 - shrink) * cov + shrink * np.trace(cov) / d * np.eye(d)
    w, v = np.linalg.eigh(cov)
    p = v / np.sqrt(w)
    if kind == "lda":
        wb, vb = np.linalg.eigh(p.T @ np.cov(means.T) @ p)
        p = p @ vb[:, np.argsort(wb)[::-1][:dims]]
    return lambda z: _unit((z - mu) @ p)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default="../shared/data/reid/dogfacenet/train")
    ap.add_argument("--cohort-k", type=int, default=400)
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    import inspect_cv
    from inspect_cv.evaluation.reid import embed_identity_set, evaluate_embeddings, read_identity_folder, split_identities
    from inspect_cv.reid.scorenorm import CohortNorm

    model = inspect_cv.load(args.model, device="cpu")
    train, val = split_identities(read_identity_folder(args.data, 2), args.val_fraction, args.seed)
    if val is None:
        raise SystemExit("--val-fraction leaves no validation identities")
    xt, yt = _unit(embed_identity_set(model.embed, train)), np.asarray(train.labels)
    xv, yv = _unit(embed_identity_set(model.embed, val)), np.asarray(val.labels)
    rows = []
    arms = [("none", 0.0, None)] + [(k, s, None) for k in ("pca", "wccn") for s in (0.1, 0.3, 0.6)] + \
        [("lda", s, d) for s in (0.1, 0.3) for d in (64, 96)]
    for kind, shrink, dims in arms:
        f = (lambda z: z) if kind == "none" else fit_map(xt, yt, kind, shrink, dims)
        for scoring in ("cosine", "as-norm"):
            norm = CohortNorm(f(xt), args.cohort_k) if scoring == "as-norm" else None
            m = evaluate_embeddings(f(xv), yv, norm=norm)
            r = {"map": kind, "shrink": shrink, "dims": dims, "scoring": scoring, "rank1": round(m.rank1, 4),
                 "mAP": round(m.mAP, 4), "tar_far_1e-2": round(m.tar_at_far[0.01], 4),
                 "tar_far_1e-3": round(m.tar_at_far[0.001], 4), "eer": round(m.eer, 4)}
            rows.append(r)
            print(json.dumps(r), flush=True)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"model": str(args.model), "val_identities": val.num_identities,
                                        "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
