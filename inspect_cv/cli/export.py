"""``inspect-cv export RUN_OR_CHECKPOINT --out model.onnx``: ONNX with decode + NMS inside."""
from __future__ import annotations

import argparse


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("export", help="export a trained detector to ONNX (with its card)",
                              description="Export a run folder (its best.pt) or a checkpoint to ONNX: "
                                          "decode and NMS in the graph, dynamic batch, card in the "
                                          "metadata, onnx.checker and a torch/onnxruntime parity check.")
    p.add_argument("source", help="run folder or checkpoint (.pt)")
    p.add_argument("--out", required=True, help="output .onnx path")
    p.add_argument("--name", help="model name in the card (default: the run name)")
    p.add_argument("--conf", type=float, help="default confidence threshold in the card")
    p.add_argument("--iou", type=float, help="default NMS IoU threshold in the card")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from inspect_cv.errors import MissingDependencyError
    try:
        from inspect_cv.train.export import export_onnx
    except ImportError as e:
        raise MissingDependencyError(e.name or "torch", "train", "export models") from None
    res = export_onnx(args.source, args.out, name=args.name, conf=args.conf, iou=args.iou)
    p = res.parity
    print(f"wrote {res.path} ({len(res.card.classes)} classes, input {res.card.input_size}); "
          f"parity with torch: {p['detections']} detections, max box diff {p['max_box_diff_px']:.2g} px")
    return 0
