"""How a gallery should score a horse: its best enrolment photo ("max") or its template ("mean").

    inspect-cv synth horse --out data/horse/g2_test --identities 150 --per-identity 8 --seed 2
    PYTHONPATH=. python benchmarks/horse_templates.py --data data/horse/g2_test [--model horse-reid] \
        [--enrol 1,2,3,4] [--repeats 5] [--out benchmarks/results/horse_templates.md]

Sessions protocol: each horse's enrolment-session photos are its gallery, its later-session
photos the probes (``meta.json`` of ``inspect-cv synth horse``). For K enrolment photos per horse
(a random K of its enrolment-session photos, ``--repeats`` draws, mean reported) every probe is
scored against every horse by each rule (``inspect_cv.evaluation.reid.identity_scores``, the rule
``Gallery`` uses), giving rank-1, TAR at FAR 1 % / 0.1 % over (probe, horse) pairs and EER. The
per-image row is the plain ``evaluate reid --protocol sessions`` figure (every gallery image
ranked on its own) with all enrolment photos.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np


def score(q, ql, g, gl, rule):
    """Probes ``q`` against the horses of gallery ``g`` under ``rule``, as ``Gallery`` scores them."""
    from inspect_cv.evaluation.reid import evaluate_embeddings

    m = evaluate_embeddings(np.concatenate([q, g]), np.concatenate([ql, gl]), "query-gallery",
                            np.r_[np.ones(len(q), bool), np.zeros(len(g), bool)], templates=rule)
    return {"rank1": m.rank1, "tar1": m.tar_at_far[0.01], "tar01": m.tar_at_far[0.001], "eer": m.eer}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path, help="synthetic horse set with sessions (meta.json)")
    ap.add_argument("--model", default="horse-reid")
    ap.add_argument("--enrol", default="1,2,3,4", help="enrolment photos per horse to try")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="write a Markdown table here")
    args = ap.parse_args(argv)

    import inspect_cv
    from inspect_cv.evaluation.reid import (embed_identity_set, evaluate_embeddings, read_identity_folder,
                                            session_query_mask)
    from inspect_cv.progress import progress

    model = inspect_cv.load(args.model, device="cpu")
    data = read_identity_folder(args.data)
    emb = embed_identity_set(model.embed, data, 64, progress)
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    mask = session_query_mask(data)
    labels = np.asarray(data.labels)
    q, ql, g_all, gl_all = emb[mask], labels[mask], emb[~mask], labels[~mask]
    plain = evaluate_embeddings(emb, labels, "sessions", mask)
    rng = np.random.default_rng(args.seed)
    rows = []
    for k in [int(x) for x in args.enrol.split(",")]:
        acc = {"max": [], "mean": []}
        for _ in range(args.repeats):
            sel = np.concatenate([rng.choice(np.flatnonzero(gl_all == i), min(k, int(np.sum(gl_all == i))),
                                             replace=False) for i in np.unique(gl_all)])
            for rule in acc:
                acc[rule].append(score(q, ql, g_all[sel], gl_all[sel], rule))
        for rule, runs in acc.items():
            rows.append((k, rule, {m: float(np.mean([r[m] for r in runs])) for m in runs[0]}))

    lines = [f"Model `{args.model}` (v{model.card.version}), data `{args.data}`: {len(np.unique(labels))} horses, "
             f"{int(mask.sum())} probes from later sessions; K enrolment photos per horse drawn {args.repeats} times "
             f"(seed {args.seed}), means.", "",
             "| enrolment photos | rule | rank-1 | TAR @ FAR 1 % | TAR @ FAR 0.1 % | EER |", "|---|---|---|---|---|---|"]
    for k, rule, m in rows:
        lines.append(f"| {k} | {rule} | {m['rank1']:.3f} | {m['tar1']:.3f} | {m['tar01']:.3f} | {m['eer']:.3f} |")
    lines += ["", f"Per-image ranking (`inspect-cv evaluate reid --protocol sessions`, every enrolment photo on its own, "
                  f"image pairs for TAR): rank-1 {plain.rank1:.3f}, TAR @ 1 % {plain.tar_at_far[0.01]:.3f}, "
                  f"TAR @ 0.1 % {plain.tar_at_far[0.001]:.3f}, EER {plain.eer:.3f}.", "",
              "Command: `PYTHONPATH=. python benchmarks/horse_templates.py " + shlex.join(argv if argv is not None
                                                                                      else sys.argv[1:]) + "`"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("# Horse gallery: best enrolment photo (max) vs template (mean)\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
