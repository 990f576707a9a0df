"""Procedural backgrounds of the places horses are photographed: stable, field,
trailer, wall, dark stall and random clutter. All return sRGB float32 (h, w, 3)."""
from __future__ import annotations

import cv2
import numpy as np

from .canonical import fbm, smoothstep

BACKGROUND_KINDS = ("stable", "field", "trailer", "wall", "dark", "random")


def _stable(rng, h, w):
    vertical = rng.random() < 0.5
    n = max(h, w)
    board = rng.uniform(0.08, 0.2) * n
    base = np.array([0.45, 0.30, 0.17]) * rng.uniform(0.5, 1.2)
    coord = np.arange(w if vertical else h, dtype=np.float32)
    off = rng.uniform(0, board)
    idx = np.floor((coord + off) / board)
    frac = ((coord + off) / board) % 1.0
    shade = 1 + 0.15 * np.sin(idx * 12.9898 + rng.uniform(0, 6)) 
    gap = smoothstep(0.0, 0.04, frac) * smoothstep(1.0, 0.96, frac)
    line = (shade * (0.25 + 0.75 * gap)).astype(np.float32)
    img = np.broadcast_to(line[None, :] if vertical else line[:, None], (h, w)).copy()
    grain = fbm(rng, (h, w) if vertical else (w, h), 8, 3)
    grain = cv2.resize(grain, (w // 12 + 1, h) if vertical else (w, h // 12 + 1))
    grain = cv2.resize(grain, (w, h)) if grain.shape != (h, w) else grain
    img = img * (1 + 0.15 * grain) * (1 + 0.15 * fbm(rng, (h, w), 4, 2))
    return img[..., None] * base[None, None, :]


def _field(rng, h, w):
    horizon = rng.uniform(0.15, 0.6) * h
    y = np.arange(h, dtype=np.float32)[:, None, None]
    sky_top = np.array([0.45, 0.62, 0.85]) * rng.uniform(0.8, 1.1)
    sky_bot = np.array([0.78, 0.85, 0.92])
    t = np.clip(y / max(horizon, 1), 0, 1)
    sky = sky_top * (1 - t) + sky_bot * t
    grass = np.array([0.25, 0.42, 0.15]) * rng.uniform(0.6, 1.2)
    if rng.random() < 0.3:
        grass = np.array([0.55, 0.5, 0.3])  # dry grass
    tree_line = horizon - (0.1 + 0.6 * rng.random()) * h * 0.2 * (1 + fbm(rng, (1, w), 6, 3)[0])
    trees = (y[..., 0] > tree_line[None, :]) & (y[..., 0] <= horizon)
    img = np.broadcast_to(sky, (h, w, 3)).copy()
    img[trees] = np.array([0.12, 0.2, 0.1]) * rng.uniform(0.6, 1.3)
    g = np.broadcast_to(y[..., 0] > horizon, (h, w))
    tex = 1 + 0.25 * fbm(rng, (h, w), 30, 3)
    img[g] = (grass[None, :] * tex[g][:, None])
    return img


def _trailer(rng, h, w):
    base = np.array(rng.choice([[0.82, 0.82, 0.8], [0.6, 0.62, 0.64], [0.25, 0.28, 0.3],
                                [0.7, 0.68, 0.6]]), np.float32)
    img = np.ones((h, w), np.float32)
    pitch = rng.uniform(0.05, 0.12) * h
    y = np.arange(h, dtype=np.float32)[:, None]
    img = img * (1 - 0.12 * (np.sin(2 * np.pi * y / pitch) > 0.8))
    img = img * (1 + 0.05 * fbm(rng, (h, w), 5, 2))
    out = img[..., None] * base
    # a dark opening (window / door) somewhere
    if rng.random() < 0.6:
        x0, y0 = int(rng.uniform(-0.2, 0.7) * w), int(rng.uniform(-0.2, 0.6) * h)
        x1, y1 = x0 + int(rng.uniform(0.3, 0.8) * w), y0 + int(rng.uniform(0.3, 0.8) * h)
        cv2.rectangle(out, (x0, y0), (x1, y1), tuple(float(v) for v in base * 0.6), int(0.02 * w) + 1)
        cv2.rectangle(out, (x0, y0), (x1, y1), (0.05, 0.05, 0.05), -1)
    for _ in range(int(rng.integers(4, 16))):
        cx, cy = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        cv2.circle(out, (cx, cy), max(1, int(0.006 * w)), tuple(float(v) for v in base * 0.7), -1, cv2.LINE_AA)
    return out


def _wall(rng, h, w):
    if rng.random() < 0.5:  # brick
        bh = rng.uniform(0.04, 0.08) * h
        bw = bh * rng.uniform(2.0, 3.0)
        y = np.arange(h, dtype=np.float32)[:, None]
        x = np.arange(w, dtype=np.float32)[None, :]
        row = np.floor(y / bh)
        xs = x + (row % 2) * bw / 2
        mortar = ((y % bh) < 0.12 * bh) | ((xs % bw) < 0.12 * bh)
        col = np.array([0.55, 0.27, 0.18]) * rng.uniform(0.7, 1.2)
        brick_id = row * 1000 + np.floor(xs / bw)
        var = 1 + 0.12 * np.sin(brick_id * 78.233)
        img = col * var[..., None] * (1 + 0.1 * fbm(rng, (h, w), 30, 2))[..., None]
        img[mortar] = np.array([0.7, 0.68, 0.64])
        return img
    col = np.array(rng.uniform(0.35, 0.9, 3), np.float32)
    col = 0.5 * col + 0.5 * col.mean()
    return col * (1 + 0.12 * fbm(rng, (h, w), 12, 4))[..., None]


def _dark(rng, h, w):
    v = rng.uniform(0.02, 0.08)
    return np.full((h, w, 3), v, np.float32) * (1 + 0.5 * fbm(rng, (h, w), 3, 2))[..., None]


def _random(rng, h, w):
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        img[..., c] = 0.45 + 0.25 * fbm(rng, (h, w), int(rng.integers(2, 8)), 3)
    for _ in range(int(rng.integers(2, 8))):
        col = tuple(float(v) for v in rng.uniform(0.05, 0.95, 3))
        p0 = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        if rng.random() < 0.5:
            p1 = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            cv2.line(img, p0, p1, col, int(rng.uniform(0.01, 0.08) * w) + 1, cv2.LINE_AA)
        else:
            cv2.circle(img, p0, int(rng.uniform(0.05, 0.3) * w), col, -1, cv2.LINE_AA)
    return img


_MAKERS = dict(stable=_stable, field=_field, trailer=_trailer, wall=_wall, dark=_dark, random=_random)


def make_background(kind: str, rng: np.random.Generator, h: int, w: int, blur: float = 0.0) -> np.ndarray:
    """A background of ``kind`` (one of :data:`BACKGROUND_KINDS`), optionally defocused."""
    # drawn at half resolution (backgrounds are out of focus anyway)
    hh, ww = max(8, h // 2), max(8, w // 2)
    img = np.clip(_MAKERS[kind](rng, hh, ww), 0, 1).astype(np.float32)
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    if blur > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    return img
