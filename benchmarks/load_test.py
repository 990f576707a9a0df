"""Load test of `inspect-cv serve` on loopback: POST /v1/detect at several concurrencies.

For each concurrency (default 1, 4, 16) a fixed number of requests is shared by that many
client threads (one keep-alive ``http.client`` connection each, the multipart body built
once); the script prints requests/s, latency p50/p95/p99, errors by status, and the
server's resident memory (its ``/metrics`` ``process_resident_memory_bytes``) before and
after. 429 answers count as errors (``busy``): they are the pool's back-pressure at work.

    # against a running server
    inspect-cv serve --models baggage --port 8080 &
    PYTHONPATH=. python benchmarks/load_test.py --url http://127.0.0.1:8080 --requests 500

    # or let the script start (and stop) one on a free loopback port
    PYTHONPATH=. python benchmarks/load_test.py --start-server --models baggage --requests 500

Bounded on purpose: at most --requests per level (capped at 20,000) and --timeout seconds
per request. Run it on a quiet machine; the client threads share its CPU with the server.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_IMAGE = ROOT / "inspect_cv" / "samples" / "baggage" / "synthetic_bag_1_pseudocolour.jpg"
MAX_REQUESTS = 20_000


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def server_rss(host: str, port: int, timeout: float = 10.0) -> int | None:
    """Resident memory of the server process, read from its /metrics."""
    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("process_resident_memory_bytes "):
            return int(float(line.split()[1]))
    return None


def run_level(host: str, port: int, body: bytes, ctype: str, headers: dict, concurrency: int, n: int,
              timeout: float) -> dict:
    """``n`` requests over ``concurrency`` threads; latencies of the 200s and error counts."""
    lock = threading.Lock()
    left = [n]
    lat: list[float] = []
    errors: dict[str, int] = {}

    def worker():
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        while True:
            with lock:
                if left[0] <= 0:
                    break
                left[0] -= 1
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/v1/detect", body=body,
                             headers={"Content-Type": ctype, "Content-Length": str(len(body)), **headers})
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException) as e:
                status = type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            dt = time.perf_counter() - t0
            with lock:
                if status == 200:
                    lat.append(dt)
                else:
                    key = "busy(429)" if status == 429 else str(status)
                    errors[key] = errors.get(key, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return {"concurrency": concurrency, "requests": n, "ok": len(lat), "errors": errors,
            "wall_s": round(wall, 3), "rps": round(len(lat) / wall, 2) if wall > 0 else None,
            "p50_ms": round(percentile(lat, 50) * 1000, 1), "p95_ms": round(percentile(lat, 95) * 1000, 1),
            "p99_ms": round(percentile(lat, 99) * 1000, 1)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def audit_path() -> Path:
    """A throw-away audit log for a server this script starts (removed afterwards)."""
    return Path(os.environ.get("TMPDIR", "/tmp")) / f"load-test-audit-{os.getpid()}.db"


def start_server(models: str, port: int, extra: list[str]) -> subprocess.Popen:
    audit = audit_path()
    cmd = [sys.executable, "-m", "inspect_cv", "serve", "--models", models, "--host", "127.0.0.1",
           "--port", str(port), "--audit", str(audit), "--log-level", "warning", *extra]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("the server did not answer /healthz within 120 s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080", help="server address (loopback)")
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="scan to send")
    ap.add_argument("--key", default=os.environ.get("INSPECT_CV_KEY"), help="API key (or $INSPECT_CV_KEY)")
    ap.add_argument("--concurrency", default="1,4,16", help="comma-separated client thread counts")
    ap.add_argument("--requests", type=int, default=200, help="requests per concurrency level")
    ap.add_argument("--warmup", type=int, default=5, help="requests sent first and not measured")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    ap.add_argument("--start-server", action="store_true", help="start `inspect-cv serve` on a free port")
    ap.add_argument("--models", default="baggage", help="--models for the started server")
    ap.add_argument("--server-arg", action="append", default=[], help="extra argument for the started server")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if not levels or min(levels) < 1 or not 1 <= args.requests <= MAX_REQUESTS:
        ap.error(f"concurrency levels must be >= 1 and --requests in 1..{MAX_REQUESTS}")

    proc = None
    if args.start_server:
        port = free_port()
        host = "127.0.0.1"
        proc = start_server(args.models, port, args.server_arg)
    else:
        u = urlparse(args.url)
        host, port = u.hostname or "127.0.0.1", u.port or 80
    try:
        body, ctype = multipart("file", args.image.name, args.image.read_bytes())
        headers = {"X-API-Key": args.key} if args.key else {}
        if args.warmup:
            run_level(host, port, body, ctype, headers, 1, args.warmup, args.timeout)
        rss0 = server_rss(host, port)
        rows = []
        print(f"POST /v1/detect {args.image.name} ({len(body):,} bytes) on {host}:{port}, "
              f"{args.requests} requests per level", flush=True)
        print(f"{'conc':>4} {'ok':>6} {'err':>5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  errors")
        for c in levels:
            r = run_level(host, port, body, ctype, headers, c, args.requests, args.timeout)
            rows.append(r)
            n_err = sum(r["errors"].values())
            print(f"{c:>4} {r['ok']:>6} {n_err:>5} {r['rps'] or 0:>8.2f} {r['p50_ms']:>8} {r['p95_ms']:>8} "
                  f"{r['p99_ms']:>8}  {r['errors'] or ''}", flush=True)
        rss1 = server_rss(host, port)
        mb = lambda b: "n/a" if b is None else f"{b / 2**20:.1f} MiB"  # noqa: E731
        print(f"server RSS: {mb(rss0)} at start, {mb(rss1)} at end")
        if args.json:
            args.json.write_text(json.dumps({"image": str(args.image), "levels": rows,
                                             "rss_start": rss0, "rss_end": rss1}, indent=2))
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
            for suffix in ("", "-wal", "-shm"):
                Path(str(audit_path()) + suffix).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
