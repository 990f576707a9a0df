"""Checking a container's declaration (manifest) against what the scan shows.

A manifest is ``{"container_id", "declared": "empty" | category, "declared_mass_kg"}``.
:func:`check_declaration` compares it with an inspection result (the record of
:func:`inspect_cv.container.pipeline.inspect_container`, or any mapping with
``empty``, ``mass_kg``, ``mass_sigma_kg`` and ``features``) and gives reasons:

* ``declared_empty_but_loaded``: declared empty, the empty verifier sees cargo;
* ``declared_loaded_but_empty``: declared cargo, the container is empty;
* ``category_mismatch``: the observed cargo is far from the declared category in a
  nearest-centroid classifier over scan features (fill, mean mass thickness, steel share,
  texture...; centroids fitted on simulator scans, stored in the calibration JSON);
* ``mass_mismatch``: estimate and declared mass differ by more than ``k`` sigma, sigma
  combining the estimate's uncertainty and a 3 % declaration tolerance;
* ``undeclared_items``: the concealment detector found items no manifest declares
  (contraband packages, firearms, a vehicle, cigarette cases), when its detections are given.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from inspect_cv.errors import InputError

from .sim import KNOWN_CARGO

FEATURES = ("fill_length", "fill_height", "mean_mt", "metal", "texture", "dark_frac", "grad")
MASS_K_SIGMA = 3.0
DECLARED_MASS_TOLERANCE = 0.03


def feature_vector(features: Mapping) -> np.ndarray:
    """The classifier's inputs (``mean_mt`` on a log scale)."""
    v = [float(features.get(k, 0.0)) for k in FEATURES]
    v[2] = math.log1p(max(v[2], 0.0))
    return np.asarray(v, np.float64)


def category_distances(features: Mapping, classifier: Mapping) -> dict[str, float]:
    """Standardised distance from the features to each category centroid."""
    x = feature_vector(features)
    scale = np.asarray(classifier["scale"], np.float64)
    out = {}
    for cat, c in classifier["centroids"].items():
        out[cat] = float(np.linalg.norm((x - np.asarray(c, np.float64)) / scale))
    return out


def classify_cargo(features: Mapping, classifier: Mapping | None) -> dict:
    """``{"category", "distances"}``: nearest centroid (None without a classifier)."""
    if not classifier or not classifier.get("centroids"):
        return {"category": None, "distances": {}}
    d = category_distances(features, classifier)
    return {"category": min(d, key=d.get), "distances": {k: round(v, 3) for k, v in d.items()}}


def validate_manifest(manifest: Mapping, name: str | None = None) -> dict:
    """A checked copy of a manifest (typed error naming the file when it is unusable)."""
    if not isinstance(manifest, Mapping):
        raise InputError("a manifest must be a JSON object", name)
    declared = manifest.get("declared")
    if declared not in KNOWN_CARGO:
        raise InputError(f"manifest 'declared' must be one of {', '.join(KNOWN_CARGO)}, "
                         f"got {declared!r}", name)
    mass = manifest.get("declared_mass_kg")
    if mass is not None and (isinstance(mass, bool) or not isinstance(mass, (int, float))
                             or not math.isfinite(mass) or mass < 0):
        raise InputError(f"manifest 'declared_mass_kg' must be a non-negative number, got {mass!r}", name)
    return dict(manifest)


def count_labels(labels) -> str:
    """``["a", "b", "a"]`` -> ``"2 a, 1 b"`` (most frequent first)."""
    from collections import Counter

    return ", ".join(f"{n} {k}" for k, n in Counter(labels).most_common())


def check_declaration(manifest: Mapping, result: Mapping, classifier: Mapping | None = None,
                      k_sigma: float = MASS_K_SIGMA, category_ratio: float | None = None,
                      detections: list[Mapping] | None = None) -> dict:
    """Compare a manifest with an inspection result.

    Returns ``{"consistent", "reasons": [{"kind", "message", ...}], "declared",
    "declared_mass_kg", "mass_estimate_kg", "mass_sigma_kg", "observed_category"}``.
    ``classifier``: ``{"centroids", "scale", "ratio"}`` (default: the calibration's);
    ``category_ratio``: declared-category distance / nearest distance above which the
    cargo is "unlike" the declared category. ``detections``: the alarm-raising detections of
    the concealment detector (``[{"label", "score", "box"}]``), each an undeclared item.
    """
    from .inspect import load_calibration

    m = validate_manifest(manifest)
    if classifier is None:
        classifier = load_calibration().get("classifier")
    ratio = float(category_ratio if category_ratio is not None
                  else (classifier or {}).get("ratio", 2.0))
    empty = bool(result["empty"]["verdict"] if isinstance(result.get("empty"), Mapping)
                 else result["empty"])
    est = float(result.get("mass_kg", 0.0) or 0.0)
    sig = float(result.get("mass_sigma_kg", 0.0) or 0.0)
    declared = m["declared"]
    dmass = m.get("declared_mass_kg")
    reasons: list[dict] = []
    observed = None
    if declared == "empty" and not empty:
        reasons.append({"kind": "declared_empty_but_loaded",
                        "message": f"declared empty but cargo seen (about {est:.0f} kg)"})
    elif declared != "empty" and empty:
        reasons.append({"kind": "declared_loaded_but_empty",
                        "message": f"declared {declared} but the container looks empty"})
    if not empty:
        cls = classify_cargo(result.get("features") or {}, classifier)
        observed = cls["category"]
        d = cls["distances"]
        if declared != "empty" and d and declared in d:
            best = min(d.values())
            if d[declared] > ratio * max(best, 1e-6) and observed != declared:
                reasons.append({"kind": "category_mismatch",
                                "message": f"declared {declared} but the cargo looks like "
                                           f"{observed} (distance {d[declared]:.2f} vs {best:.2f})",
                                "observed": observed})
    if dmass is not None and not (declared == "empty" and not empty):
        tol = math.hypot(sig, DECLARED_MASS_TOLERANCE * float(dmass))
        if abs(est - float(dmass)) > k_sigma * max(tol, 1e-9):
            reasons.append({"kind": "mass_mismatch",
                            "message": f"estimated {est:.0f} +- {sig:.0f} kg vs declared "
                                       f"{float(dmass):.0f} kg",
                            "estimate_kg": round(est, 1), "sigma_kg": round(sig, 1),
                            "declared_kg": float(dmass)})
    if detections:
        what = count_labels(str(d["label"]) for d in detections)
        reasons.append({"kind": "undeclared_items",
                        "message": f"concealed items seen: {what} (max score "
                                   f"{max(float(d['score']) for d in detections):.2f})",
                        "items": [{"label": str(d["label"]), "score": round(float(d["score"]), 3),
                                   "box": [round(float(v), 1) for v in d["box"]]} for d in detections]})
    return {"consistent": not reasons, "reasons": reasons, "declared": declared,
            "declared_mass_kg": dmass, "mass_estimate_kg": round(est, 1),
            "mass_sigma_kg": round(sig, 1), "observed_category": observed,
            "container_id": m.get("container_id")}


def fit_classifier(features: list[Mapping], categories: list[str]) -> dict:
    """Nearest-centroid classifier: per-category mean feature vectors and a global scale."""
    X = np.stack([feature_vector(f) for f in features])
    cats = sorted(set(categories))
    scale = np.maximum(X.std(axis=0), 1e-3)
    cent = {c: X[[i for i, k in enumerate(categories) if k == c]].mean(axis=0).tolist() for c in cats}
    return {"features": list(FEATURES), "centroids": cent, "scale": scale.tolist()}


__all__ = ["check_declaration", "count_labels", "classify_cargo", "category_distances", "fit_classifier",
           "feature_vector", "validate_manifest", "FEATURES", "MASS_K_SIGMA"]
