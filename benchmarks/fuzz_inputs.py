"""Time-bounded fuzzing of the scan readers and of the service's upload path.

    PYTHONPATH=. python benchmarks/fuzz_inputs.py --minutes 10 [--service] [--seed 0]

A seeded mutational fuzzer: valid PNG / JPEG / 16-bit TIFF / BMP / DICOM files (and a PNG that
declares 100,000 x 100,000 pixels) are damaged at random (byte flips, truncation, insertions,
repeated chunks, overwritten size fields) and fed to ``inspect_cv.io.decode_image`` with the
runtime's limits; with ``--service`` every fourth input is also POSTed to ``/v1/detect`` of an
in-process ``inspect-cv serve`` app (baggage model). Counts what happened; a *finding* is any
exception other than the project's typed input errors, any HTTP 5xx, any call over
``--slow`` seconds, or resident memory growing past ``--max-rss-mb``. Findings are saved to
``--out`` (the input bytes) and the script exits 1 if there is any. Not a test: a measurement.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspect_cv.errors import InspectCVError  # noqa: E402
from inspect_cv.io import decode_image  # noqa: E402


def seeds() -> dict[str, bytes]:
    import cv2

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (24, 32, 3), np.uint8)
    out = {"png": cv2.imencode(".png", rgb)[1].tobytes(), "jpeg": cv2.imencode(".jpg", rgb)[1].tobytes(),
           "bmp": cv2.imencode(".bmp", rgb)[1].tobytes()}
    import io

    import tifffile
    buf = io.BytesIO()
    tifffile.imwrite(buf, rng.integers(0, 65535, (2, 20, 30), np.uint16))
    out["tiff16"] = buf.getvalue()
    png = bytearray(out["png"])
    png[16:24] = (100_000).to_bytes(4, "big") * 2  # IHDR width, height: a decompression bomb header
    out["png_bomb"] = bytes(png)
    try:
        import pydicom  # noqa: F401
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from test_io import make_dicom  # the suite's DICOM writer
        out["dicom"] = make_dicom(rng.integers(0, 4000, (16, 12)).astype(np.uint16))
    except Exception:  # pydicom missing or the helper moved: fuzz without DICOM
        pass
    return out


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 6))):
        op = int(rng.integers(6))
        if not b:
            b = bytearray(rng.integers(0, 256, 8, np.uint8).tobytes())
        pos = int(rng.integers(len(b)))
        if op == 0:
            b[pos] = int(rng.integers(256))
        elif op == 1:
            del b[pos:]
        elif op == 2:
            b[pos:pos] = rng.integers(0, 256, int(rng.integers(1, 64)), np.uint8).tobytes()
        elif op == 3:
            n = int(rng.integers(1, 256))
            b[pos:pos] = b[pos:pos + n] * int(rng.integers(1, 8))
        elif op == 4:  # a plausible size field: 4 bytes of a big number
            b[pos:pos + 4] = int(rng.choice([0, 1, 65535, 2**31 - 1, 2**32 - 1])).to_bytes(4, "big")
        else:
            b[pos] ^= 1 << int(rng.integers(8))
    return bytes(b)


def rss_mb() -> float:
    """Peak resident memory so far (a high-water mark), MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Resident memory now, MiB (Linux /proc; the peak where that is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return rss_mb()
    return pages * resource.getpagesize() / (1 << 20)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--service", action="store_true", help="also POST inputs to /v1/detect (needs the serve extra)")
    ap.add_argument("--slow", type=float, default=5.0, help="seconds per call counted as a hang")
    ap.add_argument("--max-rss-mb", type=float, default=2048)
    ap.add_argument("--out", type=Path, default=Path("runs/fuzz"))
    ap.add_argument("--sample-every", type=int, default=500, help="record the current RSS every N inputs")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    pool = seeds()
    names = sorted(pool)
    client = None
    if args.service:
        from fastapi.testclient import TestClient

        from inspect_cv.service.app import create_app
        from inspect_cv.service.config import ServiceConfig, parse_models
        cfg = ServiceConfig(models=parse_models("baggage"), audit=args.out / "audit.db")
        args.out.mkdir(parents=True, exist_ok=True)
        client = TestClient(create_app(cfg))
    counts = {"decoded": 0, "input_error": 0, "http": {}}
    findings = []
    start, n = time.perf_counter(), 0
    rss0 = rss_mb()
    series = []     # (seconds, current RSS MiB) every --sample-every inputs: flat or growing?
    jumps = []      # inputs that raised the peak by more than 16 MiB: what a single input costs
    while time.perf_counter() - start < args.minutes * 60:
        kind = names[int(rng.integers(len(names)))]
        data = mutate(pool[kind], rng) if rng.random() < 0.95 else rng.integers(0, 256, int(rng.integers(0, 512)),
                                                                                 np.uint8).tobytes()
        t = time.perf_counter()
        peak_before = rss_mb()
        try:
            decode_image(data, f"fuzz.{kind}", max_pixels=50_000_000, max_bytes=64 << 20)
            counts["decoded"] += 1
        except InspectCVError:
            counts["input_error"] += 1
        except Exception:
            findings.append({"kind": kind, "where": "decode_image", "error": traceback.format_exc(limit=3)})
            _save(args.out, len(findings), data)
        if time.perf_counter() - t > args.slow:
            findings.append({"kind": kind, "where": "decode_image", "error": f"slow: {time.perf_counter() - t:.1f} s"})
            _save(args.out, len(findings), data)
        if client is not None and n % 4 == 0:
            t = time.perf_counter()
            r = client.post("/v1/detect", files={"file": (f"fuzz.{kind}", data)})
            counts["http"][r.status_code] = counts["http"].get(r.status_code, 0) + 1
            if r.status_code >= 500 or "error" not in r.json() and r.status_code != 200:
                findings.append({"kind": kind, "where": "/v1/detect", "error": f"HTTP {r.status_code}: {r.text[:200]}"})
                _save(args.out, len(findings), data)
            if time.perf_counter() - t > args.slow:
                findings.append({"kind": kind, "where": "/v1/detect", "error": "slow"})
        if rss_mb() - peak_before > 16:
            jumps.append({"input": n, "kind": kind, "bytes": len(data), "peak_mib": round(rss_mb())})
        if n % args.sample_every == 0:
            series.append((round(time.perf_counter() - start, 1), round(current_rss_mb(), 1)))
        if rss_mb() > args.max_rss_mb:
            findings.append({"kind": kind, "where": "memory", "error": f"peak RSS {rss_mb():.0f} MiB"})
            break
        n += 1
    el = time.perf_counter() - start
    report = {"inputs": n, "seconds": round(el, 1), "inputs_per_s": round(n / el, 1), "counts": counts,
              "peak_rss_mib_start": round(rss0), "peak_rss_mib_end": round(rss_mb()), "seeds": names,
              "rss_mib_now_end": round(current_rss_mb(), 1), "rss_mib_series": series[:: max(1, len(series) // 20)],
              "peak_jumps": jumps[:20], "findings": len(findings)}
    print(json.dumps(report, indent=1, default=str))
    for f in findings[:20]:
        print(f"FINDING {f['where']} ({f['kind']}): {f['error'].strip().splitlines()[-1]}")
    return 1 if findings else 0


def _save(out: Path, k: int, data: bytes) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"finding_{k:04d}.bin").write_bytes(data)


if __name__ == "__main__":
    sys.exit(main())
