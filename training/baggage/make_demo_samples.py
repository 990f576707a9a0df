"""Write the bundled demo scans (`inspect_cv/samples/baggage/`) from the bag simulator.

All samples are synthetic and named so. Seeds 990001.. are reserved for them and never
used for training. Run: python training/baggage/make_demo_samples.py
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from inspect_cv.io import write_dual_energy, write_image
from inspect_cv.xray.bag import synthesize

OUT = Path(__file__).resolve().parents[2] / "inspect_cv" / "samples" / "baggage"

SAMPLES = [  # (file stem, seed, profile, n_threats, kind)
    ("synthetic_bag_1_pseudocolour", 990001, "sim-160kv-sandwich", (2, 2), "jpg"),
    ("synthetic_bag_2_pseudocolour", 990002, "sim-140kv-sandwich", (1, 1), "jpg"),
    ("synthetic_bag_3_greyscale", 990003, "sim-greyscale-single-energy", (1, 2), "png"),
    ("synthetic_bag_4_dual_energy_16bit", 990004, "sim-dual-kvp-80-140", (1, 1), "tif"),  # smaller: noisy 16-bit
    ("synthetic_bag_5_no_threat", 990005, "sim-160kv-sandwich", (0, 0), "jpg"),
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    truth = {}
    for stem, seed, profile, n_threats, kind in SAMPLES:
        s = synthesize(seed, profile=profile, n_threats=n_threats, negative_fraction=0.0, size=(448, 560) if kind == "tif" else (640, 800))
        if kind == "tif":
            to16 = lambda t: np.clip(np.round(t * 65535), 0, 65535).astype(np.uint16)  # noqa: E731
            path = OUT / f"{stem}.tif"
            write_dual_energy(path, to16(s.high_T), to16(s.low_T))
        else:
            path = OUT / f"{stem}.{kind}"
            img = s.image
            write_image(path, img)
        truth[path.name] = {"seed": seed, "profile": s.profile,
                            "objects": [{"label": s.class_names[l], "box": [round(float(v), 1) for v in b]}
                                        for b, l in zip(s.boxes, s.labels)]}
    (OUT / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    print(f"wrote {len(SAMPLES)} samples to {OUT}")


if __name__ == "__main__":
    main()
