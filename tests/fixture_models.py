"""Tiny hand-built ONNX detectors for tests (no torch, no training).

``grid_detector`` is a real, if simple, detector: it divides the letterboxed input into
``cell`` x ``cell`` squares and scores each square by how dark its red channel
(class ``blue_thing``) or blue channel (class ``red_thing``) is on average. A
saturated red square aligned with one cell is therefore found as exactly one
``red_thing`` box, which lets the tests check letterboxing, batching, thresholds,
the in-graph NMS and the mapping back to original pixels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ["blue_thing", "red_thing"]


def grid_detector(path: Path, size: int = 128, cell: int = 16, output_format: str = "nms",
                  name: str = "grid-test", dynamic_batch: bool = True, tiling: dict | None = None) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from inspect_cv.runtime.card import ModelCard, embed_card, write_sidecars

    g = size // cell
    ys, xs = np.mgrid[0:g, 0:g]
    cells = np.stack([xs * cell, ys * cell, (xs + 1) * cell, (ys + 1) * cell], -1).reshape(1, -1, 4)
    inits = [
        numpy_helper.from_array(cells.astype(np.float32), "cell_boxes"),
        numpy_helper.from_array(np.array([0.5], np.float32), "half"),
        numpy_helper.from_array(np.array([20.0], np.float32), "gain"),
        numpy_helper.from_array(np.array([1.0], np.float32), "one"),
        numpy_helper.from_array(np.array([0, 2], np.int64), "chan_idx"),  # R and B channels
        numpy_helper.from_array(np.array([0, -1, g * g], np.int64), "shape_scores"),
        numpy_helper.from_array(np.array([1000], np.int64), "max_out"),
        numpy_helper.from_array(np.array([0, 2], np.int64), "nb_idx"),
        numpy_helper.from_array(np.array([1], np.int64), "col1"),
        numpy_helper.from_array(np.array([0], np.int64), "col0"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
    ]
    batch = "N" if dynamic_batch else 1
    nodes = [
        helper.make_node("Gather", ["images", "chan_idx"], ["rb"], axis=1),          # N,2,H,W
        helper.make_node("Sub", ["one", "rb"], ["dark"]),                            # darkness
        helper.make_node("AveragePool", ["dark"], ["pooled"], kernel_shape=[cell, cell], strides=[cell, cell]),
        helper.make_node("Reshape", ["pooled", "shape_scores"], ["flat"]),           # N,2,A
        helper.make_node("Sub", ["flat", "half"], ["centred"]),
        helper.make_node("Mul", ["centred", "gain"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["cls_scores"]),                     # N,C,A
        helper.make_node("Shape", ["images"], ["in_shape"]),
        helper.make_node("Gather", ["in_shape", "col0"], ["n_img"]),
        helper.make_node("Concat", ["n_img", "col1", "col1"], ["tile_reps"], axis=0),
        helper.make_node("Tile", ["cell_boxes", "tile_reps"], ["all_boxes"]),        # N,A,4
    ]
    outputs = []
    inputs = [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, size, size])]
    if output_format == "nms":
        inputs += [helper.make_tensor_value_info("conf_threshold", TensorProto.FLOAT, [1]),
                   helper.make_tensor_value_info("iou_threshold", TensorProto.FLOAT, [1])]
        nodes += [
            helper.make_node("NonMaxSuppression", ["all_boxes", "cls_scores", "max_out", "iou_threshold",
                                                   "conf_threshold"], ["sel"]),
            helper.make_node("Gather", ["sel", "nb_idx"], ["sel_nb"], axis=1),
            helper.make_node("GatherND", ["all_boxes", "sel_nb"], ["det_boxes"]),
            helper.make_node("GatherND", ["cls_scores", "sel"], ["det_scores"]),
            helper.make_node("Gather", ["sel", "col1"], ["lab2"], axis=1),
            helper.make_node("Squeeze", ["lab2", "axis1"], ["det_labels"]),
            helper.make_node("Gather", ["sel", "col0"], ["bat2"], axis=1),
            helper.make_node("Squeeze", ["bat2", "axis1"], ["det_batch"]),
        ]
        outputs = [helper.make_tensor_value_info("det_boxes", TensorProto.FLOAT, ["M", 4]),
                   helper.make_tensor_value_info("det_scores", TensorProto.FLOAT, ["M"]),
                   helper.make_tensor_value_info("det_labels", TensorProto.INT64, ["M"]),
                   helper.make_tensor_value_info("det_batch", TensorProto.INT64, ["M"])]
    else:
        nodes += [helper.make_node("Transpose", ["cls_scores"], ["scores"], perm=[0, 2, 1]),
                  helper.make_node("Identity", ["all_boxes"], ["boxes"])]
        outputs = [helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [batch, g * g, 4]),
                   helper.make_tensor_value_info("scores", TensorProto.FLOAT, [batch, g * g, len(CLASSES)])]
    graph = helper.make_graph(nodes, "grid_detector", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    card = ModelCard(name=name, task="detect", version="test", classes=list(CLASSES), input_size=[size, size],
                     output_format=output_format, defaults={"conf": 0.5, "iou": 0.5}, tiling=tiling,
                     training_data={"note": "hand-built test model, not trained"})
    embed_card(model, card)
    path = Path(path)
    onnx.save(model, path)
    write_sidecars(path, card)
    return path


def tiny_embedder(path: Path, size: int = 32, dim: int = 8, name: str = "embed-test") -> Path:
    """A fixed random projection of the average-pooled image: a deterministic embedder."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from inspect_cv.runtime.card import ModelCard, embed_card, write_sidecars

    rng = np.random.default_rng(0)
    w = rng.normal(size=(3 * 4 * 4, dim)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "proj"), numpy_helper.from_array(np.array([0, -1], np.int64), "flat_shape")]
    k = size // 4
    nodes = [
        helper.make_node("AveragePool", ["images"], ["pooled"], kernel_shape=[k, k], strides=[k, k]),
        helper.make_node("Reshape", ["pooled", "flat_shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "proj"], ["raw"]),
        helper.make_node("LpNormalization", ["raw"], ["embeddings"], axis=1, p=2),
    ]
    graph = helper.make_graph(nodes, "tiny_embedder",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, size, size])],
                              [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["N", dim])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    card = ModelCard(name=name, task="embed", version="test", input_size=[size, size], embedding_dim=dim,
                     normalize={"scale": 1 / 255, "mean": [0.5] * 3, "std": [0.25] * 3})
    embed_card(model, card)
    path = Path(path)
    onnx.save(model, path)
    write_sidecars(path, card)
    return path
