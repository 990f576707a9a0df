"""``inspect-cv train detect CONFIG.yaml [key=value ...]``: train a detector.

Distributed: ``torchrun --nproc_per_node N -m inspect_cv.cli.train detect CONFIG.yaml``
(or the ``inspect-cv`` script path instead of ``-m ...``); the same command, one process
per worker, gloo on CPU.
"""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("train", help="train a model from a YAML recipe")
    kinds = p.add_subparsers(dest="train_kind", metavar="KIND", required=True)
    d = kinds.add_parser("detect", help="train an object detector",
                         description="Train a detector. The run folder (output_dir/name) gets the "
                                     "resolved config.yaml, metrics.jsonl, last.pt and best.pt; "
                                     "re-running the same command resumes from last.pt.")
    d.add_argument("config", help="YAML recipe, e.g. training/baggage/config.yaml")
    d.add_argument("overrides", nargs="*", metavar="key=value",
                   help="config overrides with dotted keys, e.g. train.epochs=5 data.input_size=640")
    d.set_defaults(func=run)
    from . import train_reid

    train_reid.add_reid_parser(kinds)
    return p


def run(args) -> int:
    from inspect_cv.errors import MissingDependencyError
    from inspect_cv.progress import progress
    try:
        from inspect_cv.train.config import load_config
        from inspect_cv.train.detect import train_detect
    except ImportError as e:
        raise MissingDependencyError(e.name or "torch", "train", "train models") from None
    cfg = load_config(args.config, args.overrides)
    res = train_detect(cfg, progress=progress, log=lambda line: print(line, flush=True))
    import os
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"run folder: {res.run_dir}  best checkpoint: {res.best_checkpoint}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m inspect_cv.cli.train``), e.g. for torchrun."""
    from inspect_cv.errors import InspectCVError
    parser = argparse.ArgumentParser(prog="inspect-cv")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InspectCVError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
