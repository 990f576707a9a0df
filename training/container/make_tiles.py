"""Cut a fixed COCO set of detector tiles from a folder of simulated container scans.

    python training/container/make_tiles.py --scans data/container/val_scans [MORE_FOLDERS ...] \
        --out data/container/val_tiles [--per-scan 4] [--seed 0] [--tile 384] [--scale 0.5] [--mode detail]

The tiles are the runtime's view (inspect_cv.container.tiles), like the training tiles.
"""
import argparse

from inspect_cv.container.tiles import DEFAULT_TILING, DEFAULT_WINDOW, write_tile_dataset
from inspect_cv.progress import progress


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scans", required=True, nargs="+",
                    help="folder(s) written by `inspect-cv synth container`")
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-scan", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tile", type=int, default=DEFAULT_TILING["tile"])
    ap.add_argument("--scale", type=float, default=DEFAULT_TILING["scale"])
    ap.add_argument("--mode", choices=["grey", "detail"], default="grey",
                    help="scan view of the model card's container_window (detail: window, local detail, dense window)")
    a = ap.parse_args()
    window = dict(DEFAULT_WINDOW, mode=a.mode)
    path = write_tile_dataset(a.scans, a.out, a.per_scan, a.seed, tile=a.tile, scale=a.scale, window=window,
                              progress=progress)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
