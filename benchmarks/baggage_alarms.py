"""Bag-level alarm rates of baggage detectors, side by side on the same bags.

    python benchmarks/baggage_alarms.py --model v0.0.3=exported_models/baggage.onnx \
        --model fifth=runs/b4/baggage.onnx \
        --data data/bag_test_s3/annotations.json data/bag_benign_s7/annotations.json \
        --out benchmarks/results/baggage_alarms_v3_vs_b4

A bag alarms when its highest threat score passes the threshold. For each model: the
true-alarm rate (share of bags with a threat that alarm) at the thresholds that give
0.5 / 1 / 2 / 3 / 5 / 10 % false alarms on the threat-free bags, the area under the alarm
ROC, and the tenth-highest score on a clean bag. Writes ``OUT.md``, ``OUT.json`` and
``OUT.png`` (the ROC of every model, false-alarm axis in log scale).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

FARS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.10)


def roc_auc(benign: np.ndarray, threat: np.ndarray) -> float:
    """P(score of a threat bag > score of a clean bag), ties counted half."""
    b = np.sort(benign)
    lo = np.searchsorted(b, threat, "left")
    hi = np.searchsorted(b, threat, "right")
    return float((lo + 0.5 * (hi - lo)).sum() / (len(b) * len(threat)))


def bag_scores(model: str, data: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from inspect_cv import load
    from inspect_cv.cli.evaluate import load_datasets
    from inspect_cv.evaluation.detection import image_alarms
    from inspect_cv.io import read_image
    from inspect_cv.progress import progress

    det = load(model, device="cpu")
    ds = load_datasets([Path(d) for d in data], "auto", None)
    preds = [det.predict(read_image(ds.image_path(r)), conf=0.001) for r in progress(ds.images, desc=Path(model).name)]
    return image_alarms(ds, preds, det.classes, det.alarm_classes)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument("--data", nargs="+", required=True, help="COCO annotation files, merged")
    ap.add_argument("--out", type=Path, required=True, help="output path without suffix")
    args = ap.parse_args(argv)
    from inspect_cv.evaluation.detection import alarm_rates

    rows, curves = {}, {}
    for spec in args.model:
        name, _, path = spec.partition("=")
        if not path:
            print(f"error: --model takes NAME=PATH, not {spec!r}", file=sys.stderr)
            return 2
        s, threat, clean = bag_scores(path, args.data)
        r = alarm_rates(s[threat | clean], threat[threat | clean], FARS)
        top = np.sort(s[clean])[::-1]
        both = clean.any() and threat.any()
        rows[name] = {"model": path, **{f"tar@{f:g}": r.get(f"tar@far{f:g}") for f in FARS},
                      "auc": roc_auc(s[clean], s[threat]) if both else None,
                      "clean_10th_score": float(top[9]) if len(top) > 9 else None,
                      "n_threat_bags": int(threat.sum()), "n_clean_bags": int(clean.sum())}
        curves[name] = (s[clean], s[threat])
    head = "| model | " + " | ".join(f"TAR @ {100 * f:g} % FA" for f in FARS) + " | ROC AUC | 10th clean score |"
    lines = [f"# Bag alarms: {', '.join(rows)}", "",
             f"Data: {' '.join(args.data)}; {next(iter(rows.values()))['n_threat_bags']} bags with a threat, "
             f"{next(iter(rows.values()))['n_clean_bags']} threat-free bags.", "",
             "Command: `python benchmarks/baggage_alarms.py " + " ".join(sys.argv[1:] if argv is None else argv) + "`", "",
             head, "|" + "---|" * (len(FARS) + 3)]
    for name, r in rows.items():
        cells = [r[f"tar@{f:g}"] for f in FARS] + [r["auc"], r["clean_10th_score"]]
        lines.append(f"| {name} | " + " | ".join("-" if c is None else f"{c:.3f}" for c in cells) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, (b, t) in curves.items():
        thr = np.unique(np.concatenate([b, t]))[::-1]
        ax.plot([max((b >= x).mean(), 1e-4) for x in thr], [(t >= x).mean() for x in thr], label=name)
    ax.set_xscale("log")
    ax.set_xlim(1e-3, 1)
    ax.set_xlabel("false-alarm rate (threat-free bags)")
    ax.set_ylabel("true-alarm rate (bags with a threat)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out.with_suffix(".png"), dpi=110)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
