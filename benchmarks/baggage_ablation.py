"""Baggage ablation: what does scanner randomisation buy?

Trains the same detector recipe several times on bags rendered from the same seeds, changing
only how the simulated scanners vary (the "arms"), and scores every model on the same test
sets: in distribution (randomised scanners, held-out seed) and on scanner profiles that no arm
was trained on. Everything runs through the public CLI (``inspect-cv synth baggage``,
``train detect``, ``export``, ``evaluate``), so the numbers are the ones a user would get.

Arms (``--arms``, comma-separated):

* ``randomised``: ``--profile random`` (tube voltage, filtration, detector layers, noise, blur,
  streaks, palette, belt, JPEG drawn per bag) with the recipe's image augmentation: the
  shipped recipe;
* ``fixed``: every bag from one named scanner (``--fixed-profile``), same augmentation;
* ``fixed-noaug``: one scanner and no image augmentation (``augment.enabled=false``).

Test sets (``--tests``): ``name=profile:seed[:held-out]`` with ``held-out`` one of
exclude / only / include (shape families; default exclude). The default scores the
in-distribution test and two unseen scanners (dual kVp 80/140 with held-out shapes, and a
single-energy greyscale scanner).

Every step is skipped when its output exists, so an interrupted run resumes; ``--fresh``
starts over. Results: ``<results>.md`` (a Markdown table headed by the command) and
``<results>.json``. Example, the CPU budget of the shipped model (hours on 2 cores)::

    python benchmarks/baggage_ablation.py --work runs/ablation --n-train 1950 --epochs 6

and a smoke run (minutes)::

    python benchmarks/baggage_ablation.py --work /tmp/abl --n-train 16 --n-val 4 --n-test 6 \\
        --epochs 2 --size 256x320 --input-size 256 --set train.batch_size=4 \\
        --set train.warmup_iters=2 --results /tmp/abl/ablation
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

ARMS = {
    "randomised": {"profile": "random", "overrides": []},
    "fixed": {"profile": None, "overrides": []},
    "fixed-noaug": {"profile": None, "overrides": ["augment.enabled=false"]},
}
DEFAULT_TESTS = ("in_distribution=random:3:exclude,"
                 "dual_kvp_heldout_shapes=sim-dual-kvp-80-140:4:only,"
                 "greyscale_single_energy=sim-greyscale-single-energy:5:exclude")


def log(msg: str) -> None:
    print(f"[baggage_ablation] {msg}", file=sys.stderr, flush=True)


def parse_tests(text: str) -> dict[str, dict]:
    """``name=profile:seed[:held-out],...`` -> ``{name: {profile, seed, held_out}}``."""
    out = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        name, sep, spec = item.partition("=")
        parts = spec.split(":")
        if not sep or not name or len(parts) not in (2, 3) or not parts[1].isdigit():
            raise SystemExit(f"bad --tests entry {item!r}: expected name=profile:seed[:held-out]")
        held = parts[2] if len(parts) == 3 else "exclude"
        if held not in ("exclude", "only", "include"):
            raise SystemExit(f"bad --tests entry {item!r}: held-out must be exclude, only or include")
        out[name] = {"profile": parts[0], "seed": int(parts[1]), "held_out": held}
    if not out:
        raise SystemExit("--tests names no test set")
    return out


def cli(*args: str) -> None:
    """Run ``inspect-cv ARGS`` with this Python; stop the benchmark with its message on failure."""
    cmd = [sys.executable, "-m", "inspect_cv", *args]
    log("$ inspect-cv " + " ".join(shlex.quote(a) for a in args))
    r = subprocess.run(cmd, cwd=REPO)
    if r.returncode != 0:
        raise SystemExit(f"step failed (exit {r.returncode}): inspect-cv {' '.join(args)}")


def render(out: Path, n: int, seed: int, profile: str, size: str, held_out: str, workers: int) -> Path:
    ann = out / "annotations.json"
    if not ann.is_file():
        cli("synth", "baggage", "--out", str(out), "--n", str(n), "--seed", str(seed),
            "--size", size, "--profile", profile, "--held-out", held_out,
            "--workers", str(workers))
    return ann


def metrics_row(m: dict) -> dict:
    alarm = m.get("alarm") or {}
    return {"map50": m.get("map50"), "map50_95": m.get("map50_95"),
            "tar@far0.01": alarm.get("tar@far0.01"), "tar@far0.05": alarm.get("tar@far0.05"),
            "per_class_ap50": m.get("per_class_ap50")}


def _f(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def render_markdown(res: dict) -> str:
    tests = list(res["tests"])
    lines = [f"# Baggage ablation: what scanner randomisation buys{' (SMOKE RUN)' if res['smoke'] else ''}",
             "", f"Command: `{res['command']}`", "",
             f"Training: {res['n_train']} bags (seed 1, {res['size']}), {res['epochs']} epochs of "
             f"`{res['config']}` at {res['input_size']} px, one model per arm; fixed scanner "
             f"`{res['fixed_profile']}`. Test sets ({res['n_test']} bags each): "
             + "; ".join(f"`{k}` = {v['profile']}, seed {v['seed']}, shapes {v['held_out']}"
                         for k, v in res["tests"].items()) + ".", "",
             "mAP50 / mAP50-95 (true-alarm rate at 5 % false alarms on threat-free bags):", "",
             "| arm | " + " | ".join(tests) + " | drop in -> worst unseen (mAP50) |",
             "|---|" + "---|" * len(tests) + "---|"]
    for arm, row in res["arms"].items():
        cells = []
        for t in tests:
            m = row["scores"].get(t, {})
            cells.append(f"{_f(m.get('map50'))} / {_f(m.get('map50_95'))} ({_f(m.get('tar@far0.05'))})")
        drop = row.get("drop_map50")
        lines.append(f"| {arm} | " + " | ".join(cells) + f" | {_f(drop)} |")
    lines += ["", f"Wall time: {res['wall_s'] / 60:.1f} min on {res['machine']}.", ""]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="runs/ablation", help="folder for data, runs and models")
    ap.add_argument("--arms", default="randomised,fixed,fixed-noaug")
    ap.add_argument("--fixed-profile", default="sim-160kv-sandwich")
    ap.add_argument("--tests", default=DEFAULT_TESTS)
    ap.add_argument("--config", default="training/baggage/config_cpu_v0.yaml")
    ap.add_argument("--n-train", type=int, default=1950)
    ap.add_argument("--n-val", type=int, default=200)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--size", default="576x736", help="bag size HxW")
    ap.add_argument("--input-size", type=int, default=None, help="model input (default the recipe's)")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="extra recipe override for every arm (repeatable), e.g. train.batch_size=4")
    ap.add_argument("--results", default="benchmarks/results/baggage_ablation")
    ap.add_argument("--fresh", action="store_true", help="delete --work first")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    bad = [a for a in arms if a not in ARMS]
    if bad or not arms:
        raise SystemExit(f"unknown arms {bad}; known: {', '.join(ARMS)}")
    tests = parse_tests(args.tests)
    work = (REPO / args.work) if not Path(args.work).is_absolute() else Path(args.work)
    if args.fresh and work.exists():
        shutil.rmtree(work)
    t0 = time.time()
    data = work / "data"
    test_ann = {name: render(data / f"test_{name}", args.n_test, t["seed"], t["profile"], args.size,
                             t["held_out"], args.workers) for name, t in tests.items()}
    res = {"command": "python benchmarks/baggage_ablation.py " + " ".join(shlex.quote(a) for a in
                                                                       (sys.argv[1:] if argv is None else argv)),
           "smoke": args.n_train < 200 or args.epochs < 2, "overrides": args.set, "n_train": args.n_train, "n_test": args.n_test,
           "size": args.size, "epochs": args.epochs, "config": args.config,
           "input_size": args.input_size or "the recipe's", "fixed_profile": args.fixed_profile,
           "tests": tests, "arms": {}}
    for arm in arms:
        spec = ARMS[arm]
        profile = spec["profile"] or args.fixed_profile
        tag = "random" if profile == "random" else profile
        train = render(data / f"train_{tag}", args.n_train, 1, profile, args.size, "exclude", args.workers)
        val = render(data / f"val_{tag}", args.n_val, 2, profile, args.size, "exclude", args.workers)
        run_dir = work / "runs"
        model = work / "models" / f"{arm}.onnx"
        if not model.is_file():
            over = [f"name={arm}", f"output_dir={run_dir}", f"data.train={train}", f"data.val={val}",
                    f"train.epochs={args.epochs}", *args.set, *spec["overrides"]]
            if args.input_size:
                over.append(f"data.input_size={args.input_size}")
            cli("train", "detect", args.config, *over)
            model.parent.mkdir(parents=True, exist_ok=True)
            cli("export", str(run_dir / arm), "--out", str(model), "--name", f"baggage-{arm}")
        scores = {}
        for name, ann in test_ann.items():
            out = work / "eval" / arm / name
            if not (out / "metrics.json").is_file():
                cli("evaluate", "--model", str(model), "--data", str(ann), "--out", str(out))
            scores[name] = metrics_row(json.loads((out / "metrics.json").read_text()))
        first = next(iter(tests))
        unseen = [s["map50"] for n, s in scores.items() if n != first and s["map50"] is not None]
        drop = (scores[first]["map50"] - min(unseen)) if unseen and scores[first]["map50"] is not None else None
        res["arms"][arm] = {"profile": profile, "overrides": spec["overrides"], "scores": scores,
                            "drop_map50": drop}
    res["wall_s"] = time.time() - t0
    res["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs"
    out = Path(args.results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(res, indent=1))
    out.with_suffix(".md").write_text(render_markdown(res))
    print(render_markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
