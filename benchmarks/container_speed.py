"""Speed and memory of the whole container inspection on a 1,200 x 6,000 dual-energy
16-bit scan: tiled batched detection (TiledPredictor over the lazy windowed view) vs a
plain unbatched sliding window over a fully converted image, with the same model.

    PYTHONPATH=. python benchmarks/container_speed.py [--model M.onnx] [--threads 2]

Without --model the hand-built grid detector of tests/fixture_models.py is used (it is
a real ONNX graph but much lighter than a trained network: the detector times here are
a floor).
"""
import argparse
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from inspect_cv import load
from inspect_cv.container import render_scan, sample_scene
from inspect_cv.container.inspect import ScanView, analyse_interior, inspect_container, read_container_scan
from inspect_cv.detection.slicing import TiledPredictor


def make_scan():
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


def timed(fn, reps=3):
    best = 1e9
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    scan = make_scan()
    if a.model is None:
        import sys
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.fixture_models import grid_detector
        a.model = grid_detector(Path(tempfile.mkdtemp()) / "grid.onnx", size=640, cell=32,
                                tiling={"tile": 640, "overlap": 0.2, "batch": 8})
    det = load(a.model, threads=a.threads)
    print(f"scan {scan.shape[1]} x {scan.shape[0]} uint16 x 2, model {Path(str(a.model)).name}, "
          f"input {det.input_size}, threads {a.threads}")
    t_phys, _ = timed(lambda: analyse_interior(scan, keep_residual=False))
    run = lambda: inspect_container(scan, det, {"declared": "cartons", "declared_mass_kg": 5000}, conf=0.95)
    t_all, insp = timed(run)
    tracemalloc.start()
    run()
    peak_py = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    def plain():
        full = np.asarray(ScanView(scan))          # whole converted image in memory
        tp = TiledPredictor(det, tile=det.input_size, overlap=0.2, batch=1)
        return tp.predict(full, conf=0.95)

    t_plain, d_plain = timed(plain)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'step':44s} {'seconds':>8s}")
    print(f"{'physics (locate, empty, mass)':44s} {t_phys:8.3f}")
    print(f"{'whole pipeline, tiled batched detector':44s} {t_all:8.3f}")
    print(f"{'plain unbatched sliding window (detector only)':44s} {t_plain:8.3f}")
    print(f"detections: pipeline {len(insp.detections)}, plain {len(d_plain)}; tiles {insp.detections.meta.get('tiles')}")
    print(f"peak traced Python memory {peak_py:.0f} MiB, peak RSS {rss:.0f} MiB (target <= 1024)")
    print(f"target whole pipeline <= 1.0 s: {'met' if t_all <= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
