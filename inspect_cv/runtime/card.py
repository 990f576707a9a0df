"""Model cards: what a model is, how to feed it, what it was trained on, how well it does.

The card travels inside the ONNX file as ``metadata_props`` (keys ``inspect_cv.<field>``,
non-string values JSON-encoded; see ``exported_models/README.md``) and beside it as
``<stem>.card.json`` and ``<stem>.md``. Reading a card needs only onnxruntime; writing
one into a model needs the ``onnx`` package (training / export side).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ModelCardError

PREFIX = "inspect_cv."
TASKS = ("detect", "embed")


@dataclass
class ModelCard:
    name: str
    task: str
    version: str = "0"
    classes: list[str] = field(default_factory=list)
    input_size: list[int] = field(default_factory=lambda: [640, 640])  # [height, width]
    colour: str = "rgb"
    normalize: dict = field(default_factory=lambda: {"scale": 1 / 255, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]})
    letterbox: dict = field(default_factory=lambda: {"pad_value": 255, "stride": 32})
    box_format: str = "xyxy"
    output_format: str = "nms"
    alarm_classes: list[str] | None = None
    defaults: dict = field(default_factory=lambda: {"conf": 0.25, "iou": 0.5})
    tiling: dict | None = None
    training_data: Any = None
    metrics: Any = None
    weights_sha256: str = ""
    embedding_dim: int | None = None
    description: str = ""
    licence: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ModelCardError(f"card of '{self.name}': task must be one of {TASKS}, got {self.task!r}")
        if len(self.input_size) != 2 or min(self.input_size) <= 0:
            raise ModelCardError(f"card of '{self.name}': input_size must be [height, width], got {self.input_size}")
        if self.task == "detect" and not self.classes:
            raise ModelCardError(f"card of '{self.name}': a detector card needs its class names")

    # -- metadata_props ---------------------------------------------------------------
    def to_metadata(self) -> dict[str, str]:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[PREFIX + f.name] = value if isinstance(value, str) else json.dumps(value)
        return out

    @classmethod
    def from_metadata(cls, meta: dict[str, str], source: str = "model") -> "ModelCard":
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, raw in meta.items():
            if not key.startswith(PREFIX):
                continue
            name = key[len(PREFIX):]
            if name not in known:
                kwargs.setdefault("extra", {})[name] = raw
                continue
            if known[name].type in ("str",) or name in ("name", "task", "version", "colour", "box_format",
                                                          "output_format", "weights_sha256", "description", "licence"):
                kwargs[name] = raw
            else:
                try:
                    kwargs[name] = json.loads(raw)
                except json.JSONDecodeError as e:
                    raise ModelCardError(f"{source}: card field '{name}' is not valid JSON ({e.msg})") from None
        for required in ("name", "task"):
            if required not in kwargs:
                raise ModelCardError(f"{source}: not an inspect-cv model (no '{PREFIX}{required}' in its metadata)")
        return cls(**kwargs)

    # -- sidecar files ------------------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def alarm_set(self) -> list[str]:
        return list(self.alarm_classes) if self.alarm_classes is not None else list(self.classes)

    def to_markdown(self, file_sha256: str | None = None) -> str:
        lines = [f"# Model card: `{self.name}` (v{self.version})", ""]
        if self.description:
            lines += [self.description, ""]
        lines += ["| field | value |", "|---|---|", f"| task | {self.task} |"]
        if self.classes:
            lines.append(f"| classes | {', '.join(self.classes)} |")
        lines += [
            f"| input size (h, w) | {self.input_size[0]} x {self.input_size[1]} |",
            f"| colour | {self.colour} |",
            f"| normalisation | `{json.dumps(self.normalize)}` |",
            f"| output | {self.output_format}" + (f", boxes {self.box_format}" if self.task != "embed" else "") + " |",
        ]
        if self.embedding_dim:
            lines.append(f"| embedding dim | {self.embedding_dim} |")
        if self.licence:
            lines.append(f"| licence | {self.licence} |")
        lines.append(f"| weights sha256 | `{self.weights_sha256}` |")
        if file_sha256:
            lines.append(f"| file sha256 | `{file_sha256}` |")
        for title, value in (("Training data", self.training_data), ("Metrics", self.metrics)):
            if value:
                lines += ["", f"## {title}", "", "```json", json.dumps(value, indent=2), "```"]
        return "\n".join(lines) + "\n"


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def weights_sha256(model) -> str:
    """sha256 over the raw bytes of an ``onnx.ModelProto``'s initialisers, in graph order."""
    from onnx import numpy_helper  # lazy: export side only

    h = hashlib.sha256()
    for init in model.graph.initializer:
        h.update(init.name.encode())
        h.update(numpy_helper.to_array(init).tobytes())
    return h.hexdigest()


def embed_card(model, card: ModelCard) -> None:
    """Write ``card`` into an ``onnx.ModelProto``'s metadata_props (replacing any old card)."""
    card.weights_sha256 = weights_sha256(model)
    keep = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith(PREFIX)]
    del model.metadata_props[:]
    for key, value in keep + list(card.to_metadata().items()):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def write_sidecars(onnx_path: str | Path, card: ModelCard) -> tuple[Path, Path]:
    """Write ``<stem>.card.json`` and ``<stem>.md`` beside the model file."""
    onnx_path = Path(onnx_path)
    digest = file_sha256(onnx_path)
    data = card.to_dict() | {"file": onnx_path.name, "file_sha256": digest,
                             "file_bytes": onnx_path.stat().st_size}
    json_path = onnx_path.with_suffix(".card.json")
    md_path = onnx_path.with_suffix(".md")
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    md_path.write_text(card.to_markdown(digest))
    return json_path, md_path


def read_sidecar(onnx_path: str | Path) -> dict | None:
    p = Path(onnx_path).with_suffix(".card.json")
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise ModelCardError(f"{p}: not valid JSON ({e.msg})") from None
