"""Horse identities: the attributes a horse passport records, as sampled parameters.

An identity is everything that stays the same between two photos of one horse:
coat colour and shade, white face markings (each with its own outline), hair whorls,
muzzle pigmentation spots and the shape of the head. Per-photo conditions (pose,
light, halter, season...) are *not* part of it; see :mod:`.render`.

All coordinates are in the canonical face frame: ``x`` in about ``[-0.5, 0.5]``
(left to right as seen by the camera, 0 on the nasal bone) and ``y`` in ``[0, 1]``
(ear tips near 0, bottom of the muzzle near 0.97).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

# Coat colours: body albedo (sRGB 0..1), points (mane, forelock, ear rims), muzzle
# skin, and how likely the body colour darkens towards the muzzle.
COATS: dict[str, dict] = {
    "bay": dict(body=(0.50, 0.27, 0.13), points=(0.07, 0.05, 0.04), skin=(0.16, 0.13, 0.12)),
    "dark_bay": dict(body=(0.27, 0.14, 0.08), points=(0.05, 0.04, 0.035), skin=(0.12, 0.10, 0.10)),
    "chestnut": dict(body=(0.62, 0.32, 0.15), points=(0.55, 0.27, 0.12), skin=(0.30, 0.22, 0.20)),
    "liver_chestnut": dict(body=(0.36, 0.18, 0.10), points=(0.32, 0.16, 0.09), skin=(0.22, 0.16, 0.15)),
    "black": dict(body=(0.075, 0.065, 0.06), points=(0.05, 0.045, 0.045), skin=(0.08, 0.07, 0.07)),
    "grey": dict(body=(0.70, 0.70, 0.68), points=(0.55, 0.55, 0.54), skin=(0.17, 0.16, 0.16)),
    "dun": dict(body=(0.68, 0.55, 0.36), points=(0.12, 0.09, 0.07), skin=(0.15, 0.13, 0.12)),
    "palomino": dict(body=(0.80, 0.60, 0.30), points=(0.92, 0.88, 0.76), skin=(0.30, 0.25, 0.24)),
    "buckskin": dict(body=(0.78, 0.62, 0.38), points=(0.07, 0.055, 0.05), skin=(0.15, 0.13, 0.12)),
    "roan": dict(body=(0.45, 0.24, 0.14), points=(0.10, 0.07, 0.05), skin=(0.15, 0.13, 0.12)),
    "blue_roan": dict(body=(0.12, 0.11, 0.11), points=(0.06, 0.055, 0.05), skin=(0.10, 0.09, 0.09)),
}
COAT_WEIGHTS = {"bay": 0.22, "dark_bay": 0.12, "chestnut": 0.17, "liver_chestnut": 0.05,
                "black": 0.08, "grey": 0.12, "dun": 0.05, "palomino": 0.05, "buckskin": 0.05,
                "roan": 0.05, "blue_roan": 0.04}
# Coats most horses have: the hard-case families use these.
COMMON_COATS = ("bay", "dark_bay", "chestnut", "black", "grey")

# Face-marking layouts (passport vocabulary) and their frequencies.
MARKING_LAYOUTS: dict[tuple[str, ...], float] = {
    (): 0.22, ("star",): 0.16, ("star", "stripe"): 0.10, ("star", "stripe", "snip"): 0.08,
    ("blaze",): 0.12, ("star", "snip"): 0.05, ("snip",): 0.06, ("stripe",): 0.04,
    ("bald",): 0.05, ("blaze", "snip"): 0.04, ("star", "blaze"): 0.04, ("stripe", "snip"): 0.04,
}

GENERATOR_VERSION = "horse-synth-2"


@dataclass
class Marking:
    """One white face marking: a noisy-outline blob or band in the canonical frame.

    ``kind`` is ``star``, ``stripe``, ``blaze``, ``snip`` or ``bald``. For blobs
    (star, snip) ``(cx, cy)`` is the centre and ``size`` the radius; for bands
    (stripe, blaze, bald) ``cy``..``cy2`` is the vertical extent, ``size`` the half
    width and ``bend`` the lateral curve. ``harmonics`` are outline Fourier terms
    ``(amplitude, phase)``; ``noise_seed`` seeds the fine ragged edge.
    """

    kind: str
    cx: float
    cy: float
    size: float
    cy2: float = 0.0
    bend: float = 0.0
    taper: float = 0.0
    rot: float = 0.0
    aspect: float = 1.0
    harmonics: list = field(default_factory=list)
    noise_seed: int = 0
    raggedness: float = 0.2


@dataclass
class HorseIdentity:
    """The per-horse (identity) parameters; JSON-serialisable via :meth:`to_dict`."""

    coat: str
    body: tuple
    points: tuple
    skin: tuple
    shade: float
    roan: float
    dapple: float
    markings: list
    whorls: list          # [x, y, radius, handedness(+1/-1), arms]
    muzzle_spots: list    # [x, y, radius, kind] kind 0 = dark on pink, 1 = pink on dark
    face: dict            # head shape parameters
    texture_seed: int
    hard: bool = False
    family: int = -1
    name: str = ""

    def to_dict(self) -> dict:
        """Plain-JSON form (for ``meta.json``)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: dict) -> "HorseIdentity":
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["markings"] = [m if isinstance(m, Marking) else Marking(**m) for m in d["markings"]]
        for k in ("body", "points", "skin"):
            d[k] = tuple(d[k])
        return cls(**d)

    def key(self) -> str:
        """A string that identifies these parameters (used for render caches)."""
        return json.dumps(self.to_dict(), sort_keys=True)


def _choice(rng: np.random.Generator, weights: dict):
    keys = list(weights)
    p = np.asarray([weights[k] for k in keys], float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _harmonics(rng: np.random.Generator, n: int, amp: float) -> list:
    return [[float(amp * rng.uniform(0.2, 1.0) / (k + 1) ** 0.7), float(rng.uniform(0, 2 * np.pi))]
            for k in range(1, n + 1)]


def _sample_marking(rng: np.random.Generator, kind: str, face: dict) -> Marking:
    eye_y = face["eye_y"]
    if kind == "star":
        return Marking("star", cx=float(rng.normal(0, 0.025)), cy=float(eye_y + rng.uniform(-0.06, 0.03)),
                       size=float(rng.uniform(0.025, 0.05)), rot=float(rng.uniform(0, np.pi)),
                       aspect=float(rng.uniform(0.55, 1.5)), harmonics=_harmonics(rng, 5, 0.35),
                       noise_seed=int(rng.integers(2**31)), raggedness=float(rng.uniform(0.1, 0.35)))
    if kind == "snip":
        return Marking("snip", cx=float(rng.normal(0, 0.03)), cy=float(rng.uniform(0.83, 0.9)),
                       size=float(rng.uniform(0.02, 0.05)), rot=float(rng.uniform(0, np.pi)),
                       aspect=float(rng.uniform(0.5, 1.6)), harmonics=_harmonics(rng, 4, 0.3),
                       noise_seed=int(rng.integers(2**31)), raggedness=float(rng.uniform(0.1, 0.3)))
    if kind == "stripe":
        top = eye_y + rng.uniform(-0.02, 0.1)
        return Marking("stripe", cx=float(rng.normal(0, 0.015)), cy=float(top),
                       cy2=float(rng.uniform(max(top + 0.12, 0.55), 0.82)), size=float(rng.uniform(0.008, 0.022)),
                       bend=float(rng.normal(0, 0.025)), taper=float(rng.uniform(-0.5, 0.6)),
                       harmonics=_harmonics(rng, 4, 0.5), noise_seed=int(rng.integers(2**31)),
                       raggedness=float(rng.uniform(0.2, 0.5)))
    if kind == "blaze":
        return Marking("blaze", cx=float(rng.normal(0, 0.015)), cy=float(eye_y + rng.uniform(-0.07, 0.02)),
                       cy2=float(rng.uniform(0.86, 0.99)), size=float(rng.uniform(0.03, 0.055)),
                       bend=float(rng.normal(0, 0.02)), taper=float(rng.uniform(-0.3, 0.5)),
                       harmonics=_harmonics(rng, 5, 0.35), noise_seed=int(rng.integers(2**31)),
                       raggedness=float(rng.uniform(0.15, 0.4)))
    if kind == "bald":
        return Marking("bald", cx=float(rng.normal(0, 0.02)), cy=float(eye_y - rng.uniform(0.04, 0.1)),
                       cy2=1.0, size=float(rng.uniform(0.14, 0.22)), bend=float(rng.normal(0, 0.02)),
                       taper=float(rng.uniform(0.0, 0.4)), harmonics=_harmonics(rng, 5, 0.3),
                       noise_seed=int(rng.integers(2**31)), raggedness=float(rng.uniform(0.1, 0.3)))
    raise ValueError(f"unknown marking kind {kind!r}")


def _sample_face(rng: np.random.Generator) -> dict:
    return dict(
        length=float(rng.uniform(0.94, 1.03)),
        width=float(rng.uniform(0.90, 1.10)),
        nose_width=float(rng.uniform(0.85, 1.15)),
        muzzle_width=float(rng.uniform(0.88, 1.15)),
        eye_y=float(rng.uniform(0.31, 0.36)),
        eye_size=float(rng.uniform(0.85, 1.15)),
        ear_length=float(rng.uniform(0.85, 1.2)),
        ear_width=float(rng.uniform(0.8, 1.2)),
        ear_spread=float(rng.uniform(-0.04, 0.05)),
        ridge=float(rng.uniform(0.0, 1.0)),
        dish=float(rng.uniform(-0.5, 1.0)),
        nostril_x=float(rng.uniform(0.10, 0.13)),
        forelock=float(rng.uniform(0.2, 1.0)),
        mealy=float(rng.uniform(0.0, 1.0)),
    )


def _sample_whorls(rng: np.random.Generator, face: dict, n: int | None = None) -> list:
    if n is None:
        n = int(rng.choice([1, 1, 1, 2, 2, 3]))
    out = []
    for k in range(n):
        if k == 0:
            x, y = rng.normal(0, 0.025), face["eye_y"] + rng.uniform(-0.05, 0.06)
        else:
            x, y = rng.normal(0, 0.03), rng.uniform(0.22, 0.62)
        out.append([float(x), float(y), float(rng.uniform(0.02, 0.032)), int(rng.choice([-1, 1])),
                    int(rng.integers(2, 5))])
    return out


def _sample_spots(rng: np.random.Generator, n: int | None = None) -> list:
    if n is None:
        n = int(rng.integers(4, 14))
    out = []
    for _ in range(n):
        side = rng.choice([-1, 1])
        x = rng.normal(0, 0.05) if rng.random() < 0.5 else side * rng.uniform(0.03, 0.11)
        out.append([float(x), float(rng.uniform(0.8, 0.96)), float(rng.uniform(0.006, 0.02)), 0])
    return out


def sample_identity(rng: np.random.Generator, hard: bool = False,
                    template: HorseIdentity | None = None) -> HorseIdentity:
    """Draw one horse identity.

    ``hard=True`` draws a common coat with no or small markings (a hard case). With
    a ``template`` (another identity, e.g. a hard-case family head) the new horse
    keeps the template's coat and marking layout almost unchanged and differs only
    in whorls, muzzle spots, face shape and small outline details.
    """
    face = _sample_face(rng)
    if template is not None:
        coat = template.coat
        shade = float(np.clip(template.shade + rng.normal(0, 0.03), -0.4, 0.4))
        roan, dapple = template.roan, template.dapple
        markings = []
        for m in template.markings:
            m2 = Marking(**asdict(m))
            m2.cx += float(rng.normal(0, 0.006))
            m2.cy += float(rng.normal(0, 0.006))
            m2.size *= float(rng.uniform(0.9, 1.1))
            m2.noise_seed = int(rng.integers(2**31))
            m2.harmonics = [[a * float(rng.uniform(0.8, 1.2)), p + float(rng.normal(0, 0.3))]
                            for a, p in m.harmonics]
            markings.append(m2)
        face["mealy"] = template.face["mealy"]
    else:
        if hard:
            coat = str(rng.choice(COMMON_COATS))
            layout = [(), ("star",), ("snip",)][int(rng.choice(3, p=[0.5, 0.35, 0.15]))]
        else:
            coat = _choice(rng, COAT_WEIGHTS)
            layout = _choice(rng, MARKING_LAYOUTS)
        shade = float(rng.uniform(-0.25, 0.25))
        roan = float(rng.uniform(0.25, 0.5)) if "roan" in coat else float(rng.uniform(0, 0.04))
        dapple = float(rng.uniform(0.2, 1.0)) if coat == "grey" else 0.0
        markings = [_sample_marking(rng, k, face) for k in layout]
    c = COATS[coat]
    return HorseIdentity(
        coat=coat, body=tuple(c["body"]), points=tuple(c["points"]), skin=tuple(c["skin"]),
        shade=shade, roan=roan, dapple=dapple, markings=markings,
        whorls=_sample_whorls(rng, face), muzzle_spots=_sample_spots(rng), face=face,
        texture_seed=int(rng.integers(2**31)), hard=bool(hard or template is not None),
        family=-1 if template is None else template.family,
    )


N_FAMILIES = 8


def make_identities(n: int, seed: int, hard_fraction: float = 0.2, first: int = 0) -> list[HorseIdentity]:
    """Identities ``first .. first + n - 1`` of a data set; identity ``i`` depends only on
    ``(seed, i, hard_fraction)``.

    A ``hard_fraction`` of them are hard cases: members of one of a fixed number of
    families that share coat and (near-identical or no) markings.
    """
    out = []
    for i in range(first, first + n):
        rng = np.random.default_rng([seed, i, 0])
        if rng.random() < hard_fraction:
            fam = int(rng.integers(N_FAMILIES))
            template = sample_identity(np.random.default_rng([seed, 1_000_003, fam]), hard=True)
            template.family = fam
            ident = sample_identity(rng, hard=True, template=template)
        else:
            ident = sample_identity(rng)
        ident.name = f"h{i:05d}"
        out.append(ident)
    return out
