"""Peer benchmark: the shipped baggage detector vs YOLOv8n trained on the same data and budget.

Run it with a Python that has ``ultralytics`` (AGPL-3.0: a *peer* we measure against, never a
dependency of inspect-cv; this script is the only place in the repository that imports it),
from the repository root, e.g.::

    /tmp/venv-yolo/bin/python benchmarks/peer_yolov8n.py \\
        --train /work/data/bag_train_s1 --val /work/data/bag_val_s2 \\
        --test /work/data/bag_test_s3 --ood /work/data/bag_ood_s4

Steps (progress on stderr):

1. convert train / val (COCO, as written by ``inspect-cv synth baggage``) to the YOLO layout
   with inspect-cv's own converters (labels written, images symlinked);
2. train YOLOv8n **from its YAML** (``yolov8n.yaml``: no pretrained weights exist offline, so
   the peer starts from scratch while our model starts from ImageNet MobileNetV2 weights) with
   our shipped run's budget (epochs, input size, batch read from the model card and recipe),
   seed 0; ``--skip-train WEIGHTS`` reuses a trained ``.pt``;
3. export it to ONNX (dynamic batch, opset 17, same input size);
4. score both models on the held-out test set and the out-of-distribution set with
   ``inspect_cv.evaluation.detection.evaluate_detections`` (COCO mAP50, mAP50-95, image-level
   true-alarm rate at 1 % / 5 % false alarms); the peer runs through a small ONNX adapter
   below (its letterbox, its output decoding, then the same class-wise NMS as ours);
5. time both ONNX graphs side by side in one process: onnxruntime CPU, ``--threads``
   intra-op threads, batch 1 and 8 of real test images, interleaved rounds, median per round,
   best round; ms per batch, images/s and the ratio ours/peer;
6. write ``<results>/peer_yolov8n.md`` (a Markdown table headed by the command that made
   it) and ``<results>/peer_yolov8n.json``.

``--train-limit``, ``--eval-limit`` and ``--epochs 1`` make a smoke run; its table is
marked as such.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PEER_PAD = 114  # ultralytics' letterbox grey


def log(msg: str) -> None:
    print(f"[peer_yolov8n] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------
# Peer adapter (pure numpy + OpenCV + onnxruntime; no ultralytics, no torch)
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PeerLetterbox:
    """Where the original image sits in the peer's square input: ``x_in = x * scale + left``."""

    scale: float
    left: int
    top: int
    orig_size: tuple[int, int]  # (h, w)

    def to_original(self, boxes: np.ndarray) -> np.ndarray:
        """Map xyxy boxes from input pixels back to original pixels (clipped to the image)."""
        b = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
        b[:, [0, 2]] = (b[:, [0, 2]] - self.left) / self.scale
        b[:, [1, 3]] = (b[:, [1, 3]] - self.top) / self.scale
        h, w = self.orig_size
        b[:, [0, 2]] = b[:, [0, 2]].clip(0, w)
        b[:, [1, 3]] = b[:, [1, 3]].clip(0, h)
        return b


def peer_letterbox(rgb: np.ndarray, size: int) -> tuple[np.ndarray, PeerLetterbox]:
    """Ultralytics-style letterbox of an ``(H, W, 3)`` image in [0, 255] to ``size x size``.

    Aspect-preserving bilinear resize, centred, padded with grey 114. Returns the float32
    ``(3, size, size)`` tensor in [0, 1] (RGB) and the mapping back to the original.
    """
    import cv2

    h, w = rgb.shape[:2]
    r = min(size / h, size / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    dw, dh = (size - nw) / 2, (size - nh) / 2
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    img = np.asarray(rgb, np.float32)
    if (nh, nw) != (h, w):
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((size, size, 3), PEER_PAD, np.float32)
    canvas[top:top + nh, left:left + nw] = img
    x = canvas.transpose(2, 0, 1) / 255.0
    return np.ascontiguousarray(x, np.float32), PeerLetterbox(r, left, top, (h, w))


def decode_peer_output(out: np.ndarray, conf: float, iou: float, max_per_class: int = 100,
                       max_det: int = 300, pre_nms: int = 1000) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Decode YOLOv8's raw head ``(N, 4 + C, A)`` (cx, cy, w, h in input pixels, class scores).

    Every (anchor, class) pair scoring at least ``conf`` is a candidate (multi-label, as our
    exported graph's NonMaxSuppression does); per class the ``pre_nms`` best go through
    ``inspect_cv.detection.boxes.nms`` and at most ``max_per_class`` survive; then the
    ``max_det`` best overall are kept. Returns per image ``(boxes xyxy, scores, labels)``,
    boxes in input pixels, highest score first.
    """
    from inspect_cv.detection.boxes import nms

    out = np.asarray(out, np.float32)
    if out.ndim != 3 or out.shape[1] < 5:
        raise ValueError(f"expected a (N, 4 + C, A) output, got shape {out.shape}")
    results = []
    for pred in out:
        cx, cy, w, h = pred[:4]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        scores = pred[4:]  # (C, A)
        kb, ks, kl = [], [], []
        for c, sc in enumerate(scores):
            idx = np.flatnonzero(sc >= conf)
            if idx.size == 0:
                continue
            idx = idx[np.argsort(-sc[idx], kind="stable")[:pre_nms]]
            keep = idx[nms(boxes[idx], sc[idx], iou)[:max_per_class]]
            kb.append(boxes[keep])
            ks.append(sc[keep])
            kl.append(np.full(len(keep), c, np.int64))
        if not kb:
            results.append((np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)))
            continue
        b, s, l = np.concatenate(kb), np.concatenate(ks), np.concatenate(kl)
        order = np.argsort(-s, kind="stable")[:max_det]
        results.append((b[order].astype(np.float32), s[order].astype(np.float32), l[order]))
    return results


class PeerDetector:
    """YOLOv8 ONNX export behind inspect-cv's ``predict(image) -> Detections`` shape."""

    def __init__(self, path: str | Path, classes: Sequence[str], threads: int = 2):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        size = inp.shape[2]
        self.size = int(size) if isinstance(size, int) else None
        self.classes = tuple(classes)

    def tensor(self, images: Sequence[np.ndarray], size: int | None = None) -> tuple[np.ndarray, list[PeerLetterbox]]:
        from inspect_cv.runtime.preprocess import to_model_rgb

        size = size or self.size
        if size is None:
            raise ValueError("this ONNX input has a dynamic size: pass size")
        pairs = [peer_letterbox(to_model_rgb(im), size) for im in images]
        return np.stack([p[0] for p in pairs]), [p[1] for p in pairs]

    def predict(self, image: np.ndarray, conf: float = 0.001, iou: float = 0.5, size: int | None = None):
        from inspect_cv.detection.core import Detections

        x, (lb,) = self.tensor([image], size)
        out = self.session.run(None, {self.input_name: x})[0]
        (b, s, l), = decode_peer_output(out, conf, iou)
        return Detections(lb.to_original(b), s, l, self.classes, lb.orig_size)


# ----------------------------------------------------------------------------------------
# Our model's input (per its card) for the latency run
# ----------------------------------------------------------------------------------------
def ours_tensor(images: Sequence[np.ndarray], card) -> np.ndarray:
    """Letterbox and normalise images exactly as the card says (the ONNX contract)."""
    from inspect_cv.detection.letterbox import letterbox
    from inspect_cv.runtime.preprocess import to_model_rgb

    size = (int(card.input_size[0]), int(card.input_size[1]))
    pad = float((card.letterbox or {}).get("pad_value", 255))
    norm = card.normalize or {}
    scale = float(norm.get("scale", 1 / 255))
    mean = np.asarray(norm.get("mean", [0, 0, 0]), np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(norm.get("std", [1, 1, 1]), np.float32).reshape(1, 3, 1, 1)
    x = np.stack([letterbox(to_model_rgb(im), size, pad)[0] for im in images]).transpose(0, 3, 1, 2)
    return np.ascontiguousarray((x.astype(np.float32) * scale - mean) / std, np.float32)


# ----------------------------------------------------------------------------------------
# Budget, data, training (ultralytics imported lazily, only here)
# ----------------------------------------------------------------------------------------
def our_budget(card_path: Path, recipe_path: Path) -> dict:
    """Epochs, input size and batch of our shipped run (card, then recipe)."""
    import yaml

    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    recipe = yaml.safe_load(recipe_path.read_text()) if recipe_path.is_file() else {}
    td = card.get("training_data") or {}
    size = (card.get("input_size") or [None])[0] or (recipe.get("data") or {}).get("input_size")
    return {
        "epochs": td.get("epochs_trained") or (recipe.get("train") or {}).get("epochs"),
        "imgsz": size,
        "batch": (recipe.get("train") or {}).get("batch_size"),
        "model": td.get("model") or (recipe.get("model") or {}).get("name"),
        "pretrained": bool((recipe.get("model") or {}).get("pretrained", False)),
        "source": f"{card_path.name} + {recipe_path.name}",
    }


def coco_json(path: str | Path) -> Path:
    """``annotations.json`` of a data-set folder, or the json itself."""
    p = Path(path)
    return p / "annotations.json" if p.is_dir() else p


def read_coco_limited(path: str | Path, limit: int | None):
    from inspect_cv.formats import read_dataset

    ds = read_dataset(coco_json(path), "coco")
    if limit:
        ds.images = ds.images[:limit]
    return ds


def write_yolo_split(ds, out: Path, split: str) -> Path:
    """Write ``ds`` as a YOLO split with inspect-cv's writer; images symlinked (copied if not possible)."""
    from inspect_cv.formats import DetectionDataset, ImageRecord, write_dataset

    flat = []
    for rec in ds.images:
        src = ds.image_path(rec).resolve()
        flat.append(ImageRecord(str(src), rec.width, rec.height, rec.boxes, rec.labels))
    names = [Path(r.file_name).name for r in flat]
    if len(set(names)) != len(names):
        raise SystemExit(f"{split}: image file names collide once flattened")
    img_dir = out / "images" / split
    if img_dir.exists():
        shutil.rmtree(img_dir)
    lab_dir = out / "labels" / split
    if lab_dir.exists():
        shutil.rmtree(lab_dir)
    for cache in out.glob("labels/*.cache"):
        cache.unlink()
    img_dir.mkdir(parents=True)
    for rec in flat:
        dst = img_dir / Path(rec.file_name).name
        try:
            dst.symlink_to(rec.file_name)
        except OSError:
            shutil.copy2(rec.file_name, dst)
    flat_ds = DetectionDataset(list(ds.classes), flat, None)
    return write_dataset(flat_ds, out, "yolo", split=split, copy_images=False)


def prepare_ultralytics_env(cfg_dir: Path) -> None:
    """Offline, no telemetry; a local font so that nothing is downloaded. Call before importing it."""
    os.environ["YOLO_OFFLINE"] = "1"
    if not os.environ.get("YOLO_CONFIG_DIR"):
        os.environ["YOLO_CONFIG_DIR"] = str(cfg_dir)
    font_dir = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics"
    font_dir.mkdir(parents=True, exist_ok=True)
    if not (font_dir / "Arial.ttf").is_file():
        import matplotlib

        src = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        shutil.copy2(src, font_dir / "Arial.ttf")


def train_peer(data_yaml: Path, work: Path, epochs: int, imgsz: int, batch: int, device: str,
               workers: int, seed: int, close_mosaic: int = 10) -> Path:
    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    model = YOLO("yolov8n.yaml")
    model.train(data=str(data_yaml), epochs=epochs, imgsz=imgsz, batch=batch, device=device,
                workers=workers, seed=seed, deterministic=True, pretrained=False, project=str(work),
                name="train", exist_ok=True, plots=False, close_mosaic=close_mosaic, amp=device != "cpu",
                verbose=False)
    best = Path(model.trainer.best)
    return best if best.is_file() else Path(model.trainer.last)


def export_peer(weights: Path, imgsz: int) -> Path:
    from ultralytics import YOLO

    path = YOLO(str(weights)).export(format="onnx", imgsz=imgsz, dynamic=True, opset=17, simplify=True,
                                     device="cpu")
    return Path(path)


# ----------------------------------------------------------------------------------------
# Accuracy, size, latency
# ----------------------------------------------------------------------------------------
def score(ds, predict: Callable[[np.ndarray], object], classes: Sequence[str], alarm: Sequence[str],
          desc: str) -> dict:
    from inspect_cv.evaluation.detection import evaluate_detections
    from inspect_cv.io import read_image
    from inspect_cv.progress import progress

    preds = [predict(read_image(ds.image_path(r))) for r in progress(ds.images, desc=desc)]
    m = evaluate_detections(ds, preds, classes, alarm)
    return {"map50": m.map50, "map50_95": m.map50_95, "tar@far0.01": m.alarm.get("tar@far0.01"),
            "tar@far0.05": m.alarm.get("tar@far0.05"), "n_images": m.n_images, "n_boxes": m.n_boxes,
            "per_class_ap50": {k: v["ap50"] for k, v in m.per_class.items()}}


def onnx_size(path: Path) -> dict:
    import onnx

    model = onnx.load(str(path))
    params = int(sum(int(np.prod(t.dims)) for t in model.graph.initializer))
    return {"params": params, "file_bytes": path.stat().st_size}


def _median_ms(run: Callable[[], object], repeat: int) -> float:
    run()  # warm-up
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)) * 1000.0


def latency(runners: dict[str, Callable[[int], Callable[[], object]]], batches: Sequence[int], rounds: int,
            repeat: int) -> dict:
    """``runners[name](batch)`` returns a no-argument call of one inference; best-of-rounds medians."""
    out: dict = {}
    for bs in batches:
        calls = {k: make(bs) for k, make in runners.items()}
        best = {k: float("inf") for k in calls}
        reps = repeat if bs == 1 else max(3, repeat // 3)
        for r in range(rounds):
            for k, call in calls.items():  # interleaved: the machine may be shared
                best[k] = min(best[k], _median_ms(call, reps))
            log(f"latency batch {bs} round {r + 1}/{rounds}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in best.items()))
        out[str(bs)] = {k: {"ms": v, "img_s": bs * 1000.0 / v} for k, v in best.items()}
    return out


def make_runners(ours_path: Path, peer_path: Path, card, images: list[np.ndarray], threads: int,
                 peer_size: int, conf: float, iou: float) -> dict:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    ours = ort.InferenceSession(str(ours_path), so, providers=["CPUExecutionProvider"])
    peer = ort.InferenceSession(str(peer_path), so, providers=["CPUExecutionProvider"])
    peer_in = peer.get_inputs()[0].name
    adapter = PeerDetector.__new__(PeerDetector)  # only its tensor() is used here
    adapter.size, adapter.classes = peer_size, ()

    def batch_of(bs: int) -> list[np.ndarray]:
        return [images[i % len(images)] for i in range(bs)]

    def ours_call(bs: int):
        feeds = {"images": ours_tensor(batch_of(bs), card), "conf_threshold": np.array([conf], np.float32),
                 "iou_threshold": np.array([iou], np.float32)}
        return lambda: ours.run(None, feeds)

    def peer_call(bs: int):
        feeds = {peer_in: adapter.tensor(batch_of(bs))[0]}
        return lambda: peer.run(None, feeds)

    def peer_nms_call(bs: int):
        out = peer.run(None, {peer_in: adapter.tensor(batch_of(bs))[0]})[0]
        return lambda: decode_peer_output(out, conf, iou)

    return {"ours": ours_call, "yolov8n": peer_call, "yolov8n_nms_numpy": peer_nms_call}


# ----------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------
def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _f(v, nd: int = 3) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def render_markdown(res: dict) -> str:
    """The results table (Markdown) from the JSON-able results dict."""
    lines = [
        "# Peer benchmark: inspect-cv baggage detector vs YOLOv8n",
        "",
        "Produced by:",
        "",
        "```bash",
        res["command"],
        "```",
        "",
    ]
    if res.get("smoke"):
        lines += [f"**SMOKE RUN** ({res['smoke']}): numbers are not a result.", ""]
    lat = res["latency"]
    bs = sorted(lat, key=int)
    head = ["model", "params", "ONNX MB", "start", "train budget", "test mAP50", "test mAP50-95",
            "test TAR@1%FAR", "test TAR@5%FAR", "OOD mAP50", "OOD mAP50-95", "OOD TAR@1%FAR"]
    for b in bs:
        head += [f"b{b} ms", f"b{b} img/s"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in ("ours", "yolov8n"):
        m = res["models"][key]
        t, o = m["test"], m["ood"]
        row = [m["label"], f"{m['params'] / 1e6:.2f} M", f"{m['file_bytes'] / 1e6:.2f}", m["start"], m["budget"],
               _f(t["map50"]), _f(t["map50_95"]), _f(t["tar@far0.01"]), _f(t["tar@far0.05"]),
               _f(o["map50"]), _f(o["map50_95"]), _f(o["tar@far0.01"])]
        for b in bs:
            row += [_f(lat[b][key]["ms"], 1), _f(lat[b][key]["img_s"], 1)]
        lines.append("| " + " | ".join(row) + " |")
    ratios = ", ".join(f"batch {b}: {lat[b]['ours']['ms'] / lat[b]['yolov8n']['ms']:.2f}" for b in bs)
    nms = ", ".join(f"batch {b}: {lat[b]['yolov8n_nms_numpy']['ms']:.1f} ms" for b in bs)
    env = res["environment"]
    lines += [
        "",
        f"Latency ratio ours / YOLOv8n (ONNX, lower is better; target at most 0.50): {ratios}.",
        "",
        "Notes:",
        "",
        f"- Data: train `{res['data']['train']}` ({res['data']['n_train']} images), val "
        f"`{res['data']['val']}` ({res['data']['n_val']}), test `{res['data']['test']}` ({res['data']['n_test']}), "
        f"OOD `{res['data']['ood']}` ({res['data']['n_ood']}: scanner profile never trained on, held-out threat shapes).",
        "- Start: our model starts from ImageNet MobileNetV2 weights; YOLOv8n is trained from `yolov8n.yaml` "
        "from scratch (no pretrained weights are available offline), with ultralytics' default "
        f"hyper-parameters and augmentation (optimizer auto, close_mosaic {res.get('close_mosaic', 10)}: mosaic only "
        f"in epochs before the last N), seed {res.get('seed', 0)}, best epoch on val kept.",
        f"- Our row is the shipped `{res['models']['ours']['path']}` (metrics recomputed here, same protocol).",
        f"- Accuracy: `inspect_cv.evaluation.detection.evaluate_detections` (COCO mAP; TAR = image-level true-alarm "
        f"rate at 1 % / 5 % false alarms on threat-free bags), conf {res['eval']['conf']}, NMS IoU {res['eval']['iou']}, "
        "class-wise multi-label NMS for both (ours in its graph, the peer's in numpy); no tiling.",
        f"- Latency: onnxruntime {env['onnxruntime']} CPU, {res['latency_setup']['threads']} intra-op threads, "
        f"input {res['latency_setup']['ours_size']} px (ours) / {res['latency_setup']['peer_size']} px (YOLOv8n), "
        f"real test images, {res['latency_setup']['rounds']} interleaved rounds, median per round, best round. "
        "Graph time only: ours includes decode + NMS in the graph; YOLOv8n's NMS runs outside its graph and is "
        f"not counted (its numpy NMS at conf {res['latency_setup']['conf']} took {nms}).",
        f"- Machine: {env['machine']}; {env['cpus']} CPUs; ultralytics {env.get('ultralytics') or '-'}; "
        f"{res['date']}.",
    ]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    budget = our_budget(REPO / "exported_models" / "baggage.card.json", REPO / "training" / "baggage" / "config_cpu_v0.yaml")
    ap = argparse.ArgumentParser(
        description="Train YOLOv8n (ultralytics, a peer) on our baggage data with our run's budget, export it to "
                    "ONNX and tabulate accuracy and latency side by side with the shipped inspect-cv model.",
        epilog="Defaults for --epochs/--imgsz/--batch come from exported_models/baggage.card.json and "
               "training/baggage/config_cpu_v0.yaml (%s)." % budget["source"])
    ap.add_argument("--ours", type=Path, default=REPO / "exported_models" / "baggage.onnx", help="our ONNX model")
    ap.add_argument("--train", default="data/bag_train_s1", help="training set (COCO folder or json)")
    ap.add_argument("--val", default="data/bag_val_s2", help="validation set for the peer's model selection")
    ap.add_argument("--test", default="data/bag_test_s3", help="held-out in-distribution test set")
    ap.add_argument("--ood", default="data/bag_ood_s4", help="out-of-distribution test set")
    ap.add_argument("--epochs", type=int, default=budget["epochs"], help="peer epochs (default: ours, %(default)s)")
    ap.add_argument("--imgsz", type=int, default=budget["imgsz"], help="square input size (default: ours, %(default)s)")
    ap.add_argument("--batch", type=int, default=budget["batch"], help="batch size (default: ours, %(default)s)")
    ap.add_argument("--device", default="cpu", help="ultralytics device for training: cpu, or 0 for the first GPU")
    ap.add_argument("--workers", type=int, default=1, help="data-loader workers for training")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--close-mosaic", type=int, default=10,
                    help="ultralytics close_mosaic: no mosaic in the last N epochs (default 10, ultralytics' own; "
                         "with 6 epochs that means no mosaic at all)")
    ap.add_argument("--skip-train", type=Path, default=None, metavar="WEIGHTS",
                    help="reuse a trained YOLOv8 .pt (no training)")
    ap.add_argument("--peer-onnx", type=Path, default=None, help="reuse an exported peer ONNX (no training or export)")
    ap.add_argument("--train-limit", type=int, default=None, help="use only the first N training images (smoke runs)")
    ap.add_argument("--eval-limit", type=int, default=None, help="use only the first N val/test/OOD images (smoke runs)")
    ap.add_argument("--conf", type=float, default=0.001, help="score threshold for mAP")
    ap.add_argument("--iou", type=float, default=0.5, help="NMS IoU threshold (both models)")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8], help="latency batch sizes")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved latency rounds (best is kept)")
    ap.add_argument("--repeat", type=int, default=20, help="timed runs per round at batch 1 (a third at larger batches)")
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "peer_yolov8n", help="work folder (data, training)")
    ap.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results",
                    help="where peer_yolov8n.md and peer_yolov8n.json go")
    args = ap.parse_args(argv)
    for name in ("epochs", "imgsz", "batch"):
        if getattr(args, name) is None:
            ap.error(f"--{name} is needed (not found in the model card or recipe)")
    args.budget = budget
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    command = " ".join(shlex.quote(a) for a in [Path(sys.executable).as_posix(), *sys.argv]) if argv is None \
        else "python benchmarks/peer_yolov8n.py " + " ".join(shlex.quote(str(a)) for a in argv)
    import onnxruntime

    import inspect_cv

    args.work.mkdir(parents=True, exist_ok=True)
    prepare_ultralytics_env(args.work / "yolo_cfg")
    detector = inspect_cv.load(args.ours, threads=args.threads)
    classes, alarm = list(detector.classes), list(detector.alarm_classes)
    ours_size = int(detector.card.input_size[0])
    if args.imgsz != ours_size:
        log(f"note: --imgsz {args.imgsz} differs from our model's input {ours_size}: latency is not like for like")

    # 1. data
    log("reading data sets")
    train = read_coco_limited(args.train, args.train_limit)
    val = read_coco_limited(args.val, args.eval_limit)
    test = read_coco_limited(args.test, args.eval_limit)
    ood = read_coco_limited(args.ood, args.eval_limit)
    if list(train.classes) != classes:
        raise SystemExit(f"training classes {train.classes} differ from the model's {classes}")

    # 2-3. peer training and export
    ultra_version = None
    if args.peer_onnx:
        peer_onnx = args.peer_onnx
    else:
        import ultralytics

        ultra_version = ultralytics.__version__
        if args.skip_train:
            weights = args.skip_train
            log(f"reusing peer weights {weights}")
        else:
            yolo_dir = args.work / "yolo_data"
            log(f"writing YOLO layout to {yolo_dir} ({len(train)} train, {len(val)} val images)")
            write_yolo_split(train, yolo_dir, "train")
            data_yaml = write_yolo_split(val, yolo_dir, "val")
            log(f"training YOLOv8n from yolov8n.yaml: {args.epochs} epochs, {args.imgsz} px, batch {args.batch}, "
                f"device {args.device}")
            t0 = time.time()
            weights = train_peer(data_yaml, args.work, args.epochs, args.imgsz, args.batch, args.device,
                                 args.workers, args.seed, args.close_mosaic)
            log(f"trained in {time.time() - t0:.0f} s: {weights}")
        log("exporting the peer to ONNX")
        peer_onnx = export_peer(weights, args.imgsz)
        log(f"peer ONNX: {peer_onnx}")
    if ultra_version is None:
        try:
            import ultralytics

            ultra_version = ultralytics.__version__
        except ImportError:
            pass

    # 4. accuracy
    peer = PeerDetector(peer_onnx, classes, threads=args.threads)
    peer_size = peer.size or args.imgsz
    models = {
        "ours": {"label": f"inspect-cv baggage ({args.budget['model']})", "path": str(args.ours),
                 "start": "ImageNet MobileNetV2" if args.budget["pretrained"] else "scratch",
                 "budget": f"{args.budget['epochs']} ep x {len(read_coco_limited(args.train, None))} img, "
                           f"{ours_size} px, b{args.budget['batch']}",
                 **onnx_size(Path(args.ours))},
        "yolov8n": {"label": "YOLOv8n (ultralytics)", "path": str(peer_onnx), "start": "scratch (yolov8n.yaml)",
                    "budget": (f"reused {'weights' if args.skip_train else 'ONNX'} (budget of their run)"
                               if args.skip_train or args.peer_onnx
                               else f"{args.epochs} ep x {len(train)} img, {args.imgsz} px, b{args.batch}"),
                    **onnx_size(Path(peer_onnx))},
    }
    ours_predict = lambda im: detector.predict(im, conf=args.conf, iou=args.iou, tile="off")  # noqa: E731
    peer_predict = lambda im: peer.predict(im, conf=args.conf, iou=args.iou, size=peer_size)  # noqa: E731
    for split, ds in (("test", test), ("ood", ood)):
        models["ours"][split] = score(ds, ours_predict, classes, alarm, f"ours {split}")
        models["yolov8n"][split] = score(ds, peer_predict, classes, alarm, f"yolov8n {split}")
        log(f"{split}: mAP50 ours {models['ours'][split]['map50']:.3f}, yolov8n {models['yolov8n'][split]['map50']:.3f}")

    # 5. latency
    from inspect_cv.io import read_image

    lat_images = [read_image(test.image_path(r)) for r in test.images[: max(args.batches)]]
    runners = make_runners(Path(args.ours), Path(peer_onnx), detector.card, lat_images, args.threads, peer_size,
                           0.25, args.iou)
    lat = latency(runners, args.batches, args.rounds, args.repeat)

    # 6. report
    smoke = []
    if args.train_limit:
        smoke.append(f"{args.train_limit} training images")
    if args.eval_limit:
        smoke.append(f"{args.eval_limit} evaluation images per split")
    if args.epochs < (args.budget["epochs"] or 0):
        smoke.append(f"{args.epochs} epoch(s)")
    res = {
        "command": command, "smoke": ", ".join(smoke) or None,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "data": {"train": str(args.train), "val": str(args.val), "test": str(args.test), "ood": str(args.ood),
                 "n_train": len(train), "n_val": len(val), "n_test": len(test), "n_ood": len(ood)},
        "budget_ours": args.budget, "close_mosaic": args.close_mosaic, "seed": args.seed, "eval": {"conf": args.conf, "iou": args.iou}, "models": models,
        "latency_setup": {"threads": args.threads, "rounds": args.rounds, "repeat": args.repeat,
                          "ours_size": ours_size, "peer_size": peer_size, "conf": 0.25},
        "latency": lat,
        "ratio_ours_over_peer": {b: v["ours"]["ms"] / v["yolov8n"]["ms"] for b, v in lat.items()},
        "environment": {"machine": cpu_name(), "cpus": os.cpu_count(),
                        "python": platform.python_version(), "onnxruntime": onnxruntime.__version__,
                        "ultralytics": ultra_version, "inspect_cv": inspect_cv.__version__},
    }
    args.results.mkdir(parents=True, exist_ok=True)
    md = render_markdown(res)
    (args.results / "peer_yolov8n.md").write_text(md)
    (args.results / "peer_yolov8n.json").write_text(json.dumps(res, indent=2) + "\n")
    print(md)
    log(f"wrote {args.results / 'peer_yolov8n.md'} and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
