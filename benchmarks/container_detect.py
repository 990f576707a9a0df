"""Concealed-item detection on held-out simulated container scans: recall vs false alarms per scan.

    PYTHONPATH=. python benchmarks/container_detect.py --model exported_models/container.onnx \
        --scans data/container/test_seed21 data/container/test_cargo_s22 --out benchmarks/results/container_detect

Each scan folder is written by ``inspect-cv synth container`` (its ``annotations.json`` holds
the true boxes). Every scan goes through the runtime's tiled detector
(:func:`inspect_cv.container.inspect.run_detector`, the path of ``inspect-cv scan-container``)
at a low confidence; the threshold is then swept.

Scoring (``inspect_cv.container.evaluate``; stated here because an FROC needs it):

* an item is **found** at threshold t when a detection of its class with score >= t overlaps
  it with IoU >= ``--iou`` (0.3: the officer is sent to the right place; the boxes of long
  items such as a car cut by tile borders are merged, not exact);
* a **false alarm** is a detection with score >= t that touches no true item at all (IoU
  < 0.1 with every item and less than half of it inside any item); a second box on an item,
  or a box of another class on it, is neither a find nor a false alarm;
* per folder and in all: recall at the largest threshold whose false alarms per scan are at
  most ``--fa`` (0.05 by default: the issue's target), per class, and the scan-level alarm rate
  on scans without any concealed item.

Writes ``OUT.md`` (table headed by the command), ``OUT.json`` and ``OUT_froc.png``.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from inspect_cv.cli._options import tta_mode


def run_folder(det, folder: Path, classes: list[str], iou_thr: float, conf: float, limit: int | None, progress,
               body_filter: bool = True, tta: str | None = None):
    from inspect_cv.container.evaluate import score_scan
    from inspect_cv.container.inspect import find_body, inside_body, read_container_scan, run_detector
    from inspect_cv.errors import InspectCVError

    coco = json.loads((folder / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    gts: dict[int, list] = {im["id"]: [] for im in coco["images"]}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        gts[a["image_id"]].append(([x, y, x + w, y + h], names[a["category_id"]]))
    images = coco["images"][:limit] if limit else coco["images"]
    rows = []
    for im in progress(images, desc=folder.name):
        path = folder / im["file_name"]
        t0 = time.perf_counter()
        try:
            scan = read_container_scan(path, pixel_mm=im.get("pixel_mm"))
            d = run_detector(det, scan, conf=conf, tta=tta)
            # as inspect-cv scan-container: boxes centred outside the container body are dropped
            scores_outside = np.zeros(0, np.float32)
            if body_filter:
                inside = inside_body(d.boxes, find_body(scan))
                scores_outside, d = d.scores[~inside], d[inside]
        except InspectCVError as e:
            rows.append({"file": im["file_name"], "error": str(e)})
            continue
        ms = (time.perf_counter() - t0) * 1000
        g = gts[im["id"]]
        gb = np.array([b for b, _ in g], np.float64).reshape(-1, 4)
        gl = np.array([classes.index(n) if n in classes else -1 for _, n in g], np.int64)
        names_d = list(d.label_names) if hasattr(d, "label_names") else [classes[i] for i in d.labels]
        dl = np.array([classes.index(n) if n in classes else -1 for n in names_d], np.int64)
        item_score, fa = score_scan(d.boxes, d.scores, dl, gb, gl, iou_thr)  # inspect_cv.container.evaluate
        rows.append({"file": im["file_name"], "cargo": im.get("cargo"), "empty": bool(im.get("empty")),
                     "items": [{"label": classes[l] if l >= 0 else "?", "score": float(s)}
                               for l, s in zip(gl, item_score)],
                     "fa_scores": [float(s) for s in d.scores[fa]],
                     "fa_labels": [classes[i] if i >= 0 else "?" for i in dl[fa]], "ms": round(ms, 1),
                     "outside_scores": [float(s) for s in scores_outside]})
    return rows



def _flat(ok, classes):
    lab = {c: i for i, c in enumerate(classes)}
    its = [(it["score"], lab.get(it["label"], -1)) for r in ok for it in r["items"]]
    fas = [(s, lab.get(l, -1)) for r in ok for s, l in zip(r["fa_scores"], r["fa_labels"])]
    return (np.array([s for s, _ in its]), np.array([l for _, l in its], int),
            np.array([s for s, _ in fas]), np.array([l for _, l in fas], int))


def class_operating_point(rows, classes, class_conf) -> dict:
    """Recall and false alarms per scan at per-class thresholds (the card's ``class_conf``)."""
    from inspect_cv.container.evaluate import at_class_thresholds

    ok = [r for r in rows if "error" not in r]
    low = min(float(v) for v in class_conf.values())       # as Detections.filter: unnamed classes get the lowest
    th = [float(class_conf.get(c, low)) for c in classes]
    r = at_class_thresholds(*_flat(ok, classes), th, len(ok))
    r["per_class"] = {classes[i]: v for i, v in r["per_class"].items()}
    return r


def choose_class_conf(rows, classes, fa_target) -> dict:
    from inspect_cv.container.evaluate import choose_class_thresholds

    ok = [r for r in rows if "error" not in r]
    th = choose_class_thresholds(*_flat(ok, classes), len(classes), len(ok), fa_target)
    return {c: round(float(t), 4) for c, t in zip(classes, th)}


def summarise(rows, classes, thresholds, fa_target, fixed=None, class_conf=None):
    ok = [r for r in rows if "error" not in r]
    items = [(it["label"], it["score"]) for r in ok for it in r["items"]]
    item_scores = np.array([s for _, s in items])
    fa_scores = np.array([s for r in ok for s in r["fa_scores"]])
    from inspect_cv.container.evaluate import froc, recall_at_false_alarms

    thresholds, rec, fps = froc(item_scores, fa_scores, max(len(ok), 1), thresholds)
    r_at, fa_at, t_at = recall_at_false_alarms(thresholds, rec, fps, fa_target)
    per_class = {}
    for c in classes:
        sc = np.array([s for l, s in items if l == c])
        per_class[c] = {"items": int(len(sc)),
                        "recall": float((sc >= t_at).mean()) if len(sc) and np.isfinite(t_at) else None}
    clean = [r for r in ok if not r["items"]]
    clean_alarm = (float(np.mean([any(s >= t_at for s in r["fa_scores"]) for r in clean]))
                   if clean and np.isfinite(t_at) else None)
    fixed = 0.25 if fixed is None else float(fixed)
    out_cc = class_operating_point(rows, classes, class_conf) if class_conf else None
    return {"scans": len(ok), "errors": len(rows) - len(ok), "items": int(len(item_scores)),
            "class_conf": dict(class_conf) if class_conf else None, "at_class_conf": out_cc,
            "scans_without_items": len(clean),
            "recall_at_fa": r_at, "fa_per_scan": fa_at, "threshold": t_at,
            "fixed_threshold": fixed,
            "recall_at_fixed": float((item_scores >= fixed).mean()) if len(item_scores) else None,
            "fa_per_scan_at_fixed": float((fa_scores >= fixed).sum() / max(len(ok), 1)),
            "per_class": per_class, "alarm_rate_on_item_free_scans": clean_alarm,
            "ms_per_scan_median": float(np.median([r["ms"] for r in ok])) if ok else None,
            "froc": {"threshold": thresholds.tolist(), "recall": rec.tolist(), "fa_per_scan": fps.tolist()}}


def by_cargo(rows, threshold: float) -> dict:
    """Per cargo kind at one threshold: scans, items found / items, false alarms per scan."""
    out: dict[str, dict] = {}
    for r in rows:
        if "error" in r:
            continue
        c = out.setdefault(str(r.get("cargo") or "?"), {"scans": 0, "items": 0, "found": 0, "false_alarms": 0})
        c["scans"] += 1
        c["items"] += len(r["items"])
        c["found"] += sum(it["score"] >= threshold for it in r["items"])
        c["false_alarms"] += sum(s >= threshold for s in r["fa_scores"])
    for c in out.values():
        c["fa_per_scan"] = c["false_alarms"] / c["scans"]
        c["recall"] = c["found"] / c["items"] if c["items"] else None
    return dict(sorted(out.items()))


def plot(summaries: dict, fa_target: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=110)
    for name, s in summaries.items():
        f = s["froc"]
        ax.plot(np.maximum(f["fa_per_scan"], 1e-3), f["recall"], label=f"{name} ({s['scans']} scans, {s['items']} items)")
    ax.axvline(fa_target, color="grey", ls="--", lw=1)
    ax.axhline(0.95, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("false alarms per scan (0 drawn at 0.001)")
    ax.set_ylabel("recall of concealed items")
    ax.set_ylim(0, 1.01)
    ax.set_title("Container detector: recall vs false alarms (held-out scans)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="container detector (.onnx with card, or a bundled name)")
    ap.add_argument("--scans", nargs="+", required=True, help="folders written by `inspect-cv synth container`")
    ap.add_argument("--iou", type=float, default=0.3)
    ap.add_argument("--fa", type=float, default=0.05, help="false alarms per scan allowed (default 0.05)")
    ap.add_argument("--conf", type=float, default=0.02, help="lowest score kept before the sweep")
    ap.add_argument("--threshold", type=float, default=None,
                    help="also report recall and false alarms at this fixed score (e.g. one chosen on "
                         "validation scans; default the card's conf)")
    ap.add_argument("--class-conf", default="card",
                    help="per-class thresholds to report at: 'card' (the card's extra.class_conf, if any), "
                         "'none', or JSON {class: threshold}")
    ap.add_argument("--choose-class-conf", action="store_true",
                    help="calibration: pick per-class thresholds on these scans for the --fa budget "
                         "(inspect_cv.container.evaluate.choose_class_thresholds) and report them")
    ap.add_argument("--limit", type=int, default=None, help="first N scans of each folder")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--tta", type=tta_mode, default=None, metavar="none|flip|gated[:LO,HI]",
                    help="flip: each tile also mirrored, the two views fused; gated:LO,HI: only the tiles "
                         "whose plain score lies in LO..HI (default: the card's setting)")
    ap.add_argument("--out", default=None, help="OUT.md / OUT.json / OUT_froc.png")
    ap.add_argument("--no-body-filter", action="store_true",
                    help="keep boxes centred outside the located container body (scan-container drops them)")
    ap.add_argument("--rows", default=None, help="also write every scan's item and false-alarm scores (JSON)")
    a = ap.parse_args(argv)

    import inspect_cv
    from inspect_cv.progress import progress

    det = inspect_cv.load(a.model, **({"threads": a.threads} if a.threads else {}))
    classes = list(det.card.classes)
    thresholds = np.round(np.arange(a.conf, 1.0, 0.005), 4)
    fixed = a.threshold if a.threshold is not None else float(det.card.defaults.get("conf", 0.25))
    cc = (dict((det.card.extra or {}).get("class_conf") or {}) if a.class_conf == "card" else
          None if a.class_conf == "none" else json.loads(a.class_conf))
    summaries, all_rows = {}, []
    for folder in a.scans:
        rows = run_folder(det, Path(folder), classes, a.iou, a.conf, a.limit, progress, not a.no_body_filter, a.tta)
        all_rows += rows
        summaries[Path(folder).name] = summarise(rows, classes, thresholds, a.fa, fixed, cc)
    if len(a.scans) > 1:
        summaries["all"] = summarise(all_rows, classes, thresholds, a.fa, fixed, cc)
    chosen = choose_class_conf(all_rows, classes, a.fa) if a.choose_class_conf else None
    if a.rows:
        Path(a.rows).write_text(json.dumps(all_rows))

    cmd = "PYTHONPATH=. python " + " ".join(shlex.quote(x) for x in [sys.argv[0]] + (argv or sys.argv[1:]))
    lines = [f"# Container detector: concealed items, recall at <= {a.fa} false alarms per scan", "",
             f"`{cmd}`", "",
             f"Model `{a.model}` ({det.card.name} {det.card.version}; test-time augmentation: "
             f"{a.tta or (det.card.extra or {}).get('tta', 'none')}); found = same class, IoU >= {a.iou}; "
             "false alarm = a box touching no true item. \"recall @ FA target\" reads the curve at the "
             "lowest threshold whose false alarms per scan on that set stay within the target; the fixed "
             "threshold is set in advance (`--threshold`, else the card's).", "",
             f"| set | scans | items | recall @ FA target | FA/scan | threshold | recall @ {fixed:g} | FA/scan @ {fixed:g} | "
             "item-free scans alarmed | " + " | ".join(classes) + " | ms/scan |",
             "|---" * (10 + len(classes)) + "|"]
    for name, s in summaries.items():
        pc = " | ".join("-" if s["per_class"][c]["recall"] is None else
                        f"{s['per_class'][c]['recall']:.3f} ({s['per_class'][c]['items']})" for c in classes)
        ca = "-" if s["alarm_rate_on_item_free_scans"] is None else \
            f"{s['alarm_rate_on_item_free_scans']:.3f} ({s['scans_without_items']})"
        lines.append(f"| {name} | {s['scans']} | {s['items']} | {s['recall_at_fa']:.3f} | {s['fa_per_scan']:.3f} | "
                     f"{s['threshold']:.3f} | {s['recall_at_fixed']:.3f} | {s['fa_per_scan_at_fixed']:.3f} | "
                     f"{ca} | {pc} | {s['ms_per_scan_median']:.0f} |")
    if cc:
        lines += ["", f"At per-class thresholds {json.dumps(cc)} (fixed in advance: "
                  f"{'the card' if a.class_conf == 'card' else '--class-conf'}):", "",
                  "| set | recall | FA/scan | " + " | ".join(classes) + " |", "|---" * (3 + len(classes)) + "|"]
        for name, s in summaries.items():
            p = s["at_class_conf"]
            lines.append(f"| {name} | {p['recall']:.3f} | {p['fa_per_scan']:.3f} | " + " | ".join(
                "-" if p["per_class"][c] is None else f"{p['per_class'][c]:.3f}" for c in classes) + " |")
    n_out = sum(sum(s >= fixed for s in r.get("outside_scores", ())) for r in all_rows)
    lines += ["", ("Boxes centred outside the located container body (tractor, chassis) were kept "
                   "(`--no-body-filter`)." if a.no_body_filter else
                   f"Boxes centred outside the located container body are dropped, as `inspect-cv scan-container` "
                   f"does: {n_out} such boxes scored >= {fixed:g} on these {len(all_rows)} scans.")]
    cargo = by_cargo(all_rows, fixed)
    lines += ["", f"By cargo kind (all sets) at the fixed threshold {fixed:g}:", "",
              "| cargo | scans | items found | FA/scan |", "|---|---|---|---|"]
    for k, c in cargo.items():
        lines.append(f"| {k} | {c['scans']} | {c['found']}/{c['items']} | {c['fa_per_scan']:.3f} |")
    if chosen:
        lines += ["", f"Per-class thresholds chosen on these scans for <= {a.fa} false alarms per scan "
                  f"(calibration): `{json.dumps(chosen)}`"]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        out = Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".md").write_text(text)
        out.with_suffix(".json").write_text(json.dumps({"command": cmd, "summaries": summaries,
                                                        "chosen_class_conf": chosen,
                                                        "by_cargo_at_fixed": cargo,
                                                        "body_filter": not a.no_body_filter,
                                                        "outside_boxes_at_fixed": int(n_out)}, indent=1))
        plot(summaries, a.fa, out.parent / (out.name + "_froc.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
