"""Re-identification training configuration: defaults <- YAML file <- ``key=value`` overrides.

Same conventions as detection (:mod:`inspect_cv.train.config`): unknown keys are errors, the
resolved config is saved in the run folder and in every checkpoint.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable


from inspect_cv.errors import ConfigError

from ..config import NORMALIZE, apply_overrides, read_yaml_config, save_config  # noqa: F401 - re-exported

DEFAULTS: dict[str, Any] = {
    "name": "reid",
    "output_dir": "runs/reid",  # the run folder is output_dir/name
    "seed": 0,
    "device": "auto",  # auto | cpu | cuda
    "model": {"name": "mobilenet_v2", "dim": 128, "pretrained": True, "pool": "gem", "dropout": 0.0,
              "init": None},  # init: an exported embedder (.onnx) or a run's checkpoint (.pt) to start from
    "data": {
        "train": None,  # folder: <identity>/<image>
        "val": None,  # folder (identity-disjoint from train) or null
        "val_fraction": 0.0,  # with no val folder: hold out this fraction of the train identities
        "min_images": 2,  # identities with fewer images are dropped
        "input_size": 128,  # square side, multiple of 32
        "workers": 2,
        "cache": True,  # keep decoded, resized images in memory
    },
    "augment": {
        "enabled": True, "flip": 0.5, "rotate": 10.0, "scale": [0.9, 1.1], "shift": 0.05,
        "colour": 0.8, "gray": 0.05, "blur": 0.2, "jpeg": 0.3, "erase": 0.3,
    },
    "sampler": {"p": 16, "k": 4},  # batch = P identities x K images
    "loss": {
        # imprint: start the class centres at the mean embedding of each identity's training
        # images under the starting model (useful with model.init; random centres otherwise)
        "arcface": {"weight": 1.0, "margin": 0.3, "scale": 30.0, "sub_centers": 1, "imprint": False},
        "multi_similarity": {"weight": 1.0, "alpha": 2.0, "beta": 50.0, "base": 0.5},
        "triplet": {"weight": 0.0, "margin": 0.2},
        "miner": "multi_similarity",  # multi_similarity | batch_hard | none (pair/triplet losses)
        "miner_epsilon": 0.1,
    },
    "train": {
        "epochs": 30, "lr": 0.001, "head_lr_mult": 10.0, "weight_decay": 0.0005, "warmup_iters": 100,
        "min_lr_ratio": 0.02, "grad_clip": 5.0, "iters_per_epoch": 0,  # 0: identities // P
    },
    "ema": {"enabled": False, "decay": 0.999, "tau": 200.0},
    "eval": {"every": 1, "batch_size": 64},
    # after training, mix the trunk with the one it started from at each alpha (WiSE-FT) and keep
    # the mixture best on the validation identities (wise.pt, exported instead of best.pt); [] = off
    "wise": {"alphas": []},
    "export": {"name": "reid", "version": "0.1.0", "description": "", "licence": ""},
    "resume": True,  # continue from last.pt in the run folder if it exists
}

MODEL_NAMES = ("mobilenet_v2", "efficientnet_lite0", "mobilenet_v2_tiny")  # tiny: tests, random init


def validate(cfg: dict) -> dict:
    """Check types and ranges that would otherwise fail deep inside training."""
    size = cfg["data"]["input_size"]
    if not isinstance(size, int) or size < 32 or size % 32:
        raise ConfigError(f"data.input_size must be a multiple of 32 (>= 32), got {size!r}")
    m = cfg["model"]
    if m["name"] not in MODEL_NAMES:
        raise ConfigError(f"model.name must be one of {', '.join(MODEL_NAMES)}, got {m['name']!r}")
    if not isinstance(m["dim"], int) or m["dim"] < 2:
        raise ConfigError(f"model.dim must be an integer >= 2, got {m['dim']!r}")
    init = m.get("init")
    if init is not None and (not isinstance(init, str) or not init.lower().endswith((".onnx", ".pt"))):
        raise ConfigError(f"model.init must be the path of an exported embedder (.onnx) or of a checkpoint (.pt), "
                          f"got {init!r}")
    if m["pool"] not in ("gem", "avg"):
        raise ConfigError(f"model.pool must be 'gem' or 'avg', got {m['pool']!r}")
    for key in ("p", "k"):
        v = cfg["sampler"][key]
        if not isinstance(v, int) or v < 2:
            raise ConfigError(f"sampler.{key} must be an integer >= 2, got {v!r}")
    t = cfg["train"]
    if not isinstance(t["epochs"], int) or t["epochs"] < 1:
        raise ConfigError(f"train.epochs must be a positive integer, got {t['epochs']!r}")
    if not isinstance(t["lr"], (int, float)) or t["lr"] <= 0:
        raise ConfigError(f"train.lr must be a positive number, got {t['lr']!r}")
    loss = cfg["loss"]
    if loss["miner"] not in ("multi_similarity", "batch_hard", "none", None):
        raise ConfigError(f"loss.miner must be multi_similarity, batch_hard or none, got {loss['miner']!r}")
    if not any(float(loss[k]["weight"]) > 0 for k in ("arcface", "multi_similarity", "triplet")):
        raise ConfigError("every loss weight is 0: enable at least one of loss.arcface, "
                          "loss.multi_similarity, loss.triplet")
    if not isinstance(loss["arcface"]["imprint"], bool):
        raise ConfigError(f"loss.arcface.imprint must be true or false, got {loss['arcface']['imprint']!r}")
    if not 0.0 <= float(cfg["data"]["val_fraction"]) < 1.0:
        raise ConfigError(f"data.val_fraction must be in [0, 1), got {cfg['data']['val_fraction']!r}")
    if int(cfg["eval"]["every"]) < 0:
        raise ConfigError("eval.every must be >= 0 (0: never)")
    alphas = cfg["wise"]["alphas"]
    if not isinstance(alphas, list) or not all(isinstance(a, (int, float)) and 0 <= a <= 1 for a in alphas):
        raise ConfigError(f"wise.alphas must be a list of numbers in [0, 1], got {alphas!r}")
    if alphas and not (cfg["data"]["val"] or float(cfg["data"]["val_fraction"]) > 0):
        raise ConfigError("wise.alphas needs validation identities to choose alpha on: set data.val or "
                          "data.val_fraction")
    if alphas and not (m["pretrained"] or init):
        raise ConfigError("wise.alphas mixes the trained trunk with its pretrained start: set model.pretrained "
                          "or model.init")
    return cfg


def load_reid_config(path: str | Path | None, overrides: Iterable[str] = ()) -> dict:
    """Re-id config: defaults <- YAML file ``path`` <- overrides, validated."""
    return read_yaml_config(path, overrides, DEFAULTS, validate)
