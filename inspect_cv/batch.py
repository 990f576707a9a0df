"""Archive-scale batch detection on Ray Data: shards of JSON Lines or Parquet, resumable.

The input list is cut into fixed shards (``part-00000`` ... in input order). A shard whose
output file exists is done: a rerun after an interruption skips it, so every scan ends up in
exactly one shard. Pending scans go through ``ray.data`` ``map_batches`` with one ONNX
Runtime session per actor; each row is the JSON object ``inspect-cv detect`` writes for that
scan (a bad file gives ``{"image": ..., "error": ...}`` and the run goes on). A shard is
written atomically (temporary name, then rename) once all its rows are back.

Without an address a local Ray is started; with one (``"127.0.0.1:6379"``) the run joins
that cluster. Ray is imported only here, only when a run starts.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .errors import ConfigError, InputError, InspectCVError, MissingDependencyError

FORMATS = ("jsonl", "parquet")


@dataclass
class BatchSummary:
    """What a run did."""

    total: int
    done: int
    skipped: int
    errors: int
    shards_written: int
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0


def list_sources(inputs: Iterable[str | Path]) -> list[str]:
    """Scan paths from folders (recursive), ``.txt`` lists (one path a line) and files;
    order kept, duplicates dropped."""
    from .io import iter_image_files

    out: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_file() and p.suffix.lower() == ".txt":
            base = p.parent
            for n, line in enumerate(p.read_text().splitlines(), 1):
                line = line.strip()
                if line and not line.startswith("#"):
                    q = Path(line)
                    out.append(str(q if q.is_absolute() else base / q))
        else:
            out.extend(str(f) for f in iter_image_files([p]))
    return list(dict.fromkeys(out))


def shard_name(k: int, fmt: str) -> str:
    return f"part-{k:05d}.{fmt}"


def plan_shards(paths: Sequence[str], shard_size: int) -> list[list[str]]:
    """Consecutive chunks of ``shard_size`` paths (the last may be shorter)."""
    if shard_size < 1:
        raise ConfigError(f"shard size must be >= 1, got {shard_size}")
    return [list(paths[i:i + shard_size]) for i in range(0, len(paths), shard_size)]


def write_shard(path: Path, rows: list[dict], fmt: str) -> None:
    """Write rows (``inspect-cv detect`` records) atomically as JSONL or Parquet."""
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "jsonl":
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({"image": [r.get("image") for r in rows], "error": [r.get("error") for r in rows],
                          "record": [json.dumps(r) for r in rows]})
        pq.write_table(table, tmp)
    os.replace(tmp, path)


def read_shard(path: str | Path) -> list[dict]:
    """The records of one written shard."""
    path = Path(path)
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    import pyarrow.parquet as pq

    return [json.loads(r) for r in pq.read_table(path, columns=["record"]).column("record").to_pylist()]


class DetectBatch:
    """Ray Data callable class: one detector per actor, one record per path."""

    def __init__(self, model: str, conf: float | None = None, tile="auto", threads: int | None = None):
        from . import load

        self.detector = load(model, threads=threads)
        self.conf, self.tile = conf, tile

    def records(self, paths: Iterable[str]) -> list[str]:
        from .cli.detect import detect_one

        out = []
        for p in paths:
            try:
                rec = detect_one(self.detector, str(p), self.conf, None, self.tile, None)
            except InspectCVError as e:
                rec = {"image": str(p), "error": str(e)}
            out.append(json.dumps(rec))
        return out

    def __call__(self, batch: dict) -> dict:
        return {"path": batch["path"], "shard": batch["shard"], "record": self.records(batch["path"])}


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise MissingDependencyError("ray", "batch", "run archive-scale batch inference") from None
    return ray


def run_batch(paths: Sequence[str], model: str, out_dir: str | Path, *, ray_address: str | None = None,
              workers: int = 2, batch_size: int = 8, shard_size: int = 256, fmt: str = "jsonl",
              conf: float | None = None, tile="auto", progress: Callable | None = None) -> BatchSummary:
    """Detect on every path, writing ``out_dir/part-*.{fmt}``; shards already written are skipped."""
    if fmt not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if workers < 1 or batch_size < 1:
        raise ConfigError("workers and batch size must be >= 1")
    if not paths:
        raise InputError("no scans to process")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shards = plan_shards(list(paths), shard_size)
    pending = {k: s for k, s in enumerate(shards) if not (out_dir / shard_name(k, fmt)).exists()}
    skipped = sum(len(s) for k, s in enumerate(shards) if k not in pending)
    t0 = time.perf_counter()
    done = errors = written = 0
    if pending:
        ray = _ray()
        started = False
        if not ray.is_initialized():
            if ray_address:
                ray.init(address=ray_address, log_to_driver=False, logging_level=logging.ERROR)
            else:
                ray.init(num_cpus=workers + 1, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR)
            started = True
        try:
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = False
            items = [{"path": p, "shard": k} for k, s in pending.items() for p in s]
            threads = max(1, (os.cpu_count() or 2) // workers)
            ds = ray.data.from_items(items).map_batches(
                DetectBatch, fn_constructor_kwargs={"model": str(model), "conf": conf, "tile": tile,
                                                    "threads": threads},
                batch_size=batch_size, compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1,
                batch_format="numpy")
            got: dict[int, dict[str, dict]] = {k: {} for k in pending}
            rows = ds.iter_rows()
            for row in (progress(rows, total=len(items), desc="scans") if progress else rows):
                k = int(row["shard"])
                rec = json.loads(row["record"])
                got[k][str(row["path"])] = rec
                done += 1
                errors += "error" in rec
                if len(got[k]) == len(pending[k]):  # shard complete: write it in input order
                    write_shard(out_dir / shard_name(k, fmt), [got[k][p] for p in pending[k]], fmt)
                    written += 1
                    del got[k]
        finally:
            if started:
                ray.shutdown()
    return BatchSummary(total=len(paths), done=done, skipped=skipped, errors=errors, shards_written=written,
                        seconds=time.perf_counter() - t0)


__all__ = ["BatchSummary", "DetectBatch", "FORMATS", "list_sources", "plan_shards", "read_shard", "run_batch",
           "shard_name", "write_shard"]
