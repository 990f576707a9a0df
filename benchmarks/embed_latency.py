"""Embedding latency of several ONNX embedders side by side, in one run.

    python benchmarks/embed_latency.py --models exported_models/dogface-reid.onnx \
        runs/reid/dogface-cpu-v3/dogface-reid.onnx [--threads 2] [--runs 300] [--warmup 30] \
        [--repeats 3] [--out benchmarks/results/embed_latency.md]

onnxruntime on CPU, batch 1, each model at its card's input size, the session built once per
model. The models take turns (repeat 1 of every model, then repeat 2, ...) so that a noisy
machine weighs on all of them alike; the table gives each repeat's median and the ratio of each
model's median to the first model's. The project's target is <= 5 ms a face on this 2-core CPU.
"""
from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np


def session(path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def time_session(sess, size: int, runs: int = 200, warmup: int = 20) -> dict:
    """Median, p90 and min milliseconds of ``runs`` batch-1 calls after ``warmup`` calls."""
    name = sess.get_inputs()[0].name
    x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    for _ in range(warmup):
        sess.run(None, {name: x})
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, {name: x})
        ts.append((time.perf_counter() - t) * 1000)
    return {"median_ms": float(np.median(ts)), "p90_ms": float(np.percentile(ts, 90)),
            "min_ms": float(np.min(ts)), "runs": runs}


def latency_ms(path: Path, size: int, threads: int, runs: int = 200, warmup: int = 20) -> dict:
    """One model, one repeat (the figure ``reid_dogfacenet.py`` reports beside accuracy)."""
    return {**time_session(session(path, threads), size, runs, warmup), "threads": threads}


def table(names: list[str], sizes: list[int], medians: list[list[float]]) -> list[str]:
    """Markdown rows: model, input size, the median of each repeat, their median, ratio to the first."""
    mid = [float(np.median(m)) for m in medians]
    rows = ["| model | input | " + " | ".join(f"repeat {i + 1} (ms)" for i in range(len(medians[0])))
            + " | median (ms) | ratio to first |",
            "|---|---|" + "---|" * len(medians[0]) + "---|---|"]
    for name, size, m, c in zip(names, sizes, medians, mid):
        rows.append(f"| {name} | {size} px | " + " | ".join(f"{v:.2f}" for v in m)
                    + f" | {c:.2f} | {c / mid[0]:.2f} |")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", required=True, type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write the table to this Markdown file")
    args = ap.parse_args(argv)

    from inspect_cv.runtime.registry import read_card

    names, sizes, sessions = [], [], []
    for p in args.models:
        card = read_card(p)
        names.append(f"{card.name} {card.version} (`{p}`)")
        sizes.append(int(card.input_size[0]))
        sessions.append(session(p, args.threads))
    medians: list[list[float]] = [[] for _ in sessions]
    for r in range(args.repeats):
        for i, (sess, size) in enumerate(zip(sessions, sizes)):
            medians[i].append(time_session(sess, size, args.runs, args.warmup)["median_ms"])
            print(f"repeat {r + 1}: {names[i]}: {medians[i][-1]:.2f} ms", file=sys.stderr)
    lines = [f"`python {shlex.join(['benchmarks/embed_latency.py'] + (argv if argv is not None else sys.argv[1:]))}`", "",
             f"onnxruntime CPU, batch 1, {args.threads} intra-op threads, {args.runs} runs after {args.warmup} "
             f"warm-up per repeat, models taking turns; {platform.processor() or platform.machine()}, "
             f"{time.strftime('%Y-%m-%d')}.", ""] + table(names, sizes, medians)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("# Embedding latency\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
