"""Pieces shared by the training loops: checkpoints, distributed set-up, schedules."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist

from inspect_cv.errors import ModelError


def load_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint with ``weights_only=True`` (no pickled code)."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: no such checkpoint")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a bad file
        raise ModelError(f"{p}: not a readable checkpoint ({e.__class__.__name__})") from None


def dist_info() -> tuple[int, int, bool]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        return dist.get_rank(), world, True
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), False
    return 0, 1, False


def select_device(name: str, rank: int) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device(name)


def lr_lambda(total: int, warmup: int, min_ratio: float) -> Callable[[int], float]:
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        t = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t))
    return f


def save_checkpoint(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def end_epoch(run_dir: Path, ck: dict, row: dict, improved: bool, log: Callable | None = None) -> None:
    """Write an epoch's checkpoint to ``last.pt`` (and ``best.pt`` when it improved), append its
    metrics row to ``metrics.jsonl`` and hand one summary line to ``log``."""
    save_checkpoint(ck, run_dir / "last.pt")
    if improved:
        save_checkpoint(ck, run_dir / "best.pt")
    with open(run_dir / "metrics.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    if log is not None:
        log(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))


def restore(path: Path, model, optimizer, scheduler, ema=None, **modules) -> tuple[int, float, int, list]:
    """Load ``last.pt`` into the training state; returns (start epoch, best metric, best epoch, history)."""
    ck = load_checkpoint(path)
    model.load_state_dict(ck["model"])
    for key, module in modules.items():
        module.load_state_dict(ck[key])
    optimizer.load_state_dict(ck["optimizer"])
    scheduler.load_state_dict(ck["scheduler"])
    if ema is not None and ck.get("ema"):
        ema.load_state_dict(ck["ema"])
    return ck["epoch"] + 1, ck["best_metric"], ck["best_epoch"], list(ck.get("history", []))


def run_distributed(train_fn, cfg, train_data, val_data, progress, log):
    """Call ``train_fn(cfg, train_data, val_data, progress, log, rank, world)`` in this process's
    DDP rank (set up from the torchrun environment); only rank 0 gets progress and log."""
    rank, world, owns_group = dist_info()
    try:
        return train_fn(cfg, train_data, val_data, progress if rank == 0 else None,
                        log if rank == 0 else None, rank, world)
    finally:
        if owns_group:
            dist.destroy_process_group()
