"""``inspect-cv detect``: run a detector over files and folders, JSON Lines out.

One object per image: ``{"image", "width", "height", "detections": [{"label", "score",
"box"}], "alarm", "ms"}``; a file that cannot be used gives ``{"image", "error"}`` and the
run goes on. Exit code 0 unless the usage is wrong (2) or every input failed (1).
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InspectCVError
from ._jsonl import write_records
from ._options import add_tta_argument


def register(sub) -> None:
    p = sub.add_parser("detect", help="detect objects in scans (JSON Lines out)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders (searched recursively)")
    p.add_argument("--model", required=True, help="bundled model name (see `inspect-cv models`) or .onnx path")
    p.add_argument("--conf", type=float, default=None, help="score threshold (default: the model card's)")
    p.add_argument("--iou", type=float, default=None, help="NMS IoU threshold (default: the model card's)")
    p.add_argument("--out", type=Path, default=None, help="write JSON Lines here instead of stdout")
    p.add_argument("--save-vis", type=Path, default=None, metavar="DIR", help="save annotated PNGs here")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--tile", default="auto", help="auto, off, or a tile size in model pixels")
    add_tta_argument(p, "image")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for inference")
    p.set_defaults(func=run)


def expand_inputs(inputs: list[str], keep=None, what: str = "image") -> list[tuple[str, str | None]]:
    """(path, error) pairs: folders are walked (files passing ``keep``), unusable arguments
    carry an error."""
    from ..io import iter_image_files

    out: list[tuple[str, str | None]] = []
    for raw in inputs:
        p = Path(raw)
        if not p.exists():
            out.append((raw, "no such file or folder"))
        elif p.is_dir():
            files = [f for f in iter_image_files([p]) if keep is None or keep(f)]
            if not files:
                out.append((raw, f"folder holds no supported {what} files"))
            out.extend((str(f), None) for f in files)
        else:
            out.append((raw, None))
    return out


def detect_one(detector, path: str, conf, iou, tile, save_vis: Path | None, tta: str | None = None) -> dict:
    from ..io import read_image

    from ..service.records import detection_record

    image = read_image(path)
    record, det, alarm = detection_record(detector, image, path, conf, iou, tile, tta)
    if save_vis is not None:
        from ..io import write_image
        from ..vis import draw_detections

        save_vis.mkdir(parents=True, exist_ok=True)
        vis = draw_detections(image, det, alarm=alarm, max_side=2400)
        write_image(save_vis / (Path(path).stem + ".png"), vis)
    return record


def run(args) -> int:
    from .. import load

    if args.conf is not None and not 0 <= args.conf <= 1 or args.iou is not None and not 0 <= args.iou <= 1:
        print("inspect-cv detect: error: --conf and --iou must lie in [0, 1]", file=sys.stderr)
        return 2
    tile = args.tile
    if tile not in ("auto", "off"):
        try:
            tile = int(tile)
        except ValueError:
            print(f"inspect-cv detect: error: --tile must be auto, off or an integer, got {tile!r}", file=sys.stderr)
            return 2
    detector = load(args.model, device=args.device, threads=args.threads)
    from ..detection.tta import resolve_tta

    args.tta = resolve_tta(detector, args.tta)  # a bad mode or a missing gate: one error, before any file
    items = expand_inputs(args.inputs)
    records = write_records(items, lambda path: detect_one(detector, path, args.conf, args.iou, tile, args.save_vis, args.tta),
                            args.out, "detect")
    done = [r for r in records if "error" not in r]
    n_ok, n_alarm = len(done), sum(r["alarm"] for r in done)
    total_ms = sum(r["ms"] for r in done)
    n_err = len(items) - n_ok
    mean = f", {total_ms / n_ok:.1f} ms/image" if n_ok else ""
    print(f"inspect-cv detect: {len(items)} inputs, {n_ok} processed, {n_alarm} alarms, {n_err} errors{mean}",
          file=sys.stderr)
    if n_ok == 0:
        return 1
    return 0


__all__ = ["register", "run", "expand_inputs", "detect_one", "InspectCVError"]
