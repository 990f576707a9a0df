"""Fit the inspection thresholds on simulator scans and store them as JSON.

``calibrate(n, seed)`` renders ``n`` scans (every cargo category in turn, a share of
empty containers and single small items, concealments at random), runs the physics of
:mod:`.inspect` on each and derives:

* ``evidence_threshold_cm2``: the empty verdict's threshold, ``max(floor, 2 x the
  largest evidence on an empty container)``;
* ``mass_scale``: median of true / estimated mass (systematic bias of the Kramers /
  two-material model), ``mass_rel_sigma``: robust spread (1.4826 MAD) of the relative
  error after the scale, ``mass_abs_sigma_kg``: spread on single small items;
* ``classifier``: nearest-centroid cargo classifier (:func:`.declaration.fit_classifier`)
  and its distance ratio keeping false "category mismatch" calls on true declarations
  at or below ~3 %.

Scans depend only on (seed, index); held-out evaluation must use other seeds.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .declaration import category_distances, fit_classifier
from .inspect import DEFAULT_CALIBRATION, analyse_interior, read_container_scan
from .sim import CARGO_CATEGORIES, CONCEALMENTS, sample_scene
from .synth import render_scan, scan_rng


def scene_for(index: int, rng: np.random.Generator, with_truck: bool | None = None):
    """Scene ``index`` of a calibration/benchmark run: categories in turn (empty twice as
    often), 1 in 6 loaded scans a single small item, half the rest with a concealment."""
    cats = ("empty",) + CARGO_CATEGORIES
    cargo = cats[index % len(cats)]
    length = int(rng.choice([20, 40]))
    truck = bool(rng.random() < 0.75) if with_truck is None else with_truck
    if cargo == "empty":
        return sample_scene(rng, length, cargo="empty", with_truck=truck)
    single = bool(rng.random() < 1 / 6)
    conc = None if single or rng.random() < 0.5 else str(rng.choice(CONCEALMENTS))
    return sample_scene(rng, length, cargo=cargo, concealment=conc, with_truck=truck, single=single)


def measure_one(args) -> dict:
    """Render scan ``index`` of ``seed`` and run the physics; returns truth and results."""
    seed, index, pixel_mm, calibration = args
    rng = scan_rng(seed, index)
    scene = scene_for(index, rng)
    scan = render_scan(scene, rng, pixel_mm=pixel_mm)
    inp = read_container_scan(scan.high, scan.low, pixel_mm=scan.pixel_mm)
    out = {"index": index, "empty": scan.empty, "cargo": scan.cargo,
           "single": bool(scene.notes.get("single_item")), "true_mass": scan.cargo_mass_kg,
           "concealment": scene.concealment, "truck": scene.with_truck,
           "length_ft": scene.length_ft}
    try:
        body, res = analyse_interior(inp, calibration=calibration, keep_residual=False)
    except Exception as e:  # noqa: BLE001 - recorded, counted as a failure by callers
        out["error"] = str(e)
        return out
    true_px = scan.meta["container_px"]
    out.update({"evidence": res.evidence_cm2, "score": res.score, "pred_empty": res.empty,
                "mass": res.mass_kg, "sigma": res.mass_sigma_kg, "features": res.features,
                "loc_error_px": int(max(abs(body.box[0] - true_px[0]), abs(body.box[2] - true_px[1])))})
    return out


def empty_indices(n: int, start: int = 0) -> list[int]:
    """Indices of ``n`` scenes that :func:`scene_for` makes empty (every ``1 + categories``-th)."""
    step = 1 + len(CARGO_CATEGORIES)
    return [(start + i) * step for i in range(n)]


def run_many(seed: int, n: int, pixel_mm: float | None, calibration: dict | None = None,
             workers: int = 1, progress=None, indices: list[int] | None = None) -> list[dict]:
    """:func:`measure_one` over scans ``0..n-1`` (or the given ``indices``), in processes when
    ``workers`` > 1."""
    jobs = [(seed, i, pixel_mm, calibration) for i in (range(n) if indices is None else indices)]
    n = len(jobs)
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            it = pool.map(measure_one, jobs)
            return list(progress(it, total=n, desc="scans") if progress else it)
    it = map(measure_one, jobs)
    return list(progress(it, total=n, desc="scans") if progress else it)


def calibrate(n: int = 160, seed: int = 7, pixel_mm: float | None = 7.0, workers: int = 1,
              progress=None, out: str | Path | None = None) -> dict:
    """Fit the calibration (see the module doc); writes JSON to ``out`` when given."""
    base = dict(DEFAULT_CALIBRATION)
    base["mass_scale"] = 1.0
    rows = [r for r in run_many(seed, n, pixel_mm, base, workers, progress) if "error" not in r]
    empt = [r["evidence"] for r in rows if r["empty"]]
    cal = dict(base)
    cal["evidence_threshold_cm2"] = float(max(DEFAULT_CALIBRATION["evidence_threshold_cm2"],
                                              2 * max(empt, default=0.0)))
    big = [r for r in rows if not r["empty"] and not r["single"] and r["mass"] > 0]
    ratio = np.array([r["true_mass"] / r["mass"] for r in big])
    scale = float(np.median(ratio)) if ratio.size else 1.0
    rel = np.array([r["mass"] * scale / r["true_mass"] - 1 for r in big])
    cal["mass_scale"] = scale
    cal["mass_rel_sigma"] = float(1.4826 * np.median(np.abs(rel - np.median(rel)))) if rel.size else 0.05
    small = np.array([r["mass"] * scale - r["true_mass"] for r in rows if r["single"]])
    cal["mass_abs_sigma_kg"] = float(max(5.0, np.sqrt(np.mean(small ** 2)))) if small.size else 15.0
    loaded = [r for r in rows if not r["empty"] and not r["single"]]
    clf = fit_classifier([r["features"] for r in loaded], [r["cargo"] for r in loaded])
    ratios = []
    for r in loaded:
        d = category_distances(r["features"], clf)
        ratios.append(d[r["cargo"]] / max(min(d.values()), 1e-6))
    clf["ratio"] = float(max(1.5, np.quantile(ratios, 0.97))) if ratios else 2.0
    cal["classifier"] = clf
    cal["fitted_on"] = {"n": len(rows), "seed": seed, "pixel_mm": pixel_mm,
                        "empty": len(empt), "loaded": len(rows) - len(empt),
                        "max_empty_evidence_cm2": float(max(empt, default=0.0))}
    cal["note"] = ("fitted on simulator scans by inspect_cv.container.calibrate.calibrate(); "
                   "refit on real scans before trusting it")
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(cal, indent=1))
    return cal


__all__ = ["calibrate", "run_many", "measure_one", "scene_for"]
