"""``inspect-cv evaluate reid --model M --data D [--out DIR]``: score an embedding model.

``D`` is a folder of ``<identity>/<image>`` files (identities unseen in training). Protocol:
leave-one-out (every image queries all the others) unless ``args.protocol`` is
``query-gallery`` (one random gallery image per identity, the rest are queries) or
``sessions`` (enrolment session = gallery, later sessions = queries, from ``D/meta.json``);
``args.templates`` (max / mean) then scores queries against gallery identities as the horse
gallery does; ``args.cohort`` (an embeddings ``.npz`` or an image folder) scores with AS-norm
against that cohort (:class:`inspect_cv.reid.scorenorm.CohortNorm`, top ``args.cohort_k``). Writes
``metrics.json`` and ``roc.png``, ``det.png``, ``scores.png`` to ``--out`` and prints a summary.
Torch-free: embeddings come from the ONNX runtime. ``args`` needs ``model``, ``data``, ``out``
(or None), ``device`` (auto/cpu/cuda) and optionally ``protocol``; the ``inspect-cv evaluate``
parser provides them.
"""
from __future__ import annotations

from pathlib import Path


def run(args) -> int:
    from .. import load
    from ..evaluation.reid import (embed_identity_set, evaluate_embeddings, read_identity_folder, save_plots,
                                   session_query_mask, split_query_gallery, write_metrics)
    from ..progress import progress

    device = getattr(args, "device", None)
    model = load(args.model, device=None if device in (None, "auto") else device)
    if getattr(model, "card", None) is None or model.card.task != "embed":
        from ..errors import ModelError
        raise ModelError(f"{args.model}: not an embedding model (card task {getattr(model.card, 'task', '?')!r})")
    data = read_identity_folder(args.data, min_images=1)
    emb = embed_identity_set(model.embed, data, 64, progress)
    protocol = getattr(args, "protocol", None) or "leave-one-out"
    mask = (split_query_gallery(data.labels, 1, seed=0) if protocol == "query-gallery"
            else session_query_mask(data) if protocol == "sessions" else None)
    norm = _cohort(model, getattr(args, "cohort", None), int(getattr(args, "cohort_k", 100) or 100), progress)
    metrics = evaluate_embeddings(emb, data.labels, protocol, query_mask=mask,
                                  templates=getattr(args, "templates", None), norm=norm)
    print(f"{model.card.name}: {metrics.summary()}")
    out = getattr(args, "out", None)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        extra = {"model": str(args.model), "data": str(args.data)}
        if norm is not None:
            extra.update(cohort=str(args.cohort), cohort_size=len(norm), cohort_k=norm.top_k)
        write_metrics(metrics, out / "metrics.json", extra)
        for path in save_plots({model.card.name: metrics}, out):
            print(f"wrote {path}")
        print(f"wrote {out / 'metrics.json'}")
    return 0


def _cohort(model, cohort, top_k: int, progress):
    """The :class:`CohortNorm` of ``--cohort`` (None without one)."""
    if cohort is None:
        return None
    from ..errors import InputError
    from ..reid.scorenorm import CohortNorm

    path = Path(cohort)
    if path.is_dir():
        from ..io import iter_image_files
        from ..reid.embed import embed_paths

        result = embed_paths(model, sorted(iter_image_files([path])), progress=progress)
        if len(result) < 2:
            raise InputError("the cohort folder needs at least 2 readable images", path)
        return CohortNorm(result.embeddings, top_k)
    if path.suffix.lower() != ".npz":
        raise InputError("--cohort must be an embeddings .npz or an image folder", path)
    return CohortNorm.from_npz(path, top_k, getattr(model.card, "weights_sha256", None))
