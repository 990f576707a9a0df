"""``inspect-cv demo``: run the shipped models on the bundled sample scans.

The samples are synthetic scans from the project's own simulators (labelled as such in
their file names). A model that is not shipped yet is reported as missing: the demo
never stands in a result of its own.
"""
from __future__ import annotations

import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the shipped models on the bundled sample scans")
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="folder for the annotated images")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.set_defaults(func=run)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def demo_baggage(out: Path, device: str) -> bool:
    from .. import load
    from ..errors import ModelNotFoundError
    from .detect import detect_one
    from ..io import iter_image_files

    files = iter_image_files([SAMPLES / "baggage"]) if (SAMPLES / "baggage").is_dir() else []
    print(f"\n== baggage X-ray: {len(files)} bundled synthetic sample scans ==")
    try:
        detector = load("baggage", device=device)
    except ModelNotFoundError:
        print("the 'baggage' model is not shipped yet: nothing to run (no result is made up)")
        return False
    print(f"model: baggage v{detector.card.version}: {detector.card.description}")
    print("true labels of the samples: " + str(SAMPLES / "baggage" / "truth.json"))
    rows = []
    for f in files:
        rec = detect_one(detector, str(f), None, None, "auto", out / "baggage")
        found = ", ".join(f"{d['label']} {d['score']:.2f}" for d in rec["detections"]) or "-"
        rows.append([f.name, f"{rec['width']}x{rec['height']}", "ALARM" if rec["alarm"] else "clear",
                     found, f"{rec['ms']:.0f}"])
    print(_table(rows, ["scan", "size", "verdict", "detections", "ms"]))
    print(f"annotated scans: {out / 'baggage'}")
    return True


def demo_container(out: Path, device: str) -> bool:
    """Inspect the bundled 20 ft scans against their manifests: empty verdict, cargo mass from
    dual energy, declaration check; the concealment detector runs too once one is shipped."""
    import json

    from .. import load
    from ..container.declaration import count_labels as _counts
    from ..container.inspect import inspect_container, read_container_scan
    from ..container.overview import render_overview
    from ..errors import InspectCVError, ModelNotFoundError
    from ..io import write_image
    from ..service.records import parse_manifest
    from .scan_container import expand_scans

    folder = SAMPLES / "container"
    scans = [p for p, err in expand_scans([str(folder)]) if err is None] if folder.is_dir() else []
    print(f"\n== container scans (H986-type): {len(scans)} bundled synthetic 20 ft scans with manifests ==")
    try:
        detector = load("container", device=device)
        print(f"model: container v{detector.card.version}: {detector.card.description}")
    except ModelNotFoundError:
        detector = None
        print("the 'container' concealment detector is not shipped yet: physics only (empty verdict, "
              "mass, declaration check); no detection is made up")
    truth = json.loads((folder / "truth.json").read_text())["scans"] if scans else {}
    print(f"true contents: {folder / 'truth.json'}")
    head = ["scan", "declared", "seen"] + (["detected"] if detector is not None else []) + ["truth"]
    head += (["hidden items (truth)"] if detector is not None else []) + ["declaration"]
    rows = []
    for path in scans:
        name = Path(path).name.split(".")[0].removesuffix("_high")
        try:
            man = parse_manifest((folder / "manifests" / f"{name}.json").read_text(), name)
            insp = inspect_container(read_container_scan(path), detector, man)
        except InspectCVError as e:
            rows.append([name] + ["-"] * (len(head) - 2) + [f"error: {e}"])
            continue
        rec = insp.to_record()
        (out / "container").mkdir(parents=True, exist_ok=True)
        write_image(out / "container" / f"{name}.png", render_overview(insp))
        t = truth.get(name, {})
        decl = rec["declaration"]
        verdict = "consistent" if decl["consistent"] else "INCONSISTENT: " + "; ".join(
            r["message"] for r in decl["reasons"])
        row = [name, f"{man['declared']} {man.get('declared_mass_kg') or 0:.0f} kg",
               "EMPTY" if rec["empty"]["verdict"] else f"loaded ~{rec['mass_kg']:.0f} kg"]
        if detector is not None:
            row.append(_counts([d["label"] for d in rec["detections"]]) or "nothing")
        row += ["empty" if t.get("empty") else f"{t.get('cargo')} {t.get('cargo_mass_kg', 0):.0f} kg"]
        if detector is not None:
            row.append(_counts(t.get("labels", [])) or "none")
        rows.append(row + [verdict])
    print(_table(rows, head))
    print(f"overview images: {out / 'container'}")
    return True


def demo_horse(out: Path, device: str) -> bool:
    """Enrol the bundled horses from their enrolment photos, then identify each check photo
    (taken in another session: other light, halter, background, season)."""
    import tempfile

    from .. import load
    from ..errors import InspectCVError, ModelNotFoundError
    from ..reid.gallery import Gallery

    folder = SAMPLES / "horse"
    enrol = sorted(folder.glob("*_enrol.jpg"))
    print(f"\n== horse-face re-identification: {len(enrol)} bundled synthetic horses ==")
    try:
        model = load("horse-reid", device=device)
    except ModelNotFoundError:
        print("the 'horse-reid' model is not shipped yet: nothing to run (no result is made up)")
        return False
    print(f"model: horse-reid v{model.card.version}: {model.card.description}")
    print(f"face detector: none (the photos are face crops, as with `inspect-cv horse ... --face-model none`); "
          f"true identities: {folder / 'truth.json'}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # The bundled photos are face crops, as the embedder's test set is: no face detector (the
        # horse-face detector is for full photos; run on a crop it boxes part of the face).
        gallery = Gallery(Path(tmp) / "demo.db", model=model, detector=None)
        try:
            rejected = {}
            for f in enrol:
                try:
                    gallery.enroll(f.name.split("_")[1], [str(f)], check_similar=False)
                except InspectCVError as e:  # shown in the table; the other horses go on
                    rejected[f.name.split("_")[1]] = f"{f.name} rejected: {e}"
            for f in sorted(folder.glob("*_check.jpg")):
                truth = f.name.split("_")[1]
                if truth in rejected:
                    rows.append([f.name, truth, "-", "-", f"not enrolled ({rejected[truth]})"])
                    continue
                try:
                    res = gallery.identify(str(f), top_k=1, operator="demo")
                except InspectCVError as e:
                    rows.append([f.name, truth, "-", "-", f"rejected: {e}"])
                    continue
                best = res.best
                rows.append([f.name, truth, best.horse_id if best else "-", f"{best.score:.2f}" if best else "-",
                             "unknown" if res.unknown else ("right" if best.horse_id == truth else "WRONG")])
        finally:
            gallery.close()
    print(_table(rows, ["check photo", "true horse", "best match", "score", "result"]))
    return True


def run(args) -> int:
    ran = [demo_baggage(args.out, args.device), demo_container(args.out, args.device),
           demo_horse(args.out, args.device)]
    print(f"\n{sum(ran)} of {len(ran)} demos ran with shipped models.", file=sys.stderr)
    return 0
