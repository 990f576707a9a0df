"""Cohort score normalisation (AS-norm): formula, symmetry, what it buys, bad input, CLI."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_cv.errors import InputError
from inspect_cv.evaluation.reid import evaluate_embeddings
from inspect_cv.reid.scorenorm import CohortNorm


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def breed_population(n_ids, per_id=4, dim=32, seed=0, n_breeds=4):
    """Faces the way a real population varies: identities come in breeds, some breeds tight (their
    members look alike, so their impostor scores run high), others loose, and each photo has
    its own quality (noise), which lowers all its scores, genuine ones too. One threshold on raw
    cosines then suits nobody; a cohort from the same population (other individuals) shows each
    face's own level. The breeds are the same in every call (one world), the individuals not."""
    breeds = _unit(np.random.default_rng(12345).standard_normal((n_breeds, dim)))
    tight = np.linspace(0.2, 1.0, n_breeds)
    rng = np.random.default_rng(seed)
    b = rng.integers(0, n_breeds, n_ids)
    centres = _unit(breeds[b] + 1.5 * tight[b, None] * rng.standard_normal((n_ids, dim)) / np.sqrt(dim))
    labels = np.repeat(np.arange(n_ids), per_id)
    noise = rng.uniform(0.2, 1.2, len(labels))[:, None]
    return _unit(centres[labels] + noise * rng.standard_normal((len(labels), dim)) / np.sqrt(dim)), labels


def test_stats_match_brute_force():
    rng = np.random.default_rng(3)
    cohort, q = _unit(rng.standard_normal((40, 8))), _unit(rng.standard_normal((5, 8)))
    norm = CohortNorm(cohort, top_k=7, chunk=2)  # chunked rows give the same stats
    mu, sd = norm.stats(q)
    top = -np.sort(-(q @ cohort.T), axis=1)[:, :7]
    np.testing.assert_allclose(mu, top.mean(1), atol=1e-12)
    np.testing.assert_allclose(sd, top.std(1), atol=1e-12)
    s = float(q[0] @ q[1])
    z = 0.5 * ((s - mu[0]) / sd[0] + (s - mu[1]) / sd[1])
    assert norm.score(q, q)[0, 1] == pytest.approx(z)
    assert CohortNorm(cohort, top_k=500).top_k == 40  # capped at the cohort size (plain S-norm)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 30))
def test_symmetric_and_monotone(seed, k):
    rng = np.random.default_rng(seed)
    norm = CohortNorm(rng.standard_normal((30, 6)), top_k=k)
    a, b = rng.standard_normal((4, 6)), rng.standard_normal((3, 6))
    z = norm.score(a, b)
    assert np.isfinite(z).all()
    np.testing.assert_allclose(z, norm.score(b, a).T, atol=1e-9)
    # for one fixed pair of sides, a higher raw cosine is always a higher normalised score
    sa, sb = norm.stats(a[:1]), norm.stats(b[:1])
    raw = np.linspace(-1, 1, 9)[None, :]
    assert np.all(np.diff(CohortNorm.normalise(raw, sa, sb)[0]) > 0)


def test_cohort_raises_tar_at_low_far():
    """The reason it exists: where faces differ in how alike their neighbours are and photos in
    quality, AS-norm against a disjoint cohort accepts more genuine pairs at the same
    false-accept rate than raw cosines do (measured: 0.40 -> 0.65 at FAR 1 %)."""
    emb, labels = breed_population(80, seed=1)
    cohort, _ = breed_population(150, seed=2)  # other individuals, same population
    raw = evaluate_embeddings(emb, labels)
    normed = evaluate_embeddings(emb, labels, norm=CohortNorm(cohort, top_k=50))
    assert normed.tar_at_far[0.01] > raw.tar_at_far[0.01] + 0.1
    assert "AS-norm (top 50 of a 600-embedding cohort)" in normed.protocol
    # every protocol takes it: per image, per gallery identity (templates)
    mask = np.tile([False, True, True, True], 80)
    for templates in (None, "max", "mean"):
        r = evaluate_embeddings(emb, labels, "sessions", mask, templates=templates)
        n = evaluate_embeddings(emb, labels, "sessions", mask, templates=templates, norm=CohortNorm(cohort, 50))
        assert n.tar_at_far[0.01] > r.tar_at_far[0.01], templates


def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="top_k"):
        CohortNorm(rng.standard_normal((10, 4)), top_k=1)
    with pytest.raises(InputError, match="at least 2"):
        CohortNorm(rng.standard_normal((1, 4)))
    with pytest.raises(InputError, match="NaN"):
        CohortNorm(np.full((3, 4), np.nan))
    with pytest.raises(InputError, match="dimensions"):
        CohortNorm(rng.standard_normal((10, 4))).stats(rng.standard_normal((2, 5)))


def test_npz_must_come_from_the_same_model(tmp_path):
    from inspect_cv.reid.embed import save_npz

    emb = _unit(np.random.default_rng(0).standard_normal((12, 4))).astype(np.float32)
    card = SimpleNamespace(card=SimpleNamespace(name="m", weights_sha256="a" * 64))
    path = save_npz(tmp_path / "c.npz", [f"{i}.png" for i in range(12)], emb, card)
    assert len(CohortNorm.from_npz(path, 5, model_sha256="a" * 64)) == 12
    with pytest.raises(InputError, match="another model"):
        CohortNorm.from_npz(path, 5, model_sha256="b" * 64)
    with pytest.raises(InputError, match="no such file"):
        CohortNorm.from_npz(tmp_path / "none.npz")


def test_cli_evaluate_reid_with_cohort(tmp_path, embed_model, capsys):
    from test_eval_reid import _write_folder

    from inspect_cv.cli.evaluate_reid import run
    from inspect_cv.cli.main import main

    data, cohort = _write_folder(tmp_path / "ids"), _write_folder(tmp_path / "cohort", n_ids=5, seed=7)
    args = SimpleNamespace(model=str(embed_model), data=str(data), out=tmp_path / "out", device="cpu",
                           cohort=str(cohort), cohort_k=4)
    assert run(args) == 0
    assert "AS-norm (top 4 of a 15-embedding cohort)" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["cohort_size"] == 15 and metrics["cohort_k"] == 4
    # a cohort file of the same model works; a bad path is one line, not a traceback
    assert main(["reid", "embed", str(cohort), "--model", str(embed_model), "--out", str(tmp_path / "c.npz")]) == 0
    capsys.readouterr()
    assert main(["evaluate", "reid", "--model", str(embed_model), "--data", str(data),
                 "--cohort", str(tmp_path / "c.npz"), "--cohort-k", "3"]) == 0
    assert "AS-norm (top 3 of a 15-embedding cohort)" in capsys.readouterr().out
    code = main(["evaluate", "reid", "--model", str(embed_model), "--data", str(data), "--cohort", str(tmp_path / "x.txt")])
    err = capsys.readouterr().err
    assert code != 0 and "cohort" in err and "Traceback" not in err


# -- the gallery with a score cohort ------------------------------------------------------------
@pytest.mark.parametrize("scoring", ["mean", "max"])
def test_gallery_scores_are_the_evaluations_as_norm(tmp_path, scoring):
    """verify / identify / calibrate of a gallery with a cohort give the AS-norm scores of
    :func:`identity_scores` with the same cohort; the cohort survives reopening."""
    from inspect_cv.evaluation.reid import identity_scores
    from inspect_cv.reid.gallery import DEFAULT_NORM_THRESHOLD, Gallery, ModelInfo

    emb, labels = breed_population(12, per_id=5, seed=3)
    cohort = CohortNorm(breed_population(40, seed=4)[0], top_k=20)
    enrol = np.tile([True, True, True, False, False], 12)
    path = tmp_path / "g.db"
    with Gallery(path, model=ModelInfo("m", "x", 32), scoring=scoring, cohort=cohort) as g:
        assert g.threshold() == (DEFAULT_NORM_THRESHOLD, None)
        for i in range(12):
            g.enroll(f"h{i}", embeddings=emb[enrol & (labels == i)], check_similar=False)
    want = identity_scores(emb[~enrol], emb[enrol], labels[enrol], 12, scoring, cohort)
    with Gallery(path, model=ModelInfo("m", "x", 32)) as g:  # the stored cohort, not given again
        assert g.cohort is not None and len(g.cohort) == 160 and g.cohort.top_k == 20
        probes = np.flatnonzero(~enrol)
        for row, j in enumerate(probes[:6]):
            v = g.verify(f"h{labels[j]}", emb[j])
            assert v.score == pytest.approx(want[row, labels[j]], abs=1e-4)
            best = g.identify(emb[j], top_k=3).candidates[0]
            assert best.horse_id == f"h{int(np.argmax(want[row]))}"
            assert best.score == pytest.approx(want[row].max(), abs=1e-4)
        cal = g.calibrate((labels, emb), target_far=0.05, enrol_per_identity=3, store=False)
        assert cal.details["score_norm"] == "as-norm top 20 of 160"
        g.export(tmp_path / "g.npz")
        with np.load(tmp_path / "g.npz") as z:
            assert z["cohort"].shape == (160, 32)
            assert json.loads(str(z["gallery_json"]))["cohort"] == {"embeddings": 160, "top_k": 20}
        meta = dict(g.conn.execute("SELECT key, value FROM meta").fetchall())
        assert meta["schema_version"] == "2" and meta["score_norm"] == "as-norm"  # older readers refuse it


def test_gallery_cohort_is_fixed_at_creation(tmp_path):
    from inspect_cv.reid.embed import save_npz
    from inspect_cv.reid.gallery import Gallery, ModelInfo

    emb, _ = breed_population(10, seed=5)
    a, b = CohortNorm(emb[:20], 10), CohortNorm(emb[20:], 10)
    with Gallery(tmp_path / "c.db", model=ModelInfo("m", "x", 32), cohort=a) as g:
        g.enroll("h", embeddings=emb[:2])
    Gallery(tmp_path / "c.db", cohort=CohortNorm(emb[:20], 10)).close()  # the same cohort again: fine
    with pytest.raises(InputError, match="its own cohort"):
        Gallery(tmp_path / "c.db", cohort=b)
    with Gallery(tmp_path / "plain.db", model=ModelInfo("m", "x", 32)) as g:
        g.enroll("h", embeddings=emb[:2])
        assert g.cohort is None
        assert dict(g.conn.execute("SELECT key, value FROM meta").fetchall())["schema_version"] == "1"
    with pytest.raises(InputError, match="new gallery"):
        Gallery(tmp_path / "plain.db", cohort=a)
    # a cohort file of another model is refused, naming the mismatch
    npz = save_npz(tmp_path / "c.npz", [str(i) for i in range(20)], emb[:20],
                   SimpleNamespace(card=SimpleNamespace(name="other", weights_sha256="b" * 64)))
    with pytest.raises(InputError, match="another model"):
        Gallery(tmp_path / "new.db", model=ModelInfo("m", "a" * 64, 32), cohort=npz)
    Gallery(tmp_path / "new2.db", model=ModelInfo("m", "b" * 64, 32), cohort=npz).close()


def test_gallery_with_cohort_accepts_more_at_the_same_far(tmp_path):
    """What a lane gains: calibrated to the same FAR on one labelled set, the gallery with a
    cohort accepts more genuine probes of a disjoint set of animals than the plain one."""
    from inspect_cv.reid.gallery import Gallery, ModelInfo

    cal_emb, cal_labels = breed_population(80, per_id=5, seed=6)
    test_emb, test_labels = breed_population(80, per_id=5, seed=7)
    cohort = CohortNorm(breed_population(150, seed=8)[0], 50)
    enrol = np.tile([True, True, True, False, False], 80)
    tar = {}
    for name, c in (("plain", None), ("as-norm", cohort)):
        with Gallery(tmp_path / f"{name}.db", model=ModelInfo("m", "x", 32), cohort=c) as g:
            g.calibrate((cal_labels, cal_emb), target_far=0.02)
            for i in range(80):
                g.enroll(f"h{i}", embeddings=test_emb[enrol & (test_labels == i)], check_similar=False)
            tar[name] = np.mean([g.verify(f"h{test_labels[j]}", test_emb[j]).match for j in np.flatnonzero(~enrol)])
    assert tar["as-norm"] > tar["plain"] + 0.05, tar
