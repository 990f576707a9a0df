"""Archive batch detection: sources, shards, resume; a real 2-node Ray cluster on 127.0.0.1."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from inspect_cv.batch import list_sources, plan_shards, read_shard, shard_name, write_shard
from inspect_cv.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "inspect_cv" / "samples" / "baggage"


def test_list_sources_folders_lists_order_and_duplicates(tmp_path):
    (tmp_path / "a" / "sub").mkdir(parents=True)
    for name in ("a/2.png", "a/1.png", "a/sub/3.jpg", "a/notes.txt.bak"):
        (tmp_path / name).write_bytes(b"x")
    lst = tmp_path / "list.txt"
    lst.write_text("# archive list\na/1.png\n\n" + str(tmp_path / "a/sub/3.jpg") + "\n")
    got = list_sources([lst, tmp_path / "a"])
    assert got == [str(tmp_path / "a/1.png"), str(tmp_path / "a/sub/3.jpg"), str(tmp_path / "a/2.png")]


def test_plan_shards_is_deterministic_and_complete():
    paths = [f"{i}.png" for i in range(23)]
    shards = plan_shards(paths, 5)
    assert [len(s) for s in shards] == [5, 5, 5, 5, 3]
    assert sum(shards, []) == paths and plan_shards(paths, 5) == shards
    assert shard_name(3, "jsonl") == "part-00003.jsonl"
    with pytest.raises(ConfigError):
        plan_shards(paths, 0)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_shards_round_trip_atomically(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    rows = [{"image": "a.png", "detections": [], "alarm": False}, {"image": "b.png", "error": "damaged"}]
    path = tmp_path / shard_name(0, fmt)
    write_shard(path, rows, fmt)
    assert read_shard(path) == rows and not list(tmp_path.glob("*.tmp"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    pytest.importorskip("ray", reason="ray is not installed (batch extra)")
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        pytest.skip("the ray command is not installed beside this Python")
    tmp = Path("/tmp") / f"icv-ray-{os.getpid()}"  # short: Ray's socket paths have a length limit
    port = _free_port()
    # token authentication with a token of this test's own (a fresh machine has no ~/.ray/auth_token)
    env = dict(os.environ, RAY_TMPDIR=str(tmp), RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    head = [str(ray_bin), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=1",
            "--include-dashboard=false", f"--temp-dir={tmp}", "--disable-usage-stats"]
    worker = [str(ray_bin), "start", f"--address=127.0.0.1:{port}", "--node-ip-address=127.0.0.1", "--num-cpus=1"]
    try:
        subprocess.run(head, check=True, capture_output=True, env=env, timeout=120)
        subprocess.run(worker, check=True, capture_output=True, env=env, timeout=120)
        yield f"127.0.0.1:{port}", env
    finally:
        subprocess.run([str(ray_bin), "stop", "--force"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)


def _cli(args, env):
    return subprocess.run([sys.executable, "-m", "inspect_cv", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=dict(env, PYTHONPATH=str(ROOT)), timeout=300)


def test_batch_on_a_two_node_cluster_resumes_exactly_once(tmp_path, cluster):
    address, env = cluster
    src = tmp_path / "scans"
    src.mkdir()
    samples = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".jpg", ".png"))
    for i in range(200):
        s = samples[i % len(samples)]
        shutil.copy(s, src / f"scan{i:04d}{s.suffix}")
    (src / "scan9999.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "out"
    args = ["batch", "detect", src, "--model", "baggage", "--out", out, "--ray", address, "--shard-size", "50",
            "--workers", "2", "--batch-size", "8"]
    r = _cli(args, env)
    assert r.returncode == 0, r.stderr[-2000:]
    shards = sorted(out.glob("part-*.jsonl"))
    assert len(shards) == 5 and "201 scans, 201 processed" in r.stderr
    (shards[2]).unlink()  # an interrupted run: one shard missing
    r = _cli(args, env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "50 processed, 151 skipped" in r.stderr
    rows = [rec for s in sorted(out.glob("part-*.jsonl")) for rec in read_shard(s)]
    names = [Path(rec["image"]).name for rec in rows]
    assert len(names) == 201 and len(set(names)) == 201
    bad = [rec for rec in rows if "error" in rec]
    assert [Path(b["image"]).name for b in bad] == ["scan9999.jpg"]
    # the same records as `inspect-cv detect` (timings aside)
    one = [src / "scan0000.jpg", src / "scan0002.png"]
    d = _cli(["detect", *one, "--model", "baggage"], env)
    want = [json.loads(line) for line in d.stdout.splitlines()]
    got = {rec["image"]: rec for rec in rows}
    for w in want:
        g = dict(got[w["image"]])
        for rec in (w, g):
            rec.pop("ms", None)
            rec.pop("timings_ms", None)
        assert g == w


def test_cli_bad_inputs_are_one_line(tmp_path):
    env = dict(os.environ)
    r = _cli(["batch", "detect", tmp_path / "nope", "--model", "baggage", "--out", tmp_path / "o"], env)
    assert r.returncode != 0 and "nope" in r.stderr and "Traceback" not in r.stderr
    r = _cli(["batch", "detect", SAMPLES, "--model", "baggage", "--out", tmp_path / "o", "--tile", "big"], env)
    assert r.returncode != 0 and "tile" in r.stderr and "Traceback" not in r.stderr
