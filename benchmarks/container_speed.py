"""Speed and memory of the whole container inspection of a 1,200 x 6,000 dual-energy
16-bit scan (issue target: <= 1.0 s on a 2-core CPU, peak memory <= 1 GB), side by side
with a plain unbatched sliding window over the same ONNX model.

    PYTHONPATH=. python benchmarks/container_speed.py [--model M.onnx] [--threads 2] [--reps 5] \
        [--sahi-python VENV/bin/python]

* **pipeline**: :func:`inspect_cv.container.inspect.inspect_container` (physics: container
  localisation, empty verification, mass; tiled batched detection through the card's
  ``tiling`` hint over the lazy windowed view, air-only windows skipped; declaration check).
* **plain**: the same physics, then the naive reference written out here: the whole scan
  converted to the 8-bit view in memory, a loop over the same windows with one
  ``session.run`` per window (batch 1), boxes concatenated, one global NMS.
* **sahi** (with ``--sahi-python``, a Python whose environment has ``sahi`` and inspect-cv's
  runtime, e.g. ``python -m venv v && v/bin/pip install sahi==0.12.8 -e .``): the same physics,
  then the SAHI library's ``get_sliced_prediction`` over the whole in-memory view with the same
  windows, our ONNX detector wrapped as a SAHI ``DetectionModel``, NMS merge.

Each variant runs in its own subprocess (peak RSS = its ``ru_maxrss``, model and scan
included); wall time is the median of ``--reps`` runs after one warm-up; CPU time (all
threads) is printed too, since wall time on a shared machine says little (the load
average is printed with the table). The model:
``--model`` (e.g. the container recipe's export, ``training/container/README.md``), else
the hand-built grid detector of ``tests/fixture_models.py`` with the recipe's tiling hint
(a real ONNX graph but far lighter than a network: its times are a floor).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inspect_cv import load  # noqa: E402
from inspect_cv.container import render_scan, sample_scene  # noqa: E402
from inspect_cv.container.inspect import (ScanView, analyse_interior, inspect_container,  # noqa: E402
                                          read_container_scan)


def make_scan():
    """A 40 ft container on its truck, drugs concealed, padded with air to 1,200 x 6,000."""
    rng = np.random.default_rng(0)
    sc = sample_scene(rng, 40, cargo="cartons", concealment="drugs", with_truck=True)
    s = render_scan(sc, rng, pixel_mm=3.5)
    h, w = 1200, 6000
    hi = np.full((h, w), int(s.meta["air_counts"]), np.uint16)
    lo = hi.copy()
    hh, ww = min(h, s.high.shape[0]), min(w, s.high.shape[1])
    hi[h - hh:, :ww] = s.high[-hh:, :ww]
    lo[h - hh:, :ww] = s.low[-hh:, :ww]
    return read_container_scan(hi, lo, pixel_mm=3.5)


def plain_sliding_window(det, scan, conf):
    """The naive reference: whole view in memory, one session.run per window, global NMS."""
    import cv2

    from inspect_cv.detection.boxes import batched_nms
    from inspect_cv.detection.slicing import tile_windows

    card = det.card
    hint = dict(card.tiling or {})
    tile = int(hint.get("tile", det.input_size[0]))
    scale = float(hint.get("scale", 1.0))
    overlap = float(hint.get("overlap", 0.2))
    win = dict((card.extra or {}).get("container_window", {}))
    full = np.asarray(ScanView(scan, **win))                   # (H, W, 3) uint8, whole scan
    src = max(1, round(tile / scale))
    windows = tile_windows(full.shape[0], full.shape[1], src, overlap)
    norm = card.normalize or {}
    mean = np.asarray(norm.get("mean", [0, 0, 0]), np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(norm.get("std", [1, 1, 1]), np.float32).reshape(1, 3, 1, 1)
    sess, name = det.info.session, det.input_name
    ih, iw = det.input_size
    boxes, scores, labels = [], [], []
    for x1, y1, x2, y2 in windows:
        crop = cv2.resize(full[y1:y2, x1:x2], (iw, ih), interpolation=cv2.INTER_AREA)
        x = (crop.transpose(2, 0, 1)[None].astype(np.float32) * float(norm.get("scale", 1 / 255)) - mean) / std
        feeds = {name: x, "conf_threshold": np.array([conf], np.float32),
                 "iou_threshold": np.array([0.5], np.float32)}
        b, s, lab, _ = sess.run(["det_boxes", "det_scores", "det_labels", "det_batch"], feeds)
        sx, sy = (x2 - x1) / iw, (y2 - y1) / ih
        boxes.append(b * np.array([sx, sy, sx, sy], np.float32) + np.array([x1, y1, x1, y1], np.float32))
        scores.append(s)
        labels.append(lab)
    b, s, lab = np.concatenate(boxes), np.concatenate(scores), np.concatenate(labels)
    keep = batched_nms(b, s, lab, 0.5)
    return len(keep), len(windows)


def sahi_sliced(det, scan, conf):
    """The SAHI library's slicing wired to the same ONNX model: SAHI cuts the whole
    in-memory view into the same windows (slice = tile / scale source pixels, same overlap),
    our detector runs each slice (letterbox to the model size, one call per slice: SAHI's
    default batch 1), SAHI shifts the boxes back and merges them (NMS, IoU 0.5). SAHI is
    imported here only, in an environment that has it (``--sahi-python``)."""
    from sahi.models.base import DetectionModel
    from sahi.predict import get_sliced_prediction
    from sahi.prediction import ObjectPrediction

    names = list(det.card.classes)

    class InspectCVModel(DetectionModel):
        def load_model(self):
            self.model = det

        def set_model(self, model, **kw):
            self.model = model

        def perform_inference(self, image):
            self._original_predictions = [self.model.predict_tiles([np.ascontiguousarray(image)], conf=conf)[0]]

        def _create_object_prediction_list_from_original_predictions(self, shift_amount_list=[[0, 0]],
                                                                     full_shape_list=None):
            out = []
            for i, d in enumerate(self._original_predictions):
                shift = shift_amount_list[i] if shift_amount_list else [0, 0]
                full = full_shape_list[i] if full_shape_list else None
                out.append([ObjectPrediction(bbox=[float(v) for v in b], category_id=int(lab),
                                             category_name=names[int(lab)], score=float(sc),
                                             shift_amount=shift, full_shape=full)
                            for b, sc, lab in zip(d.boxes, d.scores, d.labels)])
            self._object_prediction_list_per_image = out

    model = InspectCVModel(confidence_threshold=conf, category_mapping={str(i): n for i, n in enumerate(names)},
                           device="cpu")
    hint = dict(det.card.tiling or {})
    src = max(1, round(int(hint.get("tile", det.input_size[0])) / float(hint.get("scale", 1.0))))
    overlap = float(hint.get("overlap", 0.2))
    win = dict((det.card.extra or {}).get("container_window", {}))
    full = np.asarray(ScanView(scan, **win))                   # SAHI slices an image held whole in memory
    res = get_sliced_prediction(full, model, slice_height=src, slice_width=src, overlap_height_ratio=overlap,
                                overlap_width_ratio=overlap, perform_standard_pred=False, postprocess_type="NMS",
                                postprocess_match_metric="IOU", postprocess_match_threshold=0.5, verbose=0)
    return len(res.object_prediction_list), None


def child(a) -> None:
    """One variant, timed, in this (fresh) process; prints a JSON line."""
    scan = make_scan()
    det = load(a.model, threads=a.threads)
    manifest = {"declared": "cartons", "declared_mass_kg": 5000}
    if a.child in ("pipeline", "pipeline_flip"):
        tta = "flip" if a.child == "pipeline_flip" else "none"

        def once():
            insp = inspect_container(scan, det, manifest, conf=a.conf, tta=tta)
            m = insp.detections.meta
            return len(insp.detections), m.get("tiles"), m.get("tiles_skipped", 0)
    elif a.child == "sahi":
        def once():
            analyse_interior(scan, keep_residual=False)
            n, tiles = sahi_sliced(det, scan, a.conf)
            return n, tiles, 0
    else:
        def once():
            analyse_interior(scan, keep_residual=False)
            n, tiles = plain_sliding_window(det, scan, a.conf)
            return n, tiles, 0
    once()                                                       # warm-up (session, caches)
    times, cpu = [], []
    for _ in range(a.reps):
        t, c = time.perf_counter(), time.process_time()
        n, tiles, skipped = once()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"variant": a.child, "median_s": float(np.median(times)), "min_s": float(min(times)), "cpu_s": float(np.median(cpu)),
                      "tiles": tiles, "skipped": skipped, "detections": n, "peak_rss_mib": rss}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None, help="ONNX detector with an inspect-cv card")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--conf", type=float, default=None, help="score threshold (default: the card's)")
    ap.add_argument("--sahi-python", default=None,
                    help="a Python that has the SAHI library (and inspect-cv's runtime): adds SAHI's slicing "
                         "over the same ONNX model as a third variant")
    ap.add_argument("--child", choices=["pipeline", "pipeline_flip", "plain", "sahi"], default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a)
        return
    if a.model is None:
        from inspect_cv.container.tiles import DEFAULT_TILING
        from tests.fixture_models import grid_detector

        a.model = str(grid_detector(Path(tempfile.mkdtemp()) / "grid.onnx", size=DEFAULT_TILING["tile"], cell=32,
                                    tiling=dict(DEFAULT_TILING)))
        a.conf = 0.95 if a.conf is None else a.conf
        what = "hand-built grid detector (tests/fixture_models.py; far lighter than a network: a floor)"
    else:
        det = load(a.model)
        td = det.card.training_data or {}
        what = (f"{det.card.name} v{det.card.version} ({td.get('model', '?')}, "
                f"{td.get('epochs_trained', '?')} epoch(s) trained)")
    det = load(a.model, threads=a.threads)
    conf = det._thresholds(a.conf, None)[0]
    rows = []
    variants = [("pipeline", sys.executable), ("pipeline_flip", sys.executable), ("plain", sys.executable)]
    if a.sahi_python:
        variants.append(("sahi", a.sahi_python))
    for variant, python in variants:
        cmd = [python, __file__, "--child", variant, "--model", str(a.model), "--threads", str(a.threads),
               "--reps", str(a.reps), "--conf", str(conf)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        rows.append(json.loads(out))
    import os

    print(f"scan 6000 x 1200 uint16 x 2 (dual energy, 3.5 mm); model: {what}; input {list(det.input_size)}, "
          f"tiling {det.card.tiling}; onnxruntime threads {a.threads}; conf {conf}; median of {a.reps}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (wall times are only meaningful "
          f"on an otherwise idle machine)\n")
    print("| variant | wall s (median) | wall s (min) | CPU s (median, all threads) | tiles run | tiles skipped (air) "
          "| detections | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    names = {"pipeline": "inspect_container: physics + tiled batched detector",
             "pipeline_flip": "the same with mirror test-time augmentation (`tta=\"flip\"`: every tile twice)",
             "plain": "physics + plain unbatched sliding window",
             "sahi": "physics + SAHI get_sliced_prediction (same model, same windows)"}
    for r in rows:
        print(f"| {names[r['variant']]} | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['cpu_s']:.3f} | {r['tiles'] or '-'} | {r['skipped']} | "
              f"{r['detections']} | {r['peak_rss_mib']:.0f} |")
    shipped = "pipeline_flip" if det.default_tta() == "flip" else "pipeline"
    p = next(r for r in rows if r["variant"] == shipped)
    print(f"\nthe card's setting: {names[shipped]}; "
          f"target <= 1.0 s: {'met' if p['median_s'] <= 1.0 else 'NOT met'}; "
          f"target <= 1024 MiB: {'met' if p['peak_rss_mib'] <= 1024 else 'NOT met'}")


if __name__ == "__main__":
    main()
