"""Re-identification metrics (numpy): ranking, ROC / TAR@FAR / EER, protocols, folders, plots, CLI."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspect_cv.errors import DatasetError, InputError
from inspect_cv.evaluation.reid import (equal_error_rate, evaluate_embeddings, pair_scores, ranking_metrics,
                                        session_query_mask,
                                        read_identity_folder, roc_curve, save_plots, split_query_gallery,
                                        tar_at_far)


def clusters(n_ids=10, per_id=5, dim=16, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.linalg.qr(rng.standard_normal((dim, dim)))[0][:n_ids]  # orthonormal centres
    labels = np.repeat(np.arange(n_ids), per_id)
    return centres[labels] + noise * rng.standard_normal((len(labels), dim)), labels


def test_perfect_clusters():
    emb, labels = clusters()
    m = evaluate_embeddings(emb, labels)
    assert m.rank1 == 1.0 and m.rank5 == 1.0 and m.mAP == 1.0
    assert m.eer == 0.0 and m.tar_at_far[0.01] == 1.0 and m.tar_at_far[0.001] == 1.0
    assert m.n_queries == 50 and m.n_identities == 10
    assert m.genuine.size == 10 * 10 and m.impostor.size == 50 * 49 // 2 - 100
    assert m.genuine.min() >= m.eer_threshold > m.impostor.max()  # accept when score >= threshold


def test_random_embeddings_chance_level():
    rng = np.random.default_rng(1)
    n_ids, per_id = 50, 4
    labels = np.repeat(np.arange(n_ids), per_id)
    emb = rng.standard_normal((len(labels), 64))
    m = evaluate_embeddings(emb, labels)
    # chance: 3 true matches among 199 others -> rank-1 ~ 3/199
    assert m.rank1 < 0.06
    assert 0.4 < m.eer < 0.6
    assert m.tar_at_far[0.01] < 0.05


def test_ranking_by_hand():
    # query 0 (id 0): gallery order by similarity -> ids [1, 0, 1, 0]; first hit at rank 2
    sim = np.array([[0.9, 0.8, 0.7, 0.1]])
    g = np.array([1, 0, 1, 0])
    ranks, m_ap, n = ranking_metrics(sim, np.array([0]), g, ks=(1, 2))
    assert ranks == {1: 0.0, 2: 1.0} and n == 1
    assert m_ap == pytest.approx((1 / 2 + 2 / 4) / 2)


def test_query_gallery_protocol():
    emb, labels = clusters(n_ids=6, per_id=3)
    mask = split_query_gallery(labels, 1, seed=2)
    assert (~mask).sum() == 6 and all((~mask)[labels == i].sum() == 1 for i in range(6))
    m = evaluate_embeddings(emb, labels, "query-gallery", query_mask=mask)
    assert m.rank1 == 1.0 and m.n_queries == 12
    with pytest.raises(InputError):
        evaluate_embeddings(emb, labels, "query-gallery")
    with pytest.raises(InputError):
        evaluate_embeddings(emb, labels, "nope")


def test_sessions_protocol_reads_meta_and_pairs_across_sessions(tmp_path):
    import cv2

    files = []
    for ident in ("a", "b"):
        (tmp_path / ident).mkdir()
        for n in range(3):
            cv2.imwrite(str(tmp_path / ident / f"{n}.png"), np.zeros((4, 4, 3), np.uint8))
        files.append(dict(name=ident, images=[dict(file=f"{ident}/{n}.png", session=int(n > 0)) for n in range(3)]))
    (tmp_path / "meta.json").write_text(json.dumps(dict(identities=files)))
    data = read_identity_folder(tmp_path)
    mask = session_query_mask(data)
    assert mask.tolist() == [False, True, True, False, True, True]
    # identity a: enrolment photo at +x, later photos near it; b: at +y
    emb = np.array([[1, 0], [0.9, 0.1], [0.8, 0.3], [0, 1], [0.1, 0.9], [0.3, 0.8]], np.float32)
    m = evaluate_embeddings(emb, data.labels, "sessions", query_mask=mask)
    assert m.rank1 == 1.0 and m.n_queries == 4
    assert m.genuine.size == 4 and m.impostor.size == 4  # query x gallery pairs only
    (tmp_path / "meta.json").write_text(json.dumps(dict(identities=files[:1])))
    with pytest.raises(DatasetError):
        session_query_mask(data)
    (tmp_path / "meta.json").unlink()
    with pytest.raises(DatasetError):
        session_query_mask(data)


def test_roc_and_eer_by_hand():
    genuine = np.array([0.9, 0.8, 0.6, 0.4])
    impostor = np.array([0.7, 0.5, 0.3, 0.2])
    far, tar, thr = roc_curve(genuine, impostor)
    assert far[0] == 0 and tar[0] == 0 and far[-1] == 1 and tar[-1] == 1
    assert np.all(np.diff(far) >= 0) and np.all(np.diff(tar) >= 0)
    assert tar_at_far(far, tar, 0.0) == 0.5  # accept >= 0.8: 2 of 4 genuine, no impostor
    assert tar_at_far(far, tar, 0.25) == 0.75
    eer, t = equal_error_rate(far, tar, thr)
    assert eer == pytest.approx(0.25) and 0.5 <= t <= 0.7


def test_roc_ties_are_one_point():
    far, tar, _ = roc_curve(np.array([0.5, 0.5]), np.array([0.5, 0.1]))
    # at threshold 0.5 both genuine and one impostor are accepted together: no (0, 1) point
    assert tar_at_far(far, tar, 0.4) == 0.0


@given(st.integers(2, 6), st.integers(2, 4), st.integers(0, 10_000))
def test_metric_ranges(n_ids, per_id, seed):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_ids), per_id)
    m = evaluate_embeddings(rng.standard_normal((len(labels), 8)), labels)
    assert 0 <= m.rank1 <= m.rank5 <= 1 and 0 < m.mAP <= 1 and 0 <= m.eer <= 1
    assert m.tar_at_far[0.001] <= m.tar_at_far[0.01]


def test_bad_inputs():
    with pytest.raises(InputError):
        evaluate_embeddings(np.zeros((0, 4)), [])
    with pytest.raises(InputError):
        evaluate_embeddings(np.ones((3, 4)), [0, 1])
    with pytest.raises(InputError, match="NaN"):
        evaluate_embeddings(np.full((2, 2), np.nan), [0, 0])
    with pytest.raises(InputError, match="two images"):
        evaluate_embeddings(np.eye(3), [0, 1, 2])
    with pytest.raises(InputError):
        roc_curve(np.array([0.5]), np.array([]))


def test_pair_scores_subsample():
    emb, labels = clusters(n_ids=10, per_id=5)
    g, i = pair_scores(emb, labels, max_impostors=100)
    assert g.size == 100 and i.size == 100


def _write_folder(root, n_ids=4, per_id=3, seed=0):
    import cv2

    rng = np.random.default_rng(seed)
    for k in range(n_ids):
        d = root / f"dog{k}"
        d.mkdir(parents=True)
        colour = rng.integers(0, 255, 3)
        for j in range(per_id):
            img = np.clip(colour + rng.normal(0, 5, (24, 24, 3)), 0, 255).astype(np.uint8)
            cv2.imwrite(str(d / f"{j}.png"), img)
    return root


def test_read_identity_folder(tmp_path):
    root = _write_folder(tmp_path / "d")
    (root / "dog0" / "notes.txt").write_text("x")
    (root / "solo").mkdir()
    (root / "solo" / "0.png").write_bytes((root / "dog0" / "0.png").read_bytes())
    data = read_identity_folder(root, min_images=2)
    assert data.names == ["dog0", "dog1", "dog2", "dog3"] and len(data) == 12
    assert read_identity_folder(root).num_identities == 5
    sub = data.subset(data.labels >= 2)
    assert sub.names == ["dog2", "dog3"] and sorted(set(sub.labels.tolist())) == [0, 1]
    with pytest.raises(DatasetError):
        read_identity_folder(root / "dog0" / "0.png")


def test_save_plots(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    a = evaluate_embeddings(*clusters(noise=0.4))
    b = evaluate_embeddings(*clusters(noise=0.8, seed=3))
    before = matplotlib.get_backend()
    matplotlib.use("svg")  # a caller's backend (a notebook's inline one) must be left alone
    try:
        paths = save_plots({"trained": a, "baseline": b}, tmp_path)
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)
    assert [p.name for p in paths] == ["roc.png", "det.png", "scores.png"]
    assert all(p.stat().st_size > 5000 for p in paths)
    json.dumps(a.to_dict())  # JSON-ready


def test_cli_evaluate_reid(tmp_path, embed_model, capsys):
    from inspect_cv.cli.evaluate_reid import run

    root = _write_folder(tmp_path / "ids")
    args = SimpleNamespace(model=str(embed_model), data=str(root), out=tmp_path / "out", device="cpu")
    assert run(args) == 0
    out = capsys.readouterr().out
    assert "rank-1" in out and "EER" in out
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["n_identities"] == 4 and 0 <= metrics["rank1"] <= 1
    assert (tmp_path / "out" / "roc.png").is_file()
    with pytest.raises(DatasetError):
        run(SimpleNamespace(model=str(embed_model), data=str(tmp_path / "none"), out=None, device="cpu"))


# -- per-identity templates (as the horse gallery scores) -----------------------------------------
@given(st.integers(0, 10_000), st.floats(0.2, 1.5))
def test_max_templates_rank_like_images_and_mean_templates_like_centroids(seed, noise):
    """Under "max" the best identity is the owner of the best gallery image, so rank-1 equals the
    per-image protocol's; "mean" equals brute-force centroid matching; one gallery image per
    identity makes the two rules the same."""
    from inspect_cv.evaluation.reid import identity_scores

    emb, labels = clusters(n_ids=6, per_id=4, noise=noise, seed=seed)
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    mask = np.tile([False, False, True, True], 6)  # two gallery images per identity
    per_image = evaluate_embeddings(emb, labels, "query-gallery", mask)
    by_max = evaluate_embeddings(emb, labels, "query-gallery", mask, templates="max")
    assert by_max.rank1 == pytest.approx(per_image.rank1)
    assert by_max.protocol == "query-gallery, max per identity" and by_max.n_queries == 12
    assert by_max.genuine.size == 12 and by_max.impostor.size == 12 * 5
    cent = np.stack([emb[~mask & (labels == i)].sum(0) for i in range(6)])
    cent /= np.linalg.norm(cent, axis=1, keepdims=True)
    by_mean = evaluate_embeddings(emb, labels, "query-gallery", mask, templates="mean")
    assert by_mean.rank1 == pytest.approx(np.mean((emb[mask] @ cent.T).argmax(1) == labels[mask]))
    one = np.tile([False, True, True, True], 6)
    g = ~one
    np.testing.assert_allclose(identity_scores(emb[one], emb[g], labels[g], 6, "max"),
                               identity_scores(emb[one], emb[g], labels[g], 6, "mean"), atol=1e-12)


def test_templates_bad_input():
    from inspect_cv.evaluation.reid import identity_scores

    emb, labels = clusters(n_ids=3, per_id=3)
    mask = np.tile([False, True, True], 3)
    with pytest.raises(InputError, match="gallery"):
        evaluate_embeddings(emb, labels, templates="mean")  # leave-one-out has no gallery
    with pytest.raises(InputError, match="templates must be"):
        evaluate_embeddings(emb, labels, "query-gallery", mask, templates="median")
    with pytest.raises(InputError, match="at least one gallery"):
        identity_scores(emb[:2], emb[2:4], np.array([0, 2]), 3)


def test_cli_evaluate_reid_templates(tmp_path, embed_model, capsys):
    from inspect_cv.cli.evaluate_reid import run

    root = _write_folder(tmp_path / "ids")
    args = SimpleNamespace(model=str(embed_model), data=str(root), out=tmp_path / "out", device="cpu",
                           protocol="query-gallery", templates="mean")
    assert run(args) == 0
    assert "query-gallery, mean per identity" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["protocol"] == "query-gallery, mean per identity" and metrics["n_genuine_pairs"] == metrics["n_queries"]
