"""benchmarks/baggage_alarms.py: the ROC area, a tiny side-by-side run, bad arguments."""
from __future__ import annotations

import json

import numpy as np
from bench_scripts import ROOT, load_benchmark
from hypothesis import given, settings, strategies as st


def _load():
    return load_benchmark("baggage_alarms")


scores = st.lists(st.sampled_from([0.0, 0.1, 0.2, 0.5, 0.7, 0.9, 1.0]), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(scores, scores)
def test_roc_auc_is_the_pairwise_win_rate(benign, threat):
    b, t = np.array(benign), np.array(threat)
    brute = np.mean([1.0 if x > y else 0.5 if x == y else 0.0 for x in t for y in b])
    assert abs(_load().roc_auc(b, t) - brute) < 1e-9


def test_two_models_side_by_side_on_tiny_bags(tmp_path):
    from inspect_cv.synth.baggage import write_dataset

    write_dataset(tmp_path / "bags", n=6, seed=5, size=(192, 256), negative_fraction=0.5)
    out = tmp_path / "res" / "alarms"
    rc = _load().main(["--model", f"a={ROOT / 'exported_models' / 'baggage.onnx'}",
                       "--model", f"b={ROOT / 'exported_models' / 'baggage.onnx'}",
                       "--data", str(tmp_path / "bags" / "annotations.json"), "--out", str(out)])
    assert rc == 0
    rows = json.loads(out.with_suffix(".json").read_text())
    assert set(rows) == {"a", "b"} and rows["a"]["auc"] == rows["b"]["auc"]
    assert rows["a"]["n_threat_bags"] + rows["a"]["n_clean_bags"] <= 6
    assert out.with_suffix(".png").stat().st_size > 1000 and "| a |" in out.with_suffix(".md").read_text()


def test_model_without_name_is_refused(tmp_path, capsys):
    assert _load().main(["--model", "x.onnx", "--data", "d.json", "--out", str(tmp_path / "o")]) == 2
    assert "NAME=PATH" in capsys.readouterr().err
