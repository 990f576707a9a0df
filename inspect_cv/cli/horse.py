"""``inspect-cv horse``: enrol, verify, identify horses against a gallery database.

Verbs: ``enroll``, ``verify``, ``identify``, ``list``, ``remove``, ``export``, ``calibrate``.
Every verb takes ``--gallery DB`` and ``--json`` (one JSON object on stdout). Exit codes:
0 done (a verification "no match" and an identification "unknown" are results, so 0),
1 error (bad photo, unknown horse, model mismatch...; with ``--json`` also printed as
``{"error": ..., "reason": ...}`` on stdout), 2 usage.

``verify --json`` prints ``{"match": bool, "score": float, "threshold": float, "far":
float|null, "calibrated": bool, "horse_id": str, "name": str|null}``; ``identify --json``
prints ``{"unknown": bool, "best": id|null, "candidates": [{"horse_id", "name", "score"}],
"threshold", "far", "calibrated"}``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InspectCVError

VERBS = ("enroll", "verify", "identify", "list", "remove", "export", "calibrate")


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--gallery", required=True, type=Path, metavar="DB", help="gallery database (SQLite file)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--model", default="horse-reid", help="embedding model name or .onnx path (default horse-reid)")
    p.add_argument("--face-model", default="auto", metavar="M",
                   help="face detector to crop faces from full photos: a name or .onnx path, 'auto' "
                        "(horse-face if installed) or 'none' (photos are face crops)")
    p.add_argument("--operator", default=None, metavar="NAME", help="operator name written to the audit log")
    return p


def register(sub) -> None:
    p = sub.add_parser("horse", help="horse identity gallery: enrol, verify (1:1), identify (1:N)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    common = _common()

    e = verbs.add_parser("enroll", parents=[common], help="enrol a horse (or add photos to it)")
    e.add_argument("--id", required=True, dest="horse_id", metavar="ID", help="horse id (e.g. UELN)")
    e.add_argument("--name", default=None)
    e.add_argument("--passport", default=None, help="passport number")
    e.add_argument("--microchip", default=None, help="microchip (transponder) number")
    e.add_argument("--notes", default=None)
    e.add_argument("--scoring", choices=["mean", "max"], default=None,
                   help="how a new gallery scores a horse: mean (template of its enrolment photos, default) or "
                        "max (its best enrolment photo); fixed when the gallery is created")
    e.add_argument("--cohort", default=None, metavar="NPZ",
                   help="score cohort of a new gallery: an embeddings .npz (`inspect-cv reid embed`, same model) of "
                        "other individuals; scores become AS-norm z-scores (calibrate before use); fixed when the "
                        "gallery is created")
    e.add_argument("--cohort-k", type=int, default=100, metavar="K",
                   help="with --cohort: top cohort scores per side (default 100)")
    e.add_argument("photos", nargs="+", metavar="PHOTO", help="face photos (or full photos with a face model)")

    v = verbs.add_parser("verify", parents=[common], help="1:1: is PHOTO the horse with this id?")
    v.add_argument("--id", required=True, dest="horse_id", metavar="ID")
    v.add_argument("photo", metavar="PHOTO")

    i = verbs.add_parser("identify", parents=[common], help="1:N: which enrolled horse is PHOTO?")
    i.add_argument("photo", metavar="PHOTO")
    i.add_argument("--top", type=int, default=5, metavar="K", help="number of candidates (default 5)")

    verbs.add_parser("list", parents=[common], help="list enrolled horses")

    r = verbs.add_parser("remove", parents=[common], help="remove a horse and its embeddings")
    r.add_argument("--id", required=True, dest="horse_id", metavar="ID")

    x = verbs.add_parser("export", parents=[common], help="export the gallery to .json or .npz")
    x.add_argument("out", type=Path, metavar="OUT", help="output file, .json or .npz")
    x.add_argument("--no-embeddings", action="store_true", help="leave the vectors out of a .json export")
    x.add_argument("--audit", action="store_true", help="include the audit log (.json)")

    c = verbs.add_parser("calibrate", parents=[common], help="choose the match threshold for a target FAR")
    c.add_argument("data", type=Path, metavar="DATA_DIR", help="labelled photos: one sub-folder per identity")
    c.add_argument("--far", type=float, default=0.001, help="target false accept rate (default 0.001)")
    c.add_argument("--enrol-per-identity", type=int, default=3, metavar="N",
                   help="photos per identity used as enrolment, the rest as probes (default 3)")

    for sp in verbs.choices.values():
        sp.set_defaults(func=run)
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])


def _face_detector(spec: str):
    if spec in (None, "", "none"):
        return None
    if spec == "auto":
        from ..runtime.registry import list_models

        names = {m.name for m in list_models()}
        return "horse-face" if "horse-face" in names else None
    return spec


def _open(args, needs_model: bool, create: bool = False):
    from ..reid.gallery import Gallery

    model = args.model if needs_model else None
    detector = _face_detector(args.face_model) if needs_model else None
    return Gallery(args.gallery, model=model, detector=detector, create=create, scoring=getattr(args, "scoring", None),
                   cohort=getattr(args, "cohort", None), cohort_k=getattr(args, "cohort_k", None) or 100)


def _usage(msg: str) -> int:
    print(f"inspect-cv horse: error: {msg}", file=sys.stderr)
    return 2


def run(args) -> int:
    verb = args.verb
    if verb == "identify" and args.top < 1:
        return _usage("--top must be at least 1")
    if verb == "calibrate" and not 0 < args.far < 1:
        return _usage("--far must lie in (0, 1)")
    try:
        out = _dispatch(args)
    except InspectCVError as e:
        if not args.json:
            raise  # the main entry point prints it as one line, exit 1
        print(json.dumps({"error": str(e), "type": type(e).__name__, "reason": getattr(e, "reason", None)}))
        print(f"inspect-cv: error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(out, default=str))
    else:
        print(_human(verb, out))
    return 0


def _dispatch(args) -> dict:
    verb = args.verb
    op = args.operator
    if verb == "enroll":
        with _open(args, True, create=True) as g:
            r = g.enroll(args.horse_id, args.photos, name=args.name, passport=args.passport,
                         microchip=args.microchip, notes=args.notes, operator=op)
            return r.to_dict()
    if verb == "verify":
        with _open(args, True) as g:
            return g.verify(args.horse_id, args.photo, operator=op).to_dict()
    if verb == "identify":
        with _open(args, True) as g:
            return g.identify(args.photo, top_k=args.top, operator=op).to_dict()
    if verb == "list":
        with _open(args, False) as g:
            info = g.model_info
            return {"horses": g.list(), "model": None if info is None else info.__dict__,
                    "calibration": (c.to_dict() if (c := g.calibration()) else None)}
    if verb == "remove":
        with _open(args, False) as g:
            n = g.remove(args.horse_id, operator=op)
            return {"removed": args.horse_id, "embeddings": n}
    if verb == "export":
        with _open(args, False) as g:
            path = g.export(args.out, include_embeddings=not args.no_embeddings, include_audit=args.audit)
            return {"exported": str(path), "horses": len(g)}
    if verb == "calibrate":
        from ..progress import progress

        with _open(args, True, create=True) as g:
            cal = g.calibrate(args.data, target_far=args.far, enrol_per_identity=args.enrol_per_identity,
                              progress=None if args.json else progress)
            return cal.to_dict()
    raise AssertionError(verb)  # pragma: no cover - argparse restricts the verbs


def _human(verb: str, out: dict) -> str:
    if verb == "enroll":
        lines = [f"enrolled {out['horse_id']}: {out['added']} photo(s) added, {out['total']} in total"
                 + (" (new horse)" if out["created"] else "")]
        lines += [f"warning: {w}" for w in out["warnings"]]
        return "\n".join(lines)
    if verb == "verify":
        far = f" (calibrated for FAR {out['far']:g})" if out["far"] is not None else " (uncalibrated default)"
        verdict = "MATCH" if out["match"] else "NO MATCH"
        return f"{verdict}: {out['horse_id']} score {out['score']:.4f}, threshold {out['threshold']:.4f}{far}"
    if verb == "identify":
        head = "UNKNOWN: no enrolled horse reaches the threshold" if out["unknown"] else f"IDENTIFIED: {out['best']}"
        rows = [f"  {k + 1}. {c['horse_id']:<20} {c['name'] or '':<20} {c['score']:.4f}"
                for k, c in enumerate(out["candidates"])]
        return "\n".join([head + f" (threshold {out['threshold']:.4f})"] + rows)
    if verb == "list":
        horses = out["horses"]
        if not horses:
            return "no horses enrolled"
        rows = [f"{'id':<20} {'name':<20} {'passport':<16} {'microchip':<18} photos"]
        rows += [f"{h['id']:<20} {h['name'] or '':<20} {h['passport'] or '':<16} {h['microchip'] or '':<18} "
                 f"{h['n_embeddings']}" for h in horses]
        rows.append(f"{len(horses)} horse(s)")
        return "\n".join(rows)
    if verb == "remove":
        return f"removed {out['removed']} ({out['embeddings']} embedding(s))"
    if verb == "export":
        return f"exported {out['horses']} horse(s) to {out['exported']}"
    if verb == "calibrate":
        text = (f"threshold {out['threshold']:.4f} for target FAR {out['target_far']:g}: measured FAR "
                f"{out['far']:.4g}, TAR {out['tar']:.4f} on {out['n_genuine']} genuine / "
                f"{out['n_impostor']} impostor pairs (stored)")
        if out["details"].get("warning"):
            text += f"\nwarning: {out['details']['warning']}"
        return text
    return json.dumps(out)  # pragma: no cover


__all__ = ["register", "run", "VERBS"]
