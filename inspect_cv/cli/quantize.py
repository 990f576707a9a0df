"""``inspect-cv quantize MODEL.onnx --mode int8|fp16 --out VARIANT.onnx [--calib DIR]``."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("quantize", help="make an int8 or fp16 variant of an exported detector",
                              description="int8: static quantisation of the convolutions (QDQ), calibrated on "
                                          "training scans (never on evaluation data); fp16: half precision with "
                                          "float32 inputs and outputs (a GPU variant). The card is carried over "
                                          "with the variant named; measure before shipping "
                                          "(benchmarks/baggage_variants.py).")
    p.add_argument("model", type=Path, help="exported detector (.onnx)")
    p.add_argument("--mode", choices=["int8", "fp16"], required=True)
    p.add_argument("--out", type=Path, required=True, help="variant .onnx path")
    p.add_argument("--calib", type=Path, help="folder of training scans (int8)")
    p.add_argument("--n-calib", type=int, default=64, help="calibration scans to use (default 64)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..errors import ConfigError
    from ..io import iter_image_files
    from ..progress import progress
    from ..quantize import quantize_detector

    calib = []
    if args.mode == "int8":
        if args.calib is None:
            raise ConfigError("--mode int8 needs --calib DIR (a folder of training scans)")
        if not args.calib.is_dir():
            raise ConfigError(f"{args.calib}: not a folder")
        calib = sorted(iter_image_files(args.calib))
    res = quantize_detector(args.model, args.out, args.mode, calib=calib, n_calib=args.n_calib, progress=progress)
    extra = f", calibrated on {res.calibration_images} scans" if res.mode == "int8" else ""
    print(f"wrote {res.path} ({res.mode}, {res.bytes / 1e6:.2f} MB, source {res.source_bytes / 1e6:.2f} MB{extra})")
    return 0
