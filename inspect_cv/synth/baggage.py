"""Write a fully synthetic baggage X-ray detection dataset (COCO or YOLO).

Image ``i`` of a dataset with seed ``S`` is rendered from the seed derived from
``(S, i)`` (:func:`image_seed`), so any subset can be regenerated on its own or in
parallel and gives identical files. ``generator.json`` records the generator version,
the arguments and, per image, its seed, scanner profile and threat shape families.
"""
from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from inspect_cv.errors import InputError
from inspect_cv.formats.core import DetectionDataset, ImageRecord

#: Bumped whenever the renders change for a given seed.
GENERATOR_VERSION = "baggage-1.1"


def image_seed(seed: int, index: int) -> int:
    """The seed of image ``index`` in a dataset of seed ``seed`` (stable across versions of numpy)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint32)[0])


def parse_size(text: str | Sequence[int]) -> tuple[int, int]:
    """``"704x896"`` (H x W) or a pair -> (H, W); raises InputError if malformed."""
    if isinstance(text, str):
        parts = text.lower().replace(" ", "").split("x")
        try:
            h, w = (int(p) for p in parts)
        except ValueError:
            raise InputError(f"size must be HxW (e.g. 704x896), not {text!r}") from None
    else:
        h, w = (int(v) for v in text)
    if not (64 <= h <= 8192 and 64 <= w <= 8192):
        raise InputError(f"size must be between 64 and 8192 pixels a side, not {h}x{w}")
    return h, w


def _render_one(job: tuple) -> dict:
    import cv2

    from inspect_cv.xray.bag import synthesize

    index, s, path, profile, size, classes, n_threats, negative_fraction, held_out = job
    scan = synthesize(s, profile=profile, threats=classes, size=size, n_threats=n_threats,
                      negative_fraction=negative_fraction, held_out=held_out)
    img = scan.image
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(img[..., ::-1])):
        raise InputError("cannot write image", path)
    return {"index": index, "seed": s, "profile": scan.profile, "boxes": scan.boxes.tolist(),
            "labels": scan.labels.tolist(), "variants": scan.variants,
            "height": int(img.shape[0]), "width": int(img.shape[1])}


def write_dataset(out_dir: str | Path, n: int, seed: int = 0, fmt: str = "coco",
                  profile: str | None = None, size: tuple[int, int] | str = (704, 896),
                  classes: Sequence[str] | None = None, progress: Callable | None = None,
                  n_threats: tuple[int, int] = (1, 3), negative_fraction: float = 0.2,
                  held_out: str = "exclude", start: int = 0, workers: int = 1,
                  split: str = "train") -> Path:
    """Render ``n`` synthetic scans (images ``start`` .. ``start + n - 1``) into ``out_dir``.

    ``fmt``: "coco" (``images/*.png`` + ``annotations.json``) or "yolo" (``images/<split>``,
    ``labels/<split>``, ``data.yaml``). ``profile``: None (a random named scanner profile
    per image), "random" (randomised scanners) or a profile name. ``classes``: the threat
    classes to draw (default the detector's eight). ``held_out``: "exclude" (training
    families), "only" (held-out families, an out-of-distribution test) or "include".
    Returns the annotation file (annotations.json or data.yaml).
    """
    from inspect_cv.xray import scanner
    from inspect_cv.xray.threats import THREAT_CLASSES, VARIANTS

    if fmt not in ("coco", "yolo"):
        raise InputError(f"format must be coco or yolo, not {fmt!r}")
    if int(n) < 1:
        raise InputError(f"n must be at least 1, not {n}")
    if profile not in (None, "random") and profile not in scanner.PROFILES:
        raise InputError(f"unknown scanner profile {profile!r}; known: "
                         f"{', '.join(sorted(scanner.PROFILES))}, random")
    classes = list(THREAT_CLASSES if classes is None else classes)
    bad = [c for c in classes if c not in VARIANTS]
    if bad or not classes:
        raise InputError(f"unknown threat classes {bad}; known: {', '.join(VARIANTS)}")
    size = parse_size(size)
    out = Path(out_dir)
    img_dir = out / "images" if fmt == "coco" else out / "images" / split
    width = max(6, len(str(start + n - 1)))
    jobs = [(i, image_seed(seed, i), img_dir / f"{i:0{width}d}.png", profile, size, classes,
             tuple(n_threats), float(negative_fraction), held_out) for i in range(start, start + int(n))]
    if workers > 1:
        with ProcessPoolExecutor(workers) as ex:
            it = ex.map(_render_one, jobs, chunksize=4)
            results = list(it if progress is None else progress(it, total=len(jobs), desc="synth"))
    else:
        it = map(_render_one, jobs)
        results = list(it if progress is None else progress(it, total=len(jobs), desc="synth"))
    root = out if fmt == "coco" else img_dir
    records = []
    for job, r in zip(jobs, results):
        rel = job[2].relative_to(root).as_posix()
        records.append(ImageRecord(rel, r["width"], r["height"], np.asarray(r["boxes"], np.float32),
                                   np.asarray(r["labels"], np.int64),
                                   {"seed": r["seed"], "profile": r["profile"]}))
    ds = DetectionDataset(classes, records, root)
    if fmt == "coco":
        from inspect_cv.formats.coco import write_coco
        ann = write_coco(ds, out / "annotations.json", image_root=out)
    else:
        from inspect_cv.formats.yolo import write_yolo
        ann = write_yolo(ds, out, split=split, copy_images=True)
    from inspect_cv import __version__
    meta = {
        "generator": GENERATOR_VERSION, "inspect_cv": __version__, "seed": int(seed),
        "start": int(start), "n": int(n), "format": fmt, "size": list(size),
        "profile": profile or "named-random", "classes": classes, "n_threats": list(n_threats),
        "negative_fraction": negative_fraction, "held_out": held_out,
        "seed_rule": "numpy SeedSequence([seed, index]).generate_state(1, uint32)[0]",
        "images": [{"file": rec.file_name, "seed": r["seed"], "profile": r["profile"],
                    "variants": r["variants"]} for rec, r in zip(records, results)],
    }
    (out / "generator.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return ann
