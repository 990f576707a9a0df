"""fp32 vs int8 vs fp16 variants of a baggage detector: accuracy and CPU latency, one run.

    python benchmarks/baggage_variants.py --model exported_models/baggage.onnx \
        --calib data/bag_train_s1/images --data data/bag_test_s3 data/bag_ood_s4 \
        --out runs/variants [--md benchmarks/results/baggage_variants.md]

Makes the int8 variant (static QDQ, convolutions only, calibrated on ``--n-calib`` training
scans) and the fp16 variant with ``inspect_cv.quantize``, evaluates all three on each
``--data`` folder with the project's evaluator (COCO mAP, alarm rates), then times
``session.run`` at batch 1 and 8, interleaved, ``--threads`` threads, best of ``--rounds``
rounds of median-of-``--repeat``. Prints (and writes) a Markdown table.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def time_model(path: Path, size: tuple[int, int], batch: int, threads: int, repeat: int) -> float:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {sess.get_inputs()[0].name: rng.normal(size=(batch, 3, *size)).astype(np.float32)}
    for extra, v in (("conf_threshold", 0.25), ("iou_threshold", 0.5)):
        if extra in {i.name for i in sess.get_inputs()}:
            feeds[extra] = np.array([v], np.float32)
    sess.run(None, feeds)
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=Path("exported_models/baggage.onnx"))
    ap.add_argument("--calib", type=Path, required=True, help="folder of training scans for int8 calibration")
    ap.add_argument("--n-calib", type=int, default=64)
    ap.add_argument("--data", type=Path, nargs="+", required=True, help="held-out COCO folders to evaluate on")
    ap.add_argument("--out", type=Path, default=Path("runs/variants"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--md", type=Path, default=None, help="also write the table to this Markdown file")
    args = ap.parse_args()

    from inspect_cv.evaluation.detection import evaluate_detections
    from inspect_cv.cli.evaluate import load_dataset
    from inspect_cv.io import iter_image_files, read_image
    from inspect_cv.quantize import quantize_detector
    from inspect_cv.runtime.registry import load

    args.out.mkdir(parents=True, exist_ok=True)
    models = {"fp32": args.model}
    calib = sorted(iter_image_files(args.calib))
    for mode in ("int8", "fp16"):
        res = quantize_detector(args.model, args.out / f"{args.model.stem}-{mode}.onnx", mode, calib=calib,
                                n_calib=args.n_calib)
        models[mode] = res.path
        print(f"{mode}: {res.path} ({res.bytes / 1e6:.2f} MB, fp32 {res.source_bytes / 1e6:.2f} MB)", flush=True)

    acc: dict[str, dict[str, dict]] = {}
    sets = {d: load_dataset(str(d), "auto", None) for d in args.data}
    for mode, path in models.items():
        det = load(str(path), verify=False)
        for data, ds in sets.items():
            preds = [det.predict(read_image(ds.image_path(rec)), conf=0.001, tile="auto") for rec in ds.images]  # as `inspect-cv evaluate`
            m = evaluate_detections(ds, preds, det.classes, det.alarm_classes).to_dict()
            acc.setdefault(mode, {})[data.name] = m
            print(f"{mode} on {data.name}: mAP50 {m['map50']:.4f}  mAP50-95 {m['map50_95']:.4f}", flush=True)

    size = tuple(int(v) for v in load(str(args.model), verify=False).card.input_size)
    lat: dict[tuple[str, int], float] = {}
    for _ in range(args.rounds):
        for batch in (1, 8):
            for mode, path in models.items():
                ms = time_model(path, size, batch, args.threads, args.repeat)
                key = (mode, batch)
                lat[key] = min(lat.get(key, float("inf")), ms)

    head = [f"mAP50 {d.name}" for d in args.data] + [f"mAP50-95 {d.name}" for d in args.data]
    rows = ["| variant | MB | " + " | ".join(head) + " | TAR@1%FA " + args.data[0].name
            + " | ms b1 | ms b8 | img/s b8 |",
            "|---|---:|" + "---:|" * (len(head) + 4)]
    for mode, path in models.items():
        a = acc[mode]
        vals = [f"{a[d.name]['map50']:.3f}" for d in args.data] + [f"{a[d.name]['map50_95']:.3f}" for d in args.data]
        tar = a[args.data[0].name].get("alarm", {}).get("tar@far0.01")
        rows.append(f"| {mode} | {Path(path).stat().st_size / 1e6:.2f} | " + " | ".join(vals)
                    + f" | {tar if tar is None else f'{tar:.3f}'} | {lat[(mode, 1)]:.1f} | {lat[(mode, 8)]:.1f} | "
                    f"{8000 / lat[(mode, 8)]:.1f} |")
    cmd = "python " + " ".join(sys.argv)
    table = "\n".join(rows)
    print(table)
    if args.md:
        args.md.parent.mkdir(parents=True, exist_ok=True)
        args.md.write_text(f"# Baggage detector variants (fp32 / int8 / fp16)\n\nInput {size[0]}x{size[1]}, "
                           f"{args.threads} threads, best of {args.rounds} rounds of the median of {args.repeat} "
                           f"runs.\n\n{table}\n\nCommand:\n\n```bash\n{cmd}\n```\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
