"""The CLI contract: JSON Lines out, one line per error, exit codes."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspect_cv.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def write_scene(path: Path, red_at=(64, 32)):
    img = np.full((128, 256, 3), 255, np.uint8)
    x, y = red_at
    img[y:y + 32, x:x + 32] = (0, 0, 255)  # BGR for cv2.imwrite: red
    cv2.imwrite(str(path), img)
    return path


@pytest.fixture
def scans(tmp_path):
    d = tmp_path / "scans"
    (d / "sub").mkdir(parents=True)
    write_scene(d / "a.png")
    write_scene(d / "sub" / "b.png", red_at=(160, 32))
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (d / "notes.txt").write_text("not an image")
    return d


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_detect_jsonl_contract(grid_model, scans, capsys):
    code, out, err = run_cli(capsys, "detect", scans, "--model", grid_model)
    assert code == 0
    lines = [json.loads(line) for line in out.strip().splitlines()]
    by_name = {Path(r["image"]).name: r for r in lines}
    assert set(by_name) == {"a.png", "b.png", "broken.png"}  # .txt is not an image file
    a = by_name["a.png"]
    assert set(a) == {"image", "width", "height", "detections", "alarm", "ms"}
    assert (a["width"], a["height"]) == (256, 128) and a["alarm"] is True
    assert a["detections"] == [{"label": "red_thing", "score": pytest.approx(1.0, abs=1e-3),
                                "box": [64.0, 32.0, 96.0, 64.0]}]
    assert by_name["b.png"]["detections"][0]["box"] == [160.0, 32.0, 192.0, 64.0]
    assert set(by_name["broken.png"]) == {"image", "error"}
    assert "broken.png" in by_name["broken.png"]["error"]
    assert "3 inputs, 2 processed, 2 alarms, 1 errors" in err


def test_detect_out_file_and_vis(grid_model, scans, tmp_path, capsys):
    out_file, vis = tmp_path / "res.jsonl", tmp_path / "vis"
    code, out, _ = run_cli(capsys, "detect", scans / "a.png", "--model", grid_model, "--out", out_file,
                           "--save-vis", vis, "--conf", "0.9", "--tile", "off")
    assert code == 0 and out == ""
    rec = json.loads(out_file.read_text())
    assert rec["alarm"] is True
    png = cv2.imread(str(vis / "a.png"))
    assert png is not None and png.shape[1] == 256 and png.shape[0] > 128  # banner on top


def test_every_input_failing_is_an_error(grid_model, tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"")
    code, out, err = run_cli(capsys, "detect", bad, tmp_path / "missing.png", "--model", grid_model)
    assert code == 1
    recs = [json.loads(x) for x in out.splitlines()]
    assert all("error" in r for r in recs) and len(recs) == 2


def test_usage_errors(grid_model, scans, capsys):
    code, _, err = run_cli(capsys, "detect", scans, "--model", grid_model, "--conf", "3")
    assert code == 2 and "--conf" in err
    with pytest.raises(SystemExit) as e:
        main(["detect", str(scans)])  # --model missing
    assert e.value.code == 2


def test_missing_model_is_one_line(scans, capsys):
    code, out, err = run_cli(capsys, "detect", scans, "--model", "nonexistent-model")
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err and "nonexistent-model" in err


def test_models_json(grid_model, capsys, monkeypatch):
    monkeypatch.setenv("INSPECT_CV_MODELS", str(grid_model.parent))
    code, out, _ = run_cli(capsys, "models", "--json")
    rows = json.loads(out)
    grid = next(r for r in rows if r["name"] == "grid")
    assert grid["task"] == "detect" and grid["classes"] == ["blue_thing", "red_thing"]
    assert len(grid["sha256"]) == 64 and grid["input_size"] == [128, 128]


def test_console_entry_point_runs(grid_model, scans):
    out = subprocess.run([sys.executable, "-m", "inspect_cv", "detect", str(scans / "a.png"), "--model",
                          str(grid_model)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["detections"][0]["label"] == "red_thing"
    bad = subprocess.run([sys.executable, "-m", "inspect_cv", "detect", str(scans / "a.png"), "--model", "nope"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    dbg = subprocess.run([sys.executable, "-m", "inspect_cv", "--debug", "detect", str(scans / "a.png"), "--model",
                          "nope"], capture_output=True, text=True, cwd=ROOT)
    assert "Traceback" in dbg.stderr


def test_demo_runs_the_shipped_models(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("INSPECT_CV_MODELS", raising=False)
    code, out, err = run_cli(capsys, "demo", "--out", tmp_path)
    assert code == 0
    assert "synthetic_bag_1_pseudocolour.jpg" in out and "3 of 3 demos ran" in err
    horse_rows = [line for line in out.splitlines() if line.startswith("synthetic_horse")]
    assert len(horse_rows) == 4 and all(r.split()[1].startswith("horse") for r in horse_rows)
    assert len(list((tmp_path / "baggage").glob("*.png"))) == 5
    ctr = {line.split()[0]: line for line in out.splitlines() if line.startswith("synthetic_20ft")}
    assert len(ctr) == 3 and len(list((tmp_path / "container").glob("*.png"))) == 3
    assert "declared empty but cargo seen" in ctr["synthetic_20ft_1_declared_empty"]
    assert "EMPTY" in ctr["synthetic_20ft_3_empty"] and ctr["synthetic_20ft_3_empty"].rstrip().endswith("consistent")


def test_demo_goes_on_when_an_enrolment_photo_is_rejected(tmp_path, capsys, monkeypatch):
    from inspect_cv.errors import PhotoRejectedError
    from inspect_cv.reid.gallery import Gallery

    real = Gallery.enroll

    def enroll(self, horse_id, photos=(), **kw):
        if horse_id == "horse2":
            raise PhotoRejectedError("face crop is 46x82 px", "too_small", "synthetic_horse2_enrol.jpg")
        return real(self, horse_id, photos, **kw)

    monkeypatch.setattr(Gallery, "enroll", enroll)
    monkeypatch.delenv("INSPECT_CV_MODELS", raising=False)
    code, out, _ = run_cli(capsys, "demo", "--out", tmp_path)
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("synthetic_horse")}
    assert len(rows) == 4 and "not enrolled" in rows["synthetic_horse2_check.jpg"]
    assert "too_small" in rows["synthetic_horse2_check.jpg"]


def _coco_set(root: Path, n: int, with_red: bool) -> Path:
    (root / "images").mkdir(parents=True)
    images, anns = [], []
    for i in range(n):
        name = f"images/{i:03d}.png"
        if with_red:
            write_scene(root / name, red_at=(64, 32))
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 2, "bbox": [64, 32, 32, 32],
                         "area": 1024, "iscrowd": 0})
        else:
            cv2.imwrite(str(root / name), np.full((128, 256, 3), 255, np.uint8))
        images.append({"id": i + 1, "file_name": name, "width": 256, "height": 128})
    cats = [{"id": 1, "name": "blue_thing"}, {"id": 2, "name": "red_thing"}]
    (root / "annotations.json").write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return root


def test_evaluate_scores_several_data_sets_as_one(grid_model, tmp_path, capsys):
    threats = _coco_set(tmp_path / "threats", 3, with_red=True)
    clean = _coco_set(tmp_path / "clean", 4, with_red=False)
    code, out, _ = run_cli(capsys, "evaluate", "--model", grid_model, "--data", threats, clean,
                           "--out", tmp_path / "ev")
    assert code == 0
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert (m["n_images"], m["n_threat_images"], m["n_benign_images"], m["n_boxes"]) == (7, 3, 4, 3)
    assert m["per_class"]["red_thing"]["ap50"] == pytest.approx(1.0)
    assert m["alarm"]["tar@far0.01"] == pytest.approx(1.0)
    code, _, err = run_cli(capsys, "evaluate", "reid", "--model", grid_model, "--data", threats, clean)
    assert code == 1
    assert "one identity folder" in err
