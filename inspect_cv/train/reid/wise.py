"""Weight-space ensembling of the trained trunk with the trunk it started from (WiSE-FT).

Wortsman et al. (CVPR 2022, "Robust fine-tuning of zero-shot models") mix the weights of a
fine-tuned network with those it was fine-tuned from, ``alpha * trained + (1 - alpha) * start``,
and find the mixture better on new data than either end. Here only the trunk is mixed; the
pooling and the embedding head stay as trained. ``alpha`` is chosen on the validation identities
(best mAP), never on test data.

Used by ``inspect-cv train reid`` when ``wise.alphas`` is set: after training, ``best.pt`` is
mixed, the best mixture is written as ``wise.pt`` (a checkpoint like the others, exported in its
place) and the sweep as ``wise.json``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

import torch

from inspect_cv.errors import ConfigError

from ..common import load_checkpoint, save_checkpoint

__all__ = ["mix_states", "wise_sweep", "write_wise"]


def mix_states(trained: dict, start: dict, alpha: float) -> dict:
    """``alpha * trained + (1 - alpha) * start`` for floating-point tensors; counters
    (integer buffers such as ``num_batches_tracked``) are taken from ``trained``."""
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"wise: alpha must be in [0, 1], got {alpha}")
    if set(trained) != set(start):
        missing = sorted(set(trained) ^ set(start))[:3]
        raise ConfigError(f"wise: the start trunk does not match the trained one (keys {missing} differ)")
    out = {}
    for k, t in trained.items():
        s = start[k]
        if t.shape != s.shape:
            raise ConfigError(f"wise: the start trunk does not match the trained one ({k}: {tuple(s.shape)} "
                              f"vs {tuple(t.shape)})")
        out[k] = torch.lerp(s.to(t.dtype), t, float(alpha)) if t.is_floating_point() else t.clone()
    return out


def wise_sweep(model, start: dict, alphas: Iterable[float], score: Callable[[object], dict],
               key: str = "mAP") -> tuple[float, list[dict]]:
    """Score ``model`` with its trunk mixed at each alpha; returns (best alpha, rows).

    ``score(model) -> dict of metrics`` (e.g. validation); the best row has the highest ``key``,
    the larger alpha (closer to the trained weights) on a tie. ``model`` is left at the best mixture.
    """
    trained = {k: v.detach().clone() for k, v in model.backbone.state_dict().items()}
    rows = []
    for a in sorted({float(a) for a in alphas}, reverse=True):
        model.backbone.load_state_dict(mix_states(trained, start, a))
        rows.append({"alpha": a, **{k: float(v) for k, v in score(model).items()}})
    if not rows:
        raise ConfigError("wise.alphas is empty")
    best = max(rows, key=lambda r: (r[key], r["alpha"]))
    model.backbone.load_state_dict(mix_states(trained, start, best["alpha"]))
    return best["alpha"], rows


def write_wise(run_dir: Path, checkpoint: Path, model, alpha: float, rows: list[dict]) -> Path:
    """Save the mixed ``model`` as ``run_dir/wise.pt`` (``checkpoint``'s record with these weights,
    no EMA) and the sweep as ``run_dir/wise.json``; returns the checkpoint path."""
    ck = load_checkpoint(checkpoint)
    ck.update(model=model.state_dict(), ema=None, optimizer=None, scheduler=None,
              wise={"alpha": alpha, "rows": rows, "from": Path(checkpoint).name})
    out = Path(run_dir) / "wise.pt"
    save_checkpoint(ck, out)
    (Path(run_dir) / "wise.json").write_text(json.dumps({"alpha": alpha, "rows": rows}, indent=1) + "\n")
    return out
