"""The re-identification training loop: config in, run folder out.

Same conventions as detection (:mod:`inspect_cv.train.detect`): run folder
``<output_dir>/<name>/`` with the resolved ``config.yaml``, ``metrics.jsonl`` (one JSON line
per epoch), ``last.pt`` (resume) and ``best.pt`` (best validation mAP, or the last epoch
without validation); checkpoints hold tensors and plain values only (``weights_only=True``);
``torchrun`` starts DDP (each rank draws its share of the same P x K batch stream, rank 0
writes files). Validation is leave-one-out over the (identity-disjoint) validation images
with the numpy metrics of :mod:`inspect_cv.evaluation.reid`.
"""
from __future__ import annotations

import math
import random
from itertools import islice
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader

from inspect_cv.errors import ConfigError
from inspect_cv.evaluation.reid import IdentitySet, evaluate_embeddings

from ..common import end_epoch, load_checkpoint, lr_lambda, run_distributed, restore, save_checkpoint, select_device  # noqa: F401
from ..ema import ModelEMA
from .config import save_config
from .data import ReidDataset, build_augment, read_identity_folder, split_identities
from .losses import ArcFaceLoss, CombinedLoss, MultiSimilarityLoss, TripletMarginLoss
from .miners import BatchHardMiner, MultiSimilarityMiner
from .model import EmbeddingNet, create_embedder
from .samplers import PKSampler

__all__ = ["train_reid", "ReidTrainResult", "build_criterion", "embed_dataset", "model_from_checkpoint",
           "load_checkpoint", "train_one_epoch", "validate"]


@dataclass
class ReidTrainResult:
    run_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path
    history: list[dict] = field(default_factory=list)


def build_criterion(loss_cfg: dict, num_classes: int, dim: int) -> CombinedLoss:
    """The weighted losses of ``loss_cfg`` (weight 0 disables one) with their shared miner."""
    losses: dict[str, nn.Module] = {}
    weights: dict[str, float] = {}
    a = loss_cfg["arcface"]
    if float(a["weight"]) > 0:
        losses["arcface"] = ArcFaceLoss(num_classes, dim, float(a["margin"]), float(a["scale"]), int(a["sub_centers"]))
        weights["arcface"] = float(a["weight"])
    ms = loss_cfg["multi_similarity"]
    if float(ms["weight"]) > 0:
        losses["multi_similarity"] = MultiSimilarityLoss(float(ms["alpha"]), float(ms["beta"]), float(ms["base"]))
        weights["multi_similarity"] = float(ms["weight"])
    tr = loss_cfg["triplet"]
    if float(tr["weight"]) > 0:
        losses["triplet"] = TripletMarginLoss(float(tr["margin"]))
        weights["triplet"] = float(tr["weight"])
    miner = {"multi_similarity": MultiSimilarityMiner(float(loss_cfg["miner_epsilon"])),
             "batch_hard": BatchHardMiner()}.get(loss_cfg["miner"] or "none")
    return CombinedLoss(losses, weights, miner)


class _TrainModule(nn.Module):
    """Model and criterion in one module, so DDP also synchronises the loss's class weights."""

    def __init__(self, model: nn.Module, criterion: nn.Module):
        super().__init__()
        self.model, self.criterion = model, criterion

    def forward(self, images, labels):
        return self.criterion(self.model(images), labels)


def _identity(items, total=None, desc=""):
    return items


def _param_groups(model: EmbeddingNet, criterion: nn.Module, lr: float, head_mult: float, wd: float) -> list[dict]:
    head = {id(p) for p in model.head_parameters()}
    groups: dict[tuple[bool, bool], list] = {}
    named = [("m." + n, p) for n, p in model.named_parameters()] + [("c." + n, p) for n, p in criterion.named_parameters()]
    for name, p in named:
        if not p.requires_grad:
            continue
        is_head = name.startswith("c.") or id(p) in head
        groups.setdefault((is_head, p.ndim <= 1), []).append(p)
    return [{"params": ps, "lr": lr * (head_mult if is_head else 1.0), "weight_decay": 0.0 if no_wd else wd}
            for (is_head, no_wd), ps in groups.items()]


def train_one_epoch(module: nn.Module, loader, optimizer, scheduler, device, epoch: int, ema=None,
                    grad_clip: float = 0.0, progress: Callable | None = None) -> dict[str, float]:
    """One pass over ``loader`` (P x K batches); returns mean loss terms. Non-finite loss raises."""
    module.train()
    progress = progress or _identity
    sums: dict[str, float] = {}
    n = 0
    for it, (images, labels) in enumerate(progress(loader, total=len(loader), desc=f"epoch {epoch}")):
        images, labels = images.to(device, non_blocking=True), labels.to(device)
        loss, parts = module(images, labels)
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"non-finite loss at epoch {epoch}, iteration {it}: {loss.item()}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(module.parameters(), grad_clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if ema is not None:
            ema.update(module.module.model if hasattr(module, "module") else module.model)
        for k, v in {"loss": loss.detach(), **parts}.items():
            sums[k] = sums.get(k, 0.0) + float(v)
        n += 1
    out = {k: v / max(n, 1) for k, v in sums.items()}
    out["iters"] = n
    out["lr"] = float(optimizer.param_groups[0]["lr"])
    return out


@torch.no_grad()
def embed_dataset(model: nn.Module, dataset: ReidDataset, batch_size: int = 64, device="cpu",
                  progress: Callable | None = None) -> np.ndarray:
    """Embeddings ``(N, D)`` float32 of every item of ``dataset`` (no augmentation), in order."""
    model.eval()
    chunks = [range(i, min(i + batch_size, len(dataset))) for i in range(0, len(dataset), batch_size)]
    out = []
    for c in (progress or _identity)(chunks, total=len(chunks), desc="embed"):
        x = torch.stack([dataset[i][0] for i in c]).to(device)
        out.append(model(x).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, getattr(model, "dim", 0)), np.float32)


def validate(model: nn.Module, dataset: ReidDataset, batch_size: int = 64, device="cpu",
             progress: Callable | None = None) -> dict[str, float]:
    """Leave-one-out rank-1/5, mAP, TAR at FAR 1% / 0.1% and EER on ``dataset``."""
    m = evaluate_embeddings(embed_dataset(model, dataset, batch_size, device, progress), dataset.labels)
    return {"rank1": m.rank1, "rank5": m.rank5, "mAP": m.mAP, "eer": m.eer,
            "tar_far1e-2": m.tar_at_far[0.01], "tar_far1e-3": m.tar_at_far[0.001]}


def model_from_checkpoint(ckpt: dict, use_ema: bool = True) -> EmbeddingNet:
    """Rebuild the embedder of a checkpoint (EMA weights when present) in eval mode."""
    m = ckpt["config"]["model"]
    model = create_embedder(m["name"], int(m["dim"]), False, m["pool"], float(m["dropout"]), int(ckpt["input_size"]))
    state = ckpt["ema"]["module"] if use_ema and ckpt.get("ema") else ckpt["model"]
    model.load_state_dict(state)
    return model.eval()


def init_embedder(model: EmbeddingNet, init: str, name: str, loader) -> None:
    """Start ``model`` from ``init``: an exported embedder (``.onnx``: weights read back from the
    graph, batch norms refit on a few training batches without changing what it computes) or a
    checkpoint of ``inspect-cv train reid`` (``.pt``: its EMA weights when present). The loss head
    (ArcFace class centres) starts afresh: the identities need not be the same."""
    if not Path(init).is_file():
        raise ConfigError(f"model.init: no such file {init}")
    if init.lower().endswith(".onnx"):
        from ..from_onnx import REFIT_BATCHES, embedder_from_onnx, refit_batchnorm

        embedder_from_onnx(init, model, name)
        refit_batchnorm(model, (images for images, _ in islice(iter(loader), REFIT_BATCHES)))
        return
    ck = load_checkpoint(init)
    m = ck.get("config", {}).get("model", {}) if isinstance(ck, dict) else {}
    if m.get("name") not in (None, name) or int(m.get("dim", model.dim)) != model.dim:
        raise ConfigError(f"model.init {init} holds a {m.get('name')!r} embedder of dim {m.get('dim')}, the config "
                          f"asks for {name!r} of dim {model.dim}: set model.name / model.dim to match")
    state = ck["ema"]["module"] if ck.get("ema") else ck["model"]
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise ConfigError(f"model.init {init}: weights do not fit the configured model ({str(e).splitlines()[0]})") from None


def _load_data(cfg: dict, train_data: IdentitySet | None, val_data: IdentitySet | None):
    d = cfg["data"]
    if train_data is None:
        if not d["train"]:
            raise ConfigError("nothing to train on: set data.train to a folder of <identity>/<image> files")
        train_data = read_identity_folder(d["train"], int(d["min_images"]))
    if val_data is None and d["val"]:
        val_data = read_identity_folder(d["val"], 2)
    if val_data is None and float(d["val_fraction"]) > 0:
        train_data, val_data = split_identities(train_data, float(d["val_fraction"]), int(cfg["seed"]))
    return train_data, val_data


def train_reid(cfg: dict, train_data: IdentitySet | None = None, val_data: IdentitySet | None = None,
               progress: Callable | None = None, log: Callable[[str], None] | None = None) -> ReidTrainResult:
    """Train an embedding model per ``cfg`` (see :func:`inspect_cv.train.reid.config.load_reid_config`).

    ``train_data``/``val_data`` override ``data.train``/``data.val``. ``log`` receives one line
    per epoch (rank 0 only). Resumes from ``last.pt`` when ``resume`` is true.
    """
    return run_distributed(_train, cfg, train_data, val_data, progress, log)


def _train(cfg, train_data, val_data, progress, log, rank, world) -> ReidTrainResult:
    seed = int(cfg["seed"])
    torch.manual_seed(seed)  # same initial head on every rank; DDP broadcasts the model anyway
    random.seed(seed + rank)
    np.random.seed(seed + rank)
    dcfg, tcfg, mcfg = cfg["data"], cfg["train"], cfg["model"]
    train_data, val_data = _load_data(cfg, train_data, val_data)
    size = int(dcfg["input_size"])
    train_set = ReidDataset(train_data, size, build_augment(cfg["augment"]), bool(dcfg["cache"])).preload(progress)
    p, k = int(cfg["sampler"]["p"]), int(cfg["sampler"]["k"])
    iters = int(tcfg["iters_per_epoch"]) or max(1, train_data.num_identities // p // world)
    sampler = PKSampler(train_data.labels, p, k, seed, num_batches=iters * world, num_replicas=world, rank=rank)
    workers = int(dcfg["workers"])
    loader = DataLoader(train_set, batch_sampler=sampler, num_workers=workers,
                        worker_init_fn=_seed_worker if workers else None)
    val_set = None
    if val_data is not None and rank == 0 and int(cfg["eval"]["every"]) > 0:
        val_set = ReidDataset(val_data, size, None, bool(dcfg["cache"])).preload(progress)

    device = select_device(cfg["device"], rank)
    model = create_embedder(mcfg["name"], int(mcfg["dim"]), bool(mcfg["pretrained"]) and not mcfg.get("init"),
                            mcfg["pool"], float(mcfg["dropout"]), size)
    run_dir = Path(cfg["output_dir"]) / str(cfg["name"])
    last, best = run_dir / "last.pt", run_dir / "best.pt"
    fresh = not (cfg["resume"] and last.is_file())
    if mcfg.get("init") and fresh:
        init_embedder(model, str(mcfg["init"]), mcfg["name"], loader)
    if fresh and rank == 0:  # the trunk the run starts from: the other end of a WiSE mixture
        run_dir.mkdir(parents=True, exist_ok=True)
        save_checkpoint({"backbone": model.backbone.state_dict()}, run_dir / "start.pt")
    model = model.to(device)
    criterion = build_criterion(cfg["loss"], train_data.num_identities, int(mcfg["dim"])).to(device)
    if fresh and cfg["loss"]["arcface"]["imprint"] and "arcface" in criterion.losses:
        emb = embed_dataset(model, train_set.plain(), int(cfg["eval"]["batch_size"]), device, progress)
        n = criterion.losses["arcface"].imprint(torch.from_numpy(emb).to(device),
                                                torch.as_tensor(train_data.labels, device=device))
        if log is not None and rank == 0:
            log(f"imprinted {n} ArcFace centres from the starting model's embeddings")
    module: nn.Module = _TrainModule(model, criterion)
    if world > 1:
        module = torch.nn.parallel.DistributedDataParallel(
            module, device_ids=[device.index] if device.type == "cuda" else None)
    ema = ModelEMA(model, cfg["ema"]["decay"], cfg["ema"]["tau"]) if cfg["ema"]["enabled"] else None
    lr = float(tcfg["lr"])
    optimizer = torch.optim.AdamW(_param_groups(model, criterion, lr, float(tcfg["head_lr_mult"]),
                                                float(tcfg["weight_decay"])), lr=lr)
    total = int(tcfg["epochs"]) * len(sampler)
    warmup = min(int(tcfg["warmup_iters"]), max(1, total // 3))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(total, warmup, float(tcfg["min_lr_ratio"])))

    start_epoch, best_metric, best_epoch, history = 0, -1.0, -1, []
    if cfg["resume"] and last.is_file():
        start_epoch, best_metric, best_epoch, history = restore(last, model, optimizer, scheduler, ema,
                                                                criterion=criterion)
    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, run_dir / "config.yaml")

    epochs, every = int(tcfg["epochs"]), int(cfg["eval"]["every"])
    for epoch in range(start_epoch, epochs):
        sampler.set_epoch(epoch)
        stats = train_one_epoch(module, loader, optimizer, scheduler, device, epoch, ema,
                                float(tcfg["grad_clip"]), progress)
        row: dict = {"epoch": epoch, **{f"train_{k}": v for k, v in stats.items()}}
        if val_set is not None and ((epoch + 1) % every == 0 or epoch + 1 == epochs):
            eval_model = ema.module if ema is not None else model
            row.update({f"val_{k}": float(v) for k, v in
                        validate(eval_model, val_set, int(cfg["eval"]["batch_size"]), device).items()})
        improved = "val_mAP" in row and row["val_mAP"] > best_metric or val_set is None
        if improved:
            best_metric, best_epoch = float(row.get("val_mAP", best_metric)), epoch
        history.append(row)
        if rank == 0:
            ck = {"model": model.state_dict(), "criterion": criterion.state_dict(),
                  "ema": ema.state_dict() if ema is not None else None,
                  "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                  "epoch": epoch, "best_metric": best_metric, "best_epoch": best_epoch, "config": cfg,
                  "input_size": size, "identities": list(train_data.names), "history": history}
            end_epoch(run_dir, ck, row, improved, log)
        if world > 1:
            dist.barrier()
    if cfg["wise"]["alphas"] and rank == 0 and val_set is not None and best.is_file():
        best = _wise(cfg, run_dir, best, val_set, loader, device, log)
    return ReidTrainResult(run_dir, best, last, history)


def _start_trunk(cfg: dict, run_dir: Path, loader) -> dict:
    """The trunk weights the run started from: ``start.pt``, or for a run begun before it was
    written, the same start rebuilt (ImageNet weights or ``model.init``)."""
    if (run_dir / "start.pt").is_file():
        return load_checkpoint(run_dir / "start.pt")["backbone"]
    m = cfg["model"]
    model = create_embedder(m["name"], int(m["dim"]), bool(m["pretrained"]) and not m.get("init"), m["pool"],
                            float(m["dropout"]), int(cfg["data"]["input_size"]))
    if m.get("init"):
        init_embedder(model, str(m["init"]), m["name"], loader)
    return model.backbone.state_dict()


def _wise(cfg, run_dir: Path, best: Path, val_set, loader, device, log) -> Path:
    """Mix ``best``'s trunk with the start trunk at each ``wise.alphas``; keep the best on validation."""
    from .wise import wise_sweep, write_wise

    model = model_from_checkpoint(load_checkpoint(best)).to(device)
    start = {k: v.to(device) for k, v in _start_trunk(cfg, run_dir, loader).items()}
    bs = int(cfg["eval"]["batch_size"])
    alpha, rows = wise_sweep(model, start, cfg["wise"]["alphas"], lambda m: validate(m, val_set, bs, device))
    out = write_wise(run_dir, best, model.cpu(), alpha, rows)
    if log is not None:
        for r in rows:
            log("wise " + " ".join(f"{k}={v:.4g}" for k, v in r.items()))
        log(f"wise: alpha {alpha:g} chosen on validation mAP -> {out}")
    return out


def _seed_worker(worker_id: int) -> None:
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)
