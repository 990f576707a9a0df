"""Training configuration: defaults, a YAML file, ``key=value`` overrides, validation.

The resolved configuration (defaults <- file <- overrides) is a plain nested dict of
YAML types; it is saved in the run folder and inside every checkpoint, so a run can be
reproduced or resumed from either.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Iterable

import yaml

from inspect_cv.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    "name": "detect",
    "output_dir": "runs/detect",  # the run folder is output_dir/name
    "seed": 0,
    "device": "auto",  # auto | cpu | cuda
    "model": {"name": "mbv2-fpn-s", "pretrained": True,
              "init": None},  # checkpoint (or exported .onnx) to start from (fine-tuning), e.g. exported_models/baggage.pt
    "data": {
        "classes": None,  # list of names; default: the dataset's
        "train": None,  # path to a dataset (any format inspect_cv.formats reads) or null
        "val": None,
        "format": "auto",
        "input_size": 512,  # square letterbox side (multiple of 32)
        "synthetic": {"source": None, "ratio": 0.0, "length": 0, "options": {}},
        "workers": 2,
    },
    "augment": {
        "enabled": True, "gray": 0.2, "flip": 0.5, "rot90": 0.5, "scale": [0.6, 1.4],
        "downscale": 0.15, "noise": 0.2, "blur": 0.15, "jpeg": 0.2, "brightness": 0.3,
    },
    "train": {
        "epochs": 50, "batch_size": 16, "lr": 0.002, "weight_decay": 0.05, "warmup_iters": 300,
        "min_lr_ratio": 0.05, "grad_clip": 10.0, "max_iters_per_epoch": 0, "amp": False,
    },
    "loss": {"topk": 10, "alpha": 1.0, "beta": 6.0, "w_cls": 1.0, "w_box": 2.0},
    "ema": {"enabled": True, "decay": 0.9998, "tau": 2000.0},
    "eval": {"every": 1, "conf": 0.001, "iou": 0.6, "max_per_class": 100, "batch_size": 16},
    "export": {"conf": 0.25, "iou": 0.5, "max_per_class": 100, "version": "0.1.0", "alarm_classes": None,
               "tiling": None,  # card tiling hint, e.g. {tile: 384, overlap: 0.2, scale: 0.5} (tile-trained models)
               "extra": None},  # extra card fields, e.g. {container_window: {a_max: 9.0, gamma: 0.5}}
    "resume": True,  # continue from last.pt in the run folder if it exists
}

NORMALIZE = {"scale": 1.0 / 255.0, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def _merge(base: dict, new: dict, where: str) -> dict:
    out = copy.deepcopy(base)
    for k, v in new.items():
        if k not in out:
            raise ConfigError(f"{where}: unknown key '{k}'" + (f" (known: {', '.join(sorted(out))})" if out else ""))
        if isinstance(out[k], dict) and k not in ("options",):
            if not isinstance(v, dict):
                raise ConfigError(f"{where}: '{k}' must be a mapping")
            out[k] = _merge(out[k], v, f"{where}: {k}")
        else:
            out[k] = v
    return out


class _Loader(yaml.SafeLoader):
    """Safe YAML that also reads ``1e-6`` as a number (YAML 1.1 wants ``1.0e-6``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def parse_override(item: str) -> tuple[list[str], Any]:
    """``"train.lr=0.01"`` -> (["train", "lr"], 0.01); values are parsed as YAML."""
    if "=" not in item:
        raise ConfigError(f"override '{item}' is not key=value")
    key, _, raw = item.partition("=")
    keys = [k for k in key.strip().split(".")]
    if not all(keys):
        raise ConfigError(f"override '{item}' has an empty key")
    try:
        value = _yaml(raw) if raw.strip() else None
    except yaml.YAMLError as e:
        raise ConfigError(f"override '{item}': value is not valid YAML ({e.__class__.__name__})") from None
    return keys, value


def apply_overrides(cfg: dict, overrides: Iterable[str]) -> dict:
    """Return a copy of ``cfg`` with ``a.b.c=value`` overrides applied (keys must exist)."""
    cfg = copy.deepcopy(cfg)
    for item in overrides:
        keys, value = parse_override(item)
        node = cfg
        for i, k in enumerate(keys[:-1]):
            if not isinstance(node, dict) or k not in node:
                raise ConfigError(f"override '{item}': unknown key '{'.'.join(keys[:i + 1])}'")
            node = node[k]
        if not isinstance(node, dict) or (keys[-1] not in node and not _free_form(keys)):
            raise ConfigError(f"override '{item}': unknown key '{'.'.join(keys)}'")
        node[keys[-1]] = value
    return cfg


def _free_form(keys: list[str]) -> bool:
    return len(keys) >= 2 and keys[-2] == "options"


def validate(cfg: dict) -> dict:
    """Check types and ranges that would otherwise fail deep inside training."""
    size = cfg["data"]["input_size"]
    if not isinstance(size, int) or size < 32 or size % 32:
        raise ConfigError(f"data.input_size must be a multiple of 32 (>= 32), got {size!r}")
    t = cfg["train"]
    for key in ("epochs", "batch_size"):
        if not isinstance(t[key], int) or t[key] < 1:
            raise ConfigError(f"train.{key} must be a positive integer, got {t[key]!r}")
    if not isinstance(t["lr"], (int, float)) or t["lr"] <= 0:
        raise ConfigError(f"train.lr must be a positive number, got {t['lr']!r}")
    syn = cfg["data"]["synthetic"]
    if not 0.0 <= float(syn["ratio"] or 0) <= 1.0:
        raise ConfigError(f"data.synthetic.ratio must be in [0, 1], got {syn['ratio']!r}")
    if int(cfg["eval"]["every"]) < 0:
        raise ConfigError("eval.every must be >= 0 (0: never)")
    return cfg


def read_yaml_config(path: str | Path | None, overrides: Iterable[str], defaults: dict,
                     validator) -> dict:
    """``defaults`` <- YAML file ``path`` <- ``key=value`` overrides, then ``validator(cfg)``."""
    cfg = copy.deepcopy(defaults)
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: no such config file")
        try:
            data = _yaml(p.read_text()) or {}
        except yaml.YAMLError as e:
            line = getattr(getattr(e, "problem_mark", None), "line", None)
            where = f"{p}:{line + 1}" if line is not None else str(p)
            raise ConfigError(f"{where}: invalid YAML") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: the top level must be a mapping")
        cfg = _merge(cfg, data, str(p))
    cfg = apply_overrides(cfg, overrides)
    return validator(cfg)


def load_config(path: str | Path | None, overrides: Iterable[str] = ()) -> dict:
    """Detection config: defaults <- YAML file ``path`` <- overrides, validated."""
    return read_yaml_config(path, overrides, DEFAULTS, validate)


def save_config(cfg: dict, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg, sort_keys=False))
