"""benchmarks/embed_latency.py: models side by side in one run (tiny fixture embedders)."""
from bench_scripts import load_benchmark
from fixture_models import tiny_embedder


def test_two_models_timed_in_turns(tmp_path, capsys):
    bench = load_benchmark("embed_latency")
    a = tiny_embedder(tmp_path / "a.onnx", size=32, name="emb-a")
    b = tiny_embedder(tmp_path / "b.onnx", size=48, name="emb-b")
    out = tmp_path / "lat.md"
    assert bench.main(["--models", str(a), str(b), "--runs", "5", "--warmup", "1", "--repeats", "2",
                       "--threads", "1", "--out", str(out)]) == 0
    text = out.read_text()
    rows = [r for r in text.splitlines() if r.startswith("| emb-")]
    assert len(rows) == 2 and "32 px" in rows[0] and "48 px" in rows[1]
    cells = rows[0].strip("|").split("|")
    assert len(cells) == 6 and cells[-1].strip() == "1.00"       # 2 repeats + median, ratio to itself
    assert all(float(c) > 0 for c in cells[2:5])
    assert "embed_latency.py --models" in text


def test_table_ratio_is_to_the_first_model():
    bench = load_benchmark("embed_latency")
    rows = bench.table(["x", "y"], [128, 160], [[2.0, 3.0, 2.5], [5.0, 5.0, 4.0]])
    assert rows[-2].endswith("| 2.50 | 1.00 |") and rows[-1].endswith("| 5.00 | 2.00 |")
