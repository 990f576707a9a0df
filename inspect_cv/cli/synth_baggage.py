"""``inspect-cv synth baggage``: write a synthetic baggage X-ray dataset.

    inspect-cv synth baggage --out DIR --n N --seed S [--format coco|yolo]
                             [--profile NAME|random] [--size HxW] [--classes a,b]
                             [--held-out exclude|only|include] [--workers K]
"""
from __future__ import annotations

import argparse


def register(synth_subparsers) -> argparse.ArgumentParser:
    p = synth_subparsers.add_parser(
        "baggage", help="synthetic baggage X-ray scans with threats (COCO or YOLO)",
        description="Render cluttered bags with threats through the dual-energy scanner "
                    "simulator and write a detection dataset.")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--n", type=int, required=True, help="number of images")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (image i uses a seed from (seed, i))")
    p.add_argument("--start", type=int, default=0, help="index of the first image (to render a subset)")
    p.add_argument("--format", dest="fmt", choices=["coco", "yolo"], default="coco")
    p.add_argument("--profile", default=None,
                   help="scanner profile name, or 'random' for randomised scanners "
                        "(default: a random named profile per image)")
    p.add_argument("--size", default="704x896", help="image size HxW (default 704x896)")
    p.add_argument("--classes", default=None, help="comma-separated threat classes (default: the detector's 8)")
    p.add_argument("--held-out", default="exclude", choices=["exclude", "only", "include"],
                   help="shape families: training (exclude held-out), only held-out (OOD test), or all")
    p.add_argument("--max-threats", type=int, default=3, help="threats per positive image: 1..N")
    p.add_argument("--negative-fraction", type=float, default=0.2, help="fraction of images without threats")
    p.add_argument("--workers", type=int, default=1, help="processes to render with")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from inspect_cv.errors import InputError
    from inspect_cv.progress import progress
    from inspect_cv.synth.baggage import write_dataset

    if args.n < 1:
        raise InputError(f"--n must be at least 1, not {args.n}")
    if args.max_threats < 1:
        raise InputError(f"--max-threats must be at least 1, not {args.max_threats}")
    if not 0.0 <= args.negative_fraction <= 1.0:
        raise InputError(f"--negative-fraction must be in [0, 1], not {args.negative_fraction}")
    classes = None if not args.classes else [c.strip() for c in args.classes.split(",") if c.strip()]
    ann = write_dataset(args.out, args.n, args.seed, fmt=args.fmt, profile=args.profile,
                        size=args.size, classes=classes, progress=progress,
                        n_threats=(1, args.max_threats), negative_fraction=args.negative_fraction,
                        held_out=args.held_out, start=args.start, workers=max(1, args.workers))
    print(f"wrote {args.n} images to {args.out} ({args.fmt}: {ann})")
    return 0
