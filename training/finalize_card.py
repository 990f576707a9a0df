"""Put held-out evaluation results into an exported model's card (inside the ONNX file and
its sidecars), so that the card reports metrics on data never trained on.

    python training/finalize_card.py MODEL.onnx --metrics NAME=DIR/metrics.json [...] \
        [--training-data JSON] [--tiling JSON] [--extra JSON] [--conf C] [--version V] [--description TEXT]

Each ``--metrics NAME=FILE`` adds ``metrics[NAME]`` with the summary of an
``inspect-cv evaluate --out DIR`` run (mAP, per-class AP, alarm rates) or of an
``inspect-cv evaluate reid --out DIR`` run (rank-1/5, mAP, TAR at FAR, EER) or of
``benchmarks/container_detect.py --out OUT`` (its ``OUT.json``: recall vs false alarms per scan).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import onnx

from inspect_cv.runtime.card import ModelCard, embed_card, write_sidecars


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("--metrics", action="append", default=[], metavar="NAME=FILE")
    ap.add_argument("--training-data", default=None,
                    help="JSON replacing the card's training_data (its 'model', the architecture that "
                         "fine-tuning from this file rebuilds, is kept unless the JSON names one)")
    ap.add_argument("--tiling", default=None, help="JSON merged into the card's tiling hint")
    ap.add_argument("--extra", default=None,
                    help='JSON merged into the card\'s extra fields, e.g. \'{"class_conf": {"firearm": 0.15}}\'')
    ap.add_argument("--conf", type=float, default=None,
                    help="the card's default score threshold (e.g. one chosen on validation scans)")
    ap.add_argument("--version", default=None)
    ap.add_argument("--description", default=None)
    args = ap.parse_args()

    model = onnx.load(str(args.model))
    meta = {p.key: p.value for p in model.metadata_props}
    card = ModelCard.from_metadata(meta, source=str(args.model))
    metrics = dict(card.metrics or {})
    if metrics and "selection" not in metrics and not all(isinstance(v, dict) for v in metrics.values()):
        metrics = {"selection": metrics}  # first run: the training's own validation numbers
    for item in args.metrics:
        name, path = item.split("=", 1)
        m = json.loads(Path(path).read_text())
        if "summaries" in m:  # container scans (benchmarks/container_detect.py)
            metrics[name] = {set_name: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in sm.items()
                                        if k != "froc"} for set_name, sm in m["summaries"].items()}
            metrics[name]["command"] = m.get("command")
        elif "per_class" in m:  # detection (inspect-cv evaluate)
            metrics[name] = {k: m[k] for k in ("map50", "map50_95", "alarm", "n_images", "n_threat_images",
                                               "n_benign_images", "n_boxes") if k in m}
            metrics[name]["per_class_ap50"] = {c: round(v["ap50"], 4) for c, v in m["per_class"].items()}
        else:  # re-identification (inspect-cv evaluate reid)
            metrics[name] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()
                             if k in ("protocol", "rank1", "rank5", "mAP", "eer", "n_images", "n_identities",
                                      "n_queries") or k.startswith("tar_at_far")}
    card.metrics = metrics
    if args.training_data:
        new = json.loads(args.training_data)
        old = card.training_data if isinstance(card.training_data, dict) else {}
        if isinstance(new, dict) and "model" in old and "model" not in new:
            new = {"model": old["model"], **new}   # `model.init: FILE.onnx` needs it
        card.training_data = new
    if args.conf is not None:
        card.defaults = {**(card.defaults or {}), "conf": float(args.conf)}
    if args.tiling:
        card.tiling = {**(card.tiling or {}), **json.loads(args.tiling)}
    if args.extra:
        card.extra = {**(card.extra or {}), **json.loads(args.extra)}
    if args.version:
        card.version = args.version
    if args.description:
        card.description = args.description
    embed_card(model, card)
    onnx.save(model, str(args.model))
    write_sidecars(args.model, card)
    print(f"card of {args.model} updated: {', '.join(metrics)}")


if __name__ == "__main__":
    main()
