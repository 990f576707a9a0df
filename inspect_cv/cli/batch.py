"""``inspect-cv batch detect SRC... --model M --out DIR [--ray ADDRESS]``: archive-scale detection."""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("batch", help="archive-scale batch inference on Ray (batch extra)")
    sub = p.add_subparsers(dest="batch_task", metavar="TASK")
    d = sub.add_parser("detect", help="detect on folders / file lists of scans into resumable shards",
                       description="Runs a detector over folders (recursive) or .txt file lists with Ray "
                                   "Data, writing part-NNNNN.jsonl (or .parquet) shards of `inspect-cv "
                                   "detect` records. Rerun the same command after an interruption: "
                                   "finished shards are skipped. Without --ray a local Ray is started.")
    d.add_argument("inputs", nargs="+", metavar="SRC", help="scan files, folders or .txt lists")
    d.add_argument("--model", required=True, help="model name or .onnx path")
    d.add_argument("--out", required=True, help="output folder of shards")
    d.add_argument("--ray", default=None, metavar="ADDRESS", help="join this Ray cluster (host:port)")
    d.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl")
    d.add_argument("--shard-size", type=int, default=256)
    d.add_argument("--workers", type=int, default=2, help="detector actors (one ONNX session each)")
    d.add_argument("--batch-size", type=int, default=8)
    d.add_argument("--conf", type=float, default=None)
    d.add_argument("--tile", default="auto")
    d.set_defaults(func=run)
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])
    return p


def _quiet_ray(debug: bool) -> None:
    """Keep Ray's own INFO lines and C++ notices off the operator's terminal (--debug shows them)."""
    import logging

    if not debug:
        try:
            import ray.data  # noqa: F401  (configures its loggers on import: set the levels after)
        except ImportError:
            return  # run_batch says what is missing
        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)


def run(args) -> int:
    from ..batch import list_sources, run_batch

    _quiet_ray(bool(getattr(args, "debug", False)))
    from ..progress import progress
    from ..service.records import parse_tile

    tile = parse_tile(args.tile)  # InputError: one line from the main entry point
    if args.conf is not None and not 0 <= args.conf <= 1:
        print("inspect-cv batch: error: --conf must lie in [0, 1]", file=sys.stderr)
        return 2
    paths = list_sources(args.inputs)
    s = run_batch(paths, args.model, args.out, ray_address=args.ray, workers=args.workers,
                  batch_size=args.batch_size, shard_size=args.shard_size, fmt=args.format, conf=args.conf,
                  tile=tile, progress=progress)
    print(f"inspect-cv batch detect: {s.total} scans, {s.done} processed, {s.skipped} skipped (done before), "
          f"{s.errors} errors, {s.shards_written} shards written, {s.rows_per_s:.1f} scans/s", file=sys.stderr)
    return 0 if s.errors < max(s.done, 1) or s.done == 0 else 1
