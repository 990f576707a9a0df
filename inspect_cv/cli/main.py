"""``inspect-cv`` command line: a thin layer over the Python API.

Every sub-command lives in its own module with ``register(subparsers)`` and
``run(args) -> int``. Errors raised on purpose (:class:`~inspect_cv.errors.InspectCVError`)
print as one line on stderr with exit code 2 (usage) or 1 (failure); ``--debug`` shows
the traceback instead.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import InspectCVError

COMMANDS = ["models", "detect", "scan_container", "convert", "train", "export", "quantize", "evaluate", "horse", "reid", "demo", "serve", "batch"]
SYNTH_KINDS = ["baggage", "container", "horse"]


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:  # the module itself is not part of this build
        if e.name == module:
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inspect-cv",
        description="Computer vision for customs and border inspection.",
    )
    parser.add_argument("--version", action="version", version=f"inspect-cv {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = _optional(f"inspect_cv.cli.{name}")
        if mod is not None:
            mod.register(sub)
    synth = sub.add_parser("synth", help="generate synthetic data sets (simulators)")
    synth_sub = synth.add_subparsers(dest="kind", metavar="KIND")
    for kind in SYNTH_KINDS:
        mod = _optional(f"inspect_cv.cli.synth_{kind}")
        if mod is not None:
            mod.register(synth_sub)
    synth.set_defaults(func=lambda a: (synth.print_help(sys.stderr), 2)[1])
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except InspectCVError as e:
        if debug:
            raise
        print(f"inspect-cv: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("inspect-cv: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # a bug: still one line for operators, the trace on --debug
        if debug:
            raise
        print(f"inspect-cv: internal error: {type(e).__name__}: {e} (run with --debug for the traceback)",
              file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
