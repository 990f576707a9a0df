"""Parametric, seeded threat signatures for baggage X-ray synthesis.

Every threat is built in its own frame in millimetres from a few *parts* (a polygon,
optional holes, a material, a thickness and a thickness profile), posed (in-plane
rotation, mirror, out-of-plane tilt approximated by foreshortening plus a longer path
through the object) and rasterised with anti-aliasing (polygons filled at ``ss`` times
the output resolution with sub-pixel precision, then area-averaged down).

The result is a :class:`ThreatSignature`: per-material *equivalent thickness* maps in
cm (the thickness of the material at its nominal density that gives the same mass
thickness; materials are those of :mod:`inspect_cv.xray.materials`, e.g. ``wood`` at
0.6 g/cm3, so most thicknesses are the real ones) plus the
footprint mask. Adding these maps into a bag's maps before rendering gives a physically
consistent scan; they can also be projected by TIP into real scans.

Shape families (``VARIANTS``) exist so that whole families can be held out of training
(``HELD_OUT``) to test out-of-distribution generalisation:

=============  ===============================================  ==================
class          families                                          held out (default)
=============  ===============================================  ==================
gun            pistol, compact, revolver                         revolver
knife          kitchen, hunting, folding, dagger                 dagger
scissors       office, steel, small                              small
wrench         combination, open_double, adjustable              adjustable
pliers         combination, needle_nose, cutter                  cutter
hammer         claw, ball_peen, mallet                           mallet
shuriken       star, hooked, disc                                disc
razor_blade    double_edge, single_edge, utility, snap_off       snap_off
baton          telescopic, solid                                 solid
powerbank      cells, pouch                                      pouch
lighter        flint, jet                                        jet
spray_can      aerosol                                           -
bullet         pistol, rifle                                     rifle
handcuffs      chain                                             -
=============  ===============================================  ==================
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import cv2
import numpy as np

from inspect_cv.errors import InputError

#: Core classes of the shipped baggage detector, in label order.
THREAT_CLASSES: list[str] = [
    "gun", "knife", "scissors", "wrench", "pliers", "hammer", "shuriken", "razor_blade",
]
#: Optional classes rendered by this module (not part of the core detector).
EXTRA_CLASSES: list[str] = ["baton", "powerbank", "lighter", "spray_can", "bullet", "handcuffs"]

VARIANTS: dict[str, tuple[str, ...]] = {
    "gun": ("pistol", "compact", "revolver"),
    "knife": ("kitchen", "hunting", "folding", "dagger"),
    "scissors": ("office", "steel", "small"),
    "wrench": ("combination", "open_double", "adjustable"),
    "pliers": ("combination", "needle_nose", "cutter"),
    "hammer": ("claw", "ball_peen", "mallet"),
    "shuriken": ("star", "hooked", "disc"),
    "razor_blade": ("double_edge", "single_edge", "utility", "snap_off"),
    "baton": ("telescopic", "solid"),
    "powerbank": ("cells", "pouch"),
    "lighter": ("flint", "jet"),
    "spray_can": ("aerosol",),
    "bullet": ("pistol", "rifle"),
    "handcuffs": ("chain",),
}
#: One family per class suggested for an out-of-distribution test set.
HELD_OUT: dict[str, tuple[str, ...]] = {
    "gun": ("revolver",), "knife": ("dagger",), "scissors": ("small",),
    "wrench": ("adjustable",), "pliers": ("cutter",), "hammer": ("mallet",),
    "shuriken": ("disc",), "razor_blade": ("snap_off",), "baton": ("solid",),
    "powerbank": ("pouch",), "lighter": ("jet",), "spray_can": (), "bullet": ("rifle",),
    "handcuffs": (),
}

#: Materials the renderers use: all are names of ``inspect_cv.xray.materials.MATERIALS``.
MATERIALS_USED = ("steel", "aluminium", "brass", "copper", "lead", "nylon", "polyethylene", "pvc",
                  "rubber", "wood", "glass", "water", "cellulose", "ceramic", "fr4", "paper", "cotton")


def families(cls: str, held_out: str = "include") -> tuple[str, ...]:
    """Shape families of ``cls``: ``held_out`` is "include" (all), "exclude" or "only"."""
    if cls not in VARIANTS:
        raise InputError(f"unknown threat class {cls!r}; known: {', '.join(VARIANTS)}")
    allv, ho = VARIANTS[cls], HELD_OUT.get(cls, ())
    if held_out == "include":
        return allv
    if held_out == "exclude":
        return tuple(v for v in allv if v not in ho) or allv
    if held_out == "only":
        return tuple(ho) or allv
    raise InputError(f"held_out must be include, exclude or only, not {held_out!r}")


@dataclass
class ThreatSignature:
    """One rendered threat: equivalent thickness per material (cm) and its footprint."""

    cls: str
    thickness: dict[str, np.ndarray]
    mask: np.ndarray
    pixel_pitch_mm: float
    variant: str = ""
    pose: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.mask.shape  # type: ignore[return-value]

    def total(self) -> np.ndarray:
        """Sum of all materials' thickness (cm)."""
        out = np.zeros(self.mask.shape, np.float32)
        for t in self.thickness.values():
            out += t
        return out


# --------------------------------------------------------------------------- geometry
def _arr(pts) -> np.ndarray:
    return np.asarray(pts, np.float64).reshape(-1, 2)


def rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return _arr([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def ellipse(cx: float, cy: float, rx: float, ry: float, a0: float = 0.0,
            a1: float = 2 * math.pi, n: int = 40) -> np.ndarray:
    t = np.linspace(a0, a1, n, endpoint=abs(a1 - a0) < 2 * math.pi - 1e-9)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)


def circle(cx: float, cy: float, r: float, n: int = 32) -> np.ndarray:
    return ellipse(cx, cy, r, r, n=n)


def rrect(x0: float, y0: float, x1: float, y1: float, r: float, n: int = 5) -> np.ndarray:
    """Rectangle with rounded corners of radius ``r``."""
    r = max(0.0, min(r, abs(x1 - x0) / 2, abs(y1 - y0) / 2))
    if r == 0:
        return rect(x0, y0, x1, y1)
    pts = []
    for cx, cy, a in ((x1 - r, y0 + r, -math.pi / 2), (x1 - r, y1 - r, 0.0),
                      (x0 + r, y1 - r, math.pi / 2), (x0 + r, y0 + r, math.pi)):
        t = np.linspace(a, a + math.pi / 2, n)
        pts.append(np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1))
    return np.concatenate(pts)


def bezier(p0, p1, p2, p3=None, n: int = 24) -> np.ndarray:
    """Quadratic (3 points) or cubic (4 points) Bezier curve sampled at ``n`` points."""
    t = np.linspace(0, 1, n)[:, None]
    p0, p1, p2 = (np.asarray(p, float) for p in (p0, p1, p2))
    if p3 is None:
        return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2
    p3 = np.asarray(p3, float)
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2 + t ** 3 * p3


def stroke(pts, w0: float, w1: float | None = None) -> np.ndarray:
    """Polygon of a polyline thickened to width ``w0`` (tapering to ``w1`` at its end)."""
    p = _arr(pts)
    w1 = w0 if w1 is None else w1
    d = np.gradient(p, axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    nrm = np.stack([-d[:, 1], d[:, 0]], 1)
    w = np.linspace(w0, w1, len(p))[:, None] / 2
    return np.concatenate([p + nrm * w, (p - nrm * w)[::-1]])


def rotate(pts, angle_rad: float, center=(0.0, 0.0)) -> np.ndarray:
    p = _arr(pts) - center
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return p @ np.array([[c, s], [-s, c]]) + center


def star(n: int, r_out: float, r_in: float, phase: float = 0.0) -> np.ndarray:
    a = phase + np.arange(2 * n) * math.pi / n
    r = np.where(np.arange(2 * n) % 2 == 0, r_out, r_in)
    return np.stack([r * np.cos(a), r * np.sin(a)], 1)


# --------------------------------------------------------------------------- parts
@dataclass
class Part:
    """A region of one material with a thickness profile, in object millimetres.

    ``profile``: ``flat`` (constant), ``round`` (chord of a rod of diameter
    ``thickness``), ``tube`` (hollow rod, wall ``param`` mm), ``taper`` (thin at the
    boundary, full at ``param`` mm inside: a ground edge), ``gradient`` (from
    ``param`` x thickness at ``axis[0]`` to full thickness at ``axis[1]``).
    """

    material: str
    polys: list
    thickness: float
    profile: str = "flat"
    holes: list = field(default_factory=list)
    param: float = 0.0
    axis: tuple | None = None


def P(material: str, polys, thickness: float, profile: str = "flat", holes=(), param: float = 0.0,
      axis=None) -> Part:
    """Shorthand for :class:`Part` accepting one polygon or a list of them."""
    if isinstance(polys, np.ndarray):
        polys = [polys]
    return Part(material, list(polys), float(thickness), profile, list(holes), float(param), axis)


def pose_matrix(angle_deg: float = 0.0, tilt_deg: float = 0.0, tilt_axis_deg: float = 0.0,
                scale: float = 1.0, flip: bool = False) -> np.ndarray:
    """2x2 linear map (object mm -> posed mm): mirror, foreshorten along an axis, rotate."""
    def R(a):
        c, s = math.cos(math.radians(a)), math.sin(math.radians(a))
        return np.array([[c, -s], [s, c]])
    F = np.diag([1.0, -1.0 if flip else 1.0])
    T = R(tilt_axis_deg) @ np.diag([1.0, math.cos(math.radians(tilt_deg))]) @ R(-tilt_axis_deg)
    return scale * R(angle_deg) @ T @ F


def _fill(shape, polys, M: np.ndarray) -> np.ndarray:
    """uint8 anti-aliased coverage (0..255) of polygons after the 2x3 map ``M``."""
    img = np.zeros(shape, np.uint8)
    cnts = [np.round((_arr(p) @ M[:, :2].T + M[:, 2]) * 16).astype(np.int32) for p in polys]
    cnts = [c for c in cnts if len(c) >= 3]
    if cnts:
        cv2.fillPoly(img, cnts, 255, cv2.LINE_AA, 4)
    return img


def _profile(part: Part, cov: np.ndarray, M: np.ndarray, px_per_mm: float) -> np.ndarray:
    T = part.thickness
    if part.profile == "flat":
        return cov * T
    if part.profile in ("round", "tube", "taper"):
        d = cv2.distanceTransform((cov > 0.5).astype(np.uint8), cv2.DIST_L2, 5) / px_per_mm
        d += 0.5 / px_per_mm
        if part.profile == "taper":
            lo = 0.15
            return cov * T * np.clip(lo + (1 - lo) * d / max(part.param, 1e-3), lo, 1.0)
        R = T / 2
        x = np.maximum(R - d, 0.0)
        out = 2 * np.sqrt(np.maximum(R * R - x * x, 0.0))
        if part.profile == "tube":
            r = max(R - part.param, 0.0)
            out -= 2 * np.sqrt(np.maximum(r * r - x * x, 0.0))
        return cov * out
    if part.profile == "gradient":
        p0, p1 = (np.asarray(p, float) @ M[:, :2].T + M[:, 2] for p in part.axis)
        v = p1 - p0
        yy, xx = np.mgrid[0:cov.shape[0], 0:cov.shape[1]].astype(np.float32)
        s = ((xx - p0[0]) * v[0] + (yy - p0[1]) * v[1]) / max(float(v @ v), 1e-9)
        s = np.clip(s, 0.0, 1.0)
        return cov * T * (part.param + (1 - part.param) * s)
    raise ValueError(f"unknown profile {part.profile!r}")


def render_parts(parts: Sequence[Part], A: np.ndarray, pixel_pitch_mm: float, ss: int = 3,
                 thickness_scale: float = 1.0, pad: int = 2
                 ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Rasterise parts posed by the 2x2 map ``A`` into per-material cm maps and a mask."""
    pts = np.concatenate([_arr(p) for part in parts for p in part.polys]) @ A.T / pixel_pitch_mm
    lo = np.floor(pts.min(0)) - pad
    hi = np.ceil(pts.max(0)) + pad
    w, h = int(hi[0] - lo[0]), int(hi[1] - lo[1])
    M = np.zeros((2, 3))
    M[:, :2] = A * ss / pixel_pitch_mm
    M[:, 2] = -lo * ss
    px_per_mm = ss / pixel_pitch_mm * math.sqrt(abs(np.linalg.det(A)))
    H2, W2 = h * ss, w * ss
    acc: dict[str, np.ndarray] = {}
    cover = np.zeros((H2, W2), np.float32)
    for part in parts:
        # work only in the part's own window of the canvas
        q = np.concatenate([_arr(p) for p in part.polys]) @ M[:, :2].T + M[:, 2]
        xa, ya = (np.floor(q.min(0)) - 2).astype(int)
        xb, yb = (np.ceil(q.max(0)) + 3).astype(int)
        xa, ya, xb, yb = max(xa, 0), max(ya, 0), min(xb, W2), min(yb, H2)
        if xb <= xa or yb <= ya:
            continue
        Mw = M.copy()
        Mw[:, 2] -= (xa, ya)
        m8 = _fill((yb - ya, xb - xa), part.polys, Mw)
        if part.holes:
            m8 = cv2.subtract(m8, _fill(m8.shape, part.holes, Mw))
        cov = m8.astype(np.float32) * (1.0 / 255.0)
        t = _profile(part, cov, Mw, px_per_mm).astype(np.float32, copy=False)
        if part.material not in acc:
            acc[part.material] = np.zeros((H2, W2), np.float32)
        acc[part.material][ya:yb, xa:xb] += t
        win = cover[ya:yb, xa:xb]
        np.maximum(win, cov, out=win)
    out = {k: cv2.resize(v, (w, h), interpolation=cv2.INTER_AREA) * (thickness_scale / 10.0)
           for k, v in acc.items()}
    mask = cv2.resize(cover, (w, h), interpolation=cv2.INTER_AREA) > 0.3
    return out, mask


# --------------------------------------------------------------------------- classes
def _u(rng: np.random.Generator, a: float, b: float) -> float:
    return float(rng.uniform(a, b))


def _gun(rng, variant, open_):
    parts = []
    polymer = rng.random() < 0.6
    frame_mat, frame_t = ("nylon", _u(rng, 22, 30)) if polymer else ("steel", _u(rng, 7, 11))
    if variant in ("pistol", "compact"):
        L = _u(rng, 170, 210) if variant == "pistol" else _u(rng, 125, 160)
        hs = _u(rng, 27, 35)
        gh = _u(rng, 95, 120) if variant == "pistol" else _u(rng, 75, 95)
        gw = _u(rng, 30, 36)
        rake = math.radians(_u(rng, 12, 22))
        x0, x1 = -L / 2, L / 2
        port = rect(x0 + L * 0.45, -hs + 3, x0 + L * 0.72, -hs * 0.35)
        serr = [rect(x0 + 8 + i * 4.5, -hs + 2, x0 + 10 + i * 4.5, -5) for i in range(int(rng.integers(0, 8)))]
        slide = rrect(x0, -hs, x1, 0, 3)
        st = _u(rng, 11, 16)
        parts.append(P("steel", slide, st, "taper", holes=[port] + serr, param=3))
        parts.append(P("steel", [port] + serr, st * 0.55))
        by = -hs * 0.55
        parts.append(P("steel", rect(x0 + L * 0.3, by - 6, x1 - 1, by + 6), _u(rng, 11, 13), "tube", param=2.5))
        parts.append(P("steel", rect(x0 + 12, by - 4, x0 + L * 0.3, by + 4), 8, "round"))  # recoil spring/rod
        parts.append(P("steel", [rect(x1 - 12, -hs - 4, x1 - 6, -hs), rect(x0 + 4, -hs - 4, x0 + 12, -hs)], 6))
        # frame: dust cover + grip with magazine well
        parts.append(P(frame_mat, rrect(x0 + 6, -2, x1 - L * 0.12, 11, 3), frame_t * 0.6, "taper", param=4))
        gx0 = x0 + 6
        top = [(gx0, 0), (gx0 + gw + 6, 0)]
        dx = gh * math.tan(rake)
        grip = _arr([top[0], top[1], (gx0 + gw + 6 - dx, gh), (gx0 - dx - 2, gh), (gx0 - 6, 8)])
        if not polymer:
            parts.append(P("steel", grip, frame_t * 0.7, "taper", param=3))
            parts.append(P(str(rng.choice(["wood", "rubber", "nylon"])),
                           rrect(gx0 - dx * 0.2, 12, gx0 + gw - dx * 0.6, gh - 10, 6), _u(rng, 8, 14), "round"))
        else:
            parts.append(P(frame_mat, grip, frame_t, "taper", param=7))
        mag = _arr([(gx0 + 6, 4), (gx0 + gw - 2, 4), (gx0 + gw - 2 - dx, gh + 4), (gx0 + 6 - dx, gh + 4)])
        parts.append(P("steel", mag, _u(rng, 1.4, 2.2)))
        parts.append(P(str(rng.choice(["steel", "nylon"])), rect(gx0 + 2 - dx, gh, gx0 + gw + 2 - dx, gh + 6), 6))
        if rng.random() < 0.7:  # cartridges stacked in the magazine
            n = int(gh // 11)
            for i in range(n):
                yy = 8 + i * 10.5
                xx = gx0 + 8 - yy * math.tan(rake) + (3 if i % 2 else 0)
                parts.append(P("brass", rect(xx, yy, xx + 15, yy + 9.5), 9.5, "tube", param=0.5))
                parts.append(P("lead", rrect(xx + 15, yy + 1, xx + 23, yy + 8.5, 3.5), 8.5, "round"))
        # trigger guard and trigger
        cx, cy = gx0 + gw + 22, 12
        guard = stroke(ellipse(cx, cy, _u(rng, 19, 24), _u(rng, 13, 17), 0.0, math.pi, 20), 5)
        parts.append(P(frame_mat, guard, frame_t * 0.35))
        parts.append(P("steel", stroke(bezier((cx + 3, 6), (cx + 5, 16), (cx - 3, 24)), 5, 3), 6))
        parts.append(P("steel", rect(x0 - 3, -hs * 0.6, x0 + 4, -hs * 0.1), 8))  # hammer/striker
    else:  # revolver
        Lb = _u(rng, 55, 160)
        d = _u(rng, 16, 21)
        cl, ch = _u(rng, 38, 44), _u(rng, 34, 40)
        xc = 0.0
        parts.append(P("steel", rect(xc + cl, -d / 2 - 4, xc + cl + Lb, d / 2 - 4), d, "tube", param=d / 2 - 4.5))
        parts.append(P("steel", rect(xc + cl, -d / 2 - 7, xc + cl + Lb, -d / 2 - 3), 6))  # rib
        frame = _arr([(xc - 25, -d / 2 - 6), (xc + cl + 8, -d / 2 - 6), (xc + cl + 8, ch / 2 + 4),
                      (xc - 10, ch / 2 + 8), (xc - 30, 4)])
        parts.append(P("steel", frame, 9, holes=[rect(xc, -ch / 2 + 2, xc + cl, ch / 2 - 2)]))
        parts.append(P("steel", rrect(xc, -ch / 2 + 2, xc + cl, ch / 2 - 2, 3), ch, "round"))
        for k in range(3):  # cartridges inside the cylinder
            yy = -ch / 2 + 5 + k * (ch - 10) / 2 - 4.5
            parts.append(P("brass", rect(xc + 2, yy, xc + cl - 4, yy + 9), 9, "tube", param=0.5))
        grip = _arr(bezier((xc - 12, ch / 2 + 2), (xc - 20, 60), (xc - 45, 110), n=12))
        grip = np.concatenate([grip, _arr(bezier((xc - 75, 105), (xc - 55, 55), (xc - 32, 0), n=12))])
        parts.append(P(str(rng.choice(["wood", "rubber"])), grip, _u(rng, 28, 34), "taper", param=6))
        parts.append(P("steel", stroke(bezier((xc - 25, 5), (xc - 38, 55), (xc - 52, 95)), 10, 8), 6))
        parts.append(P("steel", stroke(bezier((xc - 30, -2), (xc - 45, -20), (xc - 42, -24)), 8, 5), 9))  # hammer
        cx, cy = xc + 2, ch / 2 + 10
        parts.append(P("steel", stroke(ellipse(cx, cy - 6, 20, 16, 0.0, math.pi, 20), 5), 7))
        parts.append(P("steel", stroke(bezier((cx + 4, ch / 2 + 2), (cx + 6, ch / 2 + 12), (cx - 4, ch / 2 + 20)), 5, 3), 6))
    return parts


def _knife(rng, variant, open_):
    parts = []
    if variant == "folding":
        Lb, wb = _u(rng, 65, 100), _u(rng, 16, 25)
        Lh, wh = Lb * _u(rng, 1.1, 1.3), _u(rng, 17, 24)
        hm = str(rng.choice(["aluminium", "nylon", "wood", "steel"]))
        ht = {"aluminium": 6, "nylon": 9, "wood": 10, "steel": 3}[hm]
        parts.append(P(hm, rrect(-Lh, -wh / 2, 0, wh / 2, wh / 2.5), ht, "taper", param=3))
        parts.append(P("steel", rrect(-Lh + 3, -wh / 2 + 1, -2, wh / 2 - 1, 6), _u(rng, 1.5, 2.5)))  # liners
        parts.append(P("steel", circle(-4, 0, 5), 14, "round"))
        parts.append(P("steel", circle(-Lh + 8, 0, 3), 10, "round"))
        blade = _blade(Lb, wb, rng, double=False)
        ang = math.pi * (1 - open_)  # 0: open (in line), pi: closed into the handle
        blade = rotate(blade + [0, -wb * 0.5], -ang)
        spine_dir = rotate(_arr([[0, -wb * 0.5], [0, wb * 0.5]]), -ang)
        parts.append(P("steel", blade, _u(rng, 2.5, 3.5), "gradient", param=0.12,
                       axis=(spine_dir[1], spine_dir[0])))
        return parts
    double = variant == "dagger"
    Lb = {"kitchen": _u(rng, 110, 220), "hunting": _u(rng, 100, 170), "dagger": _u(rng, 100, 180)}[variant]
    wb = {"kitchen": _u(rng, 18, 45), "hunting": _u(rng, 25, 38), "dagger": _u(rng, 22, 32)}[variant]
    Lh = _u(rng, 95, 130)
    blade = _blade(Lb, wb, rng, double) + [0, (-wb / 2 if double else -wb * 0.55)]
    tb = _u(rng, 2.0, 3.5) if variant != "kitchen" else _u(rng, 1.5, 2.5)
    if double:
        parts.append(P("steel", blade, tb * 1.4, "taper", param=wb * 0.45))
    else:
        parts.append(P("steel", blade, tb, "gradient", param=0.1, axis=((0, wb * 0.45), (0, -wb * 0.55))))
    if variant in ("hunting", "dagger"):
        gl = _u(rng, 45, 70) if double else _u(rng, 30, 50)
        parts.append(P(str(rng.choice(["steel", "brass"])), rrect(-8, -gl / 2, 0, gl / 2, 2), 9, "round"))
    hm = str(rng.choice(["nylon", "polyethylene", "wood", "aluminium", "rubber"]))
    wh = _u(rng, 20, 28)
    ht = {"aluminium": 5, "wood": 20}.get(hm, _u(rng, 16, 22))
    x_h = -8 if variant in ("hunting", "dagger") else 0
    hy = 0 if double else -wb * 0.1
    handle = rrect(x_h - Lh, hy - wh / 2, x_h, hy + wh / 2, wh * 0.35)
    parts.append(P(hm, handle, ht, "round" if hm != "aluminium" else "taper", param=4))
    tang_w = wh * (_u(rng, 0.8, 0.9) if rng.random() < 0.5 else _u(rng, 0.25, 0.4))
    parts.append(P("steel", rect(x_h - Lh + 6, hy - tang_w / 2, x_h + 1, hy + tang_w / 2), tb))
    for i in range(int(rng.integers(0, 4))):
        parts.append(P(str(rng.choice(["steel", "brass"])), circle(x_h - Lh * (0.2 + 0.3 * i), hy, 2.8), ht * 0.9, "round"))
    if variant == "dagger" or (variant == "hunting" and rng.random() < 0.5):
        parts.append(P("steel", rrect(x_h - Lh - 12, hy - wh / 2 - 2, x_h - Lh + 2, hy + wh / 2 + 2, 5), 12, "round"))
    return parts


def _blade(Lb: float, wb: float, rng, double: bool) -> np.ndarray:
    """Blade outline from the bolster (x=0) to the tip (x=Lb), width wb, y in [0, wb]."""
    if double:
        edge = bezier((0, wb), (Lb * 0.7, wb * _u(rng, 0.85, 1.0)), (Lb, wb / 2), n=18)
        spine = bezier((Lb, wb / 2), (Lb * 0.7, wb * _u(rng, 0.0, 0.15)), (0, 0), n=18)
        return np.concatenate([edge, spine])
    drop = _u(rng, 0.0, 0.45)
    edge = bezier((0, wb), (Lb * _u(rng, 0.6, 0.85), wb * _u(rng, 0.95, 1.1)), (Lb, wb * drop), n=20)
    clip = _u(rng, 0.6, 0.9)
    spine = np.array([[Lb * clip, 0.0], [0.0, 0.0]])
    tip = bezier((Lb, wb * drop), (Lb * (clip + 1) / 2, wb * drop * 0.3), (Lb * clip, 0), n=8)
    return np.concatenate([edge, tip[1:], spine])


def _scissor_half(rng, Lb, Lh, loop_r, steel_loops, blade_w, t_blade, mirror):
    parts = []
    s = -1 if mirror else 1
    blade = np.concatenate([bezier((0, 0), (Lb * 0.6, 0), (Lb, s * blade_w * 0.08), n=12),
                            bezier((Lb, s * blade_w * 0.08), (Lb * 0.5, s * blade_w * 1.05), (-4, s * blade_w), n=12)])
    parts.append(P("steel", blade, t_blade, "gradient", param=0.25, axis=((0, 0), (0, s * blade_w))))
    cy = s * (loop_r * 0.6)
    shank = stroke(bezier((-2, s * blade_w * 0.4), (-Lh * 0.5, s * blade_w * 0.6), (-Lh + loop_r, cy)), blade_w * 0.7, blade_w * 0.5)
    parts.append(P("steel", shank, t_blade * 1.3))
    loop = ellipse(-Lh, cy, loop_r * 1.25, loop_r)
    hole = ellipse(-Lh, cy, loop_r * 1.25 - 5, loop_r - 5)
    if steel_loops:
        parts.append(P("steel", loop, 5, "round", holes=[hole]))
    else:
        parts.append(P(str(rng.choice(["polyethylene", "nylon", "pvc"])), loop, 10, "taper", holes=[hole], param=2))
        parts.append(P(str(rng.choice(["polyethylene", "nylon", "pvc"])), stroke(bezier(
            (-Lh * 0.4, s * blade_w * 0.6), (-Lh * 0.7, s * blade_w), (-Lh + loop_r, cy)), blade_w * 1.4), 9, "round"))
    return parts


def _lever_pair(half: Callable[[bool], list], open_angle: float) -> list:
    parts = []
    for mirror, sign in ((False, -1), (True, 1)):
        for part in half(mirror):
            a = sign * open_angle / 2
            part.polys = [rotate(p, a) for p in part.polys]
            part.holes = [rotate(p, a) for p in part.holes]
            if part.axis is not None:
                part.axis = tuple(rotate([q], a)[0] for q in part.axis)
            parts.append(part)
    return parts


def _scissors(rng, variant, open_):
    if variant == "office":
        Lb, Lh, r, st, bw = _u(rng, 75, 115), _u(rng, 60, 85), _u(rng, 13, 20), False, _u(rng, 9, 13)
    elif variant == "steel":
        Lb, Lh, r, st, bw = _u(rng, 60, 100), _u(rng, 55, 75), _u(rng, 10, 14), True, _u(rng, 7, 11)
    else:
        Lb, Lh, r, st, bw = _u(rng, 30, 45), _u(rng, 40, 55), _u(rng, 8, 11), True, _u(rng, 5, 7)
    tb = _u(rng, 1.8, 3.0)
    angle = math.radians(open_ * _u(rng, 25, 60))
    seed = int(rng.integers(1 << 30))
    parts = _lever_pair(lambda m: _scissor_half(np.random.default_rng(seed), Lb, Lh, r, st, bw, tb, m), angle)
    parts.append(P("steel", circle(0, 0, 4), 8, "round"))
    return parts


def _pliers_half(rng_seed, variant, L_jaw, L_h, w, mirror):
    rng = np.random.default_rng(rng_seed)
    s = -1 if mirror else 1
    parts = []
    if variant == "needle_nose":
        jaw = np.concatenate([bezier((0, -s * w * 0.7), (L_jaw * 0.5, -s * w * 0.35), (L_jaw, -s * 1.5), n=10),
                              _arr([(L_jaw, 0), (0, 0)])])
    else:
        jaw = np.concatenate([bezier((0, -s * w * 0.9), (L_jaw * 0.6, -s * w), (L_jaw, -s * w * 0.35), n=10),
                              _arr([(L_jaw, 0), (0, 0)])])
    parts.append(P("steel", jaw, _u(rng, 9, 13), "taper", param=3))
    joint = circle(0, 0, w * 0.95)
    parts.append(P("steel", joint, _u(rng, 6, 8), "flat"))
    spread = _u(rng, 12, 22)
    path = bezier((-2, s * w * 0.3), (-L_h * 0.4, s * w * 0.6), (-L_h, s * spread))
    parts.append(P("steel", stroke(path, w * 0.9, w * 0.6), _u(rng, 7, 10), "round"))
    sleeve = bezier(tuple(path[6]), tuple(path[14]), (-L_h - 4, s * (spread + 1)))
    if rng.random() < 0.85:
        parts.append(P(str(rng.choice(["pvc", "rubber", "polyethylene"])), stroke(sleeve, w * 1.6, w * 1.3), _u(rng, 10, 16), "round"))
    return parts


def _pliers(rng, variant, open_):
    if variant == "needle_nose":
        Lj, Lh, w = _u(rng, 55, 75), _u(rng, 100, 130), _u(rng, 9, 11)
    elif variant == "cutter":
        Lj, Lh, w = _u(rng, 20, 28), _u(rng, 95, 120), _u(rng, 10, 13)
    else:
        Lj, Lh, w = _u(rng, 35, 48), _u(rng, 110, 145), _u(rng, 10, 14)
    angle = math.radians(open_ * _u(rng, 5, 25))
    seed = int(rng.integers(1 << 30))
    parts = _lever_pair(lambda m: _pliers_half(seed, variant, Lj, Lh, w, m), -angle)
    parts.append(P("steel", circle(0, 0, w * 0.45), 14, "round"))
    return parts


def _wrench(rng, variant, open_):
    parts = []
    L = _u(rng, 120, 250)
    jaw = _u(rng, 8, 24)  # nut size (mm across flats)
    wsh = jaw * 0.55 + 6
    t = _u(rng, 4.5, 8)

    def open_end(x, direction):
        R = jaw * 0.95 + 4
        head = circle(x, 0, R)
        slot = rotate(rect(x, -jaw / 2, x + direction * (R + 5), jaw / 2), math.radians(15 * direction), (x, 0))
        return head, slot

    if variant == "adjustable":
        R = jaw * 0.9 + 10
        head = np.concatenate([ellipse(L / 2, 0, R * 1.1, R, -math.pi / 2, math.pi / 2, 20),
                               _arr([(L / 2 - R, R * 0.6), (L / 2 - R, -R)])])
        slot = rect(L / 2, -jaw / 2 - 6, L / 2 + R * 1.3, jaw / 2 - 6)
        parts.append(P("steel", [head, stroke([(-L / 2, 0), (L / 2 - R, 0)], wsh * 1.1, wsh * 1.6)], t * 1.6, "taper", param=3, holes=[slot, circle(-L / 2 + 10, 0, 5)]))
        parts.append(P("steel", rect(L / 2 - R * 0.5, jaw / 2 - 2, L / 2 + 2, jaw / 2 + 8), 12, "round"))  # worm
        return parts
    shaft = stroke([(-L / 2, 0), (L / 2, 0)], wsh, wsh * 0.85)
    hA, sA = open_end(L / 2, 1)
    if variant == "open_double":
        j2 = jaw * _u(rng, 0.8, 0.95)
        R2 = j2 * 0.95 + 4
        hB = circle(-L / 2, 0, R2)
        sB = rotate(rect(-L / 2 - R2 - 5, -j2 / 2, -L / 2, j2 / 2), math.radians(-15), (-L / 2, 0))
        parts.append(P("steel", [shaft, hA, hB], t, "taper", param=2, holes=[sA, sB]))
    else:
        Rr = jaw * 0.75 + 4
        ring = circle(-L / 2, 0, Rr)
        nut = star(6, jaw * 0.58, jaw * 0.5) + [-L / 2, 0]
        parts.append(P("steel", [shaft, hA, ring], t, "taper", param=2, holes=[sA, nut]))
    return parts


def _hammer(rng, variant, open_):
    parts = []
    Lh = _u(rng, 250, 340) if variant != "mallet" else _u(rng, 230, 300)
    hw = _u(rng, 26, 34)
    hmat = str(rng.choice(["wood", "fibre", "steel"]))
    if hmat == "wood":
        parts.append(P("wood", rrect(0, -hw / 2, Lh, hw / 2, 8), hw, "round"))
    elif hmat == "fibre":
        parts.append(P("glass", rrect(0, -hw / 2 + 3, Lh, hw / 2 - 3, 6), (hw - 6) * 0.4, "round"))
        parts.append(P("polyethylene", rrect(0, -hw / 2 + 3, Lh, hw / 2 - 3, 6), (hw - 6) * 0.6, "round"))
    else:
        parts.append(P("steel", rrect(0, -hw / 2 + 5, Lh, hw / 2 - 5, 5), hw - 10, "tube", param=1.8))
    if hmat != "wood" or rng.random() < 0.3:
        parts.append(P("rubber", rrect(Lh * 0.55, -hw / 2 - 3, Lh + 4, hw / 2 + 3, 10), hw + 6, "tube", param=4))
    hd = _u(rng, 24, 32)
    if variant == "claw":
        H = _u(rng, 110, 135)
        face = rrect(-hd / 2, -H * 0.45, hd / 2, 0, 4)
        neck = rect(-hd * 0.42, -H * 0.48, hd * 0.42, -H * 0.4)
        parts.append(P("steel", [face, neck, circle(0, -H * 0.45, hd * 0.55)], hd, "round"))
        claw = np.concatenate([bezier((-hd / 2, 0), (-hd * 0.6, H * 0.3), (hd * 0.6, H * 0.55), n=14),
                               bezier((hd * 0.3, H * 0.55), (hd * 0.1, H * 0.3), (hd / 2, 0), n=14)])
        parts.append(P("steel", [claw, rect(-hd / 2, -2, hd / 2, 6)], hd * 0.8, "taper", param=6,
                       holes=[stroke(bezier((0, H * 0.05), (-hd * 0.05, H * 0.25), (hd * 0.4, H * 0.5)), 3, 1)]))
    elif variant == "ball_peen":
        H = _u(rng, 95, 120)
        parts.append(P("steel", [rrect(-hd / 2, -H * 0.5, hd / 2, H * 0.2, 4), circle(0, -H * 0.5, hd * 0.6)], hd, "round"))
        parts.append(P("steel", [rect(-hd * 0.3, H * 0.2, hd * 0.3, H * 0.35), circle(0, H * 0.42, hd * 0.5)], hd * 0.9, "round"))
    else:
        H, hd = _u(rng, 110, 150), _u(rng, 40, 55)
        parts.append(P("steel", rrect(-hd / 2, -H / 2, hd / 2, H / 2, 6), hd, "round"))
    return parts


def _shuriken(rng, variant, open_):
    R = _u(rng, 35, 60)
    t = _u(rng, 1.5, 3.0)
    n = int(rng.integers(4, 9))
    hole = circle(0, 0, _u(rng, 4, 9))
    if variant == "star":
        body = star(n, R, R * _u(rng, 0.25, 0.45), _u(rng, 0, 6.3))
    elif variant == "hooked":
        pts = []
        r_in = R * _u(rng, 0.3, 0.45)
        for k in range(n):
            a = 2 * math.pi * k / n
            b = a + 2 * math.pi / n
            tip = (R * math.cos(a + 0.25), R * math.sin(a + 0.25))
            pts.append(bezier((r_in * math.cos(a - 0.3), r_in * math.sin(a - 0.3)),
                              (R * 0.8 * math.cos(a - 0.1), R * 0.8 * math.sin(a - 0.1)), tip, n=8))
            pts.append(bezier(tip, (R * 0.5 * math.cos(a + 0.4), R * 0.5 * math.sin(a + 0.4)),
                              (r_in * math.cos(b - 0.3), r_in * math.sin(b - 0.3)), n=8))
        body = np.concatenate(pts)
    else:
        body = star(n * 2, R, R * 0.78, 0.0)
        holes = [circle(R * 0.5 * math.cos(2 * math.pi * k / n), R * 0.5 * math.sin(2 * math.pi * k / n), R * 0.12)
                 for k in range(n)]
        return [P("steel", body, t, "taper", holes=[hole] + holes, param=R * 0.15)]
    return [P("steel", body, t, "taper", holes=[hole], param=R * 0.25)]


def _razor(rng, variant, open_):
    parts = []
    if variant == "double_edge":
        w, h, t = 43.0, 22.0, _u(rng, 0.1, 0.15)
        slot = np.concatenate([rrect(-12, -1.5, 12, 1.5, 1.5), ])
        holes = [slot, circle(-17, 0, 2.5), circle(17, 0, 2.5),
                 _arr([(-5, 0), (0, -3.5), (5, 0), (0, 3.5)])]
        parts.append(P("steel", rrect(-w / 2, -h / 2, w / 2, h / 2, 1.5), t, "taper", holes=holes, param=2.5))
        parts.append(P("steel", [rect(-w / 2 + 2, -h / 2, -w / 2 + 6, -h / 2 + 3), rect(w / 2 - 6, h / 2 - 3, w / 2 - 2, h / 2)], 0.0))
    elif variant == "single_edge":
        w, h, t = 38.0, 19.0, _u(rng, 0.2, 0.3)
        parts.append(P("steel", rect(-w / 2, -h / 2 + 3, w / 2, h / 2), t, "gradient", param=0.3, axis=((0, h / 2), (0, 0))))
        parts.append(P("steel", rect(-w / 2, -h / 2, w / 2, -h / 2 + 4), _u(rng, 1.2, 2.0), "round"))
    elif variant == "utility":
        w, h, t = 61.0, 19.0, _u(rng, 0.4, 0.65)
        poly = _arr([(-w / 2, h / 2), (w / 2, h / 2), (w / 2 - 12, -h / 2), (-w / 2 + 12, -h / 2)])
        notches = [_arr([(x - 3, -h / 2 - 1), (x + 3, -h / 2 - 1), (x, -h / 2 + 3)]) for x in (-8, 8)]
        parts.append(P("steel", poly, t, "gradient", param=0.35, holes=notches, axis=((0, h / 2), (0, 0))))
    else:  # snap-off blade
        w, h, t = _u(rng, 80, 110), _u(rng, 9, 18), _u(rng, 0.4, 0.6)
        poly = _arr([(-w / 2, h / 2), (w / 2 - h * 0.8, h / 2), (w / 2, -h / 2), (-w / 2, -h / 2)])
        step = _u(rng, 8, 13)
        holes = [rotate(rect(x - 0.4, -h, x + 0.4, h), -0.7, (x, 0)) for x in np.arange(-w / 2 + step, w / 2 - h, step)]
        parts.append(P("steel", poly, t, "gradient", param=0.35, axis=((0, h / 2), (0, -h / 2))))
        parts.append(P("steel", holes, -0.5 * t))
        parts.append(P("steel", rrect(-w / 2 + 3, -2, -w / 2 + 9, 2, 2), -t))
    return parts


def _baton(rng, variant, open_):
    parts = []
    if variant == "telescopic":
        L = _u(rng, 150, 200) if open_ < 0.5 else _u(rng, 400, 560)
        n = 3
        dia = [_u(rng, 22, 26), 17.0, 13.0]
        x = 0.0
        seg = L / n
        for k in range(n if open_ >= 0.5 else 1):
            parts.append(P("steel", rect(x, -dia[k] / 2, x + seg + 8, dia[k] / 2), dia[k], "tube", param=1.5))
            x += seg
        if open_ < 0.5:
            for k in range(1, n):
                parts.append(P("steel", rect(4, -dia[k] / 2, L - 4, dia[k] / 2), dia[k], "tube", param=1.5))
        parts.append(P("steel", circle(x + 8, 0, 8), 16, "round"))
        parts.append(P("rubber", rect(0, -dia[0] / 2 - 2, seg * 0.8, dia[0] / 2 + 2), dia[0] + 4, "tube", param=3))
    else:
        L, d = _u(rng, 450, 600), _u(rng, 28, 35)
        parts.append(P(str(rng.choice(["polyethylene", "nylon"])), rrect(0, -d / 2, L, d / 2, d / 2), d, "round"))
        parts.append(P("polyethylene", rect(L * 0.2, -d / 2 - 20, L * 0.2 + d, d / 2), d, "round"))
    return parts


def _powerbank(rng, variant, open_):
    w, h = _u(rng, 90, 150), _u(rng, 60, 80)
    parts = [P(str(rng.choice(["polyethylene", "aluminium"])), rrect(0, 0, w, h, 8), _u(rng, 3, 5), "taper", param=4)]
    if variant == "cells":
        n = int(rng.integers(2, 5))
        d = min(18.0, (h - 8) / n * 0.95) if False else 18.0
        n = max(1, min(n, int((h - 8) // d)))
        for k in range(n):
            y = 4 + k * d
            parts.append(P("steel", rrect(6, y, 6 + 65, y + d, 2), d, "tube", param=0.3))
            parts.append(P("copper", rect(8, y + 2, 6 + 63, y + d - 2), _u(rng, 1.5, 2.5), "round"))
            parts.append(P("cellulose", rect(8, y + 2, 6 + 63, y + d - 2), 8, "round"))
    else:
        parts.append(P("aluminium", rrect(6, 6, w - 25, h - 6, 3), _u(rng, 2, 4)))
        parts.append(P("copper", rrect(6, 6, w - 25, h - 6, 3), _u(rng, 0.8, 1.5)))
        parts.append(P("polyethylene", rrect(6, 6, w - 25, h - 6, 3), _u(rng, 6, 9)))
    parts.append(P("copper", rect(w - 22, 8, w - 6, h - 8), 1.2))  # PCB
    parts.append(P("steel", rect(w - 6, h / 2 - 5, w - 1, h / 2 + 5), 3))
    return parts


def _lighter(rng, variant, open_):
    w, h = _u(rng, 55, 80), _u(rng, 20, 26)
    parts = [P("polyethylene", rrect(0, -h / 2, w, h / 2, 4), 11, "tube", param=1.5)]
    parts.append(P("polyethylene", rect(w * 0.35, -h / 2 + 2, w - 2, h / 2 - 2), 8, "round"))  # butane
    parts.append(P("steel", rect(-12, -h / 2, 1, h / 2), 11 if variant == "flint" else 14, "tube", param=0.6))
    parts.append(P("steel", circle(-6, h / 2 - 5, 4), 6, "round"))
    parts.append(P("steel", rect(0, -1, w * 0.8, 1), 1.5))
    return parts


def _spray(rng, variant, open_):
    L, d = _u(rng, 120, 200), _u(rng, 40, 66)
    parts = [P("aluminium", rrect(0, -d / 2, L, d / 2, 6), d, "tube", param=0.4)]
    parts.append(P("water", rrect(L * 0.3, -d / 2 + 1, L - 2, d / 2 - 1, 5), d - 2, "round"))
    parts.append(P("steel", rect(-6, -d / 2 + 3, 2, d / 2 - 3), d - 6, "tube", param=0.4))
    parts.append(P("polyethylene", rrect(-28, -d / 2 + 2, -5, d / 2 - 2, 6), d - 4, "tube", param=1.5))
    parts.append(P("polyethylene", rect(-4, -1, L * 0.9, 1), 3, "round"))  # dip tube
    return parts


def _bullet(rng, variant, open_):
    if variant == "pistol":
        L, d, lb = _u(rng, 18, 22), _u(rng, 9, 11.5), _u(rng, 8, 12)
    else:
        L, d, lb = _u(rng, 40, 55), _u(rng, 10, 12.5), _u(rng, 18, 28)
    neck = d * (0.99 if variant == "pistol" else 0.65)
    case = _arr([(0, -d / 2), (L * 0.8, -d / 2), (L, -neck / 2), (L, neck / 2), (L * 0.8, d / 2), (0, d / 2)])
    parts = [P("brass", case, d, "tube", param=0.5), P("brass", rect(0, -d / 2 - 0.5, 2.5, d / 2 + 0.5), d, "round")]
    parts.append(P("lead", np.concatenate([rect(L - 4, -neck / 2, L + lb * 0.6, neck / 2)[[3, 0, 1]],
                                           ellipse(L + lb * 0.6, 0, lb * 0.45, neck / 2, -math.pi / 2, math.pi / 2, 12),
                                           rect(L - 4, -neck / 2, L + lb * 0.6, neck / 2)[[2]]]), neck, "round"))
    if variant == "rifle":
        parts.append(P("cellulose", rect(3, -d / 2 + 1, L - 2, d / 2 - 1), d * 0.6, "round"))
    return parts


def _handcuffs(rng, variant, open_):
    parts = []
    r = _u(rng, 32, 40)
    gap = _u(rng, 40, 80)
    for cx in (-gap / 2 - r, gap / 2 + r):
        ring = circle(cx, 0, r)
        parts.append(P("steel", ring, 6, "taper", holes=[circle(cx, 0, r - 7)], param=2))
        bx = cx + r - 4 if cx < 0 else cx - r + 4  # lock box on the inner side, facing the chain
        parts.append(P("steel", rrect(bx - 10, -14, bx + 10, 14, 4), 14, "round"))
        parts.append(P("steel", circle(cx, 0, r - 7), 4, "round", holes=[circle(cx, 0, r - 14)]))
    n = int((gap + 8) // 9) + 1
    sag = _u(rng, -10, 10)
    for k in range(n):
        f = k / max(n - 1, 1)
        x = -gap / 2 - 4 + f * (gap + 8)
        y = sag * 4 * f * (1 - f)
        parts.append(P("steel", ellipse(x, y, 6, 4), 4, "round", holes=[ellipse(x, y, 3, 1.5)]))
    return parts


_BUILDERS: dict[str, Callable] = {
    "gun": _gun, "knife": _knife, "scissors": _scissors, "wrench": _wrench, "pliers": _pliers,
    "hammer": _hammer, "shuriken": _shuriken, "razor_blade": _razor, "baton": _baton,
    "powerbank": _powerbank, "lighter": _lighter, "spray_can": _spray, "bullet": _bullet,
    "handcuffs": _handcuffs,
}


def random_pose(rng: np.random.Generator) -> dict:
    """Sample a pose: rotation, mirror, tilt (mostly small), size scale and opening."""
    u = rng.random()
    tilt = _u(rng, 0, 25) if u < 0.6 else (_u(rng, 25, 50) if u < 0.9 else _u(rng, 50, 68))
    o = rng.random()
    return {"angle": _u(rng, 0, 360), "tilt": tilt, "tilt_axis": _u(rng, 0, 180),
            "scale": _u(rng, 0.9, 1.1), "flip": bool(rng.random() < 0.5),
            "open": 0.0 if o < 0.2 else (1.0 if o < 0.6 else _u(rng, 0.2, 1.0))}


def render_threat(cls: str, rng: np.random.Generator | int | None = None, pixel_pitch_mm: float = 0.8,
                  pose: dict | None = None, variant: str | None = None, held_out: str = "include",
                  ss: int = 3) -> ThreatSignature:
    """Render one ``cls`` threat as per-material thickness maps at ``pixel_pitch_mm``.

    ``variant`` picks a shape family (see ``VARIANTS``); by default one is drawn from
    :func:`families` (``held_out`` = "include", "exclude" or "only"). ``pose`` keys
    (all optional): angle (deg), tilt (deg out of plane), tilt_axis (deg), scale,
    flip (bool), open (0 closed .. 1 open, for folding knives, scissors, pliers, batons).
    """
    if cls not in _BUILDERS:
        raise InputError(f"unknown threat class {cls!r}; known: {', '.join(_BUILDERS)}")
    if not (pixel_pitch_mm > 0):
        raise InputError(f"pixel_pitch_mm must be positive, not {pixel_pitch_mm!r}")
    rng = np.random.default_rng(rng)
    fams = families(cls, held_out)
    if variant is None:
        variant = str(rng.choice(fams))
    elif variant not in VARIANTS[cls]:
        raise InputError(f"unknown {cls} variant {variant!r}; known: {', '.join(VARIANTS[cls])}")
    full = random_pose(rng)
    full.update(pose or {})
    parts = _BUILDERS[cls](rng, variant, float(full["open"]))
    parts = [p for p in parts if p.polys]
    A = pose_matrix(full["angle"], full["tilt"], full["tilt_axis"], full["scale"], bool(full["flip"]))
    tscale = min(1.0 / max(math.cos(math.radians(full["tilt"])), 1e-3), 2.5)
    thick, mask = render_parts(parts, A, pixel_pitch_mm, ss=ss, thickness_scale=tscale)
    thick = {k: np.maximum(v, 0.0).astype(np.float32) for k, v in thick.items() if np.any(v > 0)}
    return ThreatSignature(cls, thick, mask, float(pixel_pitch_mm), variant, full)
