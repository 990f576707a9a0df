"""Export a trained detector to ONNX with decode + NMS in the graph (``output_format = nms``).

The graph is the model, :func:`inspect_cv.train.postprocess.decode` (traced: the same
code as evaluation) and the ONNX ``NonMaxSuppression`` op with per-image, per-class
suppression, whose semantics :func:`~inspect_cv.train.postprocess.nms_torch` reproduces.
``conf_threshold`` and ``iou_threshold`` are graph inputs (the runtime feeds the card
defaults or the caller's values; they are not initialisers, which onnxruntime would hide
from ``get_inputs()`` and which block constant folding). After export the file is checked with
``onnx.checker`` and run with onnxruntime against torch; any mismatch raises
:class:`~inspect_cv.errors.ModelError`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from inspect_cv.errors import ModelError
from inspect_cv.runtime.card import ModelCard, embed_card, write_sidecars

from .config import NORMALIZE
from .detect import load_checkpoint, model_from_checkpoint
from .model import anchor_points
from .postprocess import NMSResult, decode, nms_torch

OPSET = 17


class _NonMaxSuppression(torch.autograd.Function):
    """ONNX ``NonMaxSuppression`` for tracing; eager forward computes the same selection."""

    @staticmethod
    def forward(ctx, boxes, scores_ca, max_per_class, iou, conf):  # scores_ca: [N, C, A]
        r = nms_torch(boxes, scores_ca.transpose(1, 2), float(conf), float(iou), int(max_per_class))
        return torch.stack([r.batch, r.labels, r.anchors], 1)

    @staticmethod
    def symbolic(g, boxes, scores_ca, max_per_class, iou, conf):
        return g.op("NonMaxSuppression", boxes, scores_ca, max_per_class, iou, conf, center_point_box_i=0)


class ExportWrapper(nn.Module):
    """``(images, conf_threshold, iou_threshold) -> det_boxes, det_scores, det_labels, det_batch``."""

    def __init__(self, model: nn.Module, input_size: int, max_per_class: int = 100):
        super().__init__()
        self.model = model
        pts, _ = anchor_points(input_size, input_size, model.strides)
        self.register_buffer("points", pts, persistent=False)
        self.register_buffer("max_per_class", torch.tensor([max_per_class], dtype=torch.int64), persistent=False)

    def forward(self, images, conf_threshold, iou_threshold):
        cls, dist = self.model(images)
        boxes, scores = decode(cls, dist, self.points)  # [N,A,4], [N,A,C]
        sel = _NonMaxSuppression.apply(boxes, scores.transpose(1, 2).contiguous(), self.max_per_class,
                                       iou_threshold, conf_threshold)
        b, c, a = sel[:, 0], sel[:, 1], sel[:, 2]
        n_anchor, n_cls = scores.shape[1], scores.shape[2]
        flat = b * n_anchor + a
        det_boxes = boxes.reshape(-1, 4).index_select(0, flat)
        det_scores = scores.reshape(-1).index_select(0, flat * n_cls + c)
        return det_boxes, det_scores, c, b


def build_card(ckpt: dict, name: str, version: str, conf: float, iou: float) -> dict:
    """Card fields (without ``weights_sha256``) from a checkpoint."""
    cfg = ckpt["config"]
    size = int(ckpt["input_size"])
    hist = [r for r in ckpt.get("history", []) if "map50_95" in r]
    best = max(hist, key=lambda r: r["map50_95"]) if hist else None
    alarm = cfg.get("export", {}).get("alarm_classes") or list(ckpt["classes"])
    syn = cfg["data"]["synthetic"]
    return {
        "name": name, "task": "detect", "version": version, "classes": list(ckpt["classes"]),
        "input_size": [size, size], "colour": "rgb", "normalize": dict(NORMALIZE),
        "letterbox": {"pad_value": 255, "stride": 32}, "box_format": "xyxy", "output_format": "nms",
        "alarm_classes": list(alarm), "defaults": {"conf": conf, "iou": iou},
        "training_data": {"train": cfg["data"]["train"], "val": cfg["data"]["val"], "seed": cfg["seed"],
                          "synthetic": {"source": syn["source"], "ratio": syn["ratio"], "options": syn["options"]},
                          "model": ckpt["model_name"], "epochs_trained": int(ckpt["epoch"]) + 1},
        "metrics": ({"map50": best["map50"], "map50_95": best["map50_95"], "epoch": best["epoch"],
                     "on": "validation set of the run (data.val)"} if best else None),
        "description": f"{ckpt['model_name']} one-stage anchor-free detector (inspect-cv)",
        "tiling": dict(cfg.get("export", {}).get("tiling") or {}) or None,
        "extra": dict(cfg.get("export", {}).get("extra") or {}),
    }


@dataclass
class ExportResult:
    path: Path
    card: ModelCard
    parity: dict


def export_onnx(source: str | Path, out: str | Path, name: str | None = None, conf: float | None = None,
                iou: float | None = None, max_per_class: int | None = None, parity_images: np.ndarray | None = None,
                parity_conf: float = 0.05) -> ExportResult:
    """Export a run folder (its ``best.pt``) or a checkpoint to ONNX at ``out``.

    Writes ``out`` (card in its metadata), ``<stem>.card.json`` and ``<stem>.md``. ``parity_images`` (float32
    ``[N,3,H,W]``, prepared) feed the torch/onnxruntime parity check; default: a
    reproducible random batch of 2. Raises :class:`ModelError` when they disagree.
    """
    import onnx

    src = Path(source)
    path = src / "best.pt" if src.is_dir() else src
    ckpt = load_checkpoint(path)
    if not isinstance(ckpt, dict) or not all(k in ckpt for k in ("config", "input_size", "model_name")):
        raise ModelError(f"{path}: holds weights but no training run (config, input size); export a run folder "
                         "or its best.pt, or fine-tune from this file with model.init=" + str(path))
    ecfg = ckpt["config"].get("export", {})
    conf = float(ecfg.get("conf", 0.25) if conf is None else conf)
    iou = float(ecfg.get("iou", 0.5) if iou is None else iou)
    max_per_class = int(ecfg.get("max_per_class", 100) if max_per_class is None else max_per_class)
    name = name or str(ckpt["config"]["name"])
    size = int(ckpt["input_size"])
    model = model_from_checkpoint(ckpt)
    wrapper = ExportWrapper(model, size, max_per_class).eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = (torch.zeros(1, 3, size, size), torch.tensor([conf]), torch.tensor([iou]))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about the NMS op's eager stand-in
        torch.onnx.export(wrapper, example, str(out), input_names=["images", "conf_threshold", "iou_threshold"],
                          output_names=["det_boxes", "det_scores", "det_labels", "det_batch"],
                          dynamic_axes={"images": {0: "batch"}, "det_boxes": {0: "num_det"},
                                        "det_scores": {0: "num_det"}, "det_labels": {0: "num_det"},
                                        "det_batch": {0: "num_det"}},
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)
    proto = onnx.load(str(out))
    card = ModelCard(**build_card(ckpt, name, str(ecfg.get("version", "0.1.0")), conf, iou))
    embed_card(proto, card)  # also sets card.weights_sha256
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(out))
    if parity_images is None:
        parity_images = np.random.default_rng(0).normal(size=(2, 3, size, size)).astype(np.float32)
    try:
        parity = check_parity(wrapper, out, parity_images, parity_conf, iou)
    except ModelError:
        out.unlink(missing_ok=True)  # never leave a graph that disagrees with torch
        raise
    write_sidecars(out, card)
    return ExportResult(out, card, parity)


def run_torch(wrapper: ExportWrapper, images: np.ndarray, conf: float, iou: float) -> NMSResult:
    """The torch side of the parity check: model + decode + :func:`nms_torch`."""
    with torch.no_grad():
        cls, dist = wrapper.model(torch.from_numpy(images))
        boxes, scores = decode(cls, dist, wrapper.points)
        return nms_torch(boxes, scores, conf, iou, int(wrapper.max_per_class))


def run_onnx(path: str | Path, images: np.ndarray, conf: float | None = None, iou: float | None = None) -> dict:
    """Run an exported graph with onnxruntime on CPU; returns its four outputs by name."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {"images": images.astype(np.float32)}
    if conf is not None:
        feed["conf_threshold"] = np.array([conf], np.float32)
    if iou is not None:
        feed["iou_threshold"] = np.array([iou], np.float32)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feed)))


def compare_detections(ref: NMSResult, got: dict, rtol: float = 1e-3, atol: float = 1e-2,
                       tie_tol: float = 0.0) -> dict:
    """Match detections per (image, class); returns counts and the worst differences.

    Boxes must agree within ``atol + rtol * |coordinate|`` pixels and scores within 1e-4.
    With ``tie_tol`` > 0, a detection without a close partner is tolerated when an
    unmatched partner of the same image and class has a score within ``tie_tol`` (greedy
    NMS may legitimately keep either of two boxes whose scores tie to float precision);
    such cases are counted in ``tie_swaps``. Raises :class:`ModelError` otherwise.
    """
    rb, rs = ref.boxes.numpy(), ref.scores.numpy()
    rl, rbt = ref.labels.numpy(), ref.batch.numpy()
    gb, gs, gl, gbt = got["det_boxes"], got["det_scores"], got["det_labels"], got["det_batch"]
    if len(rb) != len(gb):
        raise ModelError(f"ONNX/torch parity failed: torch kept {len(rb)} detections, onnxruntime {len(gb)}")
    worst_box, worst_score, swaps = 0.0, 0.0, 0
    used = np.zeros(len(gb), bool)
    pending = []
    for i in np.argsort(-rs, kind="stable"):
        cand = np.where((gl == rl[i]) & (gbt == rbt[i]) & ~used)[0]
        if len(cand) == 0:
            raise ModelError(f"ONNX/torch parity failed: no onnxruntime detection of class {rl[i]} in image {rbt[i]}")
        err = np.abs(gb[cand] - rb[i]).max(1)
        j = cand[int(err.argmin())]
        if err.min() <= atol + rtol * np.abs(rb[i]).max() and abs(gs[j] - rs[i]) <= 1e-4:
            used[j] = True
            worst_box, worst_score = max(worst_box, float(err.min())), max(worst_score, float(abs(gs[j] - rs[i])))
        else:
            pending.append(i)
    for i in pending:
        cand = np.where((gl == rl[i]) & (gbt == rbt[i]) & ~used)[0]
        near = cand[np.abs(gs[cand] - rs[i]) <= tie_tol] if tie_tol > 0 else cand[:0]
        if len(near) == 0:
            err = np.abs(gb[cand] - rb[i]).max(1).min() if len(cand) else float("nan")
            raise ModelError(f"ONNX/torch parity failed: a box of class {rl[i]} in image {rbt[i]} "
                             f"differs by {err:.4g} px (score {rs[i]:.4g})")
        used[near[0]] = True
        swaps += 1
    return {"detections": int(len(rb)), "max_box_diff_px": worst_box, "max_score_diff": worst_score,
            "tie_swaps": swaps}


def _gap_threshold(scores: torch.Tensor, conf: float, max_per_class: int) -> float:
    """A confidence in the widest gap among the top scores (at most ``max_per_class`` above it).

    Scores that tie to float precision make any threshold between them ambiguous across
    implementations; a threshold in a clear gap does not.
    """
    hi = min(max_per_class, 100, scores.numel() - 1)
    vals = scores.topk(hi + 1).values.double()
    lo = min(10, hi)
    gaps = vals[lo - 1:hi] - vals[lo:hi + 1]
    k = int(gaps.argmax())
    if float(gaps[k]) < 1e-7:
        raise ModelError("ONNX/torch parity check impossible: the model's top scores all tie "
                         "(is it trained at all?)")
    return min(conf, float(vals[lo - 1 + k] + vals[lo + k]) / 2)


def check_parity(wrapper: ExportWrapper, path: Path, images: np.ndarray, conf: float, iou: float) -> dict:
    """Torch vs onnxruntime on ``images``; raises :class:`ModelError` on any disagreement.

    Two stages: (1) with the IoU threshold at 1 (no suppression) every candidate above a
    confidence kept low enough for a few dozen candidates must match exactly: this
    checks the model and decode; (2) at ``iou`` the NMS outputs must match, up to
    swaps between boxes whose scores tie within 1e-7.
    """
    with torch.no_grad():
        cls, dist = wrapper.model(torch.from_numpy(images))
        scores = decode(cls, dist, wrapper.points)[1].flatten()
    low = _gap_threshold(scores, conf, int(wrapper.max_per_class))
    raw = compare_detections(run_torch(wrapper, images, low, 1.0), run_onnx(path, images, low, 1.0))
    rep = compare_detections(run_torch(wrapper, images, low, iou), run_onnx(path, images, low, iou), tie_tol=1e-7)
    if raw["detections"] == 0 or rep["detections"] == 0:
        raise ModelError("ONNX/torch parity check compared no detections")
    return {**rep, "decode_checked": raw["detections"], "conf": low, "iou": iou, "images": int(len(images))}
