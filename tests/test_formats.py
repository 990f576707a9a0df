"""Tests of inspect_cv.formats: COCO/YOLO/VOC round trips, native X-ray readers, ops, CLI.

Native fixtures: the annotation files under tests/fixtures/formats/ are written in each
dataset's exact on-disk syntax; the images (blank, with the sizes the annotations were
written for) are generated here in tmp_path.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspect_cv.errors import ConfigError, DatasetError, UnsupportedFormatError
from inspect_cv.formats import (FORMATS, DetectionDataset, ImageRecord, convert, merge, read_coco,
                                read_dataset, read_gdxray, read_hixray, read_opixray, read_pidray,
                                read_sixray, read_sixray_labels, read_voc, read_yolo, remap, split, stats,
                                write_coco, write_dataset, write_voc, write_yolo)
from inspect_cv.formats._util import image_size

FIX = Path(__file__).parent / "fixtures" / "formats"


def _img(path: Path, w: int, h: int, channels: int = 3) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (h, w, channels) if channels > 1 else (h, w)
    img = np.full(shape, 200, np.uint8)
    cv2.rectangle(img, (w // 4, h // 4), (w // 2, h // 2), (40, 90, 160) if channels > 1 else 60, -1)
    ext = path.suffix.lower()
    assert cv2.imwrite(str(path), img) if ext != ".tiff" else cv2.imwrite(str(path), img, [])


def _copy(name: str, tmp: Path) -> Path:
    dst = tmp / name
    shutil.copytree(FIX / name, dst)
    return dst


def _assert_boxes(actual, expected, tol=1e-4):
    np.testing.assert_allclose(np.asarray(actual, np.float64).reshape(-1, 4),
                               np.asarray(expected, np.float64).reshape(-1, 4), atol=tol)


# ---- fixtures for the native layouts --------------------------------------------------------

@pytest.fixture
def opixray(tmp_path):
    root = _copy("opixray", tmp_path) / "OPIXray_Dataset"
    for i in ("009000", "009001", "009002", "009003"):
        _img(root / "test" / "test_image" / f"{i}.jpg", 1225, 954)  # the dataset's real size
    _img(root / "train" / "train_image" / "000001.jpg", 1225, 954)
    return root


@pytest.fixture
def hixray(tmp_path):
    root = _copy("hixray", tmp_path)
    _img(root / "train" / "train_image" / "0001.jpg", 320, 240)
    _img(root / "train" / "train_image" / "0002.jpg", 320, 240)
    _img(root / "train" / "train_image" / "0003.tiff", 160, 120)  # reference tries TIFF, tiff, jpg
    return root


@pytest.fixture
def sixray_battery(tmp_path):
    root = _copy("sixray_battery", tmp_path)
    _img(root / "Image" / "core_battery00000001.tiff", 400, 300)
    _img(root / "Image" / "coreless_battery00006602.jpg", 400, 300)
    return root


@pytest.fixture
def sixray_voc(tmp_path):
    root = _copy("sixray_voc", tmp_path)
    for i in ("P00001", "P00002"):
        _img(root / "JPEGImages" / f"{i}.jpg", 160, 120)
    return root


@pytest.fixture
def pidray(tmp_path):
    root = _copy("pidray", tmp_path)
    for name in ("annotations/xray_test_easy.json", "annotations/xray_test_hard.json"):
        data = json.loads((root / name).read_text())
        sub = "easy" if "easy" in name else "hard"
        for im in data["images"]:
            _img(root / sub / im["file_name"], im["width"], im["height"])
    return root


@pytest.fixture
def gdxray(tmp_path):
    root = _copy("gdxray", tmp_path) / "Baggages"
    for s, n in (("B0001", 4), ("B0046", 2), ("B0004", 1), ("B0007", 2)):
        for i in range(1, n + 1):
            _img(root / s / f"{s}_{i:04d}.png", 400, 300, channels=1)
    return root


# ---- a small generic dataset -----------------------------------------------------------------

def _generic(tmp: Path) -> DetectionDataset:
    root = tmp / "src"
    _img(root / "a.jpg", 64, 48)
    _img(root / "sub" / "b.png", 60, 40)
    _img(root / "c.jpg", 64, 48)
    recs = [ImageRecord("a.jpg", 64, 48, [[1.3, 2.0, 30.7, 40.0], [0, 0, 64, 48]], [0, 1],
                        {"box": {"difficult": [0, 1]}}),
            ImageRecord("sub/b.png", 60, 40, [[10.25, 5.5, 20.75, 39.0]], [2]),
            ImageRecord("c.jpg", 64, 48)]
    return DetectionDataset(["cat", "dog", "Multi-tool_Knife"], recs, root)


def _by_name(ds):
    return {Path(r.file_name).name: r for r in ds.images}


def _same(a: DetectionDataset, b: DetectionDataset, tol: float = 0.0):
    ra, rb = _by_name(a), _by_name(b)
    assert set(ra) == set(rb)
    for k in ra:
        x, y = ra[k], rb[k]
        assert (x.width, x.height) == (y.width, y.height)
        assert [a.classes[i] for i in x.labels] == [b.classes[i] for i in y.labels]
        if tol == 0:
            assert np.array_equal(x.boxes, y.boxes), (k, x.boxes, y.boxes)
        else:
            _assert_boxes(x.boxes, y.boxes, tol)
        assert a.image_path(x).resolve().read_bytes() == b.image_path(y).resolve().read_bytes()


def test_coco_round_trip_exact(tmp_path):
    ds = _generic(tmp_path)
    ds.images[0].attrs["id"] = 17
    ds.images[1].attrs["id"] = 4
    ds.images[2].attrs["id"] = 9
    js = write_coco(ds, tmp_path / "coco" / "ann.json")
    data = json.loads(js.read_text())
    assert [c["id"] for c in data["categories"]] == [1, 2, 3]
    assert [c["name"] for c in data["categories"]] == ds.classes
    assert [im["id"] for im in data["images"]] == [17, 4, 9]
    a0 = data["annotations"][0]
    assert a0["bbox"] == [1.3, 2, 29.4, 38] and a0["iscrowd"] == 0
    assert a0["area"] == pytest.approx(29.4 * 38)
    back = read_coco(js)
    _same(ds, back)
    assert back.classes == ds.classes
    assert [r.attrs["id"] for r in back.images] == [17, 4, 9]


def test_yolo_round_trip(tmp_path):
    ds = _generic(tmp_path)
    yaml_path = write_yolo(ds, tmp_path / "yolo", split="val")
    lines = (tmp_path / "yolo" / "labels" / "val" / "a.txt").read_text().splitlines()
    assert lines[1] == "1 0.500000 0.500000 1.000000 1.000000"
    assert (tmp_path / "yolo" / "labels" / "val" / "c.txt").read_text() == ""
    for src in (yaml_path, tmp_path / "yolo"):
        back = read_yolo(src, split="val")
        assert back.classes == ds.classes
        _same(ds, back, tol=1e-3)


def test_voc_round_trip_and_convention(tmp_path):
    ds = _generic(tmp_path)
    out = write_voc(ds, tmp_path / "voc")
    xml = (out / "Annotations" / "a.xml").read_text()
    # a box at x1=0 (continuous) is pixel index 1 in VOC; x2 stays
    assert "<xmin>1</xmin>" in xml and "<xmax>64</xmax>" in xml and "<xmin>2.3</xmin>" in xml
    assert (out / "Annotations" / "sub" / "b.xml").is_file()
    back = read_voc(out, classes=ds.classes)
    _same(ds, back)
    assert _by_name(back)["a.jpg"].attrs["box"]["difficult"] == [0, 1]
    # without a class list the order is by name, independent of file order
    assert read_voc(out).classes == sorted(ds.classes)


def test_chain_coco_yolo_voc_coco(tmp_path):
    ds = _generic(tmp_path)
    convert_path = tmp_path / "c1"
    write_dataset(ds, convert_path, "coco")
    c = read_dataset(convert_path, "coco")
    write_dataset(c, tmp_path / "y", "yolo")
    y = read_dataset(tmp_path / "y" / "data.yaml", "yolo")
    write_dataset(y, tmp_path / "v", "voc")
    v = read_dataset(tmp_path / "v", "voc", classes=y.classes)
    write_dataset(v, tmp_path / "c2.json", "coco")
    c2 = read_dataset(tmp_path / "c2.json", "coco")
    _same(ds, c2, tol=1e-3)


# positions on a 1e-6 grid of the image (VOC's +1 offset cannot carry values below ~1e-16)
finite = st.integers(0, 10 ** 6).map(lambda k: k / 10 ** 6)


@st.composite
def datasets(draw):
    n_cls = draw(st.integers(1, 4))
    recs = []
    for i in range(draw(st.integers(1, 3))):
        w, h = draw(st.sampled_from([(64, 48), (50, 70)]))
        boxes, labels = [], []
        for _ in range(draw(st.integers(0, 4))):
            a, b, c, d = (draw(finite) for _ in range(4))
            x1, x2 = sorted((a * w, c * w))
            y1, y2 = sorted((b * h, d * h))
            if x2 - x1 < 0.01 or y2 - y1 < 0.01:
                continue
            boxes.append([x1, y1, x2, y2])
            labels.append(draw(st.integers(0, n_cls - 1)))
        recs.append(ImageRecord(f"im{i}_{w}.png", w, h, boxes, labels))
    return DetectionDataset([f"c{k}" for k in range(n_cls)], recs)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_round_trips_property(ds):
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        ds.root = d / "img"
        for r in ds.images:
            _img(ds.root / r.file_name, r.width, r.height, 1)
        _same(ds, read_coco(write_coco(ds, d / "c.json")))
        write_voc(ds, d / "voc")
        _same(ds, read_voc(d / "voc", classes=ds.classes))
        write_yolo(ds, d / "yolo")
        _same(ds, read_yolo(d / "yolo"), tol=1e-3)


def test_yolo_names_list_polygons_missing_labels(tmp_path):
    root = tmp_path / "y"
    _img(root / "images" / "train" / "x.jpg", 100, 50)
    _img(root / "images" / "train" / "y.jpg", 100, 50)  # no label file: no objects
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "train" / "x.txt").write_text("1 0.5 0.5 0.2 0.4\n\n0 0.1 0.2 0.3 0.2 0.2 0.6\n")
    (tmp_path / "data.yaml").write_text("path: y\ntrain: images/train\nnames: [gun, knife]\n")
    ds = read_yolo(tmp_path / "data.yaml")
    assert ds.classes == ["gun", "knife"]
    r = _by_name(ds)
    _assert_boxes(r["x.jpg"].boxes, [[40, 15, 60, 35], [10, 10, 30, 30]])
    assert list(r["x.jpg"].labels) == [1, 0]
    assert len(r["y.jpg"].boxes) == 0
    # no yaml at all: classes named by id
    assert read_yolo(root).classes == ["0", "1"]


def test_pidray(pidray):
    ds = read_pidray(pidray, "easy")
    assert ds.classes[:3] == ["Baton", "Pliers", "Hammer"] and len(ds.classes) == 12
    assert ds.warnings == []
    r = {Path(x.file_name).name: x for x in ds.images}
    assert set(r) == {"xray_easy00000.png", "xray_easy00001.png", "xray_easy04032.png"}
    assert r["xray_easy00000.png"].file_name == "easy/xray_easy00000.png"
    assert all(ds.image_path(x).is_file() for x in ds.images)
    _assert_boxes(r["xray_easy00000.png"].boxes, [[10, 10, 44, 33]])
    assert ds.classes[r["xray_easy00000.png"].labels[0]] == "Gun"
    assert ds.classes[r["xray_easy00001.png"].labels[0]] == "Lighter"
    assert ds.classes[r["xray_easy04032.png"].labels[0]] == "HandCuffs"
    assert r["xray_easy04032.png"].attrs["id"] == 4032
    assert r["xray_easy00000.png"].attrs["box"]["segmentation"][0][0][:2] == [10.0, 12.0]
    hard = read_pidray(pidray, "hard")
    assert [hard.classes[i] for i in hard.images[0].labels] == ["Baton", "Knife"]
    # polygons survive a COCO write
    back = read_coco(write_coco(ds, pidray / "out.json"))
    assert _by_name(back)["xray_easy00000.png"].attrs["box"]["segmentation"] == \
        r["xray_easy00000.png"].attrs["box"]["segmentation"]
    with pytest.raises(DatasetError):
        read_pidray(pidray, "hidden")


def test_opixray(opixray):
    ds = read_opixray(opixray, "test")
    assert ds.classes == ["Folding_Knife", "Straight_Knife", "Scissor", "Utility_Knife", "Multi-tool_Knife"]
    r = {x.attrs["id"]: x for x in ds.images}
    assert list(r) == ["009000", "009001", "009002", "009003"]
    assert r["009000"].file_name == "test/test_image/009000.jpg"
    assert (r["009000"].width, r["009000"].height) == (1225, 954)
    _assert_boxes(r["009000"].boxes, [[763, 486, 840, 549]])
    _assert_boxes(r["009001"].boxes, [[0, 100, 300, 954]])          # x1 -> 0, y2 -> height
    assert [ds.classes[i] for i in r["009001"].labels] == ["Folding_Knife"]  # Scissor x1 > width skipped
    _assert_boxes(r["009002"].boxes, [[1100, 900, 1225, 954]])      # 'Knife' unknown -> skipped
    # x1 == width is kept by the reference loader, then has no area: we drop it
    _assert_boxes(r["009003"].boxes, [[0, 0, 1225, 954]])
    assert ds.attrs["dropped"] == {"x1_beyond_width": 1, "unknown_class": 1, "degenerate": 1}
    assert ds.attrs["clamped"] == 3
    assert any("009002.txt:1" in w for w in ds.warnings)
    assert [r[i].attrs["occlusion"] for i in r] == [1, 2, 3, 1]
    ol1 = read_opixray(opixray.parent, "test", occlusion=1)  # parent of OPIXray_Dataset works too
    assert [x.attrs["id"] for x in ol1.images] == ["009000", "009003"]
    train = read_opixray(opixray, "train")
    assert [train.classes[i] for i in train.images[0].labels] == ["Scissor", "Folding_Knife"]


def test_hixray(hixray):
    ds = read_hixray(hixray, "train")
    assert len(ds.classes) == 8 and ds.classes[0] == "Portable_Charger_1"
    r = {x.attrs["id"]: x for x in ds.images}
    assert [ds.classes[i] for i in r["0001"].labels] == ["Portable_Charger_1", "Mobile_Phone", "Water"]
    _assert_boxes(r["0001"].boxes, [[10, 20, 60, 80], [100, 30, 150, 120], [200, 10, 320, 240]])
    assert [ds.classes[i] for i in r["0002"].labels] == ["Laptop"]
    assert r["0003"].file_name == "train/train_image/0003.tiff"
    assert (r["0003"].width, r["0003"].height) == (160, 120)
    _assert_boxes(r["0003"].boxes, [[50, 60, 70, 90], [0, 0, 100, 100], [0, 0, 20, 30]])
    assert ds.attrs["dropped"] == {"unknown_class": 1, "x1_beyond_width": 1}


def test_sixray_battery(sixray_battery):
    ds = read_sixray(sixray_battery)  # auto: Annotation/*.txt
    assert ds.attrs["variant"] == "battery"
    assert ds.classes == ["带电芯充电宝", "不带电芯充电宝"]
    r = {x.attrs["id"]: x for x in ds.images}
    assert r["core_battery00000001"].file_name == "Image/core_battery00000001.tiff"
    _assert_boxes(r["core_battery00000001"].boxes, [[50, 60, 150, 160]])  # side view (x1 > width) skipped
    _assert_boxes(r["coreless_battery00006602"].boxes, [[300, 200, 400, 300]])
    assert list(r["coreless_battery00006602"].labels) == [1]
    assert ds.attrs["dropped"] == {"x1_beyond_width": 1, "unknown_class": 1}
    core = read_sixray(sixray_battery, ids="core_500")
    assert [x.attrs["id"] for x in core.images] == ["core_battery00000001"]
    assert len(read_sixray(sixray_battery, ids=sixray_battery / "test_1650.txt")) == 2


def test_sixray_voc(sixray_voc):
    ds = read_sixray(sixray_voc)
    assert ds.attrs["variant"] == "voc"
    assert ds.classes == ["Gun", "Knife", "Wrench", "Pliers", "Scissors", "Hammer"]
    r = {x.attrs["id"]: x for x in ds.images}
    assert r["P00001"].file_name == "JPEGImages/P00001.jpg"
    assert [ds.classes[i] for i in r["P00001"].labels] == ["Knife", "Gun"]   # 'knife' matched case-insensitively
    _assert_boxes(r["P00001"].boxes, [[10, 20, 60, 70], [100, 50, 160, 119]])  # clamped to width 160
    assert [ds.classes[i] for i in r["P00002"].labels] == ["Scissors", "Hammer", "Wrench"]
    five = read_sixray(sixray_voc, classes=["Gun", "Knife", "Wrench", "Pliers", "Scissors"])
    assert five.attrs["dropped"] == {"unknown_class": 1} and five.num_boxes == 4
    labels = read_sixray_labels(sixray_voc / "labels.csv")
    assert labels == {"P00001": ["Gun", "Knife"], "P00002": ["Wrench", "Scissors"], "N0293159": []}


def test_gdxray(gdxray):
    ds = read_gdxray(gdxray.parent)  # GDXray/ or GDXray/Baggages both work
    assert ds.classes == ["object"]
    series = sorted({r.attrs["series"] for r in ds.images})
    assert series == ["B0001", "B0004", "B0046"]  # B0007 has no ground_truth.txt
    r = {r.file_name: r for r in ds.images}
    # 5 columns are i x1 x2 y1 y2
    _assert_boxes(r["B0001/B0001_0001.png"].boxes, [[10.5, 20.5, 120.5, 200.5], [300.5, 100, 400, 150]])
    _assert_boxes(r["B0001/B0001_0002.png"].boxes, [[50, 250, 60, 290]])
    assert len(r["B0001/B0001_0003.png"].boxes) == 0  # wholly outside: dropped
    assert len(r["B0001/B0001_0004.png"].boxes) == 0  # no rows: a negative image
    assert ds.attrs["dropped"] == {"degenerate": 1} and ds.attrs["clamped"] == 2
    # 9 columns: the bounding box of a rectangle rotated by 30 degrees about (100, 150)
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    hx, hy = 60 * c + 25 * s, 60 * s + 25 * c
    _assert_boxes(r["B0046/B0046_0001.png"].boxes, [[100 - hx, 150 - hy, 100 + hx, 150 + hy]], 1e-3)
    assert r["B0046/B0046_0002.png"].attrs == {"series": "B0046", "index": 2}
    _assert_boxes(r["B0004/B0004_0001.png"].boxes, [[30.5, 25, 55.5, 45]])
    extra = read_gdxray(gdxray, series="B0004", extra_files=True, class_name="razor_blade")
    assert extra.classes == ["razor_blade", "razor_blades"]
    _assert_boxes(extra.images[0].boxes, [[30.5, 25, 55.5, 45], [29, 26, 56, 46]])
    only = read_gdxray(gdxray, series=["B0001"], include_empty=False, series_classes={"B0001": "gun"})
    assert only.classes == ["gun"] and len(only) == 3
    with pytest.raises(DatasetError, match="B0099"):
        read_gdxray(gdxray, series="B0099")


# ---- bad files ---------------------------------------------------------------------------------

def test_bad_native_lines(opixray, gdxray):
    ann = opixray / "test" / "test_annotation" / "009001.txt"
    ann.write_text("009001.jpg Folding_Knife 1 2 3 4\n009001.jpg Folding_Knife 1 2 3\n")
    with pytest.raises(DatasetError) as e:
        read_opixray(opixray)
    assert e.value.line == 2 and e.value.path.endswith("009001.txt") and "009001.txt:2" in str(e.value)
    ann.write_text("009001.jpg Folding_Knife 1 2 x 4\n")
    with pytest.raises(DatasetError, match=r"009001.txt:1: coordinate is not a number"):
        read_opixray(opixray)
    (opixray / "test" / "test_annotation" / "009001.txt").unlink()
    with pytest.raises(DatasetError) as e:
        read_opixray(opixray)
    assert e.value.path.endswith("test_knife.txt") and e.value.line == 2
    gt = gdxray / "B0001" / "ground_truth.txt"
    gt.write_text(gt.read_text() + "   1.0   2.0   3.0   4.0   5.0   6.0   7.0\n")
    with pytest.raises(DatasetError) as e:
        read_gdxray(gdxray)
    assert e.value.line == 5 and "5 or 9 columns, got 7" in str(e.value)
    gt.write_text("   1.5   2.0   3.0   4.0   5.0\n")
    with pytest.raises(DatasetError, match="ground_truth.txt:1"):
        read_gdxray(gdxray)
    gt.write_text("   9.0   2.0   3.0   4.0   5.0\n")  # no B0001_0009.png
    with pytest.raises(DatasetError, match="B0001_0009.png"):
        read_gdxray(gdxray)


def test_bad_interchange_files(tmp_path):
    (tmp_path / "bad.json").write_text('{"images": [\n{"id": 1,\n}]}')
    with pytest.raises(DatasetError) as e:
        read_coco(tmp_path / "bad.json")
    assert e.value.line == 3
    (tmp_path / "cat.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 5, "bbox": [0, 0, 1, 1]}],
        "categories": [{"id": 1, "name": "a"}]}))
    with pytest.raises(DatasetError, match="annotations\\[0\\]: unknown category_id 5"):
        read_coco(tmp_path / "cat.json")
    voc = tmp_path / "voc"
    voc.mkdir()
    (voc / "a.xml").write_text("<annotation>\n<filename>a.jpg</filename>\n<object>\n<name>x</name>\n</annotation>\n")
    with pytest.raises(DatasetError) as e:
        read_voc(voc)
    assert e.value.line == 5 and "malformed XML" in str(e.value)
    (voc / "a.xml").write_text("<annotation><size><width>9</width><height>9</height></size>\n<object>\n"
                               "<name>x</name>\n<bndbox>\n<xmin>1</xmin><ymin>1</ymin><xmax>4</xmax>\n"
                               "</bndbox></object></annotation>")
    with pytest.raises(DatasetError, match=r"a.xml:4: <bndbox> without <ymax>"):
        read_voc(voc)
    y = tmp_path / "y"
    _img(y / "images" / "train" / "a.jpg", 10, 10)
    (y / "labels" / "train").mkdir(parents=True)
    (y / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.1 0.1\nzero 0.5 0.5 0.1 0.1\n")
    with pytest.raises(DatasetError, match=r"a.txt:2: class id is not an integer"):
        read_yolo(y)
    (y / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.1\n")
    with pytest.raises(DatasetError, match=r"a.txt:1: expected"):
        read_yolo(y)
    (y / "data.yaml").write_text("names: [a]\n")
    (y / "labels" / "train" / "a.txt").write_text("3 0.5 0.5 0.1 0.1\n")
    with pytest.raises(DatasetError, match="label id 3 but only 1 names"):
        read_yolo(y)


# ---- registry, merge, split -----------------------------------------------------------------------

def test_registry():
    assert set(FORMATS) == {"coco", "yolo", "voc", "opixray", "sixray", "pidray", "hixray", "gdxray"}
    assert {k for k, v in FORMATS.items() if v.writer} == {"coco", "yolo", "voc"}
    with pytest.raises(UnsupportedFormatError):
        read_dataset("x", "kitti")
    with pytest.raises(UnsupportedFormatError):
        write_dataset(DetectionDataset([]), "x", "opixray")


def test_merge_with_label_map(opixray, hixray, pidray):
    a = read_opixray(opixray)
    b = read_hixray(hixray)
    c = read_pidray(pidray, "easy")
    lm = {"Folding_Knife": "knife", "Straight_Knife": "knife", "Utility_Knife": "knife",
          "Multi-tool_Knife": "knife", "Knife": "knife", "Scissor": "scissors", "Scissors": "scissors",
          "Water": None, "Portable_Charger_1": "powerbank", "Portable_Charger_2": "powerbank",
          "Powerbank": "powerbank"}
    m = merge([a, b, c], label_map=lm)
    assert m.classes[:3] == ["knife", "scissors", "powerbank"]
    assert "Water" not in m.classes and "Gun" in m.classes
    assert len(m) == len(a) + len(b) + len(c)
    assert m.num_boxes == a.num_boxes + b.num_boxes + c.num_boxes - 1  # one Water box dropped
    assert m.attrs["dropped"]["mapped_to_none"] == 1
    assert all(m.image_path(r).is_file() for r in m.images)
    assert len({r.file_name for r in m.images}) == len(m)
    assert {r.attrs["source"] for r in m.images} == {"opixray", "hixray", "pidray"}
    r0 = next(r for r in m.images if r.file_name.endswith("009000.jpg"))
    assert [m.classes[i] for i in r0.labels] == ["knife"]
    # fixed class list: others dropped
    k = merge([a, b], label_map=lm, classes=["knife"])
    assert k.classes == ["knife"] and k.num_boxes == 4  # one knife in each OPIXray test image
    st_ = stats(m)
    assert st_["images"] == len(m) and sum(st_["boxes_per_class"].values()) == m.num_boxes
    # remap leaves the input untouched
    before = a.images[0].labels.copy()
    remap(a, {"Straight_Knife": None})
    assert np.array_equal(a.images[0].labels, before)


def _names_dataset(names):
    return DetectionDataset(["x"], [ImageRecord(n, 10, 10, attrs={"g": n[:2]}) for n in names])


@settings(max_examples=25, deadline=None)
@given(st.sets(st.text("abcdefgh0123456789", min_size=1, max_size=8), min_size=1, max_size=60),
       st.integers(0, 2 ** 31), st.randoms(use_true_random=False))
def test_split_property(names, seed, rnd):
    names = sorted(names)
    fr = {"train": 0.7, "val": 0.2, "test": 0.1}
    a = split(_names_dataset(names), fr, seed=seed)
    shuffled = names[:]
    rnd.shuffle(shuffled)
    b = split(_names_dataset(shuffled), fr, seed=seed)
    sets = {k: [r.file_name for r in v.images] for k, v in a.items()}
    assert sets == {k: [r.file_name for r in v.images] for k, v in b.items()}
    flat = [n for v in sets.values() for n in v]
    assert sorted(flat) == names  # disjoint and complete
    for k, f in fr.items():
        assert abs(len(sets[k]) - f * len(names)) <= 1
    g = split(_names_dataset(shuffled), fr, seed=seed, group_by="g")
    where = {}
    for k, v in g.items():
        for r in v.images:
            assert where.setdefault(r.attrs["g"], k) == k


def test_split_seed_and_groups(gdxray):
    ds = _names_dataset([f"im{i:03d}" for i in range(200)])
    s0 = split(ds, seed=0)
    s1 = split(ds, seed=1)
    assert [len(s0[k]) for k in ("train", "val", "test")] == [160, 20, 20]
    assert {r.file_name for r in s0["val"].images} != {r.file_name for r in s1["val"].images}
    g = read_gdxray(gdxray)
    parts = split(g, {"train": 0.5, "test": 0.5}, seed=3, group_by="series")
    for part in parts.values():
        for s in {r.attrs["series"] for r in part.images}:
            assert all(r.attrs["series"] != s for p in parts.values() if p is not part for r in p.images)
    with pytest.raises(DatasetError):
        split(g, group_by="nope")


# ---- CLI --------------------------------------------------------------------------------------------

def _cli(argv):
    from inspect_cv.cli import convert as cli

    parser = argparse.ArgumentParser(prog="inspect-cv")
    sub = parser.add_subparsers()
    cli.register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_convert(opixray, tmp_path, capsys):
    lm = tmp_path / "map.yaml"
    lm.write_text("Straight_Knife: knife\nFolding_Knife: knife\nScissor: null\n")
    out = tmp_path / "yolo"
    rc = _cli(["convert", str(opixray), "--from", "opixray", "--to", "yolo", "--out", str(out),
               "--src-split", "test", "--label-map", str(lm), "--split", "train=0.5,val=0.5", "--seed", "3"])
    assert rc == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and "4 images" in line and "4 boxes" in line and "3 classes" in line
    tr, va = read_yolo(out / "data.yaml", "train"), read_yolo(out / "data.yaml", "val")
    assert len(tr) + len(va) == 4 and tr.classes == ["knife", "Utility_Knife", "Multi-tool_Knife"]
    assert all(image_size(tr.image_path(r)) == (1225, 954) for r in tr.images)
    rc = _cli(["convert", str(out / "data.yaml"), "--from", "yolo", "--to", "coco", "--out",
               str(tmp_path / "coco"), "--src-split", "val"])
    assert rc == 0 and f"{len(va)} images" in capsys.readouterr().out
    back = read_dataset(tmp_path / "coco", "coco")
    _same(va, back)
    with pytest.raises(ConfigError):
        _cli(["convert", str(opixray), "--from", "opixray", "--to", "voc", "--out", str(tmp_path / "v"),
              "--split", "train=abc"])
    with pytest.raises(SystemExit):
        _cli(["convert", str(opixray), "--from", "opixray", "--to", "opixray", "--out", "x"])


def test_convert_api_voc_split(hixray, tmp_path):
    parts = convert(hixray, "hixray", tmp_path / "voc", "voc", fractions={"train": 2, "val": 1}, seed=0)
    assert sum(len(p) for p in parts.values()) == 3
    for name, p in parts.items():
        back = read_voc(tmp_path / "voc" / name, classes=p.classes)
        _same(p, back)
        ids = (tmp_path / "voc" / name / "ImageSets" / "Main" / f"{name}.txt").read_text().split()
        assert len(ids) == len(p)


def test_image_size_header(tmp_path):
    img = np.zeros((37, 53, 3), np.uint8)
    for ext, params in ((".jpg", []), (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]), (".png", []),
                        (".bmp", []), (".tiff", [])):
        p = tmp_path / f"a{len(params)}{ext}"
        assert cv2.imwrite(str(p), img, params)
        assert image_size(p) == (53, 37)
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8garbage")
    with pytest.raises(DatasetError):
        image_size(tmp_path / "bad.jpg")
    with pytest.raises(DatasetError, match="image not found"):
        image_size(tmp_path / "none.png")


def test_cli_gdxray_grouped_split_to_coco(gdxray, tmp_path, capsys):
    rc = _cli(["convert", str(gdxray), "--from", "gdxray", "--to", "coco", "--out", str(tmp_path / "c"),
               "--split", "train=0.5,test=0.5", "--group-by", "series", "--seed", "1"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "7 images" in out and out.count("\n") == 1
    series = {}
    for part in ("train", "test"):
        ds = read_dataset(tmp_path / "c" / part, "coco")
        assert all(ds.image_path(r).is_file() for r in ds.images)
        for r in ds.images:
            assert series.setdefault(r.file_name.split("/")[0], part) == part
    assert sorted(series) == ["B0001", "B0004", "B0046"]


def test_coco_folder_with_names_under_images(tmp_path):
    """`inspect-cv synth` writes ``annotations.json`` beside ``images/`` with names ``images/x.png``;
    converters write names relative to ``images/``: reading the folder finds both."""
    import json

    import cv2
    for layout, name in (("synth", "images/a.png"), ("conv", "a.png")):
        root = tmp_path / layout
        (root / "images").mkdir(parents=True)
        cv2.imwrite(str(root / "images" / "a.png"), np.zeros((8, 10, 3), np.uint8))
        coco = {"images": [{"id": 1, "file_name": name, "width": 10, "height": 8}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 3, 3]}],
                "categories": [{"id": 1, "name": "gun"}]}
        (root / "annotations.json").write_text(json.dumps(coco))
        ds = read_dataset(root, "coco")
        assert ds.image_path(ds.images[0]).is_file(), layout
