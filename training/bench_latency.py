"""Measure onnxruntime CPU latency of inspect-cv detector designs (and, optionally, a peer ONNX).

Usage::

    python training/bench_latency.py --sizes 640 512 --models mbv2-fpn-s mbv2-fpn-m \\
        --peer yolov8n=/path/yolov8n_{size}.onnx

Each of our models is exported exactly as ``inspect-cv export`` does (decode + NMS in the
graph, random weights: latency does not depend on them) and timed with the peer,
interleaved, ``--threads`` intra-op threads, median over ``--repeat`` runs per round, best
round of ``--rounds`` (the machine may be shared). Prints one Markdown table row per
(model, size, batch) with GFLOPs (2 x multiply-adds of the convolutions, our models only).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from inspect_cv.train.export import OPSET, ExportWrapper
from inspect_cv.train.model import create_model


def conv_gflops(model: torch.nn.Module, size: int) -> float:
    macs = [0]

    def hook(m, i, o):
        macs[0] += o.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in hs:
        h.remove()
    return 2 * macs[0] / 1e9


def export_ours(name: str, size: int, path: Path, num_classes: int = 8) -> float:
    model = create_model(name, num_classes, pretrained=False).eval()
    wrapper = ExportWrapper(model, size).eval()
    ex = (torch.zeros(1, 3, size, size), torch.tensor([0.25]), torch.tensor([0.5]))
    torch.onnx.export(wrapper, ex, str(path), input_names=["images", "conf_threshold", "iou_threshold"],
                      output_names=["det_boxes", "det_scores", "det_labels", "det_batch"],
                      dynamic_axes={"images": {0: "batch"}}, opset_version=OPSET, dynamo=False)
    return conv_gflops(model, size)


def time_session(sess: ort.InferenceSession, feeds: dict, repeat: int) -> float:
    sess.run(None, feeds)
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[640, 512])
    ap.add_argument("--models", nargs="+", default=["mbv2-fpn-s"])
    ap.add_argument("--peer", action="append", default=[], help="name=path with {size} placeholder")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    print("| model | input | GFLOPs | batch | latency ms |\n|---|---|---|---|---|")
    for size in args.sizes:
        sessions, flops = {}, {}
        for name in args.models:
            p = tmp / f"{name}_{size}.onnx"
            flops[name] = export_ours(name, size, p)
            sessions[name] = ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
        for spec in args.peer:
            pname, _, pattern = spec.partition("=")
            sessions[pname] = ort.InferenceSession(pattern.format(size=size), so, providers=["CPUExecutionProvider"])
        for bs in args.batches:
            x = np.random.default_rng(0).uniform(-2, 2, (bs, 3, size, size)).astype(np.float32)
            best = {k: float("inf") for k in sessions}
            for _ in range(args.rounds):
                for k, s in sessions.items():
                    feeds = {"images": x} if k in flops else {s.get_inputs()[0].name: x}
                    if k in flops:
                        feeds.update(conf_threshold=np.array([0.25], np.float32), iou_threshold=np.array([0.5], np.float32))
                    best[k] = min(best[k], time_session(s, feeds, args.repeat if bs == 1 else max(3, args.repeat // 3)))
            for k, v in best.items():
                g = f"{flops[k]:.2f}" if k in flops else "-"
                print(f"| {k} | {size} | {g} | {bs} | {v:.1f} |", flush=True)


if __name__ == "__main__":
    main()
