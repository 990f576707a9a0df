"""Throughput of `inspect-cv batch detect` (Ray Data) vs the single-process `detect` loop.

    PYTHONPATH=. python benchmarks/batch_throughput.py --n 300 [--md benchmarks/results/batch_throughput.md]

The same N scans (copies of the bundled baggage samples, each file its own name) are run
(1) in one process, as `inspect-cv detect` does (one ONNX session, all cores), and (2) by
``run_batch`` with a local Ray at each ``--workers`` count (start-up included, fresh output
folder each time). Prints a Markdown table: wall seconds, scans/s, ratio to the single process.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--model", default="baggage")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--md", type=Path, default=None)
    args = ap.parse_args()

    from inspect_cv import load
    from inspect_cv.batch import run_batch
    from inspect_cv.cli.detect import detect_one

    samples = sorted(p for p in (ROOT / "inspect_cv" / "samples" / "baggage").iterdir()
                     if p.suffix in (".jpg", ".png", ".tif"))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "scans"
        src.mkdir()
        paths = []
        for i in range(args.n):
            s = samples[i % len(samples)]
            paths.append(str(shutil.copy(s, src / f"scan{i:05d}{s.suffix}")))
        rows = []
        t0 = time.perf_counter()
        det = load(args.model)
        for p in paths:
            detect_one(det, p, None, None, "auto", None)
        single = time.perf_counter() - t0
        rows.append(("single process (`inspect-cv detect`)", single))
        for w in args.workers:
            out = Path(tmp) / f"out{w}"
            t0 = time.perf_counter()
            s = run_batch(paths, args.model, out, workers=w, batch_size=8, shard_size=100)
            el = time.perf_counter() - t0
            assert s.done == args.n and s.errors == 0, s
            rows.append((f"Ray Data, local, {w} actor(s)", el))
    lines = ["| runner | wall s | scans/s | vs single process |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {el:.1f} | {args.n / el:.1f} | {single / el:.2f}x |" for name, el in rows]
    table = "\n".join(lines)
    print(table)
    if args.md:
        args.md.write_text(f"# Archive batch throughput\n\n{args.n} scans (bundled baggage samples, 512-800 px), "
                           f"model `{args.model}`, Ray start-up included.\n\n{table}\n\nCommand:\n\n```bash\n"
                           f"PYTHONPATH=. python {' '.join(sys.argv)}\n```\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
