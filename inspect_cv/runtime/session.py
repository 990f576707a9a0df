"""One cached onnxruntime session per model file (and device / thread settings)."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError, ModelNotFoundError

_CACHE: dict[tuple, "SessionInfo"] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple  # ints for fixed dims, strings / None for dynamic ones
    dtype: str


@dataclass
class SessionInfo:
    session: object  # onnxruntime.InferenceSession
    path: Path
    providers: list[str]
    inputs: dict[str, TensorInfo]
    outputs: dict[str, TensorInfo]
    metadata: dict[str, str]


def providers_for(device: str | None) -> list[str]:
    """Execution providers in order of preference: CUDA then CPU (``device`` narrows it)."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    device = (device or "auto").lower()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device in ("cuda", "gpu"):
        if "CUDAExecutionProvider" not in available:
            raise ModelError("device 'cuda' asked for, but this onnxruntime has no CUDA provider: "
                             "pip install 'inspect-cv[gpu]' on a machine with an NVIDIA GPU")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device != "auto":
        raise ModelError(f"unknown device {device!r}: use auto, cpu or cuda")
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def get_session(path: str | Path, device: str | None = None, threads: int | None = None) -> SessionInfo:
    """Return the cached session for ``path`` (created on first use)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ModelNotFoundError(f"{path}: no such model file")
    threads = threads if threads is not None else int(os.environ.get("INSPECT_CV_THREADS", "0"))
    key = (str(path), path.stat().st_mtime_ns, (device or "auto").lower(), threads)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        providers = providers_for(device)
        try:
            sess = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
        except Exception as e:  # onnxruntime raises its own untyped errors
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(f"{path}: not a loadable ONNX model ({first})") from None

        def info(items) -> dict[str, TensorInfo]:
            return {i.name: TensorInfo(i.name, tuple(i.shape), i.type) for i in items}

        meta = dict(sess.get_modelmeta().custom_metadata_map)
        result = SessionInfo(sess, path, sess.get_providers(), info(sess.get_inputs()), info(sess.get_outputs()), meta)
        _CACHE[key] = result
        return result


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
