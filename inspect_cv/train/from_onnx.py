"""Torch weights back from an exported detector or embedder, so a model shipped only as ONNX can be fine-tuned.

Export folds every batch norm into the convolution before it, so the ONNX file holds one
weight (and bias) per convolution. :func:`checkpoint_from_onnx` rebuilds the card's model,
walks its convolutions in execution order beside the graph's ``Conv`` nodes, copies the
folded weights and turns each batch norm into an identity plus the folded bias: the torch
model then computes exactly what the ONNX file computes (in eval mode).

A batch norm holding the identity would, in train mode, normalise by batch statistics the
folded weights never saw. :func:`refit_batchnorm` sets each batch norm's running statistics
to those measured on real batches and rescales its affine part so that the eval-mode
function does not change; train mode then starts close to it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import torch
from torch import nn

from inspect_cv.errors import ModelError

__all__ = ["checkpoint_from_onnx", "embedder_from_onnx", "refit_batchnorm", "REFIT_BATCHES"]

REFIT_BATCHES = 8  # training batches that give a model recovered from ONNX its batch-norm statistics


def _conv_bn_pairs(model: nn.Module) -> dict[nn.Conv2d, nn.BatchNorm2d]:
    """Convolutions followed directly by a batch norm in the same ``Sequential``."""
    pairs = {}
    for mod in model.modules():
        if isinstance(mod, nn.Sequential):
            kids = list(mod)
            for a, b in zip(kids, kids[1:]):
                if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                    pairs[a] = b
    return pairs


def _execution_order(model: nn.Module, size: tuple[int, int]) -> list[nn.Conv2d]:
    order: list[nn.Conv2d] = []
    hooks = [m.register_forward_hook(lambda mod, i, o: order.append(mod))
             for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, *size))
    finally:
        for h in hooks:
            h.remove()
    return order


def _read_graph(path: str | Path):
    """(proto, card, initialisers by name; names reached through ``Identity`` included)."""
    import onnx

    from inspect_cv.runtime.card import ModelCard

    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: no such model file")
    try:
        proto = onnx.load(str(p))
    except Exception as e:  # noqa: BLE001 - protobuf raises several types for a bad file
        raise ModelError(f"{p}: not a readable ONNX file ({e.__class__.__name__})") from None
    card = ModelCard.from_metadata({m.key: m.value for m in proto.metadata_props}, source=str(p))
    inits = {t.name: t for t in proto.graph.initializer}
    for n in proto.graph.node:  # a weight used twice reaches its second use through Identity
        if n.op_type == "Identity" and n.input[0] in inits:
            inits[n.output[0]] = inits[n.input[0]]
    return proto, card, inits


def _copy_convs(p: Path, proto, inits: dict, model: nn.Module, name: str, size: tuple[int, int]) -> list:
    """Copy the graph's (batch-norm folded) convolution weights into ``model`` in execution order;
    each batch norm right after a convolution becomes the identity plus the folded bias.
    Returns the (module, node) pairs."""
    from onnx import numpy_helper

    order = _execution_order(model, size)
    nodes = [n for n in proto.graph.node if n.op_type == "Conv"]
    if len(nodes) != len(order):
        raise ModelError(f"{p}: the graph has {len(nodes)} convolutions, model {name!r} runs {len(order)}")
    pairs = _conv_bn_pairs(model)
    seen: dict[nn.Conv2d, torch.Tensor] = {}
    with torch.no_grad():
        for mod, node in zip(order, nodes):
            if node.input[1] not in inits:
                raise ModelError(f"{p}: convolution {node.name} has no stored weight")
            w = torch.from_numpy(numpy_helper.to_array(inits[node.input[1]]).copy())
            b = (torch.from_numpy(numpy_helper.to_array(inits[node.input[2]]).copy())
                 if len(node.input) > 2 and node.input[2] in inits else torch.zeros(w.shape[0]))
            if w.shape != mod.weight.shape:
                raise ModelError(f"{p}: convolution {node.name} has weights {tuple(w.shape)}, model {name!r} "
                                 f"expects {tuple(mod.weight.shape)} there")
            if mod in seen:  # a shared module (the head runs once per level): same weights each time
                if not torch.allclose(seen[mod], w, atol=1e-6):
                    raise ModelError(f"{p}: a shared convolution differs between its uses")
                continue
            seen[mod] = w
            mod.weight.copy_(w)
            bn = pairs.get(mod)
            if bn is not None:
                bn.weight.fill_(1.0)
                bn.bias.copy_(b)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
            elif mod.bias is not None:
                mod.bias.copy_(b)
    return list(zip(order, nodes))


def checkpoint_from_onnx(path: str | Path) -> dict:
    """A checkpoint dict (``model``, ``classes``, ``model_name``, ``source``) from a detector ONNX file.

    The file must be an inspect-cv export (card with the model name). Raises
    :class:`ModelError` when the graph does not match the named model.
    """
    from onnx import numpy_helper

    from .model import create_model

    p = Path(path)
    proto, card, inits = _read_graph(p)
    name = (card.training_data or {}).get("model") if isinstance(card.training_data, dict) else None
    if card.task != "detect" or not name:
        raise ModelError(f"{p}: not an inspect-cv detector export (its card names no training model)")
    model = create_model(name, len(card.classes), pretrained=False).eval()
    size = (int(card.input_size[0]), int(card.input_size[1]))
    pairs = _copy_convs(p, proto, inits, model, name, size)
    reg_outputs = [node.output[0] for mod, node in pairs if mod is model.head.reg]
    with torch.no_grad():
        # the per-level scales of the distance branch: Mul(reg_conv_output, scalar)
        scales = []
        for out in reg_outputs:
            mul = next((n for n in proto.graph.node if n.op_type == "Mul" and out in n.input), None)
            other = [i for i in (mul.input if mul is not None else []) if i != out and i in inits]
            if not other:
                raise ModelError(f"{p}: no per-level scale found after the distance convolution")
            scales.append(float(numpy_helper.to_array(inits[other[0]]).reshape(-1)[0]))
        if len(scales) != model.head.scales.numel():
            raise ModelError(f"{p}: {len(scales)} level scales, the model has {model.head.scales.numel()}")
        model.head.scales.copy_(torch.tensor(scales))
    return {"model": {k: v.clone() for k, v in model.state_dict().items()}, "classes": list(card.classes),
            "model_name": name, "source": "onnx", "card_version": card.version}


def embedder_from_onnx(path: str | Path, model: nn.Module, name: str) -> dict:
    """Load the weights of an exported embedder (``inspect-cv train reid``'s ONNX) into ``model``,
    an :class:`~inspect_cv.train.reid.model.EmbeddingNet` built by the config (backbone ``name``).

    The trunk's convolutions come back as in :func:`checkpoint_from_onnx` (batch norms folded:
    refit them with :func:`refit_batchnorm` before training); GeM's ``p``, the linear layer and
    the BN-neck are stored as they were. Returns ``{"card_version", "input_size"}``. Raises
    :class:`ModelError` when the file is not an embedder export or does not match the model.
    """
    from onnx import numpy_helper

    p = Path(path)
    proto, card, inits = _read_graph(p)
    if card.task != "embed":
        raise ModelError(f"{p}: not an embedder (card task {card.task!r})")
    size = (int(card.input_size[0]), int(card.input_size[1]))
    model.eval()
    _copy_convs(p, proto, inits, model, name, size)
    nodes = list(proto.graph.node)
    producer = {o: n for n in nodes for o in n.output}

    def array(name_: str):
        return torch.from_numpy(numpy_helper.to_array(inits[name_]).copy())

    with torch.no_grad():
        if hasattr(model.pool, "p"):  # GeM: Pow(features, Clip(p, 1)) is the first Pow after the trunk
            pw = next((n for n in nodes if n.op_type == "Pow"), None)
            src = pw.input[1] if pw is not None else ""
            while src in producer and src not in inits and producer[src].op_type in ("Clip", "Max", "Identity"):
                src = producer[src].input[0]
            if src not in inits:
                raise ModelError(f"{p}: the model pools with GeM, the graph holds no GeM exponent")
            model.pool.p.copy_(array(src).reshape(()))
        mm = [n for n in nodes if n.op_type in ("MatMul", "Gemm") and any(i in inits for i in n.input[1:2])]
        bn = [n for n in nodes if n.op_type == "BatchNormalization"]
        if len(mm) != 1 or len(bn) != 1:
            raise ModelError(f"{p}: expected one linear layer and one BN-neck after the trunk, "
                             f"found {len(mm)} and {len(bn)}")
        w = array(mm[0].input[1])
        if mm[0].op_type == "MatMul":
            w = w.t()
        elif not any(a.name == "transB" and a.i == 1 for a in mm[0].attribute):
            w = w.t()
        if w.shape != model.fc.weight.shape:
            raise ModelError(f"{p}: linear layer {tuple(w.shape)}, model {name!r} expects {tuple(model.fc.weight.shape)}")
        model.fc.weight.copy_(w)
        for attr, src in zip(("weight", "bias", "running_mean", "running_var"), bn[0].input[1:5]):
            if src not in inits:
                raise ModelError(f"{p}: the BN-neck's {attr} is not stored in the graph")
            getattr(model.neck, attr).copy_(array(src))
        eps = next((a.f for a in bn[0].attribute if a.name == "epsilon"), None)
        if eps is not None:
            model.neck.eps = float(eps)
    return {"card_version": card.version, "input_size": size}


def refit_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Set batch-norm statistics to those of ``batches`` without changing the eval-mode function.

    Each batch norm gets ``running_mean``/``running_var`` = the mean and variance of its
    input over the batches, and its weight and bias are rescaled to compensate. Returns the
    number of images seen. The model is left in the mode it was in.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    stats = {bn: [0, 0.0, 0.0] for bn in bns}

    def pre_hook(mod, inputs):
        x = inputs[0].detach().double()
        s = stats[mod]
        s[0] += x.shape[0] * x.shape[2] * x.shape[3]
        s[1] = s[1] + x.sum((0, 2, 3))
        s[2] = s[2] + (x * x).sum((0, 2, 3))

    was_training = model.training
    model.eval()
    hooks = [bn.register_forward_pre_hook(pre_hook) for bn in bns]
    seen = 0
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            for images in batches:
                model(images.to(device))
                seen += images.shape[0]
    finally:
        for h in hooks:
            h.remove()
    if seen == 0:
        raise ModelError("refit_batchnorm: no images")
    with torch.no_grad():
        for bn in bns:
            n, s1, s2 = stats[bn]
            mu = (s1 / n).to(bn.running_mean.dtype)
            var = (s2 / n - (s1 / n) ** 2).clamp_min(0).to(bn.running_var.dtype)
            old = torch.sqrt(bn.running_var + bn.eps)
            g = bn.weight / old
            bn.bias.add_(g * (mu - bn.running_mean))
            bn.weight.copy_(g * torch.sqrt(var + bn.eps))
            bn.running_mean.copy_(mu)
            bn.running_var.copy_(var)
    model.train(was_training)
    return seen
