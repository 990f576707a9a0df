"""The detection training loop: config in, run folder out.

Run folder ``<output_dir>/<name>/``: ``config.yaml`` (resolved), ``metrics.jsonl`` (one
JSON line per epoch), ``last.pt`` (for resuming) and ``best.pt`` (best validation
mAP50-95, or the last epoch when there is no validation data). Checkpoints hold only
tensors and plain Python values, so they load with ``torch.load(weights_only=True)``.

Distributed data-parallel: started by ``torchrun`` (``WORLD_SIZE`` > 1 in the
environment), the same call initialises a process group (gloo on CPU, nccl on CUDA),
shards the data with a ``DistributedSampler`` and lets rank 0 alone write files.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, SequentialSampler

from inspect_cv.errors import ConfigError
from inspect_cv.formats.core import DetectionDataset

from .common import end_epoch, load_checkpoint, lr_lambda, run_distributed, restore, save_checkpoint, select_device  # noqa: F401
from .config import save_config
from .criterion import DetectionCriterion
from .data import DetectionTorchDataset, MixedDataset, build_augment, collate, resolve_sampler
from .ema import ModelEMA
from .engine import evaluate, train_one_epoch
from .model import create_model
from .postprocess import PostProcessor


@dataclass
class TrainResult:
    run_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path
    history: list[dict] = field(default_factory=list)


def model_from_checkpoint(ckpt: dict, use_ema: bool = True) -> torch.nn.Module:
    """Rebuild the model of a checkpoint (EMA weights when present) in eval mode."""
    model = create_model(ckpt["model_name"], len(ckpt["classes"]), pretrained=False)
    state = ckpt["ema"]["module"] if use_ema and ckpt.get("ema") else ckpt["model"]
    model.load_state_dict(state)
    return model.eval()


def init_from_checkpoint(model: torch.nn.Module, ckpt: dict, classes: list[str]) -> dict[str, int]:
    """Start ``model`` (for ``classes``) from a checkpoint's weights (EMA when present).

    Tensors with the same name and shape are copied. Class-indexed tensors (first dimension
    the number of classes) get the rows of the classes both lists name; classes new to the
    model keep their fresh initialisation. Returns counts of copied / class-mapped / kept tensors.
    """
    from inspect_cv.errors import ModelError

    src_classes = list(ckpt.get("classes") or [])
    src = ckpt["ema"]["module"] if ckpt.get("ema") else ckpt.get("model")
    if not isinstance(src, dict) or not src_classes:
        raise ModelError("the init checkpoint has no model weights or class names")
    rows = [(classes.index(c), src_classes.index(c)) for c in classes if c in src_classes]
    dst = model.state_dict()
    counts = {"copied": 0, "class_mapped": 0, "kept": 0}
    with torch.no_grad():
        for name, t in dst.items():
            v = src.get(name)
            if v is not None and v.shape == t.shape:
                t.copy_(v)
                counts["copied"] += 1
            elif (v is not None and v.ndim == t.ndim and v.ndim >= 1 and v.shape[1:] == t.shape[1:]
                  and v.shape[0] == len(src_classes) and t.shape[0] == len(classes)):
                for i_dst, i_src in rows:
                    t[i_dst] = v[i_src]
                counts["class_mapped"] += 1
            else:
                counts["kept"] += 1
    if counts["copied"] == 0:
        raise ModelError("the init checkpoint shares no weights with this model (another architecture?)")
    return counts


def _check_images(data: DetectionDataset | None) -> None:
    """A data set whose image files are missing fails before training, with the first path."""
    from inspect_cv.errors import DatasetError

    if data is None:
        return
    missing = [rec for rec in data.images if not Path(data.image_path(rec)).is_file()]
    if missing:
        raise DatasetError(f"{len(missing)} of {len(data.images)} images are missing, first "
                           f"{data.image_path(missing[0])}", data.root)


def load_dataset(spec: str | Path, fmt: str = "auto") -> DetectionDataset:
    """Read a dataset path with :func:`inspect_cv.formats.convert.read_dataset`.

    ``fmt="auto"``: a ``.json`` file is COCO, a ``.yaml`` file or a folder with one is YOLO.
    """
    from inspect_cv.formats.convert import read_dataset

    p = Path(spec)
    if fmt == "auto":
        if p.suffix == ".json":
            fmt = "coco"
        elif p.suffix in (".yaml", ".yml") or (p / "data.yaml").is_file():
            fmt = "yolo"
        elif (p / "annotations.json").is_file():
            fmt, p = "coco", p / "annotations.json"
        else:
            raise ConfigError(f"{p}: cannot tell the dataset format; set data.format")
    return read_dataset(p, fmt)


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def train_detect(cfg: dict, train_data: DetectionDataset | None = None, val_data: DetectionDataset | None = None,
                 progress: Callable | None = None, log: Callable[[str], None] | None = None) -> TrainResult:
    """Train a detector per ``cfg`` (see :func:`inspect_cv.train.config.load_config`).

    ``train_data``/``val_data`` override ``data.train``/``data.val``. ``log`` receives one
    line per epoch (rank 0 only). Resumes from ``last.pt`` when ``resume`` is true.
    """
    return run_distributed(_train, cfg, train_data, val_data, progress, log)


def _train(cfg, train_data, val_data, progress, log, rank, world) -> TrainResult:
    seed = int(cfg["seed"])
    torch.manual_seed(seed + rank)
    random.seed(seed + rank)
    np.random.seed(seed + rank)
    dcfg, tcfg = cfg["data"], cfg["train"]
    if train_data is None and dcfg["train"]:
        train_data = load_dataset(dcfg["train"], dcfg["format"])
    if val_data is None and dcfg["val"]:
        val_data = load_dataset(dcfg["val"], dcfg["format"])
    for data in (train_data, val_data):
        _check_images(data)
    classes = list(dcfg["classes"] or (train_data.classes if train_data is not None else []))
    if not classes:
        raise ConfigError("no classes: set data.classes or give a training dataset")
    if train_data is not None and list(train_data.classes) != classes:
        raise ConfigError(f"data.classes {classes} differ from the dataset's {list(train_data.classes)}")
    size = int(dcfg["input_size"])
    syn = dcfg["synthetic"]
    sampler_fn = resolve_sampler(syn["source"], syn.get("options"), classes)
    if train_data is None and sampler_fn is None:
        raise ConfigError("nothing to train on: set data.train or data.synthetic.source")

    augment = build_augment(cfg["augment"])
    real = DetectionTorchDataset(train_data, size, augment) if train_data is not None else None
    train_set = MixedDataset(real, sampler_fn, float(syn["ratio"] or 0), int(syn["length"] or 0), size, augment, seed)
    if len(train_set) == 0:
        raise ConfigError("the training set is empty")
    bs = int(tcfg["batch_size"])
    if world > 1:
        sampler = DistributedSampler(train_set, world, rank, shuffle=True, seed=seed, drop_last=True)
    else:
        sampler = RandomSampler(train_set, generator=torch.Generator().manual_seed(seed))
    workers = int(dcfg["workers"])
    loader = DataLoader(train_set, bs, sampler=sampler, num_workers=workers, collate_fn=collate,
                        drop_last=len(train_set) // world > bs)
    val_loader = None
    if val_data is not None and rank == 0 and int(cfg["eval"]["every"]) > 0:
        val_set = DetectionTorchDataset(val_data, size, None)
        val_loader = DataLoader(val_set, int(cfg["eval"]["batch_size"]), sampler=SequentialSampler(val_set),
                                num_workers=workers, collate_fn=collate)

    device = select_device(cfg["device"], rank)
    mcfg = cfg["model"]
    model = create_model(mcfg["name"], len(classes), pretrained=bool(mcfg["pretrained"]))
    if mcfg.get("init") and not (cfg["resume"] and (Path(cfg["output_dir"]) / str(cfg["name"]) / "last.pt").is_file()):
        from_onnx = str(mcfg["init"]).lower().endswith(".onnx")
        if from_onnx:  # a shipped model without its checkpoint: weights recovered from the graph
            from .from_onnx import REFIT_BATCHES, checkpoint_from_onnx, refit_batchnorm
            init = checkpoint_from_onnx(mcfg["init"])
        else:
            init = load_checkpoint(mcfg["init"])
        if init.get("model_name") not in (None, mcfg["name"]):
            raise ConfigError(f"model.init {mcfg['init']} holds a {init['model_name']!r} model, the config asks "
                              f"for {mcfg['name']!r}: set model.name to match")
        init_from_checkpoint(model, init, classes)
        if from_onnx:  # folded batch norms: give them the statistics of this data (eval function unchanged)
            refit_batchnorm(model, (images for images, _ in islice(iter(loader), REFIT_BATCHES)))
    model = model.to(device)
    criterion = DetectionCriterion(len(classes), **cfg["loss"])
    post = PostProcessor(cfg["eval"]["conf"], cfg["eval"]["iou"], cfg["eval"]["max_per_class"])
    ema = ModelEMA(model, cfg["ema"]["decay"], cfg["ema"]["tau"]) if cfg["ema"]["enabled"] else None
    train_model = model
    if world > 1:
        train_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.AdamW(_param_groups(model, float(tcfg["weight_decay"])), lr=float(tcfg["lr"]))
    iters = len(loader) if int(tcfg["max_iters_per_epoch"]) <= 0 else min(len(loader), int(tcfg["max_iters_per_epoch"]))
    total = int(tcfg["epochs"]) * iters
    warmup = min(int(tcfg["warmup_iters"]), max(1, total // 3))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(total, warmup, float(tcfg["min_lr_ratio"])))

    run_dir = Path(cfg["output_dir"]) / str(cfg["name"])
    last, best = run_dir / "last.pt", run_dir / "best.pt"
    start_epoch, best_metric, best_epoch, history = 0, -1.0, -1, []
    if cfg["resume"] and last.is_file():
        start_epoch, best_metric, best_epoch, history = restore(last, model, optimizer, scheduler, ema)
    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, run_dir / "config.yaml")

    for epoch in range(start_epoch, int(tcfg["epochs"])):
        train_set.set_epoch(epoch)
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)
        stats = train_one_epoch(train_model, criterion, loader, optimizer, scheduler, device, epoch, ema,
                                float(tcfg["grad_clip"]), int(tcfg["max_iters_per_epoch"]), progress)
        row = {"epoch": epoch, **{f"train_{k}": v for k, v in stats.items()}}
        every = int(cfg["eval"]["every"])
        if val_loader is not None and ((epoch + 1) % every == 0 or epoch + 1 == int(tcfg["epochs"])):
            eval_model = ema.module if ema is not None else model
            m = evaluate(eval_model, post, val_loader, device, len(classes), progress)
            row.update({"map50": m["map50"], "map50_95": m["map50_95"]})
        improved = False
        if "map50_95" in row:
            improved = row["map50_95"] > best_metric
        elif val_loader is None:
            improved = True  # no validation: the latest weights are the best we know
        if improved:
            best_metric = float(row.get("map50_95", best_metric))
            best_epoch = epoch
        history.append(row)
        if rank == 0:
            ck = {"model": model.state_dict(), "ema": ema.state_dict() if ema is not None else None,
                  "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                  "epoch": epoch, "best_metric": best_metric, "best_epoch": best_epoch,
                  "config": cfg, "classes": classes, "model_name": mcfg["name"], "input_size": size,
                  "history": history}
            end_epoch(run_dir, ck, row, improved, log)
        if world > 1:
            dist.barrier()
    return TrainResult(run_dir, best, last, history)
