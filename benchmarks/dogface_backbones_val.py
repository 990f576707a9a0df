"""Plain ImageNet features of the offline backbones on the DogFaceNet *validation* dogs.

    python benchmarks/dogface_backbones_val.py [--data ../shared/data/reid/dogfacenet/train]

The validation dogs are the 10 % of the training identities that the dogface recipes hold out
(``data.val_fraction: 0.1``, seed 0), so choosing a backbone here never looks at the test dogs.
Prints one JSON line per backbone and input size (leave-one-out rank-1, mAP, TAR at FAR 1 %, EER).
Needs the ``train`` extra.
"""
from __future__ import annotations

import argparse
import json


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/reid/dogfacenet/train")
    ap.add_argument("--backbones", nargs="+", default=["mobilenet_v2", "efficientnet_lite0"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[160, 224])
    args = ap.parse_args(argv)

    from inspect_cv.evaluation.reid import evaluate_embeddings, read_identity_folder, split_identities
    from inspect_cv.train.reid.baseline import baseline_embeddings

    _, val = split_identities(read_identity_folder(args.data, 2), 0.1, 0)
    print(json.dumps({"val_dogs": val.num_identities, "images": len(val)}))
    for bb in args.backbones:
        for size in args.sizes:
            m = evaluate_embeddings(baseline_embeddings(val, bb, size), val.labels)
            print(json.dumps({"backbone": bb, "size": size, "rank1": round(m.rank1, 3), "mAP": round(m.mAP, 3),
                              "tar_far_1e-2": round(m.tar_at_far[0.01], 3), "eer": round(m.eer, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
