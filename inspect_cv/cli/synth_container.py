"""``inspect-cv synth container``: synthetic H986-type container scans with labels.

    inspect-cv synth container --out DIR --n N --seed S [--length 20|40|mixed]
        [--empty-fraction F] [--no-truck] [--workers W] [--profile NAME]
        [--pixel-mm MM] [--false-manifest-fraction F] [--concealment-fraction F]
        [--cargo CATEGORY,...] [--concealments KIND,...]

Writes 16-bit TIFF scans (high and low energy), COCO labels, per-scan manifests and
truth (see datasets/container_scans.md). Prints one summary line.
"""
from __future__ import annotations

import argparse
import json


def register(synth_subparsers) -> argparse.ArgumentParser:
    p = synth_subparsers.add_parser(
        "container", help="synthetic dual-energy container scans (MeV linac, H986-type)",
        description="Render synthetic drive-through container scans: 16-bit high/low "
                    "energy TIFFs, COCO boxes of concealed items, manifests (some false) "
                    "and truth (empty, cargo category, cargo mass).")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--n", type=int, required=True, help="number of scans")
    p.add_argument("--seed", type=int, default=0, help="random seed (scan i depends on seed, i)")
    p.add_argument("--length", choices=["20", "40", "mixed"], default="mixed",
                   help="container length in feet (default mixed)")
    p.add_argument("--empty-fraction", type=float, default=0.2,
                   help="fraction of empty containers (default 0.2)")
    p.add_argument("--no-truck", action="store_true",
                   help="scan the container alone (gantry), without tractor and chassis")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--profile", default=None,
                   help="scanner profile (sim-6-4mv-cdwo4, sim-9-6mv-cdwo4, sim-6-3mv-csi)")
    p.add_argument("--pixel-mm", type=float, default=None, help="override the pixel pitch")
    p.add_argument("--false-manifest-fraction", type=float, default=0.25,
                   help="fraction of deliberately wrong manifests (default 0.25)")
    p.add_argument("--concealment-fraction", type=float, default=0.5,
                   help="fraction of loaded scans with a concealment (default 0.5)")
    p.add_argument("--cargo", default=None,
                   help="comma-separated cargo categories of loaded containers (default all: "
                        "cartons,textiles,machinery,grain,tyres,timber,cigarettes); a subset holds "
                        "a cargo mix out of a training set; furniture, scrap_metal and "
                        "bottled_drinks are drawn only when named here (held-out test cargo)")
    p.add_argument("--concealments", default=None,
                   help="comma-separated concealment kinds to draw from (default all: "
                        "drugs,firearms,vehicle,cigarettes,false_wall,false_floor), e.g. firearms "
                        "for a hard-case training set")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..errors import ConfigError
    from ..container import physics as cphys
    from ..container.synth import write_dataset
    from ..progress import progress

    if args.n < 1:
        raise ConfigError(f"--n must be >= 1, got {args.n}")
    if args.seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {args.seed}")
    if args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    for name in ("empty_fraction", "false_manifest_fraction", "concealment_fraction"):
        v = getattr(args, name)
        if not 0 <= v <= 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be in [0, 1], got {v}")
    extra = {}
    if args.cargo is not None:
        extra["cargo"] = tuple(c.strip() for c in args.cargo.split(",") if c.strip())
    if args.concealments is not None:
        extra["concealments"] = tuple(c.strip() for c in args.concealments.split(",") if c.strip())
    coco = write_dataset(args.out, args.n, args.seed, progress=progress, workers=args.workers,
                         length=args.length, empty_fraction=args.empty_fraction,
                         with_truck=not args.no_truck,
                         profile=args.profile or cphys.DEFAULT_PROFILE,
                         pixel_mm=args.pixel_mm,
                         false_manifest_fraction=args.false_manifest_fraction,
                         concealment_fraction=args.concealment_fraction, **extra)
    data = json.loads(coco.read_text())
    n_empty = sum(1 for im in data["images"] if im.get("empty"))
    print(f"wrote {len(data['images'])} scans ({n_empty} empty), "
          f"{len(data['annotations'])} boxes to {args.out}")
    return 0
