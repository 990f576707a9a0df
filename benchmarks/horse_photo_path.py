"""Horse identification from full photos vs from face crops: what the face-finding step costs.

    inspect-cv synth horse --out data/horse/g2_test_sc --identities 150 --per-identity 2 --scenes 4 \
        --scene-size 300x400 --seed 2
    PYTHONPATH=. python benchmarks/horse_photo_path.py --scenes data/horse/g2_test_sc_scenes \
        --crops data/horse/g2_test [--model horse-reid] [--face-model horse-face] [--out benchmarks/results/horse_photo_path.md]

Leave-one-out (each photo queries all others; rank-1, mAP, TAR at FAR 1 %, EER) over
(1) the scene photos through the face detector and the runtime's crop (``locate_face`` with the
default ``QualityConfig``, the path of ``inspect-cv horse ... --face-model horse-face``), (2) the
same scenes cut at the true face box grown by ``face_margin`` and (3) by a wider margin, and (4)
face crops of the same horses
(``--crop-photos`` of each identity folder, the framing the embedder was trained on).
Scenes where the detector finds no face count as misses in (1) (reported).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np


def crop_box(image: np.ndarray, box, margin: float) -> np.ndarray:
    """``image`` cut at ``box`` (x1, y1, x2, y2) grown by ``margin`` of its size on each side."""
    from inspect_cv.reid.quality import crop_face_box

    return crop_face_box(image, box, margin)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", required=True, type=Path, help="scene folder with annotations.json (synth horse --scenes)")
    ap.add_argument("--crops", required=True, type=Path, help="face-crop folder of the same horses (<identity>/<n>.png)")
    ap.add_argument("--crop-photos", default="0,1", help="photo numbers of each identity to use (default 0,1)")
    ap.add_argument("--model", default="horse-reid")
    ap.add_argument("--face-model", default="horse-face")
    ap.add_argument("--wide-margin", type=float, default=0.5)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    from inspect_cv import load
    from inspect_cv.errors import InspectCVError
    from inspect_cv.evaluation.reid import evaluate_embeddings
    from inspect_cv.io import read_image
    from inspect_cv.reid.quality import QualityConfig, locate_face

    emb, det = load(args.model), load(args.face_model)
    qc = QualityConfig()
    margin = qc.face_margin
    coco = json.loads((args.scenes / "annotations.json").read_text())
    boxes = {}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        boxes[a["image_id"]] = (x, y, x + w, y + h)
    arms: dict[str, tuple[list, list]] = {k: ([], []) for k in ("detector", "true box", "true box, wide", "face crops")}
    misses = 0
    for im in coco["images"]:
        img = read_image(args.scenes / im["file_name"])
        label = im["identity"]
        try:
            crop, _, _ = locate_face(img, det, margin, square=qc.face_square)
            arms["detector"][0].append(crop)
            arms["detector"][1].append(label)
        except InspectCVError:
            misses += 1
        if im["id"] in boxes:
            for arm, m in (("true box", margin), ("true box, wide", args.wide_margin)):
                arms[arm][0].append(crop_box(img, boxes[im["id"]], m))
                arms[arm][1].append(label)
    photos = [int(p) for p in args.crop_photos.split(",")]
    for d in sorted(p for p in args.crops.iterdir() if p.is_dir()):
        for n in photos:
            f = d / f"{n}.png"
            if f.is_file():
                arms["face crops"][0].append(read_image(f))
                arms["face crops"][1].append(d.name)
    rows = ["| input | photos | rank-1 | mAP | TAR @ FAR 1 % | EER |", "|---|---|---|---|---|---|"]
    results = {}
    for arm, (images, labels) in arms.items():
        ids = {n: i for i, n in enumerate(sorted(set(labels)))}
        m = evaluate_embeddings(emb.embed(images), [ids[n] for n in labels])
        results[arm] = {"n": len(images), "rank1": m.rank1, "mAP": m.mAP, "tar_far_1e-2": m.tar_at_far[0.01], "eer": m.eer}
        rows.append(f"| {arm} | {len(images)} | {m.rank1:.3f} | {m.mAP:.3f} | {m.tar_at_far[0.01]:.3f} | {m.eer:.3f} |")
        print(rows[-1], file=sys.stderr)
    cmd = "python " + shlex.join(["benchmarks/horse_photo_path.py"] + (argv if argv is not None else sys.argv[1:]))
    text = (f"`{cmd}`\n\nModels: {emb.card.name} {emb.card.version}, face detector {det.card.name} {det.card.version}; "
            f"leave-one-out; scenes where the detector found no face: {misses} of {len(coco['images'])}; "
            f"detector crop: square of {qc.face_square} x the box's longer side; true-box margins {margin} and {args.wide_margin}.\n\n" + "\n".join(rows) + "\n")
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("# Horse identification: full photos vs face crops\n\n" + text)
        args.out.with_suffix(".json").write_text(json.dumps({"misses": misses, "arms": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
