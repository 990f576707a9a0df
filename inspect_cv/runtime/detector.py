"""Torch-free detector and embedder over ONNX models with an inspect-cv card."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..detection.boxes import batched_nms
from ..detection.core import Detections
from ..detection.letterbox import LetterboxInfo, letterbox
from ..detection.slicing import TiledPredictor
from ..detection.tta import alarm_labels, apply_tta, resolve_conf, resolve_tta
from ..errors import InputError, ModelCardError
from .card import ModelCard
from .preprocess import to_model_rgb, unit_range
from .session import SessionInfo, get_session


def _is_single(images) -> bool:
    return isinstance(images, np.ndarray) and images.ndim in (2, 3)


def _as_list(images) -> list[np.ndarray]:
    if _is_single(images):
        return [images]
    if isinstance(images, np.ndarray) and images.ndim == 4:
        return list(images)
    if isinstance(images, (list, tuple)):
        return [np.asarray(im) for im in images]
    raise InputError(f"expected an image array or a list of them, got {type(images).__name__}")


class _OnnxModel:
    def __init__(self, path: str | Path, card: ModelCard, device: str | None = None, threads: int | None = None):
        self.path = Path(path)
        self.card = card
        self.info: SessionInfo = get_session(path, device=device, threads=threads)
        self.input_name = next(iter(self.info.inputs))
        batch_dim = self.info.inputs[self.input_name].shape[0] if self.info.inputs[self.input_name].shape else None
        self.fixed_batch = batch_dim if isinstance(batch_dim, int) and batch_dim > 0 else None
        norm = card.normalize or {}
        self._scale = float(norm.get("scale", 1 / 255))
        self._mean = np.asarray(norm.get("mean", [0, 0, 0]), np.float32).reshape(1, 3, 1, 1)
        self._std = np.asarray(norm.get("std", [1, 1, 1]), np.float32).reshape(1, 3, 1, 1)

    @property
    def input_size(self) -> tuple[int, int]:
        return int(self.card.input_size[0]), int(self.card.input_size[1])

    @property
    def providers(self) -> list[str]:
        return list(self.info.providers)

    def _prepare(self, image: np.ndarray) -> tuple[np.ndarray, LetterboxInfo]:
        rgb = to_model_rgb(image)
        if self.card.colour == "grey":
            g = rgb.mean(axis=2, keepdims=True)
            rgb = np.repeat(g, 3, axis=2)
        pad = float((self.card.letterbox or {}).get("pad_value", 255))
        boxed, lb = letterbox(rgb, self.input_size, pad_value=pad)
        return boxed, lb

    def _tensor(self, boxed: list[np.ndarray]) -> np.ndarray:
        x = np.stack(boxed).transpose(0, 3, 1, 2).astype(np.float32)
        return (x * self._scale - self._mean) / self._std

    def _direct_tensor(self, images: Sequence[np.ndarray]) -> np.ndarray | None:
        """Fast path for uint8 grey or RGB images already at the input size (model tiles):
        one table look-up per channel gives the numbers of ``to_model_rgb`` + ``_tensor``
        (the same float32 operations, applied to the 256 possible values). None otherwise."""
        h, w = self.input_size
        if self.card.colour == "grey" or not all(
                im.dtype == np.uint8 and im.shape[:2] == (h, w) and (im.ndim == 2 or (im.ndim == 3 and im.shape[2] == 3))
                for im in images):
            return None
        if getattr(self, "_lut", None) is None:
            v = np.arange(256).astype(np.float32) / 255.0 * 255.0       # unit_range(...) * 255
            self._lut = ((v[None, :, None, None] * self._scale - self._mean.reshape(3, 1, 1, 1))
                         / self._std.reshape(3, 1, 1, 1)).reshape(3, 256).astype(np.float32)
        x = np.empty((len(images), 3, h, w), np.float32)
        for i, im in enumerate(images):
            for c in range(3):
                np.take(self._lut[c], im if im.ndim == 2 else im[..., c], out=x[i, c])
        return x

    def _chunks(self, n: int, batch_size: int) -> list[range]:
        step = self.fixed_batch or max(1, batch_size)
        return [range(i, min(i + step, n)) for i in range(0, n, step)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.card.name!r}, path='{self.path}', providers={self.providers})"


class Detector(_OnnxModel):
    """An ONNX detector: ``predict(images) -> Detections`` in original-image pixels."""

    def __init__(self, path, card: ModelCard, device=None, threads=None):
        super().__init__(path, card, device, threads)
        if card.task != "detect":
            raise ModelCardError(f"{path}: card task is {card.task!r}, not 'detect'")
        outs = set(self.info.outputs)
        need = {"nms": {"det_boxes", "det_scores", "det_labels", "det_batch"}, "raw": {"boxes", "scores"}}
        if card.output_format not in need:
            raise ModelCardError(f"{path}: unknown output_format {card.output_format!r}")
        missing = need[card.output_format] - outs
        if missing:
            raise ModelCardError(f"{path}: model lacks outputs {sorted(missing)} for format {card.output_format!r}")

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.card.classes)

    @property
    def alarm_classes(self) -> list[str]:
        return self.card.alarm_set

    def _thresholds(self, conf: float | None, iou: float | None) -> tuple[float, float]:
        d = self.card.defaults or {}
        conf = float(d.get("conf", 0.25) if conf is None else conf)
        iou = float(d.get("iou", 0.5) if iou is None else iou)
        if not (0.0 <= conf <= 1.0 and 0.0 <= iou <= 1.0):
            raise InputError(f"conf and iou must lie in [0, 1], got conf={conf}, iou={iou}")
        return conf, iou

    def _run(self, x: np.ndarray, conf: float, iou: float, max_det: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        feeds = {self.input_name: x}
        if "conf_threshold" in self.info.inputs:
            feeds["conf_threshold"] = np.array([conf], np.float32)
        if "iou_threshold" in self.info.inputs:
            feeds["iou_threshold"] = np.array([iou], np.float32)
        sess = self.info.session
        n = len(x)
        results = []
        if self.card.output_format == "nms":
            boxes, scores, labels, batch = sess.run(["det_boxes", "det_scores", "det_labels", "det_batch"], feeds)
            for i in range(n):
                m = (batch == i) & (scores >= conf)
                results.append((boxes[m], scores[m], labels[m]))
        else:
            boxes, scores = sess.run(["boxes", "scores"], feeds)
            for i in range(n):
                cls = scores[i].argmax(axis=1)
                sc = scores[i][np.arange(len(cls)), cls]
                m = sc >= conf
                b, s, l = boxes[i][m], sc[m], cls[m]
                keep = batched_nms(b, s, l, iou)
                results.append((b[keep], s[keep], l[keep]))
        out = []
        for b, s, l in results:
            order = np.argsort(-s, kind="stable")[:max_det]
            out.append((b[order].astype(np.float32), s[order].astype(np.float32), l[order].astype(np.int64)))
        return out

    def predict_tiles(self, images: Sequence[np.ndarray], conf: float | None = None, iou: float | None = None,
                      max_det: int = 300, batch_size: int = 8) -> list[Detections]:
        """Detect in each image with a plain letterbox (no tiling); boxes in each image's pixels."""
        conf, iou = self._thresholds(conf, iou)
        images = _as_list(images)
        out: list[Detections] = []
        for chunk in self._chunks(len(images), batch_size):
            x = self._direct_tensor([images[i] for i in chunk])
            if x is not None:
                h, w = self.input_size
                prepared = [(None, LetterboxInfo(scale=1.0, orig_size=(h, w), new_size=(h, w))) for _ in chunk]
            else:
                prepared = [self._prepare(images[i]) for i in chunk]
                x = self._tensor([p[0] for p in prepared])
            for (b, s, l), (_, lb) in zip(self._run(x, conf, iou, max_det), prepared):
                out.append(Detections(lb.boxes_to_original(b), s, l, self.classes, lb.orig_size))
        return out

    def tiler(self, tile: int | str | None = "auto", image_shape: tuple[int, ...] | None = None,
              scale: float | None = None) -> TiledPredictor | None:
        """The tiled predictor to use for an image of ``image_shape`` (None: no tiling).

        ``scale`` (model pixels per image pixel) overrides the card hint's, e.g. for a scan
        whose pixel pitch differs from the training scans' (see :meth:`tile_scale`)."""
        if tile in (None, "off", 0, "0"):
            return None
        hint = dict(self.card.tiling or {})
        if scale is not None:
            if not (isinstance(scale, (int, float)) and 0 < scale <= 8):
                raise InputError(f"tile scale must be in (0, 8], got {scale!r}")
            hint["scale"] = float(scale)
        if tile == "auto":
            if image_shape is None:
                return None
            h, w = image_shape[:2]
            ih, iw = self.input_size
            # With a tiling hint (models trained on tiles) tile whatever exceeds one tile;
            # otherwise only images so large that a whole-image letterbox would lose detail.
            ratio = max(h / ih, w / iw) * float(hint.get("scale", 1.0))
            if ratio < float(hint.get("auto_ratio", 1.0 if hint else 3.0)):
                return None
            size = hint.get("tile")
        else:
            try:
                size = int(tile)
            except (TypeError, ValueError):
                raise InputError(f"tile must be 'auto', 'off' or a size in pixels, got {tile!r}") from None
            if size <= 0:
                raise InputError(f"tile size must be positive, got {size}")
        return TiledPredictor(self, tile=size, overlap=float(hint.get("overlap", 0.2)),
                              scale=float(hint.get("scale", 1.0)), batch=int(hint.get("batch", 8)))

    def tile_scale(self, pixel_mm: float | None) -> float | None:
        """Tiling scale for an image of pitch ``pixel_mm`` (mm per pixel) when the card's tiling
        hint names the model's own pitch (``tiling.pixel_mm``, e.g. 7 mm per model pixel for the
        container detector): ``pixel_mm / tiling.pixel_mm``, so items keep the size in model
        pixels they had in training whatever the scanner's pitch. None when either is unknown."""
        model_mm = (self.card.tiling or {}).get("pixel_mm")
        if not model_mm or not pixel_mm or pixel_mm <= 0:
            return None
        return float(min(8.0, max(1e-3, float(pixel_mm) / float(model_mm))))

    def predict(self, images, conf: float | None = None, iou: float | None = None, max_det: int = 300,
                tile: int | str | None = "auto", batch_size: int = 8,
                tta: str | None = None) -> Detections | list[Detections]:
        """Detect objects in one image or a batch.

        Args:
            images: an array (H, W[, C]) or a list / (N, H, W, C) array of them; any size,
                uint8 / uint16 / float, grey, RGB, RGBA or dual-energy (H, W, 2).
            conf: score threshold (default from the card).
            iou: NMS IoU threshold (default from the card).
            tile: ``"auto"`` (tile images much larger than the model input, or as the card
                says), ``"off"``, or a tile size in model pixels.
            tta: ``"flip"``: also run each image (or tile) mirrored left-right and fuse the two
                views (:mod:`inspect_cv.detection.tta`; twice the model time, and scores of
                their own, so thresholds must be chosen with it); ``"gated"`` / ``"gated:LO,HI"``:
                mirror only the images whose highest plain alarm score lies in the gate (the
                card's ``extra["tta_gate"]`` for a bare ``"gated"``); ``"none"``; default the
                card's ``extra["tta"]``, else none.

        Returns:
            ``Detections`` for a single image, else a list of them, boxes in original pixels.
        """
        tta = resolve_tta(self, tta)
        single = _is_single(images)
        images = _as_list(images)
        results: list[Detections | None] = [None] * len(images)
        plain = []
        for i, im in enumerate(images):
            tiler = self.tiler(tile, im.shape)
            if tiler is None:
                plain.append(i)
            else:
                tiler.tta = tta
                results[i] = tiler.predict(im, conf=conf, iou=iou, max_det=max_det)
        if plain:
            batch = [images[i] for i in plain]
            if tta == "none":
                dets = self.predict_tiles(batch, conf, iou, max_det, batch_size)
            else:
                dets = apply_tta(self.predict_tiles, batch, tta, conf=resolve_conf(self, conf), labels=alarm_labels(self),
                                 iou=iou, max_det=max_det, batch_size=batch_size)
            for i, det in zip(plain, dets):
                results[i] = det
        return results[0] if single else results  # type: ignore[return-value]

    def default_tta(self) -> str:
        """The card's test-time augmentation (``extra["tta"]``; its thresholds were chosen with it), else none."""
        return resolve_tta(self, None)

    def alarm(self, det: Detections) -> bool:
        alarm = set(self.alarm_classes)
        return any(name in alarm for name in det.label_names)


class Embedder(_OnnxModel):
    """An ONNX embedding model: ``embed(images) -> (N, D)`` L2-normalised float32."""

    def __init__(self, path, card: ModelCard, device=None, threads=None):
        super().__init__(path, card, device, threads)
        if card.task != "embed":
            raise ModelCardError(f"{path}: card task is {card.task!r}, not 'embed'")
        self.output_name = "embeddings" if "embeddings" in self.info.outputs else next(iter(self.info.outputs))

    def _prepare(self, image: np.ndarray):
        import cv2

        rgb = to_model_rgb(image)
        h, w = self.input_size
        if rgb.shape[:2] != (h, w):
            rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if rgb.shape[0] > h else cv2.INTER_LINEAR)
        return rgb, None

    TTA = ("none", "flip")

    def embed(self, images, batch_size: int = 32, tta: str | None = None) -> np.ndarray:
        """L2-normalised embeddings of ``images``. ``tta="flip"`` averages each image's
        embedding with its mirror image's (for faces that are left-right alike; not for horse
        markings); default: the card's ``extra["tta"]``, else none."""
        tta = tta if tta is not None else str((self.card.extra or {}).get("tta", "none"))
        if tta not in self.TTA:
            raise InputError(f"unknown test-time augmentation {tta!r} (known: {', '.join(self.TTA)})")
        images = _as_list(images)
        outs = []
        for chunk in self._chunks(len(images), batch_size):
            x = self._tensor([self._prepare(images[i])[0] for i in chunk])
            if tta == "flip":  # one run over the images and their mirror images
                x = np.concatenate([x, x[..., ::-1]])
            (e,) = self.info.session.run([self.output_name], {self.input_name: x})
            if tta == "flip":
                e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
                e = e[:len(chunk)] + e[len(chunk):]
            outs.append(e.astype(np.float32))
        if not outs:
            return np.zeros((0, self.card.embedding_dim or 0), np.float32)
        emb = np.concatenate(outs)
        return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)


__all__ = ["Detector", "Embedder", "unit_range"]
