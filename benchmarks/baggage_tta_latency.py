"""End-to-end time per bag of the baggage detector with and without mirror test-time
augmentation, side by side with a peer ONNX detector (YOLOv8n) in one run.

    PYTHONPATH=. python benchmarks/baggage_tta_latency.py --model exported_models/baggage.onnx \
        --data data/bag_test_s3/annotations.json data/bag_benign_s9/annotations.json \
        --peer /tmp/yexp/yolov8n_512.onnx --gate 0.3,0.5 --batch 8 --out benchmarks/results/baggage_tta_latency.md

Ours is timed through ``Detector.predict`` as a lane calls it (letterbox, graph with NMS,
and for the mirrored modes the second view and the box fusion in numpy), at the card's
threshold, over real bags: how many bags a gate sends to the second view depends on what
is in them. The peer is timed on the graph alone, one 512 x 512 float tensor per bag (its
letterbox and NMS not counted, which favours it). Modes and the peer run interleaved
batch by batch, best of ``--rounds`` passes over the bags; the ratio is total time over
the same bags.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", nargs="+", required=True, help="COCO annotation files, merged")
    ap.add_argument("--peer", required=True, help="peer ONNX with one NCHW float input")
    ap.add_argument("--peer-size", type=int, default=512)
    ap.add_argument("--gate", default="0.3,0.5", help="LO,HI of the gated mode")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--limit", type=int, default=240, help="bags used (spread over the files)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="Markdown file to write")
    args = ap.parse_args(argv)
    import onnxruntime as ort

    from inspect_cv import load
    from inspect_cv.cli.evaluate import load_datasets
    from inspect_cv.io import read_image

    det = load(args.model, device="cpu", threads=args.threads)
    ds = load_datasets(list(args.data), "auto", None)
    pick = np.linspace(0, len(ds.images) - 1, min(args.limit, len(ds.images))).round().astype(int)
    images = [read_image(ds.image_path(ds.images[i])) for i in pick]
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    peer = ort.InferenceSession(args.peer, so, providers=["CPUExecutionProvider"])
    feed = peer.get_inputs()[0].name
    modes = {"none": "none", "flip": "flip", "gated": f"gated:{args.gate}"}
    batches = [images[i:i + args.batch] for i in range(0, len(images), args.batch)]
    best = {k: np.inf for k in list(modes) + ["peer"]}
    for mode in modes.values():  # warm-up: first runs allocate
        det.predict(batches[0], tta=mode, batch_size=args.batch)
    peer.run(None, {feed: np.zeros((len(batches[0]), 3, args.peer_size, args.peer_size), np.float32)})
    mirrored = 0
    for _ in range(args.rounds):
        tot = dict.fromkeys(best, 0.0)
        mirrored = 0
        for batch in batches:
            x = np.random.default_rng(0).random((len(batch), 3, args.peer_size, args.peer_size), dtype=np.float32)
            t0 = time.perf_counter()
            peer.run(None, {feed: x})
            tot["peer"] += time.perf_counter() - t0
            for name, mode in modes.items():
                t0 = time.perf_counter()
                out = det.predict(batch, tta=mode, batch_size=args.batch)
                tot[name] += time.perf_counter() - t0
                if name == "gated":
                    mirrored += sum(bool(d.meta.get("mirrored")) for d in out)
        best = {k: min(best[k], v) for k, v in tot.items()}
    n = len(images)
    lines = [f"# Baggage detector with mirror TTA vs the peer, end to end ({n} bags, batch {args.batch})", "",
             "Command: `PYTHONPATH=. python benchmarks/baggage_tta_latency.py "
             + " ".join(sys.argv[1:] if argv is None else argv) + "`", "",
             f"Bags: {' '.join(args.data)} ({n} spread over them); gated mode mirrored {mirrored} of {n} "
             f"({mirrored / n:.1%}). Best of {args.rounds} passes, {args.threads} threads.", "",
             "| mode | ms / bag | ours / peer (target <= 0.5) |", "|---|---|---|",
             f"| peer ({Path(args.peer).name}, graph only) | {1000 * best['peer'] / n:.1f} | 1 |"]
    for name in modes:
        lines.append(f"| ours, tta={modes[name]} | {1000 * best[name] / n:.1f} | {best[name] / best['peer']:.2f} |")
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
