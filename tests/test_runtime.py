import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import inspect_cv
from inspect_cv.errors import IntegrityError, ModelCardError, ModelError, ModelNotFoundError
from inspect_cv.runtime.card import ModelCard


def scene(h=128, w=256, dtype=np.uint8):
    hi = np.iinfo(dtype).max
    img = np.full((h, w, 3), hi, dtype)
    img[32:64, 64:96] = (hi, 0, 0)  # red square on one 16-px cell after letterbox (scale 0.5)
    return img


def test_load_reads_card_and_io_from_model(grid_model):
    det = inspect_cv.load(grid_model)
    assert det.card.name == "grid-test" and det.classes == ("blue_thing", "red_thing")
    assert det.input_size == (128, 128)
    assert det.info.inputs["images"].shape[0] == "N"
    assert "CPUExecutionProvider" in det.providers
    assert inspect_cv.load(grid_model).info is det.info  # one cached session per file


def test_predict_maps_boxes_to_original_pixels(grid_model):
    det = inspect_cv.load(grid_model)
    r = det.predict(scene())
    assert r.label_names == ["red_thing"]
    assert np.allclose(r.boxes, [[64, 32, 96, 64]], atol=0.5)
    assert r.image_size == (128, 256)
    assert det.alarm(r)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_predict_batch_any_size_and_depth(grid_model, dtype):
    det = inspect_cv.load(grid_model)
    imgs = [scene(dtype=dtype), scene(dtype=dtype)[:, ::-1].copy(), np.full((300, 40), np.iinfo(dtype).max, dtype)]
    rs = det.predict(imgs)
    assert isinstance(rs, list) and len(rs) == 3
    assert np.allclose(rs[0].boxes, [[64, 32, 96, 64]], atol=0.5)
    assert np.allclose(rs[1].boxes, [[160, 32, 192, 64]], atol=0.5)
    assert len(rs[2]) == 0  # blank grey image: nothing


def test_conf_threshold_reaches_the_graph(grid_model):
    det = inspect_cv.load(grid_model)
    img = scene()
    img[32:64, 64:96] = (255, 90, 90)  # a paler red: darkness of B = 0.65 -> score ~0.95
    assert len(det.predict(img, conf=0.5)) == 1
    assert len(det.predict(img, conf=0.99)) == 0
    with pytest.raises(inspect_cv.InspectCVError):
        det.predict(img, conf=1.5)


def test_raw_and_nms_formats_agree(grid_model, grid_model_raw):
    imgs = [scene(), scene()[::-1].copy()]
    a = inspect_cv.load(grid_model).predict(imgs)
    b = inspect_cv.load(grid_model_raw).predict(imgs)
    for x, y in zip(a, b):
        assert np.allclose(x.sort().boxes, y.sort().boxes) and (x.sort().labels == y.sort().labels).all()


def test_fixed_batch_model_runs_batches(tmp_path):
    from fixture_models import grid_detector

    det = inspect_cv.load(grid_detector(tmp_path / "fixed.onnx", dynamic_batch=False))
    assert det.fixed_batch == 1
    assert len(det.predict([scene()] * 3)) == 3


def test_integrity_check_refuses_altered_file(grid_model, tmp_path):
    p = tmp_path / "copy.onnx"
    shutil.copy(grid_model, p)
    shutil.copy(grid_model.with_suffix(".card.json"), p.with_suffix(".card.json"))
    inspect_cv.load(p)
    card = json.loads(p.with_suffix(".card.json").read_text())
    card["file_sha256"] = "0" * 64
    p.with_suffix(".card.json").write_text(json.dumps(card))
    with pytest.raises(IntegrityError):
        inspect_cv.load(p)


def test_bad_model_inputs(tmp_path):
    with pytest.raises(ModelNotFoundError):
        inspect_cv.load(tmp_path / "missing.onnx")
    with pytest.raises(ModelNotFoundError, match="no bundled model"):
        inspect_cv.load("no-such-model-name")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelError):
        inspect_cv.load(junk)


def test_model_without_card_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Identity", ["images"], ["out"])], "g",
                          [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 8, 8])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, tmp_path / "plain.onnx")
    with pytest.raises(ModelCardError, match="not an inspect-cv model"):
        inspect_cv.load(tmp_path / "plain.onnx")


def test_card_round_trip_and_validation():
    c = ModelCard(name="x", task="detect", classes=["a"], metrics={"map50": 0.9}, input_size=[64, 96])
    back = ModelCard.from_metadata(c.to_metadata())
    assert back == c
    with pytest.raises(ModelCardError):
        ModelCard(name="x", task="segment")
    with pytest.raises(ModelCardError):
        ModelCard(name="x", task="detect")  # no classes
    assert "map50" in c.to_markdown()


def test_registry_lists_models_from_env(grid_model, monkeypatch):
    monkeypatch.setenv("INSPECT_CV_MODELS", str(grid_model.parent))
    names = [m.name for m in inspect_cv.list_models()]
    assert "grid" in names
    det = inspect_cv.load("grid")
    assert det.card.name == "grid-test"


def test_embedder(embed_model):
    emb = inspect_cv.load(embed_model)
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (50, 70, 3), dtype=np.uint8) for _ in range(3)]
    e = emb.embed(imgs)
    assert e.shape == (3, 8) and e.dtype == np.float32
    assert np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert np.allclose(emb.embed(imgs[1]), e[1:2], atol=1e-5)
    # flip test-time augmentation: a mirror image gets the same embedding, a symmetric one
    # gets its plain embedding; the card can ask for it; unknown names are refused
    f = emb.embed(imgs, tta="flip")
    assert f.shape == (3, 8) and np.allclose(np.linalg.norm(f, axis=1), 1, atol=1e-5)
    assert np.allclose(emb.embed([im[:, ::-1] for im in imgs], tta="flip"), f, atol=1e-5)
    assert not np.allclose(f, e, atol=1e-3)
    sym = np.concatenate([imgs[0][:, :35], imgs[0][:, :35][:, ::-1]], axis=1)
    assert np.allclose(emb.embed(sym, tta="flip"), emb.embed(sym), atol=1e-5)
    emb.card.extra = {"tta": "flip"}
    assert np.allclose(emb.embed(imgs), f, atol=1e-6)
    with pytest.raises(inspect_cv.errors.InputError):
        emb.embed(imgs, tta="rotate")


def test_runtime_never_imports_torch(grid_model):
    code = f"""
import sys, numpy as np
import inspect_cv
det = inspect_cv.load({str(grid_model)!r})
img = np.full((128, 256, 3), 255, np.uint8); img[32:64, 64:96] = (255, 0, 0)
r = det.predict(img)
r = det.predict(np.full((1200, 5000), 60000, np.uint16), tile=128)
assert len(det.predict(img)) == 1
bad = [m for m in sys.modules if m == "torch" or m.startswith("torch.")]
assert not bad, bad
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_import_is_cheap():
    code = "import sys, inspect_cv; print(sorted(m for m in ('onnxruntime', 'cv2', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
