"""The linear maps of benchmarks/dogface_whitening_val.py do what they say."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.bench_scripts import load_benchmark

bench = load_benchmark("dogface_whitening_val")


def population(seed, ids=12, per=8, d=6):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(ids, d)) * 3
    spread = rng.normal(size=(d, d))                      # one shared, skewed within-identity spread
    x = np.concatenate([c + rng.normal(size=(per, d)) @ spread for c in centres])
    return x, np.repeat(np.arange(ids), per)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["pca", "wccn"]))
def test_whitening_undoes_any_linear_distortion(seed, kind):
    """Without shrinkage a whitening map leaves the same cosines whatever invertible linear map
    the embeddings went through first (it removes exactly such distortions); outputs are unit."""
    x, y = population(seed)
    a = np.random.default_rng(seed + 1).normal(size=(x.shape[1], x.shape[1])) + 3 * np.eye(x.shape[1])
    out, out_a = bench.fit_map(x, y, kind, 0.0)(x), bench.fit_map(x @ a, y, kind, 0.0)(x @ a)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)
    assert np.allclose(out @ out.T, out_a @ out_a.T, atol=1e-5)


def test_lda_keeps_the_asked_dimensions_and_separates_identities():
    x, y = population(1, ids=10, per=10, d=8)
    f = bench.fit_map(x, y, "lda", 0.1, dims=3)
    out = f(x)
    assert out.shape == (len(x), 3)
    same = [(out[y == c] @ out[y == c].T).mean() for c in np.unique(y)]
    assert np.mean(same) > (out @ out.T).mean()
