"""``inspect-cv synth horse``: write a synthetic horse-face re-identification data set.

    inspect-cv synth horse --out DIR --identities N --per-identity K --seed S
                           [--first I] [--size 224] [--sessions 2] [--hard-fraction F] [--scenes [M]]

Writes ``DIR/<identity>/<n>.png`` and ``DIR/meta.json``; with ``--scenes`` also wider
photos with face boxes (COCO) in ``DIR_scenes/``.
"""
from __future__ import annotations

import argparse


def register(synth_subparsers) -> argparse.ArgumentParser:
    p = synth_subparsers.add_parser(
        "horse", help="synthetic horse faces for re-identification (and scenes for face detection)",
        description="Render procedural horse identities (coat, face markings, whorls, muzzle spots, "
                    "head shape) in several sessions with border-lane nuisances.")
    p.add_argument("--out", required=True, help="output folder (one sub-folder per identity)")
    p.add_argument("--identities", type=int, required=True, help="number of horses")
    p.add_argument("--first", type=int, default=0,
                   help="index of the first horse (render a large set in parts; horse i is the same "
                        "whichever part renders it)")
    p.add_argument("--per-identity", type=int, required=True, help="photos per horse")
    p.add_argument("--seed", type=int, default=0, help="data set seed (photo n of horse i depends on (seed, i, n))")
    p.add_argument("--size", type=int, default=224, help="face crop side in pixels (default 224)")
    p.add_argument("--sessions", type=int, default=2,
                   help="sessions per horse (photos split in blocks; session 0 = enrolment)")
    p.add_argument("--hard-fraction", type=float, default=0.2,
                   help="fraction of hard-case horses (shared coat, near-identical or no markings)")
    p.add_argument("--scenes", type=int, nargs="?", const=1, default=0, metavar="M",
                   help="also write M wider scene photos per horse with face boxes (default M=1)")
    p.add_argument("--scene-size", default="480x640", help="scene size HxW (default 480x640)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from inspect_cv.errors import InputError
    from inspect_cv.progress import progress
    from inspect_cv.synth.horse import write_identities

    for name, v, lo in (("--identities", args.identities, 1), ("--per-identity", args.per_identity, 1),
                        ("--sessions", args.sessions, 1), ("--size", args.size, 32), ("--scenes", args.scenes, 0),
                        ("--first", args.first, 0)):
        if v < lo:
            raise InputError(f"{name} must be at least {lo}, not {v}")
    if not 0.0 <= args.hard_fraction <= 1.0:
        raise InputError(f"--hard-fraction must be in [0, 1], not {args.hard_fraction}")
    if args.sessions > args.per_identity:
        raise InputError(f"--sessions ({args.sessions}) cannot exceed --per-identity ({args.per_identity})")
    try:
        h, w = (int(v) for v in args.scene_size.lower().split("x"))
    except ValueError:
        raise InputError(f"--scene-size must look like 480x640, not {args.scene_size!r}") from None
    if h < 32 or w < 32:
        raise InputError(f"--scene-size must be at least 32x32, not {args.scene_size}")
    out = write_identities(args.out, args.identities, args.per_identity, args.seed, size=args.size,
                           sessions=args.sessions, progress=progress, scenes=args.scenes, scene_size=(h, w),
                           hard_fraction=args.hard_fraction, first=args.first)
    msg = f"wrote {args.identities} x {args.per_identity} horse faces to {out}"
    if args.scenes:
        msg += f" and {args.identities * args.scenes} scenes to {out.parent / (out.name + '_scenes')}"
    print(msg)
    return 0
