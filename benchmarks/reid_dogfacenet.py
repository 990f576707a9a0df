"""DogFaceNet re-identification benchmark: trained embedder vs plain ImageNet features.

    python benchmarks/reid_dogfacenet.py --model runs/reid/dogface/dogface-reid.onnx \
        [--data ../shared/data/reid/dogfacenet/test] [--backbone mobilenet_v2] [--out runs/reid/dogface/bench] [--tta flip]
        [--cohort ../shared/data/reid/dogfacenet/train --cohort-k 100]

Leave-one-out over every test image (rank-1/5, mAP, TAR at FAR 1% / 0.1%, EER) for
(1) the trained ONNX model through the runtime ``Embedder`` and (2) the same backbone's ImageNet
features (average-pooled, no metric learning; needs the ``train`` extra), exported to ONNX at
the model's input size and run the same way. Also onnxruntime latency per face at batch 1
(``--threads``, default 2). With ``--cohort`` (a folder of identities disjoint from the test
ones, e.g. the training split) each model is also scored with AS-norm against that cohort,
embedded by the same model (:class:`inspect_cv.reid.scorenorm.CohortNorm`). Writes ``results.json`` and comparison plots (ROC, DET, score histograms).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embed_latency import latency_ms  # noqa: E402  (benchmarks/ is a folder of scripts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--data", default="../shared/data/reid/dogfacenet/test")
    ap.add_argument("--backbone", default="mobilenet_v2")
    ap.add_argument("--out", type=Path, default=Path("runs/reid/dogface/bench"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--tta", choices=["none", "flip"], default=None,
                    help="test-time augmentation for both models (default: each card's own, none for the baseline)")
    ap.add_argument("--cohort", type=Path, default=None, help="image folder of other identities for AS-norm")
    ap.add_argument("--cohort-k", type=int, default=100, help="top cohort scores per side (choose it on validation "
                                                               "identities: benchmarks/dogface_cohort_k.py)")
    args = ap.parse_args(argv)

    import inspect_cv
    from inspect_cv.evaluation.reid import (embed_identity_set, evaluate_embeddings, read_identity_folder,
                                            save_plots, write_metrics)
    from inspect_cv.reid.scorenorm import CohortNorm

    args.out.mkdir(parents=True, exist_ok=True)
    data = read_identity_folder(args.data)
    cohort = read_identity_folder(args.cohort) if args.cohort is not None else None
    if cohort is not None and set(cohort.names) & set(data.names):
        raise SystemExit(f"--cohort shares identities with --data: {sorted(set(cohort.names) & set(data.names))[:5]}")
    runs, lat = {}, {}
    model = inspect_cv.load(args.model, device="cpu")
    size = int(model.card.input_size[0])
    def embedder(m):
        return m.embed if args.tta is None else (lambda imgs, **kw: m.embed(imgs, tta=args.tta, **kw))

    def score(name, m, path):
        emb = embed_identity_set(embedder(m), data)
        runs[name] = evaluate_embeddings(emb, data.labels)
        lat[name] = latency_ms(path, size, args.threads)
        if cohort is not None:
            norm = CohortNorm(embed_identity_set(embedder(m), cohort), args.cohort_k)
            runs[f"{name} + AS-norm"] = evaluate_embeddings(emb, data.labels, norm=norm)
            lat[f"{name} + AS-norm"] = lat[name]

    score(model.card.name, model, args.model)
    if not args.no_baseline:
        from inspect_cv.train.reid.baseline import export_baseline

        base_path = args.out / f"{args.backbone}-imagenet-{size}.onnx"
        export_baseline(base_path, args.backbone, size)
        base = inspect_cv.load(base_path, device="cpu")
        score(base.card.name, base, base_path)
    for name, m in runs.items():
        print(f"{name}: {m.summary()}  latency {lat[name]['median_ms']:.2f} ms (median, batch 1, "
              f"{args.threads} threads)")
    write_metrics(runs, args.out / "results.json")
    res = json.loads((args.out / "results.json").read_text())
    for name in res:
        res[name]["latency"] = lat[name]
    res["_meta"] = {"data": str(args.data), "cpu": platform.processor() or platform.machine(),
                    "protocol": "leave-one-out over all test images",
                    "cohort": None if cohort is None else {"data": str(args.cohort), "images": len(cohort),
                                                           "identities": cohort.num_identities, "top_k": args.cohort_k}}
    (args.out / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    save_plots(runs, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
