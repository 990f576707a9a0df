"""``inspect-cv models``: list bundled models."""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("models", help="list the bundled models")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..runtime.registry import list_models

    rows = [m.summary() for m in list_models()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no bundled models found (set INSPECT_CV_MODELS to a folder of .onnx files with .card.json)")
        return 0
    print(f"{'name':<16} {'task':<7} {'version':<10} {'input':<10} {'sha256':<14} classes")
    for r in rows:
        size = "x".join(str(v) for v in (r["input_size"] or []))
        print(f"{r['name']:<16} {r['task'] or '':<7} {str(r['version']):<10} {size:<10} "
              f"{(r['sha256'] or '')[:12]:<14} {', '.join(r['classes'])}")
    return 0
