"""``inspect-cv serve``: the inspection station's HTTP service (FastAPI + uvicorn).

``inspect-cv serve --models baggage,container,horse-reid --gallery horses.db --keys keys.json``
serves ``/v1/detect``, ``/v1/scan-container``, ``/v1/horses``..., ``/v1/decisions``,
``/v1/view``, ``/v1/models``, ``/healthz``, ``/metrics``, the OpenAPI schema (``/docs``)
and the operator web page at ``/ui/`` (``--static DIR`` serves another folder, ``--no-ui``
none). Without ``--keys`` the service is open and binds to loopback only.

``inspect-cv serve keys add NAME --role operator --keys FILE`` prints a new key once
(it is stored hashed); ``keys list`` and ``keys remove NAME`` manage the file.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the HTTP service (see also `serve keys`)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="baggage", metavar="LIST",
                   help="comma-separated kinds to serve: baggage, container, horse-reid; KIND=NAME_OR_PATH "
                        "picks a model, container=none the physics only (default: baggage)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--gallery", type=Path, default=None, metavar="DB", help="horse gallery (with horse-reid)")
    p.add_argument("--keys", type=Path, default=None, metavar="KEYS_FILE",
                   help="API keys file; without it the service is open and loopback only")
    p.add_argument("--audit", type=Path, default=Path("inspect-cv-audit.db"), metavar="DB",
                   help="audit log of operator decisions (default ./inspect-cv-audit.db)")
    p.add_argument("--workers", type=int, default=None, help="inference threads (default: one per core)")
    p.add_argument("--queue", type=int, default=None, help="requests that may wait for a worker before 429 "
                                                          "(default 2 x workers)")
    p.add_argument("--threads", type=int, default=None, help="onnxruntime threads per model (default cores/workers)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--max-upload-mb", type=float, default=256.0, help="request body limit in MiB (default 256)")
    p.add_argument("--max-pixels", type=int, default=120_000_000, help="decoded values per image (default 120M)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request before 504 (default 60)")
    p.add_argument("--face-model", default="auto", help="horse face detector: auto, none, a name or path")
    p.add_argument("--static", type=Path, default=None, metavar="DIR",
                   help="serve this folder under /ui instead of the shipped operator page")
    p.add_argument("--no-ui", action="store_true", help="do not serve the operator web page at /ui")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=run)

    verbs = p.add_subparsers(dest="serve_verb", metavar="keys")
    k = verbs.add_parser("keys", help="manage API keys (stored hashed)")
    kv = k.add_subparsers(dest="keys_verb", metavar="VERB")
    a = kv.add_parser("add", help="add a key and print it (shown once)")
    a.add_argument("name", metavar="NAME")
    a.add_argument("--role", choices=["operator", "admin"], default="operator")
    a.add_argument("--keys", dest="keys_file", type=Path, required=True, metavar="KEYS_FILE")
    r = kv.add_parser("remove", help="remove a key by name")
    r.add_argument("name", metavar="NAME")
    r.add_argument("--keys", dest="keys_file", type=Path, required=True, metavar="KEYS_FILE")
    ls = kv.add_parser("list", help="list key names and roles")
    ls.add_argument("--keys", dest="keys_file", type=Path, required=True, metavar="KEYS_FILE")
    ls.add_argument("--json", action="store_true")
    for sp in (a, r, ls):
        sp.set_defaults(func=run_keys)
    k.set_defaults(func=lambda args: (k.print_help(sys.stderr), 2)[1])


def run_keys(args) -> int:
    from ..service import keys

    if args.keys_verb == "add":
        key = keys.add_key(args.keys_file, args.name, args.role)
        print(key)
        print(f"inspect-cv serve keys: added {args.name!r} ({args.role}) to {args.keys_file}; "
              "the key above is shown only now", file=sys.stderr)
        return 0
    if args.keys_verb == "remove":
        keys.remove_key(args.keys_file, args.name)
        print(f"inspect-cv serve keys: removed {args.name!r} from {args.keys_file}", file=sys.stderr)
        return 0
    rows = keys.list_keys(args.keys_file)
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(f"{r['name']:<24} {r['role']:<9} {r['id']}  {r['created'] or ''}")
        print(f"{len(rows)} key(s)", file=sys.stderr)
    return 0


def build_config(args):
    """The :class:`~inspect_cv.service.ServiceConfig` of parsed ``serve`` arguments."""
    from ..service.config import UI_DIR, ServiceConfig, default_workers

    workers = args.workers if args.workers is not None else default_workers()
    return ServiceConfig(models=args.models, gallery=args.gallery, keys=args.keys, audit=args.audit,
                         host=args.host, workers=workers, queue=args.queue, threads=args.threads,
                         device=args.device, max_upload_bytes=int(args.max_upload_mb * 1024**2),
                         max_pixels=args.max_pixels, timeout_s=args.timeout, face_model=args.face_model,
                         static_dir=None if getattr(args, "no_ui", False) else (args.static or UI_DIR))


def run(args) -> int:
    if not 0 < args.port < 65536:
        print(f"inspect-cv serve: error: --port must lie in 1..65535, got {args.port}", file=sys.stderr)
        return 2
    if args.max_upload_mb <= 0 or args.timeout <= 0:
        print("inspect-cv serve: error: --max-upload-mb and --timeout must be positive", file=sys.stderr)
        return 2
    config = build_config(args)  # refuses a non-loopback host without --keys (ConfigError, one line)
    from ..service import create_app

    app = create_app(config)
    try:
        import uvicorn
    except ImportError:
        from ..errors import MissingDependencyError

        raise MissingDependencyError("uvicorn", "serve", "run the HTTP service") from None
    auth = f"keys from {config.keys}" if config.keys else "OPEN (no keys; loopback only)"
    ui = f"; web page http://{args.host}:{args.port}/ui/" if config.static_dir is not None else ""
    print(f"inspect-cv serve: http://{args.host}:{args.port}  models {', '.join(config.models)}; "
          f"{config.workers} workers, queue {config.queue}; auth {auth}; audit {config.audit}{ui}", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


__all__ = ["register", "run", "run_keys", "build_config"]
