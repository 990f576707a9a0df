"""``inspect-cv scan-container``: inspect container scans, JSON Lines out.

One object per scan, like ``detect`` (``image``, ``width``, ``height``, ``detections``,
``alarm``, ``ms``) plus ``empty`` {verdict, score}, ``mass_kg``/``mass_sigma_kg``,
``container`` and, with a manifest, ``declaration``. ``--model none`` runs the physics
only: ``"detector": "none"`` and ``"detections": null``. A scan that cannot be used gives
``{"image", "error"}`` and the run goes on; exit 1 when every scan failed.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError
from ._options import add_tta_argument


def register(sub) -> None:
    p = sub.add_parser("scan-container", help="inspect container scans: empty check, mass, "
                       "declaration, detections (JSON Lines out)")
    p.add_argument("inputs", nargs="+", metavar="SCAN",
                   help="*_high.tif (its *_low partner found by name), 2-channel TIFF, or a folder")
    p.add_argument("--model", required=True,
                   help="bundled model name or .onnx path, or 'none' for the physics only")
    p.add_argument("--low", default=None, help="low-energy file (one SCAN only)")
    p.add_argument("--manifest", type=Path, default=None, help="manifest JSON (one SCAN only)")
    p.add_argument("--manifests", type=Path, default=None, metavar="DIR",
                   help="folder of <container_id>.json manifests (matched by scan name)")
    p.add_argument("--out", type=Path, default=None, help="write JSON Lines here instead of stdout")
    p.add_argument("--save-vis", type=Path, default=None, metavar="DIR", help="save overview PNGs here")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--pixel-mm", type=float, default=None, help="pixel pitch in mm (default: sidecar/COCO/profile)")
    p.add_argument("--profile", default=None, help="scanner profile for the mass estimate")
    p.add_argument("--conf", type=float, default=None, help="score threshold (default: the card's)")
    p.add_argument("--tile", default="auto", help="auto, off, or a tile size in model pixels")
    add_tta_argument(p, "tile")
    p.set_defaults(func=run)


def expand_scans(inputs: list[str]) -> list[tuple[str, str | None]]:
    """(path, error) per scan: folders give their image files except ``*_low`` ones (those are
    read with their ``*_high`` partner)."""
    from .detect import expand_inputs

    return expand_inputs(inputs, keep=lambda f: not Path(f).name.split(".")[0].endswith("_low"), what="scan")


def _manifest_for(path: str, args) -> dict | None:
    if args.manifest is not None:
        src = args.manifest
    elif args.manifests is not None:
        stem = Path(path).name.split(".")[0].removesuffix("_high")
        src = args.manifests / f"{stem}.json"
        if not src.is_file():
            return None
    else:
        return None
    try:
        data = Path(src).read_text()
    except OSError as e:
        raise InputError(f"cannot read manifest ({e.strerror or e})", src) from None
    from ..service.records import parse_manifest

    return parse_manifest(data, str(src))


def run(args) -> int:
    from ..container.inspect import inspect_container, read_container_scan
    from ._jsonl import write_records

    if args.conf is not None and not 0 <= args.conf <= 1:
        print("inspect-cv scan-container: error: --conf must lie in [0, 1]", file=sys.stderr)
        return 2
    items = expand_scans(args.inputs)
    if (args.low or args.manifest) and len(items) != 1:
        print("inspect-cv scan-container: error: --low and --manifest need exactly one SCAN",
              file=sys.stderr)
        return 2
    tile = args.tile
    if tile not in ("auto", "off"):
        try:
            tile = int(tile)
        except ValueError:
            print(f"inspect-cv scan-container: error: --tile must be auto, off or an integer, got {tile!r}",
                  file=sys.stderr)
            return 2
    detector = None
    if args.model.lower() != "none":
        from .. import load

        detector = load(args.model, device=args.device)
        from ..detection.tta import resolve_tta

        args.tta = resolve_tta(detector, args.tta)

    def process(path: str) -> dict:
        scan = read_container_scan(path, args.low, pixel_mm=args.pixel_mm, profile=args.profile)
        insp = inspect_container(scan, detector, _manifest_for(path, args), tile=tile, conf=args.conf, tta=args.tta)
        if args.save_vis is not None:
            from ..container.overview import render_overview
            from ..io import write_image

            args.save_vis.mkdir(parents=True, exist_ok=True)
            write_image(args.save_vis / (Path(path).name.split(".")[0] + ".png"), render_overview(insp))
        return insp.to_record()

    records = write_records(items, process, args.out, "containers")
    done = [r for r in records if "error" not in r]
    n_ok = len(done)
    n_loaded = sum(not r["empty"]["verdict"] for r in done)
    n_bad_decl = sum(bool(r.get("declaration") and not r["declaration"]["consistent"]) for r in done)
    print(f"inspect-cv scan-container: {len(items)} scans, {n_ok} processed, {n_loaded} loaded, "
          f"{n_bad_decl} inconsistent declarations, {len(items) - n_ok} errors", file=sys.stderr)
    return 0 if n_ok else 1


__all__ = ["register", "run", "expand_scans"]
