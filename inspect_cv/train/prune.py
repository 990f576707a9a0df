"""Initialise a thinner MobileNetV2 from the ImageNet 1.0-width weights (channel selection).

Only the 1.0-width ImageNet weights ship offline. For a ``width_mult < 1`` network each
layer keeps a subset of the 1.0 layer's channels: for every residual stream (a stage of
blocks with the same output width, whose residual additions tie the channels together)
the channels with the largest summed ``|gamma|`` of the stage's projection BatchNorms;
inside each block, the expanded channels with the largest ``|gamma|`` of the expansion
BatchNorm (magnitude-based channel selection, as in "network slimming", Liu et al.,
ICCV 2017). The result is a starting point for fine-tuning, not an ImageNet classifier.
"""
from __future__ import annotations

import torch


def _top(gamma: torch.Tensor, k: int) -> torch.Tensor:
    return torch.sort(gamma.abs().topk(k).indices).values


def _take(t: torch.Tensor, out_idx: torch.Tensor | None, in_idx: torch.Tensor | None) -> torch.Tensor:
    if out_idx is not None and t.ndim >= 1:
        t = t.index_select(0, out_idx)
    if in_idx is not None and t.ndim >= 2:
        t = t.index_select(1, in_idx)
    return t.clone()


def slim_mobilenet_v2_state(src: dict, target: dict) -> dict:
    """Map the 1.0-width state dict ``src`` onto the thinner ``target`` layout (torchvision keys)."""
    out: dict[str, torch.Tensor] = {}

    def conv_bn(conv: str, bn: str, o_idx, i_idx, depthwise: bool = False) -> None:
        out[conv + ".weight"] = _take(src[conv + ".weight"], o_idx, None if depthwise else i_idx)
        for name in ("weight", "bias", "running_mean", "running_var"):
            out[f"{bn}.{name}"] = _take(src[f"{bn}.{name}"], o_idx, None)
        out[bn + ".num_batches_tracked"] = src[bn + ".num_batches_tracked"].clone()

    def width(key: str) -> int:
        return target[key].shape[0]

    # stem
    stem_idx = _top(src["features.0.1.weight"], width("features.0.1.weight"))
    conv_bn("features.0.0", "features.0.1", stem_idx, None)
    # group blocks into stages by their (source) output width
    blocks = sorted({int(k.split(".")[1]) for k in src if k.startswith("features.") and ".conv." in k})
    proj_bn = {}
    for b in blocks:
        n_layers = len({k.split(".")[3] for k in src if k.startswith(f"features.{b}.conv.")})
        proj_bn[b] = f"features.{b}.conv.{n_layers - 1}"
    stages: dict[int, list[int]] = {}
    for b in blocks:
        stages.setdefault(src[proj_bn[b] + ".weight"].shape[0], []).append(b)
    stream_idx = {}
    for c, members in stages.items():
        k = width(proj_bn[members[0]] + ".weight")
        score = sum(src[proj_bn[b] + ".weight"].abs() for b in members)
        idx = torch.sort(score.topk(k).indices).values
        for b in members:
            stream_idx[b] = idx
    prev = stem_idx
    for b in blocks:
        p = f"features.{b}.conv"
        if proj_bn[b] == f"{p}.2":  # expansion 1: dw on the stream, then project
            conv_bn(f"{p}.0.0", f"{p}.0.1", prev, None, depthwise=True)
            conv_bn(f"{p}.1", f"{p}.2", stream_idx[b], prev)
        else:
            hid = _top(src[f"{p}.0.1.weight"], width(f"{p}.0.1.weight"))
            conv_bn(f"{p}.0.0", f"{p}.0.1", hid, prev)
            conv_bn(f"{p}.1.0", f"{p}.1.1", hid, None, depthwise=True)
            conv_bn(f"{p}.2", f"{p}.3", stream_idx[b], hid)
        prev = stream_idx[b]
    last = f"features.{blocks[-1] + 1}"
    conv_bn(f"{last}.0", f"{last}.1", None, prev)
    for k in ("classifier.1.weight", "classifier.1.bias"):
        out[k] = src[k].clone()
    missing = set(target) - set(out)
    if missing or any(out[k].shape != target[k].shape for k in target):
        bad = sorted(missing) or [k for k in target if out[k].shape != target[k].shape]
        raise ValueError(f"cannot map MobileNetV2 weights onto this width: {bad[:3]}")
    return out
