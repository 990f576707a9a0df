"""Detection metrics: COCO mAP per class, image-level alarm rates, PR curves.

* mAP50 and mAP50-95 follow the COCO protocol (computed by ``faster-coco-eval``, installed
  with the ``train`` and ``dev`` extras), overall and per class.
* Alarm rates treat screening as an image-level decision: an image alarms when its
  highest alarm-class score passes a threshold. The threshold is set on the threat-free
  images for a false-alarm rate (1 %, 5 %), and the true-alarm rate is the share of
  threat images (at least one ground-truth box) that alarm at it.
"""
from __future__ import annotations

import contextlib
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..detection.boxes import box_iou
from ..detection.core import Detections
from ..errors import InputError, MissingDependencyError
from ..formats.core import DetectionDataset


@dataclass
class DetectionMetrics:
    map50: float
    map50_95: float
    per_class: dict[str, dict[str, float]]
    alarm: dict[str, float]
    n_images: int
    n_threat_images: int
    n_benign_images: int
    n_boxes: int
    curves: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("curves")
        return d

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path


def _coco_dicts(ds: DetectionDataset, preds: Sequence[Detections], class_map: list[int]):
    images, anns, dets = [], [], []
    for i, (rec, det) in enumerate(zip(ds.images, preds)):
        images.append({"id": i + 1, "width": rec.width, "height": rec.height, "file_name": rec.file_name})
        for b, lab in zip(rec.boxes, rec.labels):
            w, h = float(b[2] - b[0]), float(b[3] - b[1])
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(lab) + 1, "iscrowd": 0,
                         "bbox": [float(b[0]), float(b[1]), w, h], "area": w * h})
        for b, s, lab in det:
            k = class_map[lab]
            if k < 0:
                continue
            dets.append({"image_id": i + 1, "category_id": k + 1, "score": float(s),
                         "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]})
    cats = [{"id": k + 1, "name": n} for k, n in enumerate(ds.classes)]
    return {"images": images, "annotations": anns, "categories": cats}, dets


def coco_map(ds: DetectionDataset, preds: Sequence[Detections], class_map: list[int]) -> tuple[float, float, dict, dict]:
    try:
        from faster_coco_eval import COCO, COCOeval_faster
    except ImportError:
        raise MissingDependencyError("faster-coco-eval", "train", "compute COCO mAP") from None
    gt_dict, dets = _coco_dicts(ds, preds, class_map)
    per_class = {n: {"ap50": float("nan"), "ap50_95": float("nan"), "n_boxes": 0} for n in ds.classes}
    for a in gt_dict["annotations"]:
        per_class[ds.classes[a["category_id"] - 1]]["n_boxes"] += 1
    if not gt_dict["annotations"]:
        return float("nan"), float("nan"), per_class, {}
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = gt_dict
        gt.createIndex()
        dt = gt.loadRes(dets) if dets else None
        if dt is None:
            return 0.0, 0.0, {n: v | {"ap50": 0.0, "ap50_95": 0.0} for n, v in per_class.items()}, {}
        ev = COCOeval_faster(gt, dt, iouType="bbox", print_function=lambda *a, **k: None)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    prec = np.asarray(ev.eval["precision"])  # [T, R, K, A, M]
    recall_pts = np.linspace(0, 1, prec.shape[1])
    curves = {}
    for k, name in enumerate(ds.classes):
        p = prec[:, :, k, 0, -1]
        if per_class[name]["n_boxes"] == 0:
            continue
        valid = p > -1
        per_class[name]["ap50"] = float(p[0][valid[0]].mean()) if valid[0].any() else 0.0
        per_class[name]["ap50_95"] = float(p[valid].mean()) if valid.any() else 0.0
        curves[name] = {"recall": recall_pts.tolist(), "precision50": np.where(p[0] > -1, p[0], 0).tolist()}
    stats = ev.stats
    return float(stats[1]), float(stats[0]), per_class, curves


def image_scores(preds: Sequence[Detections], alarm_labels: Sequence[int]) -> np.ndarray:
    """Highest alarm-class score per image (0 when none)."""
    alarm = np.asarray(list(alarm_labels), np.int64)
    return np.array([float(d.scores[np.isin(d.labels, alarm)].max()) if np.isin(d.labels, alarm).any() else 0.0
                     for d in preds], np.float32)


def alarm_rates(scores: np.ndarray, is_threat: np.ndarray, fars: Sequence[float] = (0.01, 0.05)) -> dict[str, float]:
    """True-alarm rate at the thresholds giving each false-alarm rate on benign images."""
    scores, is_threat = np.asarray(scores, np.float64), np.asarray(is_threat, bool)
    benign, threat = scores[~is_threat], scores[is_threat]
    out: dict[str, float] = {}
    if len(benign) == 0 or len(threat) == 0:
        return out
    for far in fars:
        # smallest threshold whose false-alarm rate (share of benign scores > t) is <= far
        cand = np.unique(np.concatenate([benign, [np.inf]]))
        fa = np.array([(benign > t).mean() for t in cand])
        t = float(cand[np.argmax(fa <= far)])
        out[f"tar@far{far:g}"] = float((threat > t).mean())
        out[f"threshold@far{far:g}"] = t
        out[f"far_actual@far{far:g}"] = float((benign > t).mean())
    return out


def confusion_matrix(ds: DetectionDataset, preds: Sequence[Detections], class_map: list[int],
                     iou: float = 0.5, conf: float = 0.25) -> np.ndarray:
    """(K+1) x (K+1) counts: rows truth (last: background), columns prediction (last: missed)."""
    k = len(ds.classes)
    m = np.zeros((k + 1, k + 1), np.int64)
    for rec, det in zip(ds.images, preds):
        det = det.filter(conf)
        labels = np.array([class_map[l] for l in det.labels], np.int64)
        matched = np.zeros(len(det), bool)
        if len(rec.boxes) and len(det):
            ious = box_iou(rec.boxes, det.boxes)
        for g in range(len(rec.boxes)):
            j = -1
            if len(det):
                cand = np.where(~matched & (ious[g] >= iou))[0]
                if cand.size:
                    j = int(cand[np.argmax(ious[g, cand])])
            if j >= 0 and labels[j] >= 0:
                matched[j] = True
                m[rec.labels[g], labels[j]] += 1
            else:
                m[rec.labels[g], k] += 1
        for j in np.where(~matched)[0]:
            if labels[j] >= 0:
                m[k, labels[j]] += 1
    return m


def image_alarms(ds: DetectionDataset, preds: Sequence[Detections], model_classes: Sequence[str],
                 alarm_classes: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image: the highest alarm-class score, whether it holds an alarm-class object, and
    whether it holds no object at all (``alarm_classes`` None: every model class alarms)."""
    alarm_names = list(alarm_classes) if alarm_classes is not None else list(model_classes)
    scores = image_scores(preds, [i for i, n in enumerate(model_classes) if n in alarm_names])
    gt_alarm = {ds.classes.index(n) for n in alarm_names if n in ds.classes}
    is_threat = np.array([bool(set(r.labels.tolist()) & gt_alarm) for r in ds.images], bool)
    benign = np.array([len(r.labels) == 0 for r in ds.images], bool)
    return scores, is_threat, benign


def evaluate_detections(ds: DetectionDataset, preds: Sequence[Detections], model_classes: Sequence[str],
                        alarm_classes: Sequence[str] | None = None) -> DetectionMetrics:
    """Score predictions (model class names) against a dataset (its own class names)."""
    if len(preds) != len(ds.images):
        raise InputError(f"{len(preds)} predictions for {len(ds.images)} images")
    class_map = [ds.classes.index(n) if n in ds.classes else -1 for n in model_classes]
    map50, map5095, per_class, curves = coco_map(ds, preds, class_map)
    scores, is_threat, benign = image_alarms(ds, preds, model_classes, alarm_classes)
    use = is_threat | benign  # images with only non-alarm objects take no part in alarm rates
    curves["alarm"] = {"scores": scores.tolist(), "is_threat": is_threat.tolist(), "benign": benign.tolist()}
    curves["confusion"] = confusion_matrix(ds, preds, class_map).tolist()
    return DetectionMetrics(
        map50=map50, map50_95=map5095, per_class=per_class,
        alarm=alarm_rates(scores[use], is_threat[use]),
        n_images=len(ds.images), n_threat_images=int(is_threat.sum()), n_benign_images=int(benign.sum()),
        n_boxes=int(sum(len(r.boxes) for r in ds.images)), curves=curves,
    )


def save_plots(metrics: DetectionMetrics, classes: Sequence[str], out_dir: str | Path) -> list[Path]:
    """PR curves (IoU 0.5), alarm ROC and the confusion matrix as PNG files."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend (e.g. a notebook's) is left alone

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    for name in classes:
        c = metrics.curves.get(name)
        if c:
            ax.plot(c["recall"], c["precision50"], label=f"{name} AP50={metrics.per_class[name]['ap50']:.3f}")
    ax.set(xlabel="recall", ylabel="precision", title=f"PR at IoU 0.5 (mAP50={metrics.map50:.3f})",
           xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    paths.append(out_dir / "pr_curves.png")
    fig.tight_layout()
    fig.savefig(paths[-1], dpi=110)

    a = metrics.curves.get("alarm")
    if a:
        s, t, b = (np.asarray(a[k]) for k in ("scores", "is_threat", "benign"))
        if t.any() and b.any():
            thr = np.unique(np.concatenate([s, [np.inf]]))[::-1]
            far = [(s[b] >= x).mean() for x in thr]
            tar = [(s[t] >= x).mean() for x in thr]
            floor = 0.5 / int(b.sum())          # half a clean image: where a rate of 0 is drawn on the log axis
            fig = Figure(figsize=(6, 5))
            ax = fig.subplots()
            ax.step(np.maximum(far, floor), tar, where="post")
            for x in (0.01, 0.05):
                ax.axvline(x, color="grey", ls="--", lw=0.8)
            ax.set(xscale="log", xlim=(floor, 1), ylim=(0, 1.02), ylabel="true-alarm rate",
                   xlabel=f"false-alarm rate on {int(b.sum())} threat-free images (0 drawn at {floor:.1g})",
                   title="image-level alarm ROC")
            ax.grid(alpha=0.3)
            paths.append(out_dir / "alarm_roc.png")
            fig.tight_layout()
            fig.savefig(paths[-1], dpi=110)

    cm = np.asarray(metrics.curves.get("confusion", []))
    if cm.size:
        labels = list(classes) + ["bg/missed"]
        fig = Figure(figsize=(1 + 0.6 * len(labels), 1 + 0.55 * len(labels)))
        ax = fig.subplots()
        ax.imshow(np.log1p(cm), cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set(xlabel="predicted", ylabel="true", title="confusion (IoU 0.5)")
        paths.append(out_dir / "confusion_matrix.png")
        fig.tight_layout()
        fig.savefig(paths[-1], dpi=110)
    return paths
