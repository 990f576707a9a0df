"""``inspect-cv train reid CONFIG.yaml [key=value ...]``: train an embedding (re-identification) model.

Wiring (beside ``train detect``): in :func:`inspect_cv.cli.train.register`, after creating the
``kinds`` sub-parsers, call ``train_reid.add_reid_parser(kinds)``. Distributed:
``torchrun --nproc_per_node N -m inspect_cv.cli.train_reid CONFIG.yaml``.
After training, ``best.pt`` is exported to ``<run folder>/<export.name>.onnx`` (card, parity
checked) unless ``--no-export``.
"""
from __future__ import annotations

import argparse
import os
import sys


def add_reid_parser(train_subparsers) -> argparse.ArgumentParser:
    """Add the ``reid`` kind to the ``inspect-cv train`` sub-parsers."""
    p = train_subparsers.add_parser(
        "reid", help="train an embedding model on a folder-per-identity data set",
        description="Train an embedding model (P x K batches, metric-learning losses). The run folder "
                    "(output_dir/name) gets the resolved config.yaml, metrics.jsonl, last.pt and best.pt; "
                    "re-running the same command resumes from last.pt. best.pt is then exported to ONNX.")
    p.add_argument("config", help="YAML recipe, e.g. training/dogface/config.yaml")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="config overrides with dotted keys, e.g. train.epochs=5 model.dim=256")
    p.add_argument("--no-export", action="store_true", help="do not export best.pt to ONNX at the end")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from inspect_cv.errors import MissingDependencyError
    from inspect_cv.progress import progress
    try:
        from inspect_cv.train.reid.config import load_reid_config
        from inspect_cv.train.reid.engine import train_reid
    except ImportError as e:
        raise MissingDependencyError(e.name or "torch", "train", "train models") from None
    cfg = load_reid_config(args.config, args.overrides)
    res = train_reid(cfg, progress=progress, log=lambda line: print(line, flush=True))
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    print(f"run folder: {res.run_dir}  best checkpoint: {res.best_checkpoint}")
    if not getattr(args, "no_export", False):
        from inspect_cv.train.reid.export import export_checkpoint
        out = export_checkpoint(res.best_checkpoint, res.run_dir / f"{cfg['export']['name']}.onnx")
        print(f"exported: {out.path}  (ONNX vs torch max |diff| {out.max_abs_diff:.2e})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m inspect_cv.cli.train_reid CONFIG ...``), e.g. for torchrun."""
    from inspect_cv.errors import InspectCVError
    root = argparse.ArgumentParser(prog="inspect-cv train")
    add_reid_parser(root.add_subparsers(dest="train_kind", required=True))
    args = root.parse_args(["reid", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except InspectCVError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
