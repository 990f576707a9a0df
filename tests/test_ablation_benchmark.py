"""Pure parts of benchmarks/baggage_ablation.py: the test-set spec parser and the table
(the full run trains models and belongs to benchmarks/, not to the timed suite)."""
from __future__ import annotations

import pytest
from bench_scripts import load_benchmark


def _load():
    return load_benchmark("baggage_ablation")


abl = _load()


def test_parse_tests():
    t = abl.parse_tests("a=random:3, b=sim-dual-kvp-80-140:4:only")
    assert t == {"a": {"profile": "random", "seed": 3, "held_out": "exclude"},
                 "b": {"profile": "sim-dual-kvp-80-140", "seed": 4, "held_out": "only"}}
    assert list(abl.parse_tests(abl.DEFAULT_TESTS))[0] == "in_distribution"
    for bad in ("a", "a=random", "a=random:x", "a=random:3:sometimes", "=random:3", ""):
        with pytest.raises(SystemExit):
            abl.parse_tests(bad)


def test_table_lists_every_arm_and_test():
    tests = abl.parse_tests("in=random:3,ood=sim-dual-kvp-80-140:4:only")
    res = {"command": "python benchmarks/baggage_ablation.py", "smoke": False, "n_train": 1950,
           "n_test": 200, "size": "576x736", "epochs": 6, "config": "c.yaml", "input_size": 512,
           "fixed_profile": "sim-160kv-sandwich", "tests": tests, "wall_s": 60.0, "machine": "x",
           "arms": {"randomised": {"scores": {"in": {"map50": 0.5, "map50_95": 0.2, "tar@far0.05": 0.7},
                                              "ood": {"map50": 0.3, "map50_95": 0.1, "tar@far0.05": None}},
                                   "drop_map50": 0.2},
                    "fixed": {"scores": {"in": {"map50": 0.4, "map50_95": 0.1, "tar@far0.05": 0.5}},
                              "drop_map50": None}}}
    md = abl.render_markdown(res)
    assert "| randomised | 0.500 / 0.200 (0.700) | 0.300 / 0.100 (-) | 0.200 |" in md
    assert "| fixed | 0.400 / 0.100 (0.500) | - / - (-) | - |" in md
    assert "SMOKE" not in md
