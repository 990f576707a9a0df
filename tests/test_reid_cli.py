"""CLI contract of ``inspect-cv horse ...`` and ``inspect-cv reid embed`` (parsed by other tools)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from inspect_cv.cli import main as cli_main
from inspect_cv.io import write_image
from test_gallery import photo


@pytest.fixture
def cli(monkeypatch, capsys):
    extra = [c for c in ("horse", "reid") if c not in cli_main.COMMANDS]
    monkeypatch.setattr(cli_main, "COMMANDS", cli_main.COMMANDS + extra)

    def run(*argv, expect: int | None = 0):
        try:
            code = cli_main.main([str(a) for a in argv])
        except SystemExit as e:  # argparse usage errors
            code = e.code
        out, err = capsys.readouterr()
        if expect is not None:
            assert code == expect, (code, out, err)
        return code, out, err

    return run


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(7)
    folder = tmp_path / "photos"
    folder.mkdir()
    paths = {}
    for h in range(4):
        for k in range(3):
            p = folder / f"h{h}_{k}.png"
            write_image(p, photo(h, rng))
            paths[(h, k)] = p
    return paths


def _json(out: str) -> dict:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out  # exactly one JSON object
    return json.loads(lines[0])


def test_horse_verbs_json_contract(cli, tmp_path, photos, embed_model):
    db = tmp_path / "g.db"
    base = ["--gallery", db, "--model", embed_model, "--face-model", "none", "--json", "--operator", "ops"]
    for h in range(4):
        _, out, _ = cli("horse", "enroll", *base, "--id", f"H{h}", "--name", f"horse{h}", "--passport", f"P{h}",
                        "--microchip", f"25026960{h}", photos[(h, 0)], photos[(h, 1)])
        e = _json(out)
        assert e["horse_id"] == f"H{h}" and e["added"] == 2 and e["total"] == 2 and e["created"] is True
        assert isinstance(e["warnings"], list)

    _, out, _ = cli("horse", "verify", *base, "--id", "H1", photos[(1, 2)])
    v = _json(out)
    assert v["match"] is True and isinstance(v["score"], float) and isinstance(v["threshold"], float)
    assert "far" in v and v["horse_id"] == "H1"
    _, out, _ = cli("horse", "verify", *base, "--id", "H1", photos[(2, 2)])  # "no match" is still exit 0
    assert _json(out)["score"] < v["score"]

    _, out, _ = cli("horse", "identify", *base, photos[(3, 2)], "--top", "2")
    i = _json(out)
    assert i["unknown"] is False and i["best"] == "H3" and len(i["candidates"]) == 2
    assert set(i["candidates"][0]) == {"horse_id", "name", "score"}

    _, out, _ = cli("horse", "list", "--gallery", db, "--json")
    lst = _json(out)
    assert [h["id"] for h in lst["horses"]] == ["H0", "H1", "H2", "H3"]
    assert lst["horses"][2]["microchip"] == "250269602" and lst["model"]["dim"] == 8

    cal_dir = tmp_path / "cal"
    rng = np.random.default_rng(3)
    for c in range(12):
        (cal_dir / f"id{c:02d}").mkdir(parents=True)
        for k in range(4):
            write_image(cal_dir / f"id{c:02d}" / f"{k}.png", photo(300 + c, rng))
    _, out, _ = cli("horse", "calibrate", *base, cal_dir, "--far", "0.05")
    cal = _json(out)
    assert cal["far"] <= 0.05 and cal["n_impostor"] == 12 * 11 * 2 and cal["target_far"] == 0.05
    _, out, _ = cli("horse", "verify", *base, "--id", "H1", photos[(1, 2)])
    v2 = _json(out)
    assert v2["far"] == 0.05 and v2["threshold"] == pytest.approx(cal["threshold"])

    _, out, _ = cli("horse", "export", "--gallery", db, "--json", tmp_path / "g.npz")
    assert _json(out)["horses"] == 4
    with np.load(tmp_path / "g.npz") as z:
        assert z["embeddings"].shape == (8, 8)

    _, out, _ = cli("horse", "remove", "--gallery", db, "--json", "--id", "H0", "--operator", "ops")
    assert _json(out) == {"removed": "H0", "embeddings": 2}

    from inspect_cv.reid.gallery import Gallery

    with Gallery(db) as g:
        log = g.audit_log()
    assert [r["action"] for r in log if r["action"] in ("verify", "identify")] == ["verify", "identify", "verify",
                                                                                   "verify"]  # newest first
    assert all(r["operator"] == "ops" for r in log if r["action"] != "calibrate")


def test_horse_human_output_and_errors(cli, tmp_path, photos, embed_model):
    db = tmp_path / "g.db"
    base = ["--gallery", db, "--model", embed_model, "--face-model", "none"]
    _, out, _ = cli("horse", "enroll", *base, "--id", "A", photos[(0, 0)], photos[(0, 1)])
    assert "enrolled A" in out
    _, out, _ = cli("horse", "verify", *base, "--id", "A", photos[(1, 0)])
    assert out.startswith("NO MATCH") and "threshold" in out
    _, out, _ = cli("horse", "list", "--gallery", db)
    assert "1 horse(s)" in out

    bad = tmp_path / "bad.png"
    bad.write_bytes(photos[(0, 2)].read_bytes()[:100])
    code, out, err = cli("horse", "enroll", *base, "--id", "B", photos[(1, 1)], bad, expect=1)
    assert "bad.png" in err and "Traceback" not in err
    code, out, err = cli("horse", "enroll", *base, "--json", "--id", "B", bad, expect=1)
    assert "bad.png" in _json(out)["error"]
    _, out, _ = cli("horse", "list", "--gallery", db, "--json")
    assert [h["id"] for h in _json(out)["horses"]] == ["A"]  # nothing partially enrolled

    blurry = tmp_path / "blurry.png"
    import cv2

    write_image(blurry, cv2.GaussianBlur(photo(1, np.random.default_rng(0)), (0, 0), 5))
    _, out, _ = cli("horse", "enroll", *base, "--json", "--id", "B", blurry, expect=1)
    assert _json(out)["reason"] == "blurred"

    cli("horse", "verify", *base, "--id", "nobody", photos[(0, 2)], expect=1)
    cli("horse", "list", "--gallery", tmp_path / "missing.db", expect=1)
    cli("horse", "identify", *base, photos[(0, 2)], "--top", "0", expect=2)
    cli("horse", "verify", *base, photos[(0, 2)], expect=2)  # --id missing
    cli("horse", "list", expect=2)  # --gallery missing
    cli("horse", expect=2)  # no verb
    cli("reid", expect=2)
    cli("horse", "calibrate", *base, tmp_path, "--far", "2", expect=2)

    from fixture_models import tiny_embedder

    other = tiny_embedder(tmp_path / "other.onnx", dim=4, name="other")
    _, _, err = cli("horse", "identify", "--gallery", db, "--model", other, "--face-model", "none",
                    photos[(0, 2)], expect=1)
    assert "embed-test" in err and "other" in err


def test_reid_embed_npz_contract(cli, tmp_path, photos, embed_model):
    root = tmp_path / "photos"
    nested = root / "sub" / "deeper"
    nested.mkdir(parents=True)
    write_image(nested / "n.png", photo(9, np.random.default_rng(0)))
    (root / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out_path = tmp_path / "emb.npz"
    _, out, err = cli("reid", "embed", root, photos[(0, 0)], "--model", embed_model, "--out", out_path, "--json")
    summary = _json(out)
    assert summary["embedded"] == 13 and summary["dim"] == 8
    assert len(summary["errors"]) == 1 and "broken.png" in summary["errors"][0]["path"]
    assert "broken.png" in err
    with np.load(out_path, allow_pickle=False) as z:
        paths, emb = list(z["paths"]), z["embeddings"]
    assert len(paths) == 13 and emb.shape == (13, 8) and emb.dtype == np.float32
    assert any(p.endswith("n.png") for p in paths) and paths.count(str(photos[(0, 0)])) == 1  # dedup
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)

    from inspect_cv import load

    direct = load(embed_model).embed([__import__("inspect_cv").read_image(p) for p in paths[:3]])
    np.testing.assert_allclose(emb[:3], direct, atol=1e-6)

    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "x.png").write_bytes(b"nope")
    cli("reid", "embed", only_bad, "--model", embed_model, "--out", tmp_path / "none.npz", expect=1)
    cli("reid", "embed", root, "--model", embed_model, "--out", tmp_path / "x.txt", expect=2)
    cli("reid", "embed", tmp_path / "missing", "--model", embed_model, "--out", out_path, expect=1)


def test_embed_paths_api(tmp_path, photos, embed_model):
    from inspect_cv.reid.embed import embed_paths, load_npz, save_npz

    files = [photos[(0, 0)], tmp_path / "nope.png", photos[(1, 0)]]
    result = embed_paths(embed_model, files, batch_size=1)
    paths, emb = result
    assert paths == [str(photos[(0, 0)]), str(photos[(1, 0)])] and emb.shape == (2, 8)
    assert len(result.errors) == 1 and "nope.png" in result.errors[0][0]
    save_npz(tmp_path / "e.npz", paths, emb)
    p2, e2 = load_npz(tmp_path / "e.npz")
    assert p2 == paths and np.array_equal(e2, emb)


def test_horse_enroll_scoring_option(cli, tmp_path, photos, embed_model):
    db = tmp_path / "g.db"
    base = ["--gallery", db, "--model", embed_model, "--face-model", "none", "--json"]
    cli("horse", "enroll", *base, "--scoring", "max", "--id", "A", photos[(0, 0)], photos[(0, 1)])
    from inspect_cv.reid.gallery import Gallery

    with Gallery(db) as g:
        assert g.scoring == "max"
    code, out, _ = cli("horse", "enroll", *base, "--scoring", "mean", "--id", "B", photos[(1, 0)], expect=1)
    assert "scores horses by 'max'" in _json(out)["error"]
    cli("horse", "enroll", *base, "--scoring", "median", "--id", "B", photos[(1, 0)], expect=2)
    cli("horse", "enroll", "--gallery", tmp_path / "m.db", "--model", embed_model, "--face-model", "none",
        "--id", "A", photos[(0, 0)])
    with Gallery(tmp_path / "m.db") as g:
        assert g.scoring == "mean"  # the default for new galleries


def test_horse_enroll_with_a_score_cohort(cli, tmp_path, photos, embed_model):
    """``--cohort`` (an ``inspect-cv reid embed`` file of the same model) makes a gallery score by
    AS-norm: verify reports the AS-norm default threshold until calibrated; a gallery that already
    holds horses refuses one, as one line."""
    from inspect_cv.reid.gallery import DEFAULT_NORM_THRESHOLD, Gallery

    others = tmp_path / "others"
    others.mkdir()
    rng = np.random.default_rng(3)
    for k in range(12):
        write_image(others / f"o{k}.png", photo(10 + k, rng))
    cli("reid", "embed", others, "--model", embed_model, "--out", tmp_path / "cohort.npz")
    db = tmp_path / "g.db"
    base = ["--gallery", db, "--model", embed_model, "--face-model", "none", "--json"]
    cli("horse", "enroll", *base, "--cohort", tmp_path / "cohort.npz", "--cohort-k", 5, "--id", "A",
        photos[(0, 0)], photos[(0, 1)])
    _, out, _ = cli("horse", "verify", *base, "--id", "A", photos[(0, 2)])
    v = _json(out)
    assert v["threshold"] == DEFAULT_NORM_THRESHOLD and not v["calibrated"] and isinstance(v["match"], bool)
    with Gallery(db) as g:
        assert len(g.cohort) == 12 and g.cohort.top_k == 5
    cli("horse", "enroll", "--gallery", tmp_path / "p.db", "--model", embed_model, "--face-model", "none",
        "--id", "A", photos[(0, 0)])
    code, out, err = cli("horse", "enroll", "--gallery", tmp_path / "p.db", "--model", embed_model, "--face-model",
                         "none", "--cohort", tmp_path / "cohort.npz", "--id", "B", photos[(1, 0)], expect=1)
    assert "new gallery" in err and "Traceback" not in err
