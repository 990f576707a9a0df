"""Export an embedding model to ONNX: input ``images [N, 3, H, W]``, output ``embeddings [N, D]``
(L2-normalised), dynamic batch, the model card in ``metadata_props`` (task ``embed``).

After writing, the file is checked with ``onnx.checker`` and run with onnxruntime on a few
inputs against torch; a difference above ``atol`` raises :class:`~inspect_cv.errors.ModelError`
(the file is left in place for inspection, without sidecars).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from inspect_cv.errors import ModelError

from .config import NORMALIZE
from .engine import load_checkpoint, model_from_checkpoint

OPSET = 17

__all__ = ["export_embedder", "export_checkpoint", "ExportResult", "parity_check"]


@dataclass
class ExportResult:
    path: Path
    card: Any  # inspect_cv.runtime.card.ModelCard
    max_abs_diff: float


def _card(name: str, input_size: int, dim: int, version: str, training_data, metrics, description: str,
          licence: str, extra: dict | None):
    from inspect_cv.runtime.card import ModelCard

    return ModelCard(name=name, task="embed", version=version, input_size=[input_size, input_size], colour="rgb",
                     normalize=dict(NORMALIZE), output_format="embeddings", box_format="", defaults={},
                     training_data=training_data, metrics=metrics, embedding_dim=int(dim),
                     description=description, licence=licence, extra=dict(extra or {}))


def parity_check(path: str | Path, model: nn.Module, input_size: int, batch_sizes=(1, 3), atol: float = 1e-4,
                 seed: int = 0) -> float:
    """Max |ORT - torch| over random inputs of each batch size; raises ModelError above ``atol``."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    worst = 0.0
    model = model.eval()
    for n in batch_sizes:
        x = rng.standard_normal((n, 3, input_size, input_size)).astype(np.float32)
        (got,) = sess.run(["embeddings"], {"images": x})
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        if got.shape != want.shape:
            raise ModelError(f"{path}: ONNX output shape {got.shape} differs from torch {want.shape} (batch {n})")
        worst = max(worst, float(np.abs(got - want).max()))
        norms = np.linalg.norm(got, axis=1)
        if not np.allclose(norms, 1.0, atol=1e-4):
            raise ModelError(f"{path}: ONNX embeddings are not L2-normalised (norms {norms.min():.5f}..{norms.max():.5f})")
    if not worst <= atol:
        raise ModelError(f"{path}: ONNX and torch embeddings differ by {worst:.3g} (> {atol:g}); export is broken")
    return worst


def export_embedder(model: nn.Module, out_path: str | Path, input_size: int, name: str, version: str = "0.1.0",
                    training_data: Any = None, metrics: Any = None, description: str = "", licence: str = "",
                    extra: dict | None = None, atol: float = 1e-4, sidecars: bool = True) -> ExportResult:
    """Write ``model`` (``images -> L2-normalised embeddings``) as ONNX with its card; verify; sidecars."""
    import onnx

    from inspect_cv.runtime.card import embed_card, write_sidecars

    model = copy.deepcopy(model).cpu().eval()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(2, 3, input_size, input_size)
    with torch.no_grad():
        dim = int(model(dummy).shape[1])
    torch.onnx.export(model, (dummy,), str(out), input_names=["images"], output_names=["embeddings"],
                      dynamic_axes={"images": {0: "N"}, "embeddings": {0: "N"}}, opset_version=OPSET,
                      do_constant_folding=True, dynamo=False)
    proto = onnx.load(str(out))
    card = _card(name, input_size, dim, version, training_data, metrics, description, licence, extra)
    embed_card(proto, card)
    onnx.save(proto, str(out))
    try:
        onnx.checker.check_model(str(out))
    except onnx.checker.ValidationError as e:
        raise ModelError(f"{out}: onnx.checker rejected the exported graph ({str(e).splitlines()[0]})") from None
    diff = parity_check(out, model, input_size, atol=atol)
    if sidecars:
        write_sidecars(out, card)
    return ExportResult(out, card, diff)


def export_checkpoint(checkpoint: str | Path, out_path: str | Path, name: str | None = None,
                      version: str | None = None, metrics: Any = None, training_data: Any = None,
                      use_ema: bool = True, **kw) -> ExportResult:
    """Export a training checkpoint (``best.pt`` / ``last.pt``); card fields default to its config."""
    ck = load_checkpoint(checkpoint)
    cfg = ck["config"]
    e = cfg["export"]
    model = model_from_checkpoint(ck, use_ema)
    if training_data is None:
        training_data = {"train": cfg["data"]["train"], "val": cfg["data"]["val"],
                         "identities": len(ck.get("identities", [])), "epochs": ck["epoch"] + 1,
                         "seed": cfg["seed"], "model": cfg["model"], "loss": {k: v for k, v in cfg["loss"].items()}}
        if ck.get("wise"):
            training_data["wise"] = {"alpha": ck["wise"]["alpha"], "mixed": ck["wise"]["from"]}
    if metrics is None and ck.get("wise"):
        row = next(r for r in ck["wise"]["rows"] if r["alpha"] == ck["wise"]["alpha"])
        metrics = {f"val_{k}": v for k, v in row.items() if k != "alpha"}
    if metrics is None:
        best = [r for r in ck.get("history", []) if r.get("epoch") == ck.get("best_epoch")]
        metrics = {k: v for k, v in best[0].items() if k.startswith("val_")} if best else None
    return export_embedder(model, out_path, int(ck["input_size"]), name or e["name"], version or e["version"],
                           training_data, metrics, kw.pop("description", e["description"]),
                           kw.pop("licence", e["licence"]), **kw)
