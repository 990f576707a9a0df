"""``inspect-cv evaluate``: score a model on a labelled data set.

``inspect-cv evaluate --model M --data D [D ...] [--format auto|coco|yolo|voc|...] [--out DIR]``
writes ``metrics.json``, PR curves, the alarm ROC and a confusion matrix (PNG) and prints
a per-class table. Several data sets are scored as one (e.g. a test set plus a folder of
threat-free bags, so that the alarm rate at 1 % false alarms rests on enough clean bags).
``inspect-cv evaluate reid ...`` scores embedding models.
"""
from __future__ import annotations

import sys
from pathlib import Path
from ._options import add_tta_argument


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="score a model on a labelled data set (metrics.json + plots)")
    p.add_argument("task", nargs="?", default="detect", choices=["detect", "reid"], help="what to evaluate")
    p.add_argument("--model", required=True, help="bundled model name or .onnx path")
    p.add_argument("--data", required=True, nargs="+",
                   help="data set: COCO json, YOLO data.yaml / folder, VOC folder, ...; several are scored as one")
    p.add_argument("--format", default="auto", help="data set format (default: guess from the path)")
    p.add_argument("--split", default=None, help="split to read where the format has splits (e.g. val, test)")
    p.add_argument("--out", type=Path, default=None, help="folder for metrics.json and plots")
    p.add_argument("--conf", type=float, default=0.001, help="score threshold for mAP (keep it low)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--tile", default="auto")
    add_tta_argument(p, "image (detectors)")
    p.add_argument("--protocol", choices=["leave-one-out", "query-gallery", "sessions"], default="leave-one-out",
                   help="reid: leave-one-out, one gallery image per identity, or enrolment session vs later ones")
    p.add_argument("--templates", choices=["max", "mean"], default=None,
                   help="reid with a gallery protocol: score each query against each gallery identity as the horse "
                        "gallery does (max: best gallery image; mean: the identity's averaged template) instead of "
                        "against each gallery image")
    p.add_argument("--cohort", default=None, metavar="NPZ_OR_DIR",
                   help="reid: normalise scores against a cohort of other identities (AS-norm): an embeddings .npz "
                        "written by `inspect-cv reid embed` with the same model, or an image folder to embed "
                        "(e.g. the training identities; never the evaluated ones)")
    p.add_argument("--cohort-k", type=int, default=100, help="reid: top cohort scores per side for AS-norm (default 100)")
    p.set_defaults(func=run)


def guess_format(path: Path) -> str:
    if path.suffix == ".json":
        return "coco"
    if path.suffix in (".yaml", ".yml") or (path / "data.yaml").exists():
        return "yolo"
    if path.is_dir() and (path / "annotations.json").exists():
        return "coco"
    if path.is_dir() and any(path.glob("**/*.xml")):
        return "voc"
    from ..errors import InputError

    raise InputError("cannot tell the data set's format; pass --format", path)


def load_dataset(data: str, fmt: str, split: str | None):
    from ..formats import read_dataset

    path = Path(data)
    fmt = guess_format(path) if fmt == "auto" else fmt
    if fmt == "coco" and path.is_dir():
        path = path / "annotations.json"
    kw = {"split": split} if split else {}
    return read_dataset(path, fmt, **kw)


def load_datasets(data: list[str], fmt: str, split: str | None):
    """One data set from one or several paths (classes in first-appearance order)."""
    if len(data) == 1:
        return load_dataset(data[0], fmt, split)
    from ..formats.ops import merge

    return merge(load_dataset(d, fmt, split) for d in data)


def run(args) -> int:
    data = list(args.data)  # argparse: one or more paths
    if args.task == "reid":
        from ..errors import InputError
        from . import evaluate_reid  # provided by the re-identification stack

        if len(data) != 1:
            raise InputError("evaluate reid takes one identity folder in --data")
        args.data = data[0]
        return evaluate_reid.run(args)
    from .. import load
    from ..evaluation.detection import evaluate_detections, save_plots
    from ..io import read_image
    from ..progress import progress

    detector = load(args.model, device=args.device)
    from ..detection.tta import resolve_tta

    args.tta = resolve_tta(detector, args.tta)
    ds = load_datasets(data, args.format, args.split)
    preds = []
    for rec in progress(ds.images, desc="evaluate"):
        preds.append(detector.predict(read_image(ds.image_path(rec)), conf=args.conf, tile=args.tile, tta=args.tta))
    m = evaluate_detections(ds, preds, detector.classes, detector.alarm_classes)
    print(f"{'class':<16} {'boxes':>6} {'AP50':>7} {'AP50-95':>8}")
    for name, v in m.per_class.items():
        print(f"{name:<16} {v['n_boxes']:>6} {v['ap50']:>7.3f} {v['ap50_95']:>8.3f}")
    print(f"{'all':<16} {m.n_boxes:>6} {m.map50:>7.3f} {m.map50_95:>8.3f}")
    for k, v in m.alarm.items():
        if k.startswith("tar@"):
            print(f"true-alarm rate at {k[4:].replace('far', 'false-alarm rate ')}: {v:.3f}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        m.save(args.out / "metrics.json")
        save_plots(m, ds.classes, args.out)
        print(f"metrics and plots: {args.out}", file=sys.stderr)
    return 0
