"""Empty verification and mass estimate on held-out simulated container scans.

    PYTHONPATH=. python benchmarks/container_empty_mass.py --n 160 --seed 1001 --pixel-mm 7 --workers 2
    PYTHONPATH=. python benchmarks/container_empty_mass.py --n 600 --seed 2001 --only-empty

Scans come from :func:`inspect_cv.container.calibrate.scene_for` with a seed other than
the calibration's (7). Prints the catch rate on loaded containers (and on single small
items), the false-alarm rate on empty ones, and mass error percentiles.
"""
import argparse

import numpy as np

from inspect_cv.container.calibrate import empty_indices, run_many
from inspect_cv.container.inspect import load_calibration


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=160)
    ap.add_argument("--seed", type=int, default=1001)
    ap.add_argument("--pixel-mm", type=float, default=7.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only-empty", action="store_true",
                    help="render only empty containers (n of them): the false-alarm rate at useful counts")
    a = ap.parse_args()
    from inspect_cv.progress import progress

    idx = empty_indices(a.n) if a.only_empty else None
    rows = run_many(a.seed, a.n, a.pixel_mm, load_calibration(), a.workers, progress=progress, indices=idx)
    err = [r for r in rows if "error" in r]
    ok = [r for r in rows if "error" not in r]
    loaded = [r for r in ok if not r["empty"]]
    single = [r for r in loaded if r["single"]]
    empty = [r for r in ok if r["empty"]]
    caught = sum(not r["pred_empty"] for r in loaded)
    fa = sum(not r["pred_empty"] for r in empty)
    print(f"scans {len(rows)} (localisation failures {len(err)}), pitch {a.pixel_mm} mm, seed {a.seed}")
    for r in err:
        print("  failed:", r["index"], r["error"])
    print(f"loaded caught      {caught}/{len(loaded)} = {caught / max(len(loaded), 1):.2%}")
    print(f"single items caught {sum(not r['pred_empty'] for r in single)}/{len(single)}")
    print(f"false alarms empty {fa}/{len(empty)} = {fa / max(len(empty), 1):.2%}")
    rel = np.array([abs(r["mass"] - r["true_mass"]) / r["true_mass"] for r in loaded if not r["single"]])
    if rel.size:
        print(f"mass |error| (non-single loaded, n={rel.size}): p50 {np.percentile(rel, 50):.1%} "
              f"p90 {np.percentile(rel, 90):.1%} max {rel.max():.1%}; within 10%: {np.mean(rel <= 0.1):.1%}")
        z = np.array([(r["mass"] - r["true_mass"]) / r["sigma"] for r in loaded if not r["single"]])
        print(f"mass error / sigma: std {z.std():.2f} (1 = well calibrated uncertainty)")
    print(f"container ends located within {max([r['loc_error_px'] for r in ok], default=0)} px")


if __name__ == "__main__":
    main()
