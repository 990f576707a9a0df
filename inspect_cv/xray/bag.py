"""Synthetic cluttered bags and fully synthetic dual-energy scans with threats.

:func:`make_bag` builds a top-view bag as per-material equivalent thickness maps (cm):
shell with folds and piping, trolley rods and wheels, zips with metal pulls, folded
clothes with wrinkles, electronics (laptop, phone, charger, power cells), cables, bottles,
shoes, toiletries, books, umbrellas, coins, keys, pens and belts, and the benign metal
look-alikes of threats (gears and crown caps, cutlery, strap rings and buckles on the rim,
nail clippers and files, wallets of cards, glasses, watches, hair dryers and shavers,
staplers and tape measures), placed at random with overlaps. :func:`synthesize` adds threats (:mod:`inspect_cv.xray.threats`) as thickness
before rendering with the scanner physics, so the scan is physically consistent, and
returns exact boxes of each threat's footprint.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

from inspect_cv.errors import InputError
from inspect_cv.xray.threats import (
    THREAT_CLASSES, P, Part, _arr, bezier, circle, ellipse, pose_matrix, render_parts,
    render_threat, rect, rotate, rrect, star, stroke,
)


@dataclass
class BagScene:
    """A bag as thickness maps: {material: (H, W) float32 cm}, plus where the bag is."""

    thickness: dict[str, np.ndarray]
    bag_mask: np.ndarray
    pixel_pitch_mm: float
    kind: str = ""
    items: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        return self.bag_mask.shape  # type: ignore[return-value]

    def add(self, thick: dict[str, np.ndarray], x0: int, y0: int) -> tuple[int, int, int, int]:
        """Add a patch of thickness maps with its top-left at (x0, y0), clipped; returns the
        clipped window (x0, y0, x1, y1) in scene pixels."""
        H, W = self.shape
        h, w = next(iter(thick.values())).shape
        xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + w, W), min(y0 + h, H)
        if xa >= xb or ya >= yb:
            return xa, ya, xa, ya
        for m, t in thick.items():
            if m not in self.thickness:
                self.thickness[m] = np.zeros((H, W), np.float32)
            self.thickness[m][ya:yb, xa:xb] += t[ya - y0:yb - y0, xa - x0:xb - x0]
        return xa, ya, xb, yb


@dataclass
class SyntheticScan:
    """One synthetic scan: transmissions, the displayed image and threat boxes."""

    image: np.ndarray
    high_T: np.ndarray
    low_T: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    profile: str
    seed: int | None
    variants: list[str] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)


def _u(rng, a, b) -> float:
    return float(rng.uniform(a, b))


def _noise(rng: np.random.Generator, shape: tuple[int, int], cells: int = 6) -> np.ndarray:
    """Smooth noise in [-1, 1] of the given shape (cheap: upsampled random grid)."""
    h, w = shape
    g = rng.uniform(-1, 1, (max(2, cells * h // max(h, w) + 2), max(2, cells * w // max(h, w) + 2)))
    return cv2.resize(g.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)


def _blob(rng, w: float, h: float, n: int = 24, rough: float = 0.12) -> np.ndarray:
    """Irregular rounded blob of about w x h mm centred on 0."""
    a = np.linspace(0, 2 * math.pi, n, endpoint=False)
    k = rng.normal(0, rough, 5)
    r = 1 + sum(k[i] * np.cos((i + 2) * a + rng.uniform(0, 6.3)) for i in range(3))
    sq = float(rng.uniform(0.45, 1.0))  # squarish .. elliptic
    c, s = np.cos(a), np.sin(a)
    x = np.sign(c) * np.abs(c) ** sq * w / 2 * r
    y = np.sign(s) * np.abs(s) ** sq * h / 2 * r
    return np.stack([x, y], 1)


def _place(scene: BagScene, rng, parts: list[Part], center=None, angle=None, tilt_max=20.0,
           ss: int = 2, name: str = "") -> None:
    """Render parts with a random pose and add them to the scene inside the bag."""
    pitch = scene.pixel_pitch_mm
    A = pose_matrix(_u(rng, 0, 360) if angle is None else angle, _u(rng, 0, tilt_max),
                    _u(rng, 0, 180), 1.0, bool(rng.random() < 0.5))
    thick, mask = render_parts(parts, A, pitch, ss=ss)
    h, w = mask.shape
    if center is None:
        center = _random_point(scene, rng)
    x0, y0 = int(center[0] - w / 2), int(center[1] - h / 2)
    scene.add(thick, x0, y0)
    if name:
        scene.items.append(name)


def _random_point(scene: BagScene, rng, margin: float = 0.0) -> tuple[float, float]:
    ys, xs = np.nonzero(scene.bag_mask[::8, ::8])
    i = int(rng.integers(len(xs)))
    return float(xs[i] * 8 + rng.uniform(0, 8)), float(ys[i] * 8 + rng.uniform(0, 8))


# --------------------------------------------------------------------------- items
def _clothes(scene: BagScene, rng) -> None:
    """Folded or rolled garment: many fabric layers, wrinkles and fold ridges."""
    pitch = scene.pixel_pitch_mm
    W, H = _u(rng, 140, 380), _u(rng, 110, 300)
    w, h = int(W / pitch) + 4, int(H / pitch) + 4
    blob = _blob(rng, W, H, rough=0.16) / pitch + [w / 2, h / 2]
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.round(blob * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    cov = m.astype(np.float32) / 255
    d = cv2.distanceTransform((m > 127).astype(np.uint8), cv2.DIST_L2, 5) * pitch
    layers_mm = _u(rng, 20, 90)  # height of the pile of fabric (cotton at 0.3 g/cm3)
    edge = np.clip(d / _u(rng, 8, 25), 0, 1) ** 0.6
    tex = 1 + 0.25 * _noise(rng, (h, w), 6) + 0.12 * _noise(rng, (h, w), 20)
    t = cov * layers_mm * edge * tex
    for _ in range(int(rng.integers(0, 4))):  # fold ridges / seams
        a = rng.uniform(0, math.pi)
        c = rng.uniform(0.2, 0.8)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        dist = np.abs((xx - w * c) * math.sin(a) - (yy - h * c) * math.cos(a)) * pitch
        t *= 1 + _u(rng, 0.2, 0.6) * np.exp(-(dist / _u(rng, 3, 8)) ** 2)
    if rng.random() < 0.25:  # a rolled garment: tube-like lines
        t *= 1 + 0.3 * np.sin(np.arange(w)[None, :] * pitch / _u(rng, 6, 14))
    mat = "cotton"
    if rng.random() < 0.35:  # synthetic fabric: same mass as nylon
        mat, t = "nylon", t * (0.3 / 1.14)
    ang = _u(rng, 0, 360)
    t = _rotate_img(t, ang)
    cx, cy = _random_point(scene, rng)
    th = {mat: (t / 10).astype(np.float32)}
    if rng.random() < 0.3:  # buttons / rivets / a zip on the garment
        sub = np.zeros_like(t)
        for _ in range(int(rng.integers(3, 9))):
            x, y = rng.integers(0, t.shape[1]), rng.integers(0, t.shape[0])
            if t[y, x] > 0:
                cv2.circle(sub, (int(x), int(y)), max(1, int(5 / pitch)), 1.0, -1, cv2.LINE_AA)
        th["brass"] = (sub * 0.12).astype(np.float32)
    scene.add(th, int(cx - t.shape[1] / 2), int(cy - t.shape[0] / 2))
    scene.items.append("clothes")


def _rotate_img(t: np.ndarray, angle: float) -> np.ndarray:
    h, w = t.shape
    M = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    c, s = abs(M[0, 0]), abs(M[0, 1])
    nw, nh = int(h * s + w * c) + 2, int(h * c + w * s) + 2
    M[0, 2] += nw / 2 - w / 2
    M[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(t, M, (nw, nh), flags=cv2.INTER_LINEAR)


def _laptop(rng) -> list[Part]:
    W, H = _u(rng, 280, 360), _u(rng, 190, 250)
    case = str(rng.choice(["aluminium", "polyethylene"]))
    parts = [P(case, rrect(0, 0, W, H, 8), 2.0 if case == "aluminium" else 5.0, "taper", param=3)]
    parts.append(P("glass", rrect(4, 4, W - 4, H - 4, 6), _u(rng, 1.0, 2.0)))  # screen
    parts.append(P("aluminium", rrect(4, 4, W - 4, H - 4, 6), 0.6))
    n = int(rng.integers(3, 7))
    cw = (W - 40) / n
    by = H - _u(rng, 55, 75)
    if rng.random() < 0.5:  # cylindrical cells
        for k in range(n):
            x = 20 + k * cw
            parts.append(P("steel", rect(x, by, x + cw - 3, by + 18), 18, "tube", param=0.25))
            parts.append(P("copper", rect(x + 2, by + 1, x + cw - 5, by + 17), 1.6, "round"))
            parts.append(P("cellulose", rect(x + 2, by + 1, x + cw - 5, by + 17), 9, "round"))
    else:  # pouch cells
        for k in range(min(n, 4)):
            x = 20 + k * (W - 40) / min(n, 4)
            parts.append(P("aluminium", rect(x, by, x + (W - 40) / min(n, 4) - 4, by + 55), 1.5))
            parts.append(P("copper", rect(x, by, x + (W - 40) / min(n, 4) - 4, by + 55), 0.9))
            parts.append(P("polyethylene", rect(x, by, x + (W - 40) / min(n, 4) - 4, by + 55), 4))
    pcb = rect(20, 15, W * _u(rng, 0.5, 0.8), by - 10)
    parts.append(P("fr4", pcb, 1.2))
    parts.append(P("copper", pcb, 0.12))
    x1 = W * 0.5
    for _ in range(int(rng.integers(6, 16))):  # chips and connectors
        cx, cy = _u(rng, 25, x1), _u(rng, 20, by - 25)
        s = _u(rng, 5, 20)
        parts.append(P(str(rng.choice(["ceramic", "copper", "steel"])), rect(cx, cy, cx + s, cy + s * _u(rng, 0.5, 1.2)), _u(rng, 0.5, 1.5)))
    fx, fy = _u(rng, 40, W - 60), _u(rng, 30, by - 40)
    parts.append(P("polyethylene", circle(fx, fy, 28), 6, holes=[circle(fx, fy, 10)]))
    parts.append(P("copper", stroke([(fx, fy), (fx + _u(rng, -100, 100), fy + _u(rng, -30, 30))], 8), 1.5))  # heat pipe
    parts.append(P("steel", rect(10, 6, W - 10, 14), 3))  # hinge
    parts.append(P("steel", rrect(20, 20, W - 20, by - 10, 4), 0.4))  # keyboard plate
    for (x, y) in [(8, 8), (W - 8, 8), (8, H - 8), (W - 8, H - 8), (W / 2, H - 8)]:
        parts.append(P("steel", circle(x, y, 2), 4, "round"))
    return parts


def _phone(rng) -> list[Part]:
    W, H = _u(rng, 65, 80), _u(rng, 130, 165)
    parts = [P("glass", rrect(0, 0, W, H, 9), 1.4), P("aluminium", rrect(0, 0, W, H, 9), 8, "taper",
                                                          holes=[rrect(3, 3, W - 3, H - 3, 7)], param=1.5)]
    parts.append(P("aluminium", rrect(4, H * 0.35, W - 4, H - 10, 3), 1.0))
    parts.append(P("copper", rrect(4, H * 0.35, W - 4, H - 10, 3), 0.5))
    parts.append(P("polyethylene", rrect(4, H * 0.35, W - 4, H - 10, 3), 3))
    parts.append(P("copper", rect(6, 6, W - 6, H * 0.33), 0.25))
    parts.append(P("glass", rect(6, 6, W - 6, H * 0.33), 0.8))
    parts.append(P("steel", circle(W * 0.3, 18, 7), 2, holes=[circle(W * 0.3, 18, 4)]))
    return parts


def _charger(rng) -> list[Part]:
    W, H = _u(rng, 40, 70), _u(rng, 40, 65)
    parts = [P("polyethylene", rrect(0, 0, W, H, 5), _u(rng, 25, 35), "tube", param=2)]
    parts.append(P("steel", rect(W * 0.3, H * 0.3, W * 0.65, H * 0.7), _u(rng, 10, 18)))  # transformer core
    parts.append(P("copper", rect(W * 0.25, H * 0.4, W * 0.7, H * 0.6), _u(rng, 3, 6)))
    parts.append(P("aluminium", rrect(W * 0.72, H * 0.15, W * 0.92, H * 0.45, 3), 10, "round"))  # capacitor
    parts.append(P("copper", rect(4, 4, W - 4, H - 4), 0.1))
    parts.append(P("brass", [rect(-14, H * 0.3, 0, H * 0.3 + 3), rect(-14, H * 0.65, 0, H * 0.65 + 3)], 2))
    return parts


def _cable_path(rng, length: float, coiled: bool) -> np.ndarray:
    if coiled:
        n_loops = _u(rng, 2, 6)
        R = _u(rng, 35, 90)
        t = np.linspace(0, n_loops * 2 * math.pi, int(n_loops * 40))
        r = R * (1 + 0.12 * np.sin(t * 0.37 + rng.uniform(0, 6)))
        c = np.cumsum(rng.normal(0, 1.5, (len(t), 2)), 0)
        return np.stack([r * np.cos(t), r * 0.8 * np.sin(t)], 1) + c
    n = int(length / 6)
    ang = np.cumsum(rng.normal(0, 0.12, n)) + rng.uniform(0, 6.3)
    ang += np.cumsum(rng.normal(0, 0.02, n))
    return np.cumsum(np.stack([np.cos(ang), np.sin(ang)], 1) * 6, 0)


def _cable(rng) -> list[Part]:
    path = _cable_path(rng, _u(rng, 250, 1200), rng.random() < 0.35)
    d = _u(rng, 3, 6)
    parts = [P(str(rng.choice(["pvc", "polyethylene", "rubber"])), stroke(path, d), d, "round")]
    parts.append(P("copper", stroke(path, d * 0.35), d * 0.35 * _u(rng, 0.5, 1.0), "round"))
    for end in (path[:2], path[-2:]):  # plugs
        v = end[1] - end[0]
        a = math.atan2(v[1], v[0])
        plug = rotate(rect(-18, -5, 0, 5), -a) + end[0]
        parts.append(P("polyethylene", plug, 9, "round"))
        parts.append(P(str(rng.choice(["steel", "copper", "brass"])), rotate(rect(-30, -3, -16, 3), -a) + end[0], 1.5))
    return parts


def _bottle(rng) -> list[Part]:
    L, d = _u(rng, 120, 300), _u(rng, 45, 90)
    glass = rng.random() < 0.3
    mat, wall = ("glass", _u(rng, 2, 4)) if glass else ("polyethylene", _u(rng, 0.3, 0.8))
    body = np.concatenate([rrect(0, -d / 2, L * 0.75, d / 2, d * 0.2)[:12],
                           bezier((L * 0.75, d / 2), (L * 0.85, d * 0.2), (L * 0.88, d * 0.15), n=6),
                           _arr_rect_neck(L, d), bezier((L * 0.88, -d * 0.15), (L * 0.85, -d * 0.2), (L * 0.75, -d / 2), n=6),
                           rrect(0, -d / 2, L * 0.75, d / 2, d * 0.2)[12:]])
    parts = [P(mat, body, d, "tube", param=wall)]
    fill = _u(rng, 0.4, 1.0)
    if rng.random() < 0.85:
        parts.append(P("water", rrect(wall, -d / 2 + wall, L * 0.75 * fill, d / 2 - wall, d * 0.2), d - 2 * wall, "round"))
    parts.append(P("polyethylene", rect(L * 0.96, -d * 0.17, L * 1.04, d * 0.17), d * 0.3, "round"))
    return parts


def _arr_rect_neck(L, d):
    return np.array([[L * 0.96, d * 0.15], [L * 0.96, -d * 0.15]])


def _can(rng) -> list[Part]:
    L, d = _u(rng, 90, 170), _u(rng, 50, 68)
    return [P("aluminium", rrect(0, -d / 2, L, d / 2, 4), d, "tube", param=0.15),
            P("water", rrect(1, -d / 2 + 1, L - 1, d / 2 - 1, 4), d - 2, "round")]


def _shoe(rng) -> list[Part]:
    L, w = _u(rng, 240, 310), _u(rng, 85, 110)
    sole = np.concatenate([ellipse(L * 0.72, 0, L * 0.28, w / 2, -math.pi / 2, math.pi / 2, 20),
                           ellipse(L * 0.15, 0, L * 0.16, w * 0.38, math.pi / 2, 3 * math.pi / 2, 16)])
    parts = [P("rubber", sole, _u(rng, 15, 30), "taper", param=8)]
    parts.append(P(str(rng.choice(["cotton", "nylon", "polyethylene"])), sole * [0.98, 1.04], _u(rng, 6, 12), "tube", param=2.5))
    if rng.random() < 0.4:
        parts.append(P("steel", rect(L * 0.2, -4, L * 0.5, 4), 1.5))  # shank
    for k in range(int(rng.integers(0, 6))):  # eyelets
        x = L * (0.45 + 0.06 * k)
        parts.append(P("steel", [circle(x, -w * 0.18, 3), circle(x, w * 0.18, 3)], 1, holes=[circle(x, -w * 0.18, 1.5), circle(x, w * 0.18, 1.5)]))
    return parts


def _toiletry(rng) -> list[Part]:
    k = rng.integers(4)
    if k == 0:  # tube of gel / paste
        L, w = _u(rng, 100, 180), _u(rng, 30, 50)
        return [P("polyethylene", _arr_tube(L, w), w * 0.5, "tube", param=0.4),
                P("water", _arr_tube(L, w) * [0.95, 0.9], w * 0.45, "round")]
    if k == 1:  # deodorant / shaving foam
        return _spray_like(rng)
    if k == 2:  # toothbrush
        L = _u(rng, 170, 195)
        return [P("polyethylene", rrect(0, -6, L, 6, 5), 10, "round"),
                P("nylon", rect(L - 28, -6, L - 2, 6), 9)]
    # razor: plastic handle, thin steel blades in the head
    L = _u(rng, 110, 150)
    return [P("polyethylene", rrect(0, -6, L, 6, 5), 11, "round"),
            P("polyethylene", rrect(L - 4, -20, L + 12, 20, 3), 8),
            P("steel", rect(L, -18, L + 2.5, 18), 0.3)]


def _arr_tube(L, w):
    return np.array([[0, -w / 2], [L * 0.85, -w * 0.4], [L, -w * 0.2], [L, w * 0.2], [L * 0.85, w * 0.4], [0, w / 2]])


def _spray_like(rng) -> list[Part]:
    L, d = _u(rng, 100, 180), _u(rng, 35, 55)
    return [P("aluminium", rrect(0, -d / 2, L, d / 2, 5), d, "tube", param=0.4),
            P("water", rrect(L * 0.4, -d / 2 + 1, L, d / 2 - 1, 5), d - 2, "round"),
            P("polyethylene", rrect(-25, -d / 2, 0, d / 2, 6), d, "tube", param=1.5)]


def _book(rng) -> list[Part]:
    W, H = _u(rng, 120, 240), _u(rng, 170, 300)
    parts = [P("paper", rrect(0, 0, W, H, 2), _u(rng, 8, 35), "taper", param=2)]
    if rng.random() < 0.25:
        parts.append(P("steel", [circle(4, y, 3) for y in np.arange(8, H - 5, 8)], 1.0,
                       holes=[circle(4, y, 2) for y in np.arange(8, H - 5, 8)]))
    return parts


def _umbrella(rng) -> list[Part]:
    L = _u(rng, 230, 600)
    parts = [P("steel", rect(0, -4, L, 4), 8, "tube", param=0.8),
             P("nylon", np.array([[30, -20], [L * 0.95, -6], [L * 0.95, 6], [30, 20]]), 8, "round")]
    for k in range(int(rng.integers(6, 9))):
        off = _u(rng, -14, 14)
        parts.append(P("steel", stroke([(30, off), (L * 0.92, off * 0.3)], 2.5), 1.2, "round"))
    parts.append(P(str(rng.choice(["polyethylene", "rubber"])), rrect(-90, -15, 5, 15, 12), 28, "round"))
    return parts


def _coins(rng) -> list[Part]:
    parts = []
    for _ in range(int(rng.integers(1, 8))):
        r = _u(rng, 8, 14)
        x, y = _u(rng, -30, 30), _u(rng, -30, 30)
        parts.append(P(str(rng.choice(["copper", "brass", "steel"])), circle(x, y, r), _u(rng, 1.5, 2.3)))
    return parts


def _keys(rng) -> list[Part]:
    parts = [P("steel", circle(0, 0, 13), 2.0, "round", holes=[circle(0, 0, 11)])]
    for k in range(int(rng.integers(1, 5))):
        a = _u(rng, -1.2, 1.2)
        L = _u(rng, 45, 70)
        head = circle(0, 12 + 12, 12)
        blade = np.array([[-3.5, 30], [3.5, 30], [3.5, 30 + L], [0, 34 + L], [-3.5, 30 + L]])
        notches = [rect(2, 36 + 6 * i, 4, 39 + 6 * i) for i in range(int(L // 8))]
        mat = str(rng.choice(["brass", "steel"]))
        parts.append(P(mat, [rotate(head, a), rotate(blade, a)], 2.2, holes=[rotate(circle(0, 16, 3), a)] + [rotate(n, a) for n in notches]))
        if rng.random() < 0.3:
            parts.append(P("polyethylene", rotate(rrect(-14, 10, 14, 36, 6), a), 6))
    return parts


def _pen(rng) -> list[Part]:
    L = _u(rng, 130, 150)
    return [P("polyethylene", rrect(0, -5, L, 5, 3), 9, "tube", param=1.2),
            P("polyethylene", rect(5, -1.2, L - 10, 1.2), 2.2, "round"),
            P("steel", rect(L * 0.5, -1.6, L * 0.62, 1.6), 3, "tube", param=0.3),
            P("brass", rect(L - 8, -1, L + 2, 1), 2, "round"),
            P("steel", rect(L * 0.1, -7, L * 0.4, -5), 0.6)]


def _belt(rng) -> list[Part]:
    path = _cable_path(rng, _u(rng, 300, 700), rng.random() < 0.6) * 1.3
    parts = [P(str(rng.choice(["cellulose", "rubber", "nylon"])), stroke(path, 35), 3)]
    a = path[0]
    parts.append(P("steel", rrect(a[0] - 25, a[1] - 25, a[0] + 25, a[1] + 25, 6), 4, holes=[rrect(a[0] - 18, a[1] - 18, a[0] + 18, a[1] + 18, 4)]))
    return parts


def _headphones(rng) -> list[Part]:
    R = _u(rng, 70, 90)
    band = stroke(ellipse(0, 0, R, R, math.pi, 2 * math.pi, 24), 14)
    parts = [P("polyethylene", band, 10, "round"), P("steel", stroke(ellipse(0, 0, R, R, math.pi, 2 * math.pi, 24), 4), 1.2)]
    for x in (-R, R):
        parts.append(P("polyethylene", ellipse(x, 5, 30, 38), 25, "tube", param=2.5))
        parts.append(P("steel", circle(x, 5, 12), 3, "round"))
        parts.append(P("copper", circle(x, 5, 9), 1.5))
    return parts


# ----------------------------------------------------------- benign metal look-alikes
# Everyday dense objects whose outline resembles a threat class in one view: the hard
# negatives that make a detector alarm on clean bags (toothed discs vs throwing stars,
# cutlery and tools of a trade vs wrenches and knives, cards and clippers vs blades,
# pistol-shaped appliances vs guns, strap hardware where zips cross the trolley rails).
def _cog(n: int, r_out: float, r_in: float, phase: float = 0.0) -> np.ndarray:
    """A gear outline with ``n`` trapezoidal teeth between radii ``r_in`` and ``r_out``."""
    pts = []
    for k in range(n):
        a = phase + 2 * math.pi * k / n
        h = math.pi / n
        for da, r in ((-h, r_in), (-0.55 * h, r_in), (-0.3 * h, r_out), (0.3 * h, r_out), (0.55 * h, r_in)):
            pts.append((r * math.cos(a + da), r * math.sin(a + da)))
    return _arr(pts)


def _toothed(rng) -> list[Part]:
    """Gears and sprockets, crown bottle caps, star-shaped trinkets and fidget spinners."""
    k = int(rng.integers(4))
    if k == 0:  # gear or sprocket (toys, clocks, bike parts)
        R = _u(rng, 12, 50)
        n = int(rng.integers(10, 40))
        holes = [circle(0, 0, R * _u(rng, 0.1, 0.3))]
        if R > 25 and rng.random() < 0.6:
            m = int(rng.integers(3, 7))
            holes += [circle(R * 0.55 * math.cos(2 * math.pi * i / m), R * 0.55 * math.sin(2 * math.pi * i / m), R * 0.15)
                      for i in range(m)]
        mat = str(rng.choice(["steel", "brass", "aluminium", "polyethylene"], p=[0.45, 0.25, 0.15, 0.15]))
        return [P(mat, _cog(n, R, R - _u(rng, 2, 5), _u(rng, 0, 6.3)), _u(rng, 1.5, 8), holes=holes)]
    if k == 1:  # crown caps: a thin crimped disc with the skirt seen edge-on as a dense ring
        parts = []
        for _ in range(int(rng.integers(1, 7))):
            x, y = _u(rng, -40, 40), _u(rng, -40, 40)
            parts.append(P("steel", _cog(21, 16, 14.8) + [x, y], 0.25))
            parts.append(P("steel", circle(x, y, 15.5), 6, holes=[circle(x, y, 14.8)]))
        return parts
    if k == 2:  # star-shaped badge, keyring charm or ornament, with a ring at one tip
        R = _u(rng, 15, 40)
        n = int(rng.integers(5, 9))
        body = star(n, R, R * _u(rng, 0.4, 0.65), _u(rng, 0, 6.3))
        tip = body[0]
        parts = [P(str(rng.choice(["brass", "steel", "aluminium"])), body, _u(rng, 1.0, 3.0), "taper", param=R * 0.15)]
        if rng.random() < 0.7:
            parts.append(P("steel", circle(tip[0] * 1.2, tip[1] * 1.2, 8), 1.5, "round", holes=[circle(tip[0] * 1.2, tip[1] * 1.2, 6.5)]))
        return parts
    # fidget spinner: three lobes with steel bearings
    R = _u(rng, 22, 30)
    lobes = [circle(R * math.cos(a), R * math.sin(a), 12) for a in np.arange(3) * 2 * math.pi / 3]
    body = [P(str(rng.choice(["brass", "aluminium", "polyethylene"])), lobes + [circle(0, 0, 14)], 8)]
    for (x, y) in [(0, 0)] + [(R * math.cos(a), R * math.sin(a)) for a in np.arange(3) * 2 * math.pi / 3]:
        body.append(P("steel", circle(x, y, 11), 7, holes=[circle(x, y, 4)]))
    return body


def _cutlery(rng) -> list[Part]:
    """Travel cutlery, spoons and forks: long steel handles ending in a dense head."""
    parts = []
    for j in range(int(rng.integers(1, 4))):
        L = _u(rng, 130, 200)
        dy = j * _u(rng, 18, 30)
        handle = stroke([(0, dy), (L * 0.65, dy)], _u(rng, 8, 14), _u(rng, 4, 6))
        if rng.random() < 0.5:  # spoon
            head = ellipse(L * 0.82, dy, L * 0.18, _u(rng, 14, 22))
            parts.append(P("steel", [handle, head], _u(rng, 1.2, 2.5), "taper", param=3))
        else:  # fork
            w = _u(rng, 18, 26)
            base = rrect(L * 0.62, dy - w / 2, L * 0.75, dy + w / 2, 4)
            tines = [rect(L * 0.74, dy - w / 2 + i * w / 4, L, dy - w / 2 + i * w / 4 + w / 8) for i in range(4)]
            parts.append(P("steel", [handle, base] + tines, _u(rng, 1.2, 2.5), "taper", param=2))
    return parts


def _strap_part(rng) -> list[Part]:
    """One piece of strap hardware: D-ring, ladder-lock buckle, snap hook or carabiner."""
    k = int(rng.integers(4))
    mat = str(rng.choice(["steel", "aluminium", "brass"], p=[0.6, 0.25, 0.15]))
    if k == 0:  # D-ring of bent wire
        w, h, d = _u(rng, 20, 40), _u(rng, 15, 30), _u(rng, 2.5, 5)
        outer = np.concatenate([_arr([(-w / 2, -h / 2), (-w / 2, h / 2)]), ellipse(-w / 2, 0, w, h / 2, math.pi / 2, -math.pi / 2, 20)])
        inner = outer * [(w - 2 * d) / w, (h - 2 * d) / h] + [d * 0.5, 0]
        return [P(mat, outer, d, "round", holes=[inner])]
    if k == 1:  # ladder-lock / slide buckle: a frame with one or two bars
        w, h, t = _u(rng, 25, 50), _u(rng, 18, 30), _u(rng, 2, 4)
        bars = [rect(-w / 2, -h / 2, w / 2, -h / 2 + t), rect(-w / 2, h / 2 - t, w / 2, h / 2),
                rect(-w / 2, -h / 2, -w / 2 + t, h / 2), rect(w / 2 - t, -h / 2, w / 2, h / 2)]
        bars += [rect(-w / 2, y - t / 2, w / 2, y + t / 2) for y in rng.uniform(-h / 4, h / 4, int(rng.integers(1, 3)))]
        return [P(mat, bars, t, "round")]
    if k == 2:  # snap hook: eye, body and a spring gate
        L, d = _u(rng, 45, 80), _u(rng, 4, 7)
        eye = circle(0, 0, d * 1.6)
        body = stroke(np.concatenate([_arr([(0, 0), (L * 0.7, 0)]), ellipse(L * 0.7, d * 1.8, d * 1.8, d * 1.8, -math.pi / 2, math.pi / 2, 10)]), d * 1.4)
        return [P(mat, [eye, body], d * 1.6, "round", holes=[circle(0, 0, d * 0.8)]),
                P("steel", stroke([(L * 0.25, d * 1.5), (L * 0.7, d * 3.3)], 1.2), 1.2, "round")]
    # carabiner: a rounded loop of thick rod
    L, W, d = _u(rng, 55, 110), _u(rng, 30, 55), _u(rng, 7, 11)
    outer = rrect(-L / 2, -W / 2, L / 2, W / 2, W * 0.45, n=8)
    inner = rrect(-L / 2 + d, -W / 2 + d, L / 2 - d, W / 2 - d, W * 0.45 - d, n=8)
    return [P("aluminium" if mat == "brass" else mat, outer, d, "round", holes=[inner])]


def _grooming(rng) -> list[Part]:
    """Nail clippers, tweezers, nail files and hair pins: small, thin, dense steel."""
    k = int(rng.integers(4))
    if k == 0:  # nail clipper: two levers, a pin and a folding arm
        L = _u(rng, 55, 85)
        return [P("steel", [rrect(0, -7, L, 7, 5)], _u(rng, 3, 5), "taper", param=2, holes=[circle(L * 0.2, 0, 1.5)]),
                P("steel", rrect(L * 0.15, -5, L * 0.95, 5, 4), 1.2),
                P("steel", circle(L * 0.8, 0, 2.5), 10, "round")]
    if k == 1:  # tweezers: two tapering strips joined at one end
        L = _u(rng, 80, 120)
        g = _u(rng, 2, 6)
        return [P("steel", [stroke([(0, 0), (L, g)], 9, 2), stroke([(0, 0), (L, -g)], 9, 2)], _u(rng, 0.8, 1.2))]
    if k == 2:  # nail file or metal ruler: a long thin strip
        L, w = _u(rng, 120, 310), _u(rng, 8, 25)
        return [P("steel", rrect(0, -w / 2, L, w / 2, min(w / 2, 4)), _u(rng, 0.6, 1.5)),
                P("polyethylene", rrect(-40, -w / 2 - 2, 0, w / 2 + 2, 4), 8, "round")] if rng.random() < 0.6 else \
            [P("steel", rrect(0, -w / 2, L, w / 2, 1), _u(rng, 0.6, 1.5))]
    parts = []  # hair pins and safety pins
    for _ in range(int(rng.integers(2, 10))):
        x, y, a = _u(rng, -30, 30), _u(rng, -30, 30), _u(rng, 0, 6.3)
        L = _u(rng, 35, 60)
        parts.append(P("steel", [rotate(stroke([(0, 0), (L, 0), (L, 3), (4, 3)], 1.0), a) + [x, y]], 0.9, "round"))
    return parts


def _wallet(rng) -> list[Part]:
    """A wallet: leather, a stack of cards with chips and antennas, maybe a metal card or clip."""
    W, H = _u(rng, 95, 120), _u(rng, 75, 100)
    parts = [P("cellulose", rrect(0, 0, W, H, 6), _u(rng, 3, 8), "taper", param=4)]
    for i in range(int(rng.integers(1, 9))):
        x, y = 5 + _u(rng, 0, 5), 5 + i * _u(rng, 2, 6)
        parts.append(P("pvc", rrect(x, y, x + 85.6, y + 54, 3), 0.76))
        if rng.random() < 0.8:
            parts.append(P("copper", rect(x + 10, y + 20, x + 22, y + 30), 0.3))
        if rng.random() < 0.4:  # contactless antenna loops
            parts.append(P("copper", rrect(x + 4, y + 4, x + 81, y + 50, 4), 0.05, holes=[rrect(x + 6, y + 6, x + 79, y + 48, 3)]))
    if rng.random() < 0.25:
        parts.append(P(str(rng.choice(["steel", "aluminium"])), rrect(8, 8, 93.6, 62, 3), _u(rng, 0.5, 0.9)))
    return parts


def _glasses(rng) -> list[Part]:
    """Metal-frame glasses, sometimes in a sprung aluminium case."""
    r = _u(rng, 20, 27)
    g = _u(rng, 14, 22)
    parts = []
    for s in (-1, 1):
        cx = s * (g / 2 + r)
        parts.append(P("steel", ellipse(cx, 0, r + 1.5, r * 0.8 + 1.5), 1.4, "round", holes=[ellipse(cx, 0, r, r * 0.8)]))
        parts.append(P(str(rng.choice(["glass", "polyethylene"])), ellipse(cx, 0, r, r * 0.8), _u(rng, 2, 4), "taper", param=6))
        parts.append(P("steel", stroke([(cx + s * r, -r * 0.4), (cx + s * r * 0.6, r * 0.6)], 1.6), 1.2, "round"))  # folded temples
    parts.append(P("steel", stroke(bezier((-g / 2, -r * 0.3), (-g / 4, -r * 0.7), (g / 4, -r * 0.7), (g / 2, -r * 0.3), n=10), 1.5), 1.4, "round"))
    if rng.random() < 0.4:
        parts.append(P("aluminium", rrect(-g / 2 - 2 * r - 8, -r - 6, g / 2 + 2 * r + 8, r + 6, r * 0.8), 40, "tube", param=0.5))
    return parts


def _watch(rng) -> list[Part]:
    """A wristwatch: steel case, brass movement, link bracelet or strap."""
    R = _u(rng, 17, 23)
    parts = [P("steel", circle(0, 0, R), _u(rng, 9, 13), "tube", param=1.5),
             P("brass", circle(0, 0, R * 0.75), 3),
             P("glass", circle(0, 0, R * 0.9), 2)]
    n = int(rng.integers(8, 14))
    metal = rng.random() < 0.5
    for s in (-1, 1):
        for i in range(n):
            y = s * (R + 2 + i * 7)
            if metal:
                parts.append(P("steel", rect(-10, y, 10, y + s * 6), 3.5, "round"))
            else:
                parts.append(P("cellulose", rect(-10, y, 10, y + s * 7), 3))
    if not metal:
        parts.append(P("steel", rrect(-12, R + 2 + n * 7, 12, R + 14 + n * 7, 2), 2.5, holes=[rect(-9, R + 5 + n * 7, 9, R + 11 + n * 7)]))
    return parts


def _appliance(rng) -> list[Part]:
    """Pistol-shaped or long appliances: hair dryer, curling iron, electric shaver."""
    k = int(rng.integers(3))
    if k == 0:  # hair dryer: barrel with a heating coil, motor at the back, handle down
        L, d = _u(rng, 150, 230), _u(rng, 50, 75)
        hl, hw = _u(rng, 90, 140), _u(rng, 28, 38)
        parts = [P("polyethylene", rrect(0, -d / 2, L, d / 2, d * 0.3), d, "tube", param=2.5),
                 P("polyethylene", rrect(L * 0.2, d / 2 - 5, L * 0.2 + hw, d / 2 + hl, hw * 0.4), hw, "tube", param=2.5),
                 P("copper", rect(L * 0.5, -d * 0.3, L * 0.92, d * 0.3), _u(rng, 1.5, 3), holes=[rect(L * 0.5 + 4 * i, -d * 0.3, L * 0.5 + 4 * i + 2, d * 0.3) for i in range(int(L * 0.1))]),
                 P("ceramic", rect(L * 0.5, -2, L * 0.92, 2), d * 0.5),
                 P("steel", rect(L * 0.15, -d * 0.25, L * 0.35, d * 0.25), d * 0.4, "round"),
                 P("copper", rect(L * 0.18, -d * 0.2, L * 0.32, d * 0.2), d * 0.3, "round"),
                 P("copper", stroke([(L * 0.2 + hw / 2, d / 2), (L * 0.2 + hw / 2, d / 2 + hl)], 3), 2, "round")]
        return parts
    if k == 1:  # curling iron / straightener: long heated steel or aluminium barrel
        L, d = _u(rng, 200, 300), _u(rng, 19, 32)
        return [P("polyethylene", rrect(0, -d * 0.6, L * 0.45, d * 0.6, 8), d * 1.2, "tube", param=2),
                P(str(rng.choice(["aluminium", "steel"])), rrect(L * 0.45, -d / 2, L, d / 2, d * 0.4), d, "tube", param=_u(rng, 0.5, 1.2)),
                P("ceramic", rect(L * 0.5, -d * 0.2, L * 0.95, d * 0.2), 2),
                P("copper", stroke([(0, 0), (L * 0.9, 0)], 1.5), 1.5, "round")]
    # electric shaver: body, steel foil head, motor and a cell
    L, w = _u(rng, 110, 150), _u(rng, 40, 55)
    return [P("polyethylene", rrect(0, -w / 2, L, w / 2, w * 0.3), w * 0.7, "tube", param=2.5),
            P("steel", rect(L - 4, -w / 2 + 3, L + 12, w / 2 - 3), _u(rng, 0.2, 0.5)),
            P("steel", rect(L * 0.55, -w * 0.25, L * 0.8, w * 0.25), w * 0.4, "round"),
            P("copper", rect(L * 0.58, -w * 0.2, L * 0.77, w * 0.2), w * 0.25, "round"),
            P("steel", rect(L * 0.1, -9, L * 0.5, 9), 18, "tube", param=0.3)]


def _office(rng) -> list[Part]:
    """A stapler, a tape measure or a bunch of binder clips."""
    k = int(rng.integers(3))
    if k == 0:
        L, w = _u(rng, 120, 200), _u(rng, 25, 40)
        return [P("steel", rrect(0, -w / 2, L, w / 2, 6), _u(rng, 1.2, 2.0)),
                P("steel", rrect(5, -w * 0.35, L - 5, w * 0.35, 4), 1.0),
                P("steel", rect(10, -2, L * 0.8, 2), 8),
                P("polyethylene", rrect(-5, -w / 2 - 2, L * 0.4, w / 2 + 2, 8), 10)]
    if k == 1:  # tape measure: coiled steel band in a plastic case
        R = _u(rng, 25, 40)
        return [P("polyethylene", rrect(-R - 5, -R - 5, R + 5, R + 5, R * 0.4), 40, "tube", param=2),
                P("steel", circle(0, 0, R * 0.9), 20 * _u(rng, 0.3, 0.8), holes=[circle(0, 0, R * 0.3)]),
                P("steel", rect(R - 2, R - 2, R + 10, R + 5), 2)]
    parts = []
    for _ in range(int(rng.integers(1, 6))):
        x, y, s = _u(rng, -30, 30), _u(rng, -30, 30), _u(rng, 15, 40)
        parts.append(P("steel", _arr([(x, y), (x + s, y), (x + s * 0.8, y + s * 0.6), (x + s * 0.2, y + s * 0.6)]), _u(rng, 3, 6), "round"))
        parts.append(P("steel", stroke([(x + s * 0.2, y + s * 0.5), (x + s * 0.1, y + s * 1.2), (x + s * 0.9, y + s * 1.2), (x + s * 0.8, y + s * 0.5)], 1.2), 1.2, "round"))
    return parts


ITEMS = {
    "laptop": (_laptop, 0.5), "phone": (_phone, 0.6), "charger": (_charger, 0.6), "cable": (_cable, 1.2),
    "bottle": (_bottle, 0.6), "can": (_can, 0.3), "shoe": (_shoe, 0.5), "toiletry": (_toiletry, 1.3),
    "book": (_book, 0.5), "umbrella": (_umbrella, 0.3), "coins": (_coins, 0.4), "keys": (_keys, 0.4),
    "pen": (_pen, 0.7), "belt": (_belt, 0.3), "headphones": (_headphones, 0.25),
    # benign metal look-alikes (generator baggage-1.1)
    "toothed": (_toothed, 0.35), "cutlery": (_cutlery, 0.3), "strap_hardware": (_strap_part, 0.35),
    "grooming": (_grooming, 0.4), "wallet": (_wallet, 0.4), "glasses": (_glasses, 0.25),
    "watch": (_watch, 0.25), "appliance": (_appliance, 0.3), "office": (_office, 0.3),
}


# --------------------------------------------------------------------------- the bag
def _shell(scene: BagScene, rng, poly_px: np.ndarray, kind: str) -> None:
    H, W = scene.shape
    pitch = scene.pixel_pitch_mm
    m = np.zeros((H, W), np.uint8)
    cv2.fillPoly(m, [np.round(poly_px * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    cov = m.astype(np.float32) / 255
    d = cv2.distanceTransform((m > 127).astype(np.uint8), cv2.DIST_L2, 5) * pitch
    fabric = _u(rng, 1.5, 4.0) if kind != "hard" else _u(rng, 3, 6)
    wall = np.exp(-d / _u(rng, 10, 30)) * _u(rng, 6, 16)  # side walls seen edge-on
    tex = 1 + 0.2 * _noise(rng, (H, W), 10)
    t = cov * (fabric + wall) * tex
    mat = "polyethylene" if kind == "hard" else "nylon"
    scene.add({mat: (t / 10).astype(np.float32)}, 0, 0)
    # piping and fabric folds along the outline
    lines = np.zeros((H, W), np.uint8)
    for k in range(int(rng.integers(2, 6))):
        off = rng.normal(0, 8 / pitch, poly_px.shape) * (k > 0)
        shrink = 1 - k * _u(rng, 0.0, 0.05)
        c = poly_px.mean(0)
        p = (poly_px - c) * shrink + c + off
        cv2.polylines(lines, [np.round(p * 16).astype(np.int32)], True, 255, max(1, int(3 / pitch)), cv2.LINE_AA, 4)
    scene.add({"pvc": (lines.astype(np.float32) / 255 * _u(rng, 0.3, 0.8)).astype(np.float32)}, 0, 0)
    scene.bag_mask = cv2.erode((m > 127).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0


def _point_on_outline(rng, poly: np.ndarray) -> np.ndarray:
    """A random point on a random edge of a closed polygon (pixels)."""
    i = int(rng.integers(len(poly)))
    j = (i + 1) % len(poly)
    return poly[i] + (poly[j] - poly[i]) * rng.random()


def _zips(scene: BagScene, rng, poly_px: np.ndarray) -> None:
    H, W = scene.shape
    pitch = scene.pixel_pitch_mm
    c = poly_px.mean(0)
    metal = rng.random() < 0.35
    paths = [(poly_px - c) * _u(rng, 0.85, 0.95) + c]
    if rng.random() < 0.6:
        y = _u(rng, 0.2, 0.8)
        x0, x1 = poly_px[:, 0].min(), poly_px[:, 0].max()
        y0, y1 = poly_px[:, 1].min(), poly_px[:, 1].max()
        paths.append(np.array([[x0 + 0.1 * (x1 - x0), y0 + y * (y1 - y0)], [x1 - 0.1 * (x1 - x0), y0 + y * (y1 - y0)]]))
    teeth = np.zeros((H, W), np.uint8)
    for p in paths:
        closed = len(p) > 2
        cv2.polylines(teeth, [np.round(p * 16).astype(np.int32)], closed, 255, max(1, int(round(5 / pitch))), cv2.LINE_AA, 4)
    t = teeth.astype(np.float32) / 255
    if metal:  # teeth pattern: periodic along both axes approximates discrete teeth
        yy, xx = np.mgrid[0:H, 0:W]
        t *= (0.6 + 0.4 * np.sin((xx + yy) * pitch * 2.2)).astype(np.float32)
        scene.add({"brass": t * 0.12}, 0, 0)
    else:
        scene.add({"polyethylene": t * 0.3}, 0, 0)
    # metal sliders and pulls (the small dense tabs seen on real scans)
    for _ in range(int(rng.integers(2, 7))):
        q = _point_on_outline(rng, paths[int(rng.integers(len(paths)))])
        L = _u(rng, 18, 35)
        parts = [P("steel", rrect(-6, -5, 6, 5, 2), 6, "round"),
                 P("steel", rrect(4, -4, 4 + L, 4, 3), _u(rng, 1.5, 2.5), holes=[rrect(L - 4, -1.5, L, 1.5, 1.4)])]
        _place(scene, rng, parts, center=q, tilt_max=40)


def _outline_hardware(scene: BagScene, rng, poly_px: np.ndarray) -> None:
    """Strap rings, buckles and hooks on the bag's rim, where they overlap zips and rails."""
    c = poly_px.mean(0)
    for _ in range(int(rng.integers(0, 5))):
        q = _point_on_outline(rng, poly_px)
        q = q + (c - q) * _u(rng, 0.0, 0.12)
        _place(scene, rng, _strap_part(rng), center=q, tilt_max=50)


def _trolley(scene: BagScene, rng, poly_px: np.ndarray) -> None:
    pitch = scene.pixel_pitch_mm
    x0, y0 = poly_px.min(0)
    x1, y1 = poly_px.max(0)
    Wb, Hb = (x1 - x0) * pitch, (y1 - y0) * pitch
    horizontal = rng.random() < 0.5  # rods along x or along y
    L = (Wb if horizontal else Hb) * _u(rng, 0.8, 0.95)
    gap = (Hb if horizontal else Wb) * _u(rng, 0.35, 0.6)
    d = _u(rng, 14, 22)
    parts = []
    for s in (-1, 1):
        parts.append(P("aluminium", rect(-L / 2, s * gap / 2 - d / 2, L / 2, s * gap / 2 + d / 2), d, "tube", param=1.2))
        parts.append(P("aluminium", rect(-L / 2 + 10, s * gap / 2 - d * 0.35, L * 0.2, s * gap / 2 + d * 0.35), d * 0.7, "tube", param=1.0))
    parts.append(P("polyethylene", rrect(L / 2 - 10, -gap / 2 - 10, L / 2 + 25, gap / 2 + 10, 10), 25, "round"))
    parts.append(P("aluminium", rect(-L / 2, -gap / 2, -L / 2 + 30, gap / 2), 2))
    if rng.random() < 0.7:  # flat backing rails
        parts.append(P("aluminium", [rect(-L / 2, -gap / 2 - 40, L / 2, -gap / 2 - 28), rect(-L / 2, gap / 2 + 28, L / 2, gap / 2 + 40)], 2.5))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    off = (Hb if horizontal else Wb) * _u(rng, -0.15, 0.15) / pitch
    centre = (cx, cy + off) if horizontal else (cx + off, cy)
    _place(scene, rng, parts, center=centre, angle=0.0 if horizontal else 90.0, tilt_max=0)
    # wheels at two (or four) corners at the handle's far end
    corners = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
    pick = corners if rng.random() < 0.5 else (corners[:2] if not horizontal else [corners[0], corners[2]])
    for (qx, qy) in pick:
        q = np.array([qx, qy]) + (np.array([cx, cy]) - [qx, qy]) * _u(rng, 0.1, 0.16)
        r = _u(rng, 22, 35)
        wheel = [P("polyethylene", rrect(-r - 12, -r - 12, r + 12, r + 12, 10), 12, "taper", param=4),
                 P("rubber", circle(0, 0, r), 2 * r * 0.5, "round"),
                 P("steel", circle(0, 0, 4), 40, "round"),
                 P("steel", circle(0, 0, 9), 3, holes=[circle(0, 0, 5)])]
        _place(scene, rng, wheel, center=q, tilt_max=30)


def make_bag(rng: np.random.Generator | int | None = None, size: tuple[int, int] = (704, 896),
             pixel_pitch_mm: float | None = None, kind: str | None = None,
             clutter: float = 1.0) -> BagScene:
    """Build a cluttered bag as per-material thickness maps of shape ``size`` (H, W).

    ``pixel_pitch_mm``: mm per pixel; by default chosen so that a bag of a random real size
    (40-80 cm long) fills most of the frame. ``kind``: "soft", "hard", "backpack" or "tray"
    (random by default). ``clutter`` scales the number of items.
    """
    rng = np.random.default_rng(rng)
    H, W = int(size[0]), int(size[1])
    if H < 64 or W < 64:
        raise InputError(f"bag size must be at least 64x64 pixels, not {H}x{W}")
    kind = kind or str(rng.choice(["soft", "hard", "backpack", "tray"], p=[0.4, 0.3, 0.2, 0.1]))
    fill_w, fill_h = _u(rng, 0.78, 0.96), _u(rng, 0.72, 0.94)
    if pixel_pitch_mm is None:
        bag_len = _u(rng, 480, 850) if kind != "backpack" else _u(rng, 400, 560)
        pixel_pitch_mm = bag_len / (fill_w * max(H, W))
    scene = BagScene({}, np.zeros((H, W), bool), float(pixel_pitch_mm), kind)
    bw, bh = fill_w * W, fill_h * H
    cx, cy = W / 2 + _u(rng, -0.05, 0.05) * W, H / 2 + _u(rng, -0.04, 0.04) * H
    rr = {"hard": 0.12, "soft": 0.2, "backpack": 0.35, "tray": 0.05}[kind]
    base = rrect(-bw / 2, -bh / 2, bw / 2, bh / 2, rr * min(bw, bh), n=8)
    if kind in ("soft", "backpack"):
        base = base + rng.normal(0, 0.012 * min(bw, bh), base.shape)
    poly = rotate(base, math.radians(_u(rng, -6, 6))) + [cx, cy]
    _shell(scene, rng, poly, kind)
    if kind == "tray":
        scene.add({"polyethylene": np.full((H, W), _u(rng, 0.3, 0.6), np.float32) * scene.bag_mask}, 0, 0)
    else:
        if kind in ("hard", "soft") and rng.random() < 0.85:
            _trolley(scene, rng, poly)
        _zips(scene, rng, poly)
        _outline_hardware(scene, rng, poly)
    # contents: rendered apart, then squeezed inside the bag outline
    inner = BagScene({}, scene.bag_mask, scene.pixel_pitch_mm, kind)
    n_clothes = int(rng.integers(1, 7) * clutter) if kind != "tray" else int(rng.integers(0, 2))
    for _ in range(n_clothes):
        _clothes(inner, rng)
    names = list(ITEMS)
    weights = np.array([ITEMS[k][1] for k in names])
    n_items = int(rng.integers(3, 14) * clutter) if kind != "tray" else int(rng.integers(1, 5))
    for name in rng.choice(names, size=n_items, p=weights / weights.sum()):
        _place(inner, rng, ITEMS[str(name)][0](rng), name=str(name))
    soft = cv2.GaussianBlur(scene.bag_mask.astype(np.float32), (0, 0), 2.0)
    for m, t in inner.thickness.items():
        scene.add({m: t * soft}, 0, 0)
    scene.items = inner.items
    return scene


# --------------------------------------------------------------------------- scans
def _box_of(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    ys = np.flatnonzero(mask.any(1))
    xs = np.flatnonzero(mask.any(0))
    if len(xs) == 0:
        return None
    return float(xs[0]), float(ys[0]), float(xs[-1] + 1), float(ys[-1] + 1)


def synthesize(rng: np.random.Generator | int | None = None, profile=None,
               threats: Sequence[str] | None = None, size: tuple[int, int] = (704, 896),
               n_threats: tuple[int, int] = (0, 3), negative_fraction: float = 0.2,
               held_out: str = "exclude", pixel_pitch_mm: float | None = None,
               clutter: float = 1.0) -> SyntheticScan:
    """One fully synthetic scan of a cluttered bag with 0..n threats.

    ``profile``: a scanner profile, its name, None (random named profile) or "random"
    (:func:`scanner.random_profile`). ``threats``: the class names to draw from (label
    order); default :data:`THREAT_CLASSES`. ``n_threats``: inclusive range per positive
    image; ``negative_fraction`` of images have none. ``held_out`` selects shape families
    ("exclude" for training, "only" for an out-of-distribution test, "include").
    Boxes are ``x1, y1, x2, y2`` pixels, tight around each threat's footprint pixels that
    fall inside the image (occluded parts included: X-ray sees through clutter).
    """
    from inspect_cv.xray import scanner

    seed = int(rng) if isinstance(rng, (int, np.integer)) else None
    rng = np.random.default_rng(rng)
    classes = list(THREAT_CLASSES if threats is None else threats)
    if not classes and n_threats[1] > 0:
        raise InputError("threats must name at least one class")
    lo, hi = int(n_threats[0]), int(n_threats[1])
    if lo < 0 or hi < lo:
        raise InputError(f"n_threats must be (min, max) with 0 <= min <= max, not {n_threats!r}")
    if isinstance(profile, str) and profile == "random":
        prof = scanner.random_profile(rng)
    elif profile is None:
        names = sorted(scanner.PROFILES)
        prof = scanner.PROFILES[names[int(rng.integers(len(names)))]]
    elif isinstance(profile, str):
        if profile not in scanner.PROFILES:
            raise InputError(f"unknown scanner profile {profile!r}; known: {', '.join(sorted(scanner.PROFILES))}, random")
        prof = scanner.PROFILES[profile]
    else:
        prof = profile
    scene = make_bag(rng, size, pixel_pitch_mm, clutter=clutter)
    H, W = scene.shape
    n = 0 if (rng.random() < negative_fraction or hi == 0) else int(rng.integers(max(lo, 1), hi + 1))
    boxes, labels, variants, masks = [], [], [], []
    for _ in range(n):
        label = int(rng.integers(len(classes)))
        sig = render_threat(classes[label], rng, scene.pixel_pitch_mm, held_out=held_out)
        h, w = sig.mask.shape
        for _attempt in range(10):
            cx, cy = _random_point(scene, rng)
            x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
            xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + w, W), min(y0 + h, H)
            if xb <= xa or yb <= ya:
                continue
            vis = sig.mask[ya - y0:yb - y0, xa - x0:xb - x0]
            inside = (vis & scene.bag_mask[ya:yb, xa:xb]).sum()
            if inside >= 0.9 * sig.mask.sum() or (_attempt >= 6 and vis.sum() >= 0.9 * sig.mask.sum()):
                break
        else:
            continue
        scene.add(sig.thickness, x0, y0)
        full = np.zeros((H, W), bool)
        full[ya:yb, xa:xb] = vis
        box = _box_of(full)
        if box is None:
            continue
        boxes.append(box)
        labels.append(label)
        variants.append(sig.variant)
        masks.append(full)
    high_T, low_T = scanner.render(scene.thickness, prof, rng=rng)
    image = scanner.display(high_T, low_T, prof, rng=rng)
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    ih, iw = image.shape[:2]
    if (ih, iw) != (H, W):  # the display resized the image: scale the boxes with it
        b = b * np.array([iw / W, ih / H, iw / W, ih / H], np.float32)
    return SyntheticScan(image, high_T, low_T, b, np.asarray(labels, np.int64), classes,
                         getattr(prof, "name", str(prof)), seed, variants, masks)
