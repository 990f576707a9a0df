"""Writing synthetic horse data sets and identity-disjoint splits."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from ...errors import ConfigError, InputError
from .identity import GENERATOR_VERSION, HorseIdentity, make_identities
from .render import render_face, render_scene, session_conditions


def session_of(n: int, per_identity: int, sessions: int) -> int:
    """Session index of photo ``n`` of ``per_identity`` (consecutive blocks per session)."""
    return min(sessions - 1, n * sessions // max(per_identity, 1))


def _write_png(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1])):
        raise InputError("could not write image", path)


def write_identities(out_dir, identities: Sequence[HorseIdentity], per_identity: int, seed: int,
                     size: int = 224, sessions: int = 2, progress: Callable | None = None,
                     scenes: int = 0, scene_size: tuple = (480, 640), scenes_dir=None,
                     hard_fraction: float = 0.2, first: int = 0) -> Path:
    """Render ``per_identity`` face crops of every identity into ``out_dir``.

    Layout: ``out_dir/<identity name>/<n>.png`` and ``out_dir/meta.json`` (identity
    attributes, the session of each image, seed, generator version). Photo ``n`` of
    identity ``i`` depends only on ``(seed, i, n)``; photos are split into ``sessions``
    consecutive blocks (session 0 = enrolment, the others = later checks).

    ``identities`` is a list of :class:`HorseIdentity` or a count (then
    :func:`make_identities` draws them from ``seed`` with ``hard_fraction`` hard cases).

    ``first`` is the index of the first identity, so that a large set can be rendered in
    parts (in parallel, or to grow an existing set): with a count, the identities are
    ``first .. first + count - 1``, named and drawn exactly as in one full render; photo ``n``
    of the ``j``-th listed identity uses index ``first + j``.

    With ``scenes > 0`` also writes ``scenes`` wider photos per identity (head in a
    larger picture, for face detection) into ``scenes_dir`` (default: the sibling
    folder ``<out_dir>_scenes``, so that ``out_dir`` stays one folder per identity) with
    COCO boxes of the face in ``<scenes_dir>/annotations.json``.
    """
    if first < 0:
        raise ConfigError(f"first must be >= 0, got {first}")
    if isinstance(identities, (int, np.integer)):
        if identities < 1:
            raise ConfigError(f"the number of identities must be >= 1, got {identities}")
        identities = make_identities(int(identities), seed, hard_fraction, first)
    if per_identity < 1:
        raise ConfigError(f"per_identity must be >= 1, got {per_identity}")
    if sessions < 1:
        raise ConfigError(f"sessions must be >= 1, got {sessions}")
    if size < 32:
        raise ConfigError(f"size must be >= 32, got {size}")
    out = Path(out_dir)
    sdir = Path(scenes_dir) if scenes_dir is not None else out.parent / (out.name + "_scenes")
    try:
        out.mkdir(parents=True, exist_ok=True)
        if scenes:
            sdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create output folder ({e.strerror})", out) from e
    jobs = [(i, n) for i in range(len(identities)) for n in range(per_identity)]
    jobs += [(i, -1 - k) for i in range(len(identities)) for k in range(scenes)]
    jobs.sort()
    it = progress(jobs, total=len(jobs), desc="horses") if progress else jobs
    meta_ids = []
    images: list[dict] = []
    annotations: list[dict] = []
    names = [ident.name or f"h{first + i:05d}" for i, ident in enumerate(identities)]
    if len(set(names)) != len(names):
        raise ConfigError("identity names must be unique")
    for i, n in it:
        ident = identities[i]
        d = out / names[i]
        if n >= 0:
            d.mkdir(exist_ok=True)
            rng = np.random.default_rng([seed, first + i, 2, n])
            s = session_of(n, per_identity, sessions)
            _write_png(d / f"{n}.png", render_face(ident, rng, session=s, size=size))
        else:
            k = -1 - n
            rng = np.random.default_rng([seed, first + i, 3, k])
            s = int(rng.integers(sessions))
            img, box = render_scene(ident, rng, size=scene_size, session=s)
            fname = f"{names[i]}_{k}.png"
            _write_png(sdir / fname, img)
            image_id = len(images) + 1
            images.append(dict(id=image_id, file_name=fname, width=int(img.shape[1]), height=int(img.shape[0]),
                               identity=names[i], session=s))
            if box is not None:
                x1, y1, x2, y2 = (float(v) for v in box)
                annotations.append(dict(id=len(annotations) + 1, image_id=image_id, category_id=1,
                                        bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1), iscrowd=0))
    for i, ident in enumerate(identities):
        sess_meta = []
        for s in range(sessions):
            c = session_conditions(ident, s)
            sess_meta.append(dict(index=s, season=c.season, background=c.background,
                                  halter=None if c.halter is None else c.halter["kind"]))
        meta_ids.append(dict(name=names[i], attributes=ident.to_dict(), sessions=sess_meta,
                             images=[dict(file=f"{names[i]}/{n}.png", session=session_of(n, per_identity, sessions))
                                     for n in range(per_identity)]))
    meta = dict(generator="inspect_cv.synth.horse", generator_version=GENERATOR_VERSION, seed=int(seed), first=int(first),
                size=int(size), per_identity=int(per_identity), sessions=int(sessions),
                scenes_dir=str(sdir) if scenes else None, identities=meta_ids)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    if scenes:
        coco = dict(images=images, annotations=annotations,
                    categories=[dict(id=1, name="horse_face", supercategory="horse")])
        (sdir / "annotations.json").write_text(json.dumps(coco))
    return out


def split_identities(ids: Sequence, fractions: Sequence[float] | dict, seed: int) -> list[list] | dict:
    """Split identity ids into disjoint groups with the given fractions (seeded shuffle).

    ``fractions`` is a sequence (returns a list of lists) or a dict name -> fraction
    (returns a dict). Fractions must be >= 0 and sum to at most 1 (+1e-6); the last
    group takes any rounding remainder when they sum to 1.
    """
    names = list(fractions) if isinstance(fractions, dict) else None
    fr = [float(fractions[k]) for k in names] if names else [float(f) for f in fractions]
    if not fr or any(not np.isfinite(f) or f < 0 for f in fr) or sum(fr) > 1 + 1e-6:
        raise ConfigError(f"split fractions must be >= 0 and sum to <= 1, got {fr}")
    ids = list(ids)
    if len(set(map(str, ids))) != len(ids):
        raise ConfigError("identity ids must be unique")
    order = np.random.default_rng([int(seed), 5]).permutation(len(ids))
    bounds = np.round(np.cumsum(fr) * len(ids)).astype(int)
    if abs(sum(fr) - 1) < 1e-6:
        bounds[-1] = len(ids)
    groups, start = [], 0
    for b in bounds:
        groups.append([ids[j] for j in order[start:b]])
        start = b
    return dict(zip(names, groups)) if names else groups
