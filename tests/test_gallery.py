"""Horse gallery: enrol / verify / identify / calibrate / audit, durability, concurrency, quality gate.

Photos are synthetic: an identity is a random 4x4 pattern of colours, each photo of it a
nearest-neighbour upscale with random gain and noise; the tiny fixture embedder (average
pooling + a fixed projection) separates such identities well.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_cv.errors import CorruptImageError, InputError, ModelError
from inspect_cv.io import write_image
from inspect_cv.reid.gallery import DEFAULT_THRESHOLD, Gallery, ModelInfo, threshold_for_far
from inspect_cv.reid.quality import PhotoRejectedError, QualityConfig, assess, check_photo, locate_face

ROOT = Path(__file__).resolve().parents[1]


def identity(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(30, 225, (4, 4, 3)).astype(np.uint8)


def photo(seed: int, rng: np.random.Generator, size: int = 96) -> np.ndarray:
    import cv2

    img = cv2.resize(identity(seed), (size, size), interpolation=cv2.INTER_NEAREST).astype(np.float32)
    img = img * rng.uniform(0.92, 1.08) + rng.normal(0, 5, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def photo_file(folder: Path, seed: int, k: int, rng) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / f"id{seed}_{k}.png"
    write_image(p, photo(seed, rng))
    return p


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def gallery(tmp_path, embed_model, rng):
    g = Gallery(tmp_path / "g.db", model=embed_model)
    for h in range(6):
        g.enroll(f"H{h}", [photo(h, rng) for _ in range(3)], name=f"horse{h}", passport=f"P{h}")
    yield g
    g.close()


# --- enrol / verify / identify ------------------------------------------------------------

def test_enrol_verify_identify(gallery, rng):
    assert len(gallery) == 6
    v = gallery.verify("H2", photo(2, rng), operator="anna")
    assert v.match and v.score > 0.9 and v.threshold == DEFAULT_THRESHOLD and v.far is None
    w = gallery.verify("H2", photo(3, rng))
    assert w.score < v.score
    r = gallery.identify(photo(4, rng), top_k=3)
    assert not r.unknown and r.best.horse_id == "H4" and r.best.name == "horse4"
    assert len(r.candidates) == 3 and [c.score for c in r.candidates] == sorted((c.score for c in r.candidates),
                                                                                reverse=True)
    assert len({c.horse_id for c in r.candidates}) == 3


@pytest.mark.parametrize("scoring", ["max", "mean"])
def test_identify_ranks_by_the_gallery_scoring(tmp_path, scoring):
    g = Gallery(tmp_path / "g.db", model=ModelInfo("m", "abc", 3), scoring=scoring)
    g.enroll("A", embeddings=np.array([[1, 0, 0], [0, 1, 0]], np.float32))
    g.enroll("B", embeddings=np.array([[0.6, 0.8, 0]], np.float32))
    g.enroll("C", embeddings=np.array([[0, 0, 1]], np.float32))
    r = g.identify(np.array([0.0, 1.0, 0.0], np.float32), top_k=5)
    if scoring == "max":  # A's best photo is the probe itself
        assert [c.horse_id for c in r.candidates] == ["A", "B", "C"]
        assert r.candidates[0].score == pytest.approx(1.0) and r.candidates[1].score == pytest.approx(0.8)
        assert g.verify("A", np.array([1.0, 0, 0], np.float32)).score == pytest.approx(1.0)
    else:  # A's template lies between its two photos: cos 45 degrees to either
        assert [c.horse_id for c in r.candidates] == ["B", "A", "C"]
        assert r.candidates[0].score == pytest.approx(0.8) and r.candidates[1].score == pytest.approx(0.5 ** 0.5)
        assert g.verify("A", np.array([1.0, 0, 0], np.float32)).score == pytest.approx(0.5 ** 0.5)
    unknown = g.identify(np.array([-0.3, -0.3, 0.2], np.float32))
    assert unknown.unknown and unknown.to_dict()["best"] is None


def test_scoring_is_fixed_per_gallery_and_templates_survive_reopening(tmp_path):
    path = tmp_path / "g.db"
    with Gallery(path, model=ModelInfo("m", "abc", 3), scoring="max") as g:
        g.enroll("A", embeddings=np.array([[1, 0, 0]], np.float32))
    with Gallery(path) as g:
        assert g.scoring == "max"
    with pytest.raises(InputError, match="scores horses by 'max'"):
        Gallery(path, scoring="mean")
    with pytest.raises(InputError, match="scoring must be"):
        Gallery(tmp_path / "h.db", scoring="median")
    # templates: enrolling in two steps (index updated in place) == reopening (index rebuilt)
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(5, 3)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    probe = rng.normal(size=3).astype(np.float32)
    probe /= np.linalg.norm(probe)
    with Gallery(tmp_path / "m.db", model=ModelInfo("m", "abc", 3)) as g:
        assert g.scoring == "mean"
        g.enroll("A", embeddings=vecs[:2])
        g.identify(probe)  # loads the index, so the next enrolment updates it in place
        g.enroll("A", embeddings=vecs[2:])
        g.enroll("B", embeddings=-vecs[:1])
        live = g.verify("A", probe).score
    with Gallery(tmp_path / "m.db") as g:
        assert g.verify("A", probe).score == pytest.approx(live, abs=1e-6)
    t = vecs.sum(0) / np.linalg.norm(vecs.sum(0))
    assert live == pytest.approx(float(t @ probe), abs=1e-5)


@settings(max_examples=25)
@given(st.integers(0, 10_000), st.integers(1, 6), st.sampled_from(["max", "mean"]))
def test_top_k_matches_brute_force(seed, k, scoring):
    from inspect_cv.reid.gallery import _Index

    r = np.random.default_rng(seed)
    idx = _Index(5, capacity=4, scoring=scoring)
    owners = r.integers(0, 12, 80)
    vecs = r.normal(size=(80, 5)).astype(np.float32)
    for o, v in zip(owners, vecs):  # rows of one horse are scattered, as after re-enrolments
        idx.add(f"h{o}", None, v[None])
    q = r.normal(size=5).astype(np.float32)
    s = idx.row_scores(q)
    brute = {}
    for o in np.unique(owners):
        mine = vecs[owners == o]
        if scoring == "max":
            brute[f"h{o}"] = float((mine @ q).max())
        else:
            t = mine.astype(np.float64).sum(0)
            brute[f"h{o}"] = float(t @ q / np.linalg.norm(t))
    want = sorted(brute.items(), key=lambda t: -t[1])[:k]
    got = [(idx.horse_ids[slot], sc) for slot, sc in idx.top_horses(s, k)]
    assert [h for h, _ in got] == [h for h, _ in want]
    np.testing.assert_allclose([v for _, v in got], [v for _, v in want], rtol=1e-5)


def test_audit_rows_for_every_verify_and_identify(gallery, rng):
    before = len(gallery.audit_log())
    gallery.verify("H1", photo(1, rng), operator="op1")
    gallery.verify("H1", photo(5, rng), operator="op1")
    gallery.identify(photo(0, rng), top_k=2, operator="op2")
    rows = gallery.audit_log()
    assert len(rows) == before + 3
    ident, v2, v1 = rows[:3]
    assert ident["action"] == "identify" and ident["operator"] == "op2" and ident["horse_id"] == "H0"
    assert ident["result"] == "match" and len(ident["details"]["candidates"]) == 2
    assert v1["action"] == v2["action"] == "verify" and v1["result"] == "match"
    assert v1["score"] > v2["score"] and v1["threshold"] == DEFAULT_THRESHOLD and v1["time"]


def test_reenrol_adds_photos_and_skips_duplicates(gallery, tmp_path, rng):
    f = photo_file(tmp_path / "p", 2, 0, rng)
    r1 = gallery.enroll("H2", [f], microchip="250269604000001")
    assert r1.added == 1 and r1.total == 4 and not r1.created
    r2 = gallery.enroll("H2", [f])
    assert r2.added == 0 and any("already enrolled" in w for w in r2.warnings)
    h = gallery.get("H2")
    assert h["microchip"] == "250269604000001" and h["passport"] == "P2" and h["n_embeddings"] == 4


def test_enrol_warns_when_close_to_another_horse(gallery, rng):
    r = gallery.enroll("H2-again", [photo(2, rng)])
    assert r.similar and r.similar[0]["horse_id"] == "H2" and r.similar[0]["score"] >= DEFAULT_THRESHOLD
    assert any("H2" in w for w in r.warnings)
    fresh = gallery.enroll("new", [photo(999, rng)])
    assert all(s["horse_id"] != "new" for s in fresh.similar)


def test_list_remove_export(gallery, tmp_path):
    ids = [h["id"] for h in gallery.list()]
    assert ids == [f"H{i}" for i in range(6)]
    assert gallery.remove("H3") == 3
    assert "H3" not in gallery and len(gallery) == 5
    with pytest.raises(InputError, match="no horse"):
        gallery.remove("H3")
    with pytest.raises(InputError, match="no horse"):
        gallery.verify("H3", np.ones(8, np.float32))
    assert all(c.horse_id != "H3" for c in gallery.identify(np.ones(8, np.float32), top_k=10).candidates)
    doc = json.loads(gallery.export(tmp_path / "out.json").read_text())
    assert [h["id"] for h in doc["horses"]] == ["H0", "H1", "H2", "H4", "H5"]
    assert doc["model"]["dim"] == 8 and len(doc["horses"][0]["embeddings"]) == 3
    assert len(doc["horses"][0]["embeddings"][0]["vector"]) == 8
    assert doc["horses"][0]["embeddings"][0]["photo_sha256"]
    with np.load(gallery.export(tmp_path / "out.npz")) as z:
        assert z["embeddings"].shape == (15, 8) and z["embeddings"].dtype == np.float32
        assert list(z["horse_ids"]).count("H0") == 3
        np.testing.assert_allclose(np.linalg.norm(z["embeddings"], axis=1), 1, atol=1e-5)
    with pytest.raises(InputError, match="json or .npz"):
        gallery.export(tmp_path / "out.csv")


# --- calibration ------------------------------------------------------------------------

def test_calibrate_stores_threshold_for_target_far(gallery, rng):
    data = {f"c{i}": [photo(500 + i, rng) for _ in range(5)] for i in range(25)}
    cal = gallery.calibrate(data, target_far=0.01)
    assert cal.far <= 0.01 and 0 <= cal.tar <= 1 and cal.n_impostor == 25 * 24 * 3
    assert cal.n_genuine == 25 * 3  # 5 photos: 2 enrolled, 3 probes per identity
    thr, far = gallery.threshold()
    assert thr == pytest.approx(cal.threshold) and far == 0.01
    v = gallery.verify("H0", photo(0, rng))
    assert v.calibrated and v.far == 0.01 and v.threshold == pytest.approx(cal.threshold)
    stricter = gallery.calibrate(data, target_far=0.001, store=False)
    assert stricter.threshold >= cal.threshold
    assert gallery.threshold()[1] == 0.01  # store=False left the stored one


def test_calibrate_from_embeddings_and_bad_data(tmp_path):
    g = Gallery(tmp_path / "g.db", model=ModelInfo("m", "x", 4))
    r = np.random.default_rng(0)
    centres = r.normal(size=(10, 4))
    labels = np.repeat(np.arange(10), 4)
    emb = centres[labels] + r.normal(0, 0.05, (40, 4))
    cal = g.calibrate((labels, emb), target_far=0.05)
    assert cal.far <= 0.05 and cal.tar > 0.9
    with pytest.raises(InputError, match="two identities"):
        g.calibrate((np.zeros(4), emb[:4]))
    with pytest.raises(InputError, match="FAR"):
        g.calibrate((labels, emb), target_far=0)
    assert g.model_info == ModelInfo("m", "x", 4)  # the stored threshold pinned the model
    with pytest.raises(ModelError, match="values"):
        g.calibrate((labels, emb[:, :3]))


@pytest.mark.parametrize("scoring", ["max", "mean"])
def test_calibration_scores_with_the_gallery_rule(tmp_path, scoring):
    """Genuine scores of calibration are the scores verify gives: enrol the calibration set's
    enrolment photos in a gallery of the same rule and verify its probes."""
    r = np.random.default_rng(1)
    centres = r.normal(size=(6, 4))
    labels = np.repeat(np.arange(6), 6)
    emb = (centres[labels] + r.normal(0, 0.6, (36, 4))).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    g = Gallery(tmp_path / "g.db", model=ModelInfo("m", "x", 4), scoring=scoring)
    cal = g.calibrate((labels, emb), target_far=0.1, enrol_per_identity=3, store=False)
    assert cal.details["scoring"] == scoring
    genuine = []
    for i in range(6):
        rows = np.flatnonzero(labels == i)
        g.enroll(f"h{i}", embeddings=emb[rows[:3]], check_similar=False)
        genuine += [g.verify(f"h{i}", emb[j]).score for j in rows[3:]]
    assert cal.tar == pytest.approx(np.mean(np.array(genuine) >= cal.threshold))


@settings(max_examples=40)
@given(st.lists(st.floats(-1, 1, allow_nan=False, width=32), min_size=1, max_size=200),
       st.floats(0.001, 0.5))
def test_threshold_for_far_property(scores, far):
    s = np.array(scores, np.float32)
    t = threshold_for_far(s, far)
    assert np.mean(s >= t) <= far + 1e-12 or t == float(s.min())
    # the smallest such threshold: any lower observed score would accept too many
    lower = s[s < t]
    if len(lower):
        assert np.mean(s >= lower.max()) > far


# --- model pinning ------------------------------------------------------------------------

def test_model_mismatch_refused(gallery, tmp_path):
    from fixture_models import tiny_embedder

    other = tiny_embedder(tmp_path / "other.onnx", dim=16, name="other")
    with pytest.raises(ModelError, match="embed-test"):
        Gallery(gallery.path, model=other)
    with pytest.raises(ModelError, match="different"):
        Gallery(gallery.path, model=ModelInfo("embed-test", "f" * 64, 8))
    g2 = Gallery(gallery.path)  # no model: embeddings of the right size still work
    with pytest.raises(ModelError, match="values"):
        g2.identify(np.ones(16, np.float32))
    with pytest.raises(ModelError, match="without an embedding model"):
        g2.identify(np.zeros((64, 64, 3), np.uint8))
    assert g2.model_info.name == "embed-test" and g2.model_info.dim == 8


def test_not_a_database_and_missing(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(InputError, match="not a usable gallery"):
        Gallery(bad)
    with pytest.raises(InputError, match="no such gallery"):
        Gallery(tmp_path / "missing.db", create=False)


# --- bad photos ---------------------------------------------------------------------------

def test_corrupt_photo_enrols_nothing(gallery, tmp_path, rng):
    good = photo_file(tmp_path / "p", 7, 0, rng)
    bad = tmp_path / "p" / "broken.png"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CorruptImageError, match="broken.png"):
        gallery.enroll("H7", [good, bad])
    assert "H7" not in gallery
    with pytest.raises(CorruptImageError):
        gallery.enroll("H1", [good, bad])
    assert gallery.get("H1")["n_embeddings"] == 3
    with pytest.raises(InputError, match="no such file"):
        gallery.verify("H1", tmp_path / "nope.png")


@pytest.mark.parametrize("kind,reason", [("blur", "blurred"), ("small", "too_small"), ("dark", "too_dark"),
                                         ("bright", "too_bright"), ("flat", "low_contrast")])
def test_quality_gate_reasons(gallery, rng, kind, reason):
    import cv2

    p = photo(8, rng)
    bad = {"blur": lambda: cv2.GaussianBlur(p, (0, 0), 4), "small": lambda: p[:30, :30],
           "dark": lambda: (p * 0.08).astype(np.uint8), "bright": lambda: np.full_like(p, 250),
           "flat": lambda: np.full_like(p, 128)}[kind]()
    assert assess(p).ok
    with pytest.raises(PhotoRejectedError) as e:
        gallery.enroll("H8", [p, bad])
    assert e.value.reason == reason and reason in str(e.value)
    assert "H8" not in gallery


def test_sharpness_is_resolution_independent(rng):
    import cv2

    p = photo(3, rng, size=96)
    big = cv2.resize(p, (384, 384), interpolation=cv2.INTER_NEAREST)
    assert assess(big).ok and assess(p).ok
    assert assess(cv2.GaussianBlur(big, (0, 0), 16)).reason == "blurred"


def test_face_detector_crops_or_reports_no_face(grid_model, rng):
    from inspect_cv import load

    det = load(grid_model)
    scene = np.full((128, 128, 3), 255, np.uint8)
    with pytest.raises(PhotoRejectedError) as e:
        locate_face(scene, det)
    assert e.value.reason == "no_face"
    scene[32:48, 64:80] = (255, 0, 0)  # the grid detector's "red_thing" stands in for a face
    crop, box, score = locate_face(scene, det, margin=0.0)
    assert box == pytest.approx([64, 32, 80, 48], abs=1) and crop.shape[:2] == (16, 16) and score > 0.5
    with pytest.raises(PhotoRejectedError, match="too_small"):
        check_photo(scene, det, QualityConfig(min_size=48))
    # a tall face box gives a square crop around it (the embedder's input is square)
    scene[32:48, 64:80] = 255
    scene[30:70, 60:76] = (255, 0, 0)
    crop, box, _ = locate_face(scene, det, square=1.5)
    bw, bh = box[2] - box[0], box[3] - box[1]
    assert abs(crop.shape[0] - crop.shape[1]) <= 2 and crop.shape[0] == pytest.approx(1.5 * max(bw, bh), abs=2)
    crop, report = check_photo(scene, det, QualityConfig(min_size=8), gate=False)
    assert abs(crop.shape[0] - crop.shape[1]) <= 2       # the default is the square crop


# --- durability and concurrency -------------------------------------------------------------

WRITER = """
import sys, numpy as np
from inspect_cv.reid.gallery import Gallery, ModelInfo
g = Gallery(sys.argv[1], model=ModelInfo("m", "s", 32))
start = len(g)
rng = np.random.default_rng(start)
for i in range(start, 100000):
    g.enroll(f"H{i:05d}", embeddings=rng.normal(size=(40, 32)).astype(np.float32), name=f"n{i}")
    print(i, flush=True)
"""


def _spawn(script: str, *args) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.parametrize("rounds", [3])
def test_kill_mid_enrolment_loses_nothing(tmp_path, rounds):
    db = tmp_path / "g.db"
    done: list[int] = []
    for r in range(rounds):  # kill, reopen, carry on enrolling, kill again...
        proc = _spawn(WRITER, db)
        target = len(done) + 25
        deadline = time.monotonic() + 20
        while len(done) < target and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            done.append(int(line))
        time.sleep(0.004 + 0.009 * r)  # land the kill at an arbitrary point of a later enrolment
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert len(done) >= target, proc.stderr.read()
        con = sqlite3.connect(db)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
        g = Gallery(db)
        counts = {h["id"]: h["n_embeddings"] for h in g.list()}
        assert all(f"H{i:05d}" in counts for i in done)  # every enrolment that returned is there
        assert set(counts.values()) == {40}  # and no horse is half-enrolled
        assert sorted(counts) == [f"H{i:05d}" for i in range(len(counts))]
        assert len([a for a in g.audit_log() if a["action"] == "enroll"]) == len(counts)
        done = list(range(len(counts)))  # enrolments that committed but were not yet reported count too
        g.close()
    g = Gallery(db)
    g.enroll("after", embeddings=np.ones((1, 32), np.float32))  # the gallery is still writable


READER = """
import sys, time, numpy as np
from inspect_cv.reid.gallery import Gallery
g = Gallery(sys.argv[1], create=False)
q = np.ones(32, np.float32)
last = 0
t_end = time.monotonic() + float(sys.argv[2])
reads = 0
while time.monotonic() < t_end:
    n = len(g.list())
    assert n >= last, (n, last)
    last = n
    cands = g.search(q, top_k=3)
    assert len(cands) == min(3, n)
    assert all(c.horse_id.startswith("H") for c in cands)
    reads += 1
print(reads, last, flush=True)
"""


def test_concurrent_reader_while_writing(tmp_path):
    db = tmp_path / "g.db"
    g = Gallery(db, model=ModelInfo("m", "s", 32))
    rng = np.random.default_rng(0)
    g.enroll("H00000", embeddings=rng.normal(size=(4, 32)).astype(np.float32))
    reader = _spawn(READER, db, 2.0)
    n = 1
    t_end = time.monotonic() + 1.5
    while time.monotonic() < t_end:
        g.enroll(f"H{n:05d}", embeddings=rng.normal(size=(4, 32)).astype(np.float32))
        n += 1
    out, err = reader.communicate(timeout=30)
    assert reader.returncode == 0, err
    reads, last = map(int, out.split())
    assert reads > 5 and 1 <= last <= n


def test_second_connection_sees_new_horses(tmp_path):
    a = Gallery(tmp_path / "g.db", model=ModelInfo("m", "s", 4))
    a.enroll("A", embeddings=np.eye(4, dtype=np.float32)[:1])
    b = Gallery(tmp_path / "g.db")
    assert b.search(np.eye(4, dtype=np.float32)[1], top_k=5)[0].horse_id == "A"
    a.enroll("B", embeddings=np.eye(4, dtype=np.float32)[1:2])
    assert b.search(np.eye(4, dtype=np.float32)[1], top_k=5)[0].horse_id == "B"
    b.verify("B", np.eye(4, dtype=np.float32)[1])  # an audit write by b must not disturb a's index
    a.remove("B")
    assert [c.horse_id for c in b.search(np.eye(4, dtype=np.float32)[1], top_k=5)] == ["A"]
