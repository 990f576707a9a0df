"""Choose the AS-norm cohort size ``top_k`` on the DogFaceNet *validation* dogs, never the test dogs.

    python benchmarks/dogface_cohort_k.py --model runs/reid/dogface-cpu-v5/dogface-reid.onnx \
        [--data ../shared/data/reid/dogfacenet/train] [--ks 10 25 50 100 200 400] [--out runs/reid/cohort_k.json]

The validation dogs are the 10 % of the training identities that the dogface recipes hold out
(``data.val_fraction: 0.1``, seed 0). They are scored leave-one-out, raw and with AS-norm against a
cohort of the other training dogs (the ones the model was trained on, as at test time, where the
cohort is the training split). Prints one JSON line per ``top_k`` (rank-1, mAP, TAR at FAR 1 % and
0.1 %, EER) and the chosen one: the best TAR at FAR 1 %, ties to the smaller ``top_k``, with its
AS-norm thresholds for FAR 1 % and 0.1 % on these pairs (a gallery's uncalibrated default). Also the
cost of normalising one probe (its cohort scores and their top ``k``), median over 1,000 probes.
Torch-free.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default="../shared/data/reid/dogfacenet/train")
    ap.add_argument("--ks", type=int, nargs="+", default=[10, 25, 50, 100, 200, 400])
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="write the table as JSON")
    args = ap.parse_args(argv)

    import inspect_cv
    from inspect_cv.evaluation.reid import embed_identity_set, evaluate_embeddings, read_identity_folder, split_identities
    from inspect_cv.reid.scorenorm import CohortNorm

    model = inspect_cv.load(args.model, device="cpu")
    train, val = split_identities(read_identity_folder(args.data, 2), args.val_fraction, args.seed)
    if val is None:
        raise SystemExit("--val-fraction leaves no validation identities")
    emb_val, emb_cohort = embed_identity_set(model.embed, val), embed_identity_set(model.embed, train)
    rows = []

    def row(k, m):
        r = {"top_k": k, "rank1": round(m.rank1, 4), "mAP": round(m.mAP, 4), "tar_far_1e-2": round(m.tar_at_far[0.01], 4),
             "tar_far_1e-3": round(m.tar_at_far[0.001], 4), "eer": round(m.eer, 4)}
        rows.append(r)
        print(json.dumps(r), flush=True)

    print(json.dumps({"val_identities": val.num_identities, "val_images": len(val),
                      "cohort_identities": train.num_identities, "cohort_images": len(train)}), flush=True)
    row(None, evaluate_embeddings(emb_val, val.labels))
    for k in args.ks:
        row(k, evaluate_embeddings(emb_val, val.labels, norm=CohortNorm(emb_cohort, k)))
    best = max((r for r in rows if r["top_k"] is not None), key=lambda r: (r["tar_far_1e-2"], -r["top_k"]))
    norm = CohortNorm(emb_cohort, best["top_k"])
    from inspect_cv.reid.gallery import threshold_for_far

    m = evaluate_embeddings(emb_val, val.labels, norm=norm)
    thresholds = {f"threshold_far_{far:g}": round(threshold_for_far(m.impostor, far), 3) for far in (0.01, 0.001)}
    print(json.dumps(thresholds), flush=True)
    probes = emb_val[np.arange(1000) % len(emb_val)]
    times = []
    for p in probes:
        t = time.perf_counter()
        norm.stats(p[None])
        times.append(time.perf_counter() - t)
    cost = float(np.median(times) * 1e3)
    print(json.dumps({"chosen_top_k": best["top_k"], "normalise_ms_per_probe": round(cost, 4)}), flush=True)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"model": str(args.model), "rows": rows, "chosen_top_k": best["top_k"],
                                        "normalise_ms_per_probe": cost, **thresholds}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
