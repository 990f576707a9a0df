"""``inspect-cv convert``: convert a detection dataset between formats.

    inspect-cv convert SRC --from FMT --to FMT --out DST [--label-map map.yaml]
                       [--classes a,b,c] [--split train=0.8,val=0.2 --seed S]
                       [--group-by series] [--src-split test] [--no-copy-images]

Prints one line: images, boxes, classes (and the parts when splitting).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ConfigError


def parse_fractions(text: str) -> dict[str, float]:
    """``"train=0.8,val=0.2"`` -> ``{"train": 0.8, "val": 0.2}``."""
    out: dict[str, float] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--split: expected name=fraction, got {item!r}")
        try:
            f = float(value)
        except ValueError:
            raise ConfigError(f"--split: {value!r} is not a number") from None
        if not f >= 0:
            raise ConfigError(f"--split: fraction of {name.strip()!r} must be >= 0")
        out[name.strip()] = f
    if not out or sum(out.values()) <= 0:
        raise ConfigError("--split: give at least one positive fraction, e.g. train=0.8,val=0.2")
    return out


def load_label_map(path: str | Path) -> dict[str, str | None]:
    """A YAML mapping ``old: new`` (``new`` null or empty to drop the class)."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: label map not found") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML ({getattr(e, 'problem', e)})") from None
    if isinstance(data, dict) and isinstance(data.get("label_map"), dict):
        data = data["label_map"]
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a label map must be a mapping 'old name: new name'")
    return {str(k): (None if v in (None, "") else str(v)) for k, v in data.items()}


def register(subparsers) -> argparse.ArgumentParser:
    from ..formats.convert import FORMATS

    p = subparsers.add_parser("convert", help="convert a detection dataset between formats",
                              description="Convert a detection dataset (COCO, YOLO, VOC or a native "
                                          "X-ray layout) to COCO, YOLO or VOC.")
    p.add_argument("src", help="source dataset (file or folder)")
    p.add_argument("--from", dest="src_fmt", required=True, choices=sorted(FORMATS), help="source format")
    p.add_argument("--to", dest="dst_fmt", required=True,
                   choices=sorted(k for k, v in FORMATS.items() if v.writer), help="output format")
    p.add_argument("--out", required=True, help="output folder (or .json file for coco)")
    p.add_argument("--label-map", help="YAML mapping old class name -> new name (null drops it)")
    p.add_argument("--classes", help="comma-separated final class order (others are dropped)")
    p.add_argument("--split", help="fractions, e.g. train=0.8,val=0.1,test=0.1")
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    p.add_argument("--group-by", help="image attribute kept within one split (e.g. series)")
    p.add_argument("--src-split", help="split of the source to read (yolo, opixray, hixray, pidray)")
    p.add_argument("--no-copy-images", action="store_true", help="write annotations only")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..formats.convert import convert
    from ..progress import progress

    read_kw = {}
    if args.src_split:
        if args.src_fmt not in ("yolo", "opixray", "hixray", "pidray"):
            raise ConfigError(f"--src-split does not apply to format {args.src_fmt!r}")
        read_kw["split"] = args.src_split
    if args.src_fmt in ("yolo", "voc", "opixray", "hixray", "sixray", "gdxray"):
        read_kw["progress"] = progress
    write_kw = {"progress": progress}
    if args.no_copy_images:
        write_kw["copy_images"] = False
    label_map = load_label_map(args.label_map) if args.label_map else None
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    fractions = parse_fractions(args.split) if args.split else None
    parts = convert(args.src, args.src_fmt, args.out, args.dst_fmt, label_map=label_map, classes=classes,
                    fractions=fractions, seed=args.seed, group_by=args.group_by,
                    read_kw=read_kw, write_kw=write_kw)
    n_img = sum(len(p) for p in parts.values())
    n_box = sum(p.num_boxes for p in parts.values())
    n_cls = len(next(iter(parts.values())).classes) if parts else 0
    line = f"converted {args.src_fmt} -> {args.dst_fmt}: {n_img} images, {n_box} boxes, {n_cls} classes -> {args.out}"
    if fractions:
        line += " (" + ", ".join(f"{k} {len(v)}" for k, v in parts.items()) + ")"
    dropped = {}
    for p in parts.values():
        for k, v in p.attrs.get("dropped", {}).items():
            dropped[k] = dropped.get(k, 0) + v
    if fractions is None and dropped:
        line += "; dropped " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(dropped.items()))
    print(line)
    return 0
