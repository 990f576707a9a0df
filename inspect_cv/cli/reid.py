"""``inspect-cv reid embed``: embed image files and folders into an ``.npz`` for research.

The ``.npz`` holds ``paths`` (strings, in input order; folders walked recursively and
sorted) and ``embeddings`` ((N, D) float32, L2-normalised), plus ``model_name`` and
``model_sha256``. Files that cannot be read are reported on stderr (or in the
``--json`` summary) and skipped. Exit code 0 when at least one file was embedded,
1 when none was, 2 on usage errors.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("reid", help="re-identification tools (embed images to .npz)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    e = verbs.add_parser("embed", help="embed images / folders into an .npz (paths, embeddings)")
    e.add_argument("inputs", nargs="+", metavar="IMAGES_OR_FOLDERS")
    e.add_argument("--model", required=True, help="embedding model name or .onnx path")
    e.add_argument("--out", required=True, type=Path, help="output .npz")
    e.add_argument("--batch-size", type=int, default=32)
    e.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    e.set_defaults(func=run)
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])


def run(args) -> int:
    from ..io import iter_image_files
    from ..progress import progress
    from ..reid.embed import as_embedder, embed_paths, save_npz

    if args.out.suffix.lower() != ".npz":
        print("inspect-cv reid embed: error: --out must end in .npz", file=sys.stderr)
        return 2
    if args.batch_size < 1:
        print("inspect-cv reid embed: error: --batch-size must be at least 1", file=sys.stderr)
        return 2
    files = iter_image_files(args.inputs)
    model = as_embedder(args.model)
    result = embed_paths(model, files, progress=None if args.json else progress, batch_size=args.batch_size)
    if len(result.paths):
        save_npz(args.out, result.paths, result.embeddings, model)
    summary = {"out": str(args.out) if len(result.paths) else None, "embedded": len(result.paths),
               "dim": int(result.embeddings.shape[1]) if result.embeddings.ndim == 2 else 0,
               "errors": [{"path": p, "error": m} for p, m in result.errors]}
    for p, m in result.errors:
        print(f"inspect-cv reid embed: skipped: {m}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"embedded {summary['embedded']} image(s), dim {summary['dim']}, {len(result.errors)} error(s)"
              + (f" -> {args.out}" if summary["out"] else ""))
    return 0 if len(result.paths) else 1


__all__ = ["register", "run"]
