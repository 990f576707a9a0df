"""Gated mirror test-time augmentation for baggage: mirror only the bags whose plain view is
unsure, and what that keeps of the full mirror's gain.

    PYTHONPATH=. python benchmarks/baggage_gated_tta.py --model exported_models/baggage.onnx \
        --cal data/bag_val_s2/annotations.json data/bag_benign_s7/annotations.json \
        --test data/bag_test_s3/annotations.json data/bag_benign_s9/annotations.json \
        --ood data/bag_ood_s4/annotations.json --out benchmarks/results/baggage_gated_tta

Every bag is run once plain and once mirrored (both at half the lowest threshold, as
:func:`inspect_cv.detection.tta.mirror_tta` does; the views are cached next to ``--out``).
From the two views the script forms, per bag, exactly what the runtime would return:

* ``none``: the plain view;
* ``flip``: both views fused (every bag mirrored);
* ``gated lo..hi``: the fused views for a bag whose highest plain alarm score lies in
  ``[lo, hi]``, the plain view for the others (:func:`inspect_cv.detection.tta.gated_mirror_tta`).

The gate is chosen on the ``--cal`` bags only: the one that mirrors the fewest threat-free
bags while its true-alarm rates at 1 % and 5 % false alarms stay within ``--slack`` of the
full mirror's there. Its figures on the ``--test`` (and ``--ood``) bags are then read once.
A lane's traffic is mostly threat-free bags, so the share of *threat-free* bags mirrored is
what sets the extra model time. Writes ``OUT.md``, ``OUT.json`` and ``OUT.png`` (per test bag:
its plain score against its score with both views fused, the chosen gate shaded).
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np

FARS = (0.01, 0.02, 0.05, 0.10)
LOS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
HIS = (1.0, 0.8, 0.7, 0.6, 0.5, 0.45)


def views(model: str, data: list[str], cache: Path, conf: float):
    """The dataset and, per bag, its plain and mirrored detections (mirrored back)."""
    from inspect_cv.cli.evaluate import load_datasets

    ds = load_datasets(list(data), "auto", None)
    if cache.exists():
        got = pickle.loads(cache.read_bytes())
        if got["model"] == model and got["data"] == list(data) and got["conf"] == conf:
            return ds, got["plain"], got["mirror"]
    from inspect_cv import load
    from inspect_cv.detection.tta import mirror
    from inspect_cv.io import read_image
    from inspect_cv.progress import progress

    det = load(model, device="cpu")
    plain, mirrored = [], []
    for r in progress(ds.images, desc=f"views {cache.stem}"):
        im = read_image(ds.image_path(r))
        a, b = det.predict_tiles([im, np.ascontiguousarray(im[:, ::-1])], conf=conf)
        plain.append(a)
        mirrored.append(mirror(b, im.shape[1]))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps({"model": model, "data": list(data), "conf": conf,
                                    "plain": plain, "mirror": mirrored}))
    return ds, plain, mirrored


def prepare(plain, mirrored, conf: float, alarm):
    """Per bag: the plain view and the fused views (both kept from ``conf``), and the highest
    plain alarm score that the gate looks at."""
    from inspect_cv.detection.tta import fuse_views, top_score

    top = np.array([top_score(a, alarm) for a in plain])
    fused = [fuse_views(a, b) for a, b in zip(plain, mirrored)]
    return [a[a.scores >= conf] for a in plain], [f[f.scores >= conf] for f in fused], top


def combine(prepared, gate: tuple[float, float] | None):
    """Per-bag detections of one variant (gate None: plain; (0, inf): every bag mirrored)."""
    plain, fused, top = prepared
    used = np.zeros(len(top), bool) if gate is None else (top >= gate[0]) & (top <= gate[1])
    return [f if u else a for a, f, u in zip(plain, fused, used)], used


def check_replay(det, ds, prepared, gate, n: int) -> int:
    """Run the first ``n`` bags through the runtime's gated mode; the replayed detections must
    be the same boxes and scores (else the table would not describe the runtime)."""
    from inspect_cv.io import read_image

    preds, _ = combine(prepared, gate)
    n = min(n, len(preds))
    for rec, want in zip(ds.images[:n], preds):
        got = det.predict(read_image(ds.image_path(rec)), conf=0.001, tta=f"gated:{gate[0]:g},{gate[1]:g}")
        a, b = np.lexsort((got.boxes[:, 0], -got.scores)), np.lexsort((want.boxes[:, 0], -want.scores))
        if len(got) != len(want) or not (np.allclose(got.boxes[a], want.boxes[b], atol=1e-2)
                                         and np.allclose(got.scores[a], want.scores[b], atol=1e-5)):
            raise SystemExit(f"replay differs from the runtime on {rec.file_name}")
    return n


def score(ds, preds, mirrored_mask, classes, alarm_classes, with_map: bool) -> dict:
    from inspect_cv.evaluation.detection import alarm_rates, coco_map, image_alarms

    s, threat, clean = image_alarms(ds, preds, classes, alarm_classes)
    use = threat | clean
    r = alarm_rates(s[use], threat[use], FARS)
    row = {f"tar@{f:g}": r.get(f"tar@far{f:g}") for f in FARS}
    row["mirrored_clean"] = float(mirrored_mask[clean].mean()) if clean.any() else None
    row["mirrored_all"] = float(mirrored_mask.mean())
    row["n_threat"], row["n_clean"] = int(threat.sum()), int(clean.sum())
    if with_map:
        class_map = [ds.classes.index(n) if n in ds.classes else -1 for n in classes]
        row["map50"], row["map50_95"] = coco_map(ds, preds, class_map)[:2]
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--cal", nargs="+", required=True, help="COCO files: the gate is chosen on these")
    ap.add_argument("--test", nargs="+", required=True, help="COCO files: held-out bags")
    ap.add_argument("--ood", nargs="*", default=[], help="COCO files: out-of-distribution bags (mAP)")
    ap.add_argument("--slack", type=float, default=0.01, help="allowed TAR loss against the full mirror on --cal")
    ap.add_argument("--check", type=int, default=20,
                    help="bags of --test also run through Detector.predict(tta=gated) to check the replay")
    ap.add_argument("--out", type=Path, required=True, help="output path without suffix")
    args = ap.parse_args(argv)
    from inspect_cv import load

    det = load(args.model, device="cpu")
    classes, alarm_classes = det.classes, det.alarm_classes
    from inspect_cv.detection.tta import alarm_labels

    alarm = alarm_labels(det)  # the scores the runtime's gate looks at
    conf = 0.001  # the evaluation threshold; the views run at half of it, as mirror_tta does
    sets = {"cal": args.cal, "test": args.test} | ({"ood": args.ood} if args.ood else {})
    loaded = {k: views(args.model, v, args.out.parent / f"{args.out.name}_cache" / f"{k}.pkl", conf / 2)
              for k, v in sets.items()}
    prepared = {k: prepare(p, m, conf, alarm) for k, (_, p, m) in loaded.items()}

    def run(name: str, gate, with_map: bool) -> dict:
        preds, used = combine(prepared[name], gate)
        return score(loaded[name][0], preds, used, classes, alarm_classes, with_map)

    cal = {"none": run("cal", None, False), "flip": run("cal", (0.0, np.inf), False)}
    for lo in LOS:
        for hi in HIS:
            if hi > lo:
                cal[f"gated {lo:g}..{hi:g}"] = run("cal", (lo, hi), False)
    full = cal["flip"]
    ok = [k for k, r in cal.items() if k.startswith("gated")
          and all((r[f"tar@{f:g}"] or 0) >= (full[f"tar@{f:g}"] or 0) - args.slack for f in (0.01, 0.05))]
    chosen = min(ok, key=lambda k: (cal[k]["mirrored_clean"], cal[k]["mirrored_all"])) if ok else "flip"
    gate = (0.0, np.inf) if chosen == "flip" else tuple(float(x) for x in chosen.split()[1].split(".."))
    variants = {"none": None, "flip": (0.0, np.inf), f"{chosen} (chosen on cal)": gate}
    held = {k: {v: run(k, g, True) for v, g in variants.items()} for k in sets if k != "cal"}
    checked = check_replay(det, loaded["test"][0], prepared["test"], gate, args.check) if chosen != "flip" else 0

    lines = [f"# Gated mirror TTA: {args.model}", "",
             "Command: `PYTHONPATH=. python benchmarks/baggage_gated_tta.py "
             + " ".join(sys.argv[1:] if argv is None else argv) + "`", "",
             f"Gate chosen on the calibration bags ({' '.join(args.cal)}): the fewest threat-free bags "
             f"mirrored with TAR @ 1 % and 5 % FA within {args.slack:g} of the full mirror: **{chosen}**. "
             f"The replay of the views equals `Detector.predict(tta=\"gated:LO,HI\")` box for box on the "
             f"first {checked} test bags.", ""]
    head = "| variant | " + " | ".join(f"TAR @ {100 * f:g} %" for f in FARS)
    for name, rows in [("calibration (choice)", cal)] + [(k, v) for k, v in held.items()]:
        wm = name != "calibration (choice)"
        lines += [f"## {name}", "", head + (" | mAP50 | mAP50-95" if wm else "")
                  + " | clean bags mirrored | all bags mirrored |",
                  "|" + "---|" * (len(FARS) + 3 + 2 * wm)]
        for v, r in rows.items():
            cells = [r[f"tar@{f:g}"] for f in FARS] + ([r["map50"], r["map50_95"]] if wm else []) \
                + [r["mirrored_clean"], r["mirrored_all"]]
            lines.append(f"| {v} | " + " | ".join("-" if c is None else f"{c:.3f}" for c in cells) + " |")
        first = next(iter(rows.values()))
        lines += ["", f"{first['n_threat']} bags with a threat, {first['n_clean']} threat-free.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text("\n".join(lines))
    args.out.with_suffix(".json").write_text(json.dumps({"chosen": chosen, "gate": list(gate), "cal": cal,
                                                         **held}, indent=1, default=float))
    plot_gate(args.out.with_suffix(".png"), loaded["test"][0], prepared["test"], gate, classes, alarm_classes, chosen)
    print("\n".join(lines))
    return 0


def plot_gate(path: Path, ds, prepared, gate, classes, alarm_classes, title: str) -> None:
    """Plain alarm score against the fused one per bag: what the second view changes, and where."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from inspect_cv.evaluation.detection import image_alarms

    plain, fused, _ = prepared
    s0, threat, clean = image_alarms(ds, plain, classes, alarm_classes)
    s1 = image_alarms(ds, fused, classes, alarm_classes)[0]
    fig, ax = plt.subplots(figsize=(5.5, 5))
    if np.isfinite(gate[1]):
        ax.axvspan(gate[0], min(gate[1], 1.0), color="gold", alpha=0.3, label=f"gate {gate[0]:g}..{gate[1]:g}: mirrored")
    ax.scatter(s0[clean], s1[clean], s=8, c="tab:blue", alpha=0.6, label="threat-free bag")
    ax.scatter(s0[threat], s1[threat], s=10, c="tab:red", alpha=0.7, label="bag with a threat")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("highest alarm score, plain view")
    ax.set_ylabel("highest alarm score, both views fused")
    ax.set_title(f"test bags ({title})", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
