"""Lower-precision variants of an exported detector: int8 (static, QDQ) and fp16.

``quantize_detector(src, out, "int8", calib=[...])`` calibrates the activation ranges on a
few scans (read and prepared exactly as the runtime does) and quantises the convolutions
only: the decode and NMS part of the graph stays in float. ``"fp16"`` converts weights and
activations to half precision with float32 inputs and outputs kept (a GPU variant: most
CPU kernels run in float32 and onnxruntime casts around them).

The variant carries the source card with ``extra.variant`` and ``extra.source_sha256`` set
and a version suffix (``+int8`` / ``+fp16``), and gets its own sidecars. Nothing here is
shipped until measured: ``benchmarks/baggage_variants.py`` tabulates accuracy and latency.
Needs the ``onnx`` package (``train`` or ``dev`` extra); onnxruntime ships the quantiser.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .errors import ConfigError, InputError, MissingDependencyError

MODES = ("int8", "fp16")


@dataclass
class QuantizeResult:
    """Where the variant went and what it is."""

    path: Path
    mode: str
    bytes: int
    source_bytes: int
    calibration_images: int
    quantized_nodes: int


def _onnx():
    try:
        import onnx
    except ImportError:
        raise MissingDependencyError("onnx", "dev", "make int8 / fp16 model variants") from None
    return onnx


class _CalibrationReader:
    """Feeds prepared scans to the onnxruntime calibrator, one image per batch."""

    def __init__(self, detector, images: Sequence[np.ndarray], progress: Callable | None = None):
        self._det = detector
        self._items = iter(progress(images, total=len(images), desc="calibrate") if progress else images)
        conf, iou = detector._thresholds(None, None)
        self._extra = {k: np.array([v], np.float32) for k, v in (("conf_threshold", conf), ("iou_threshold", iou))
                       if k in detector.info.inputs}

    def get_next(self):
        image = next(self._items, None)
        if image is None:
            return None
        boxed, _ = self._det._prepare(image)
        return {self._det.input_name: self._det._tensor([boxed]), **self._extra}

    def rewind(self):  # pragma: no cover - not used by the MinMax calibrator
        raise NotImplementedError


def _read_calibration(paths: Iterable[str | Path], limit: int) -> list[np.ndarray]:
    from .io import read_image

    images = []
    for p in paths:
        if len(images) >= limit:
            break
        try:
            images.append(read_image(p))
        except InputError:
            continue  # an unreadable file is skipped: calibration needs typical scans, not all of them
    return images


def quantize_detector(src: str | Path, out: str | Path, mode: str, calib: Sequence[str | Path] = (),
                      n_calib: int = 64, progress: Callable | None = None) -> QuantizeResult:
    """Write an ``int8`` or ``fp16`` variant of the detector ``src`` to ``out``.

    ``calib``: scan files for int8 calibration (the first ``n_calib`` readable ones are used;
    take them from the training data, never from the evaluation data).
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    onnx = _onnx()
    from .runtime.card import ModelCard, embed_card, file_sha256, write_sidecars
    from .runtime.detector import Detector

    src, out = Path(src), Path(out)
    if not src.is_file():
        raise InputError(f"{src}: no such model file")
    if src.resolve() == out.resolve():
        raise ConfigError(f"{out}: the variant must not overwrite its source model")
    model = onnx.load(str(src))
    card = ModelCard.from_metadata({p.key: p.value for p in model.metadata_props}, source=str(src))
    if card.task != "detect":
        raise ConfigError(f"{src}: only detectors have int8 / fp16 variants here (task {card.task!r})")
    out.parent.mkdir(parents=True, exist_ok=True)
    n_images = 0
    if mode == "fp16":
        from onnxruntime.transformers.float16 import convert_float_to_float16

        # NMS, TopK and the index arithmetic of the decode stay float32 (no fp16 kernels on CPU)
        block = ["NonMaxSuppression", "TopK", "Gather", "GatherND", "GatherElements", "Range", "Resize",
                 "Cast", "Shape", "ReduceMax", "ArgMax", "Where", "Greater", "Less", "Equal", "NonZero"]
        variant = convert_float_to_float16(model, keep_io_types=True, op_block_list=block)
        n_nodes = sum(1 for n in variant.graph.node if n.op_type == "Conv")
    else:
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

        images = _read_calibration(calib, n_calib)
        if not images:
            raise InputError("int8 needs calibration scans: none of the given files could be read")
        n_images = len(images)
        detector = Detector(src, card, threads=None)
        from onnxruntime.quantization.shape_inference import quant_pre_process

        with tempfile.TemporaryDirectory() as tmp:
            prepared, tmp_out = Path(tmp) / "prep.onnx", Path(tmp) / "q.onnx"
            # folds the exporter's constant biases into initialisers and infers shapes
            quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
            quantize_static(str(prepared), str(tmp_out), _CalibrationReader(detector, images, progress),
                            quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"], per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax)
            variant = onnx.load(str(tmp_out))
        n_nodes = sum(1 for n in variant.graph.node if n.op_type == "DequantizeLinear")
    card.version = f"{card.version}+{mode}"
    card.extra = dict(card.extra or {}, variant=mode, source_sha256=file_sha256(src))
    card.description = (card.description + f" {mode} variant of v{card.version.split('+')[0]}.").strip()
    embed_card(variant, card)
    onnx.save(variant, str(out))
    write_sidecars(out, card)
    return QuantizeResult(out, mode, out.stat().st_size, src.stat().st_size, n_images, n_nodes)


__all__ = ["MODES", "QuantizeResult", "quantize_detector"]
