"""Identity-level canonical maps of a horse head (the 2.5-D "model" of one horse).

The canonical canvas covers ``x`` in ``[-0.75, 0.75]`` and ``y`` in ``[-0.2, 1.3]`` at
``res`` pixels per unit. Layers are composited back to front (mane, jowls, ears, face,
forelock) into an albedo-weight set, a height map, a normal map, an alpha (coverage)
map, a specular map and the face-surface mask. Colours that change with the season
(body, points, white hairs) are applied later by :func:`compose_albedo`.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .identity import HorseIdentity, Marking

X0, X1, Y0, Y1 = -0.46, 0.46, -0.08, 1.04
PINK = np.array([0.80, 0.56, 0.54], np.float32)


def _clip(x, lo, hi):
    """Faster ``np.clip`` for float arrays (lo/hi scalars or None)."""
    if lo is not None:
        x = np.maximum(x, lo)
    if hi is not None:
        x = np.minimum(x, hi)
    return x


def smoothstep(e0: float, e1, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at ``e0`` to 1 at ``e1`` (works for e0 > e1 too)."""
    t = np.minimum(np.maximum((x - e0) * np.float32(1.0 / (e1 - e0)), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


def value_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth noise in about [-1, 1]: a ``cells``-wide random grid, bicubically upsampled."""
    h, w = shape
    ch = max(2, int(round(cells * h / max(h, w))))
    cw = max(2, int(round(cells * w / max(h, w))))
    g = rng.standard_normal((ch + 2, cw + 2)).astype(np.float32)
    up = cv2.resize(g, (w + 2 * w // cw, h + 2 * h // ch), interpolation=cv2.INTER_CUBIC)
    oy, ox = h // ch, w // cw
    return up[oy:oy + h, ox:ox + w] * 0.7


def fbm(rng: np.random.Generator, shape: tuple[int, int], cells: int, octaves: int = 3) -> np.ndarray:
    """Sum of value-noise octaves (each twice as fine, half as strong)."""
    out = np.zeros(shape, np.float32)
    amp = 1.0
    for k in range(octaves):
        out += amp * value_noise(rng, shape, cells * 2 ** k)
        amp *= 0.5
    return out


def normals_from_height(h: np.ndarray, res: float, strength: float = 1.0) -> np.ndarray:
    """Unit normals (x right, y down, z to camera) of a height field in canvas units."""
    gx = cv2.Sobel(h, cv2.CV_32F, 1, 0, ksize=3) * (res / 8.0) * strength
    gy = cv2.Sobel(h, cv2.CV_32F, 0, 1, ksize=3) * (res / 8.0) * strength
    n = np.dstack([-gx, -gy, np.ones_like(h)])
    return n / np.linalg.norm(n, axis=2, keepdims=True)


@dataclass
class Canvas:
    """Grid of the canonical canvas."""

    res: int

    def __post_init__(self) -> None:
        self.w = int(round((X1 - X0) * self.res))
        self.h = int(round((Y1 - Y0) * self.res))
        xs = (np.arange(self.w, dtype=np.float32) + 0.5) / self.res + X0
        ys = (np.arange(self.h, dtype=np.float32) + 0.5) / self.res + Y0
        self.X, self.Y = np.meshgrid(xs, ys)
        self.px = 1.0 / self.res

    def to_px(self, x, y):
        return (np.asarray(x) - X0) * self.res - 0.5, (np.asarray(y) - Y0) * self.res - 0.5


def face_halfwidth(face: dict, y: np.ndarray) -> np.ndarray:
    """Half width of the front of the face at height ``y`` (0 outside the face)."""
    L, W = face["length"], face["width"]
    ey = face["eye_y"]
    top = 0.115
    bottom = top + 0.855 * L
    ys = np.array([top, 0.17, 0.24, ey, ey + 0.08, 0.54, 0.66, 0.78, 0.86, 0.91], np.float32)
    ys[4:] = top + (ys[4:] - top) * L
    hw = np.array([0.10, 0.15, 0.18, 0.20, 0.165, 0.118, 0.10 * face["nose_width"],
                   0.112 * face["muzzle_width"], 0.128 * face["muzzle_width"],
                   0.123 * face["muzzle_width"]], np.float32)
    hw[:6] *= W
    out = np.interp(y, ys, hw).astype(np.float32)
    # rounded top (poll) and bottom (lips, chin)
    t_top = _clip((y - top) / 0.06, 0, 1)
    out *= np.sqrt(1 - (1 - t_top) ** 2)
    yb0 = ys[-1]
    t_bot = _clip((y - yb0) / (bottom - yb0), 0, 1)
    out *= np.sqrt(_clip(1 - t_bot ** 2.2, 0, 1))
    out[(y < top) | (y > bottom)] = 0
    return out


def _blob_sdf(c: Canvas, m: Marking, noise: np.ndarray) -> np.ndarray:
    dx, dy = c.X - m.cx, c.Y - m.cy
    cr, sr = np.cos(m.rot), np.sin(m.rot)
    xl, yl = cr * dx + sr * dy, -sr * dx + cr * dy
    yl = yl * m.aspect
    r = np.sqrt(xl ** 2 + yl ** 2) + 1e-6
    th = np.arctan2(yl, xl)
    rho = np.ones_like(r)
    for k, (a, p) in enumerate(m.harmonics, start=1):
        rho += a * np.cos(k * th + p)
    rho = m.size * np.maximum(rho, 0.15)
    return r - rho + m.raggedness * m.size * noise


def _band_sdf(c: Canvas, m: Marking, face: dict, noise: np.ndarray) -> np.ndarray:
    span = max(m.cy2 - m.cy, 1e-3)
    s = _clip((c.Y - m.cy) / span, 0, 1)
    xc = m.cx + m.bend * np.sin(np.pi * s)
    w = np.ones_like(s)
    for k, (a, p) in enumerate(m.harmonics, start=1):
        w += a * np.cos(k * np.pi * s + p)
    w = np.maximum(w, -0.3) * (1 + m.taper * (s - 0.5))
    if m.kind == "bald":
        w = w * (m.size / 0.18) * 0.9 * face_halfwidth(face, c.Y[:, :1])
    else:
        # blazes widen a little over the muzzle
        w = w * m.size * (1 + 0.6 * smoothstep(0.72, 0.9, c.Y) * (m.kind == "blaze"))
    d_side = np.abs(c.X - xc) - w
    d_end = np.maximum(m.cy - c.Y, c.Y - m.cy2)
    d = np.maximum(d_side, d_end)
    return d + m.raggedness * 0.02 * noise


def marking_mask(identity: HorseIdentity, c: Canvas, face_alpha: np.ndarray | None = None) -> np.ndarray:
    """Soft white-marking mask (0..1) of an identity on the canonical canvas."""
    out = np.zeros((c.h, c.w), np.float32)
    edge = 1.2 * c.px
    for m in identity.markings:
        rng = np.random.default_rng(m.noise_seed)
        noise = fbm(rng, (c.h, c.w), 40, 3)
        if m.kind in ("star", "snip"):
            d = _blob_sdf(c, m, noise)
        else:
            d = _band_sdf(c, m, identity.face, noise)
        out = np.maximum(out, smoothstep(edge, -edge, d))
    if face_alpha is not None:
        out *= face_alpha
    return out


def hair_flow(c: Canvas, identity: HorseIdentity) -> tuple[np.ndarray, np.ndarray]:
    """Hair direction field: downwards overall, spiralling out of each whorl."""
    dx = np.full((c.h, c.w), 0.0, np.float32) + 0.35 * c.X
    dy = np.full((c.h, c.w), 1.0, np.float32) * 0.45
    for (wx, wy, rad, hand, _arms) in identity.whorls:
        rx, ry = c.X - wx, c.Y - wy
        r = np.sqrt(rx ** 2 + ry ** 2) + 1e-5
        wgt = np.exp(-(r / (1.4 * rad)) ** 2) * 4.0
        a = hand * 1.1
        ca, sa = np.cos(a), np.sin(a)
        ux, uy = rx / r, ry / r
        dx += wgt * (ca * ux - sa * uy)
        dy += wgt * (sa * ux + ca * uy)
    n = np.sqrt(dx ** 2 + dy ** 2) + 1e-6
    return dx / n, dy / n


def hair_texture(c: Canvas, flow: tuple[np.ndarray, np.ndarray], rng: np.random.Generator,
                 length_px: float, grain_px: float) -> np.ndarray:
    """Line-integral-convolution hair texture (zero mean, unit std) along ``flow``."""
    n0 = rng.random((c.h, c.w), dtype=np.float32)
    if grain_px > 0.6:
        n0 = cv2.GaussianBlur(n0, (0, 0), grain_px)
    steps = max(2, int(round(length_px / 1.5)))
    gx, gy = np.meshgrid(np.arange(c.w, dtype=np.float32), np.arange(c.h, dtype=np.float32))
    fx, fy = flow
    acc = np.zeros_like(n0)
    wsum = 0.0
    for k in range(-steps, steps + 1):
        t = k * length_px / steps
        wk = 1.0 - abs(k) / (steps + 1)
        acc += wk * cv2.remap(n0, gx + t * fx, gy + t * fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        wsum += wk
    acc /= wsum
    acc -= acc.mean()
    return acc / (acc.std() + 1e-6)


def whorl_pattern(c: Canvas, identity: HorseIdentity) -> np.ndarray:
    """Brightness modulation that makes the whorls readable as small swirls."""
    out = np.zeros((c.h, c.w), np.float32)
    for (wx, wy, rad, hand, arms) in identity.whorls:
        rx, ry = c.X - wx, c.Y - wy
        r = np.sqrt(rx ** 2 + ry ** 2) + 1e-5
        th = np.arctan2(ry, rx)
        phase = arms * th + hand * 9.0 * np.log(r / rad)
        env = np.exp(-(r / (1.3 * rad)) ** 2) * (1 - np.exp(-(r / (0.25 * rad)) ** 2))
        out += np.cos(phase) * env - 0.6 * np.exp(-(r / (0.22 * rad)) ** 2)
    return out


@dataclass
class IdentityLayers:
    """Identity-level canonical maps (see module docstring)."""

    canvas: Canvas
    alpha: np.ndarray        # coverage of the whole head
    face: np.ndarray         # face-surface mask (for face boxes)
    height: np.ndarray
    normal: np.ndarray       # (h, w, 3)
    spec: np.ndarray
    w_points: np.ndarray     # weight of the points colour (mane, ear rims, dark muzzle)
    w_white: np.ndarray      # white markings
    tex_fine: np.ndarray
    tex_coarse: np.ndarray
    whorl: np.ndarray
    shade_var: np.ndarray    # low-frequency body shade variation
    roan_mask: np.ndarray
    dapple: np.ndarray
    fixed_col: np.ndarray    # (h, w, 3) skin, eyes, nostrils, inner ears...
    w_fixed: np.ndarray
    mane_mask: np.ndarray


def _ear(c: Canvas, face: dict, side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mask, height and inner-ear weight of one ear."""
    bx = side * (0.095 * face["width"] + 0.5 * face["ear_spread"])
    by = 0.15
    tx = side * (0.15 * face["width"] + 1.5 * face["ear_spread"])
    ty = by - 0.16 * face["ear_length"]
    ax, ay = tx - bx, ty - by
    ln = np.hypot(ax, ay)
    ux, uy = ax / ln, ay / ln
    rx, ry = c.X - bx, c.Y - by
    t = (rx * ux + ry * uy) / ln
    s = (-rx * uy + ry * ux)
    tc = _clip(t, 0, 1)
    w = 0.046 * face["ear_width"] * (1 - tc) ** 0.55 * (1 + 0.45 * np.sin(np.pi * tc))
    q = np.abs(s) / np.maximum(w, 1e-4)
    inside = (t > -0.15) & (t < 1.0)
    mask = smoothstep(1.0 + 1.5 * c.px / 0.03, 1.0 - 1.5 * c.px / 0.03, q) * inside
    mask *= smoothstep(1.0, 0.985, t)
    height = (0.05 + 0.035 * q ** 2 - 0.01 * t).astype(np.float32)
    inner = smoothstep(0.75, 0.45, q) * smoothstep(0.05, 0.2, t) * smoothstep(0.95, 0.75, t)
    return mask.astype(np.float32), height, inner.astype(np.float32)


def build_layers(identity: HorseIdentity, res: int) -> IdentityLayers:
    """Render the identity-level canonical maps at ``res`` pixels per unit."""
    c = Canvas(res)
    f = identity.face
    rng = np.random.default_rng(identity.texture_seed)
    X, Y = c.X, c.Y
    ey = f["eye_y"]

    # ---- face surface
    hw = face_halfwidth(f, Y[:, :1])
    u = X / np.maximum(hw, 1e-4)
    inside = _clip(1 - u ** 2, 0, 1)
    face_a = smoothstep(1.5 * c.px, -1.5 * c.px, np.abs(X) - hw) * (hw > 0)
    depth = 0.16 + 0.04 * smoothstep(0.7, 0.9, Y)
    h_face = 0.12 + depth * inside ** 0.4
    L = f["length"]
    h_face += 0.02 * f["ridge"] * np.exp(-(X / 0.05) ** 2) * smoothstep(0.4, 0.5, Y) * smoothstep(0.8, 0.7, Y)
    h_face -= 0.025 * f["dish"] * np.exp(-((Y - (0.12 + 0.45 * L)) / 0.08) ** 2) * inside
    # eyes: bulges at the lateral edge
    hw_e = float(face_halfwidth(f, np.array([ey], np.float32))[0])
    ex = hw_e + 0.002
    eye_r = (0.02 * f["eye_size"], 0.033 * f["eye_size"])
    eye_w = np.zeros_like(X)
    eye_bulge = np.zeros_like(X)
    for side in (-1, 1):
        ddx, ddy = (X - side * ex), (Y - ey)
        rot = side * 0.35
        xr = np.cos(rot) * ddx + np.sin(rot) * ddy
        yr = -np.sin(rot) * ddx + np.cos(rot) * ddy
        q = (xr / eye_r[0]) ** 2 + (yr / eye_r[1]) ** 2
        eye_w = np.maximum(eye_w, smoothstep(1.0, 0.8, q))
        eye_bulge += 0.04 * np.exp(-q / 2.5)
        # orbital ridge above the eye, lid skin
        eye_bulge += 0.02 * np.exp(-(((X - side * (ex - 0.02)) / 0.035) ** 2 + ((Y - ey + 0.04) / 0.018) ** 2))
    eye_region = np.exp(-(((np.abs(X) - ex) / 0.035) ** 2 + ((Y - ey) / 0.05) ** 2))
    face_a = np.maximum(face_a, smoothstep(0.55, 0.7, eye_region) * (Y > 0.2))
    h_face = np.where(face_a > 0, np.maximum(h_face, 0.1), h_face) + eye_bulge
    # nostrils, muzzle, mouth
    ny = 0.12 + 0.745 * L
    nx = f["nostril_x"] * f["muzzle_width"]
    nost = np.zeros_like(X)
    for side in (-1, 1):
        ddx, ddy = X - side * nx, Y - ny
        rot = -side * 1.0
        xr = np.cos(rot) * ddx + np.sin(rot) * ddy
        yr = -np.sin(rot) * ddx + np.cos(rot) * ddy
        # comma shape: an ellipse bent by a quadratic term
        yr2 = yr - 9.0 * xr ** 2 * side
        q = (xr / 0.028) ** 2 + (yr2 / 0.012) ** 2
        nost = np.maximum(nost, smoothstep(1.0, 0.6, q))
        h_face += 0.025 * np.exp(-(ddx ** 2 + ddy ** 2) / 0.03 ** 2)
    h_face -= 0.03 * nost
    mouth_y = 0.12 + 0.822 * L
    mouth = np.exp(-((Y - mouth_y - 0.25 * X ** 2) / 0.004) ** 2) * smoothstep(0.9, 0.6, np.abs(u))
    h_face -= 0.012 * mouth
    h_face -= 0.015 * smoothstep(mouth_y, mouth_y + 0.04, Y)
    # hair texture bump
    flow = hair_flow(c, identity)
    tex_fine = hair_texture(c, flow, rng, length_px=0.03 * res, grain_px=0.35)
    tex_coarse = hair_texture(c, flow, rng, length_px=0.05 * res, grain_px=1.2)
    tex_coarse = 0.75 * tex_coarse + 0.5 * fbm(rng, (c.h, c.w), 30, 2)

    # ---- jowls (behind the face)
    jw = np.zeros_like(X)
    jx, jy = 0.125 * f["width"], 0.12 + 0.34 * L
    for side in (-1, 1):
        q = ((X - side * jx) / 0.105) ** 2 + ((Y - jy) / 0.15) ** 2
        jw = np.maximum(jw, _clip(1 - q, 0, 1))
    jaw_a = smoothstep(0.0, 0.04, jw)
    h_jaw = 0.09 * np.sqrt(jw)

    # ---- ears
    ear_a = np.zeros_like(X)
    h_ear = np.zeros_like(X)
    ear_in = np.zeros_like(X)
    for side in (-1, 1):
        m, hgt, inner = _ear(c, f, side)
        ear_a = np.maximum(ear_a, m)
        h_ear = np.where(m > 0.01, hgt, h_ear)
        ear_in = np.maximum(ear_in, inner * m)

    # ---- mane (behind the poll, between and behind the ears)
    mn = fbm(rng, (c.h, c.w), 60, 2)
    mq = (X / 0.13) ** 2 + ((Y - 0.11) / 0.05) ** 2
    mane_a = smoothstep(1.0, 0.7, mq + 0.35 * mn) * (Y < 0.2)
    h_mane = 0.04 * _clip(1 - mq, 0, 1)

    # ---- forelock (strands over the forehead)
    fl = np.zeros((c.h, c.w), np.float32)
    n_str = int(40 + 60 * f["forelock"])
    for _ in range(n_str):
        x0 = rng.normal(0, 0.035)
        y0 = rng.uniform(0.1, 0.15)
        ln = f["forelock"] * rng.uniform(0.05, 0.17)
        drift = rng.normal(0, 0.015) + 0.3 * x0
        ts = np.linspace(0, 1, 8)
        xs = x0 + drift * ts ** 1.5
        ys = y0 + ln * ts
        px, py = c.to_px(xs, ys)
        pts = np.stack([px, py], 1)
        cv2.polylines(fl, [np.round(pts * 16).astype(np.int32)], False, float(rng.uniform(0.6, 1.0)),
                      thickness=max(1, int(round(0.005 * res * rng.uniform(0.7, 1.6)))),
                      lineType=cv2.LINE_AA, shift=4)
    fl = _clip(cv2.GaussianBlur(fl, (0, 0), 0.5), 0, 1)

    # ---- composite back to front: mane, jowls, ears, face, forelock
    alpha = np.zeros_like(X)
    height = np.zeros_like(X)
    nrm = np.zeros((c.h, c.w, 3), np.float32)
    nrm[..., 2] = 1
    face_mask = np.zeros_like(X)
    bump = 0.0006 * tex_fine
    for a, hgt, on_face in ((mane_a, h_mane, 0), (jaw_a, h_jaw, 0), (ear_a, h_ear, 0),
                            (face_a, h_face, 1), (fl * face_a, h_face + 0.01, 0)):
        hb = (hgt + bump).astype(np.float32)
        n = normals_from_height(cv2.GaussianBlur(hb, (0, 0), 0.7), res)
        alpha = alpha + a * (1 - alpha)
        height = height * (1 - a) + hgt * a
        nrm = nrm * (1 - a[..., None]) + n * a[..., None]
        face_mask = face_mask * (1 - a) + on_face * a
    nrm /= np.linalg.norm(nrm, axis=2, keepdims=True) + 1e-6

    # ---- colour weights
    white = marking_mask(identity, c, face_a * (1 - fl))
    coat = identity.coat
    dark_points = coat in ("bay", "dark_bay", "dun", "buckskin", "roan", "blue_roan", "black")
    w_points = np.maximum(mane_a * (1 - face_a) * (1 - ear_a), fl * face_a)
    # ear rims and tips in points colour for dark-pointed coats
    ear_tip = ear_a * smoothstep(0.06, 0.0, Y) if dark_points else 0.3 * ear_a * smoothstep(0.04, -0.02, Y)
    w_points = np.maximum(w_points, ear_tip)
    muz = smoothstep(0.66, 0.84, Y) * face_a
    if dark_points:
        w_points = np.maximum(w_points, muz * (0.6 + 0.4 * f["mealy"]) * (1 - white))

    # skin of the muzzle (bare, around nostrils and lips), with pigment spots
    skin_w = face_a * smoothstep(0.8, 0.92, Y) * 0.85
    skin_w = np.maximum(skin_w, face_a * 0.9 * np.exp(-((np.abs(X) - nx) ** 2 + (Y - ny) ** 2) / 0.04 ** 2))
    pink = smoothstep(0.15, 0.6, cv2.GaussianBlur(white, (0, 0), 0.01 * res)) * face_a
    spots = np.zeros_like(X)
    for (sx, sy, sr, _k) in identity.muzzle_spots:
        q = ((X - sx) ** 2 + (Y - sy) ** 2) / sr ** 2
        spots = np.maximum(spots, smoothstep(1.0, 0.5, q + 0.3 * mn))
    skin_dark = np.array(identity.skin, np.float32)
    skin_pink_area = pink
    skin_is_pink = _clip(skin_pink_area * (1 - spots) + (1 - skin_pink_area) * spots * 0.45, 0, 1)
    fixed_col = skin_dark * (1 - skin_is_pink[..., None]) + PINK * skin_is_pink[..., None]
    # a skin-coloured muzzle under white hairs shows pink through the thin hair
    w_fixed = np.maximum(skin_w, 0.9 * pink * muz * smoothstep(0.72, 0.86, Y))
    w_fixed = np.maximum(w_fixed, spots * muz * 0.9)
    # eyes (dark, with lids), nostril openings, mouth line, inner ears
    dark = np.array([0.03, 0.025, 0.02], np.float32)
    for wgt, col in ((eye_w, np.array([0.05, 0.035, 0.03], np.float32)), (nost, dark),
                     (0.8 * mouth * face_a, dark),
                     (ear_in * 0.85, np.array([0.09, 0.07, 0.06], np.float32))):
        fixed_col = fixed_col * (1 - wgt[..., None]) + col * wgt[..., None]
        w_fixed = np.maximum(w_fixed, wgt)
    lid = _clip(np.exp(-(((np.abs(X) - ex) / 0.035) ** 2 + ((Y - ey) / 0.05) ** 2)) * 1.3 - eye_w, 0, 1)
    fixed_col = fixed_col * (1 - 0.5 * lid[..., None]) + skin_dark * 0.5 * lid[..., None]
    w_fixed = np.maximum(w_fixed, 0.5 * lid)

    spec = 0.04 + 0.9 * eye_w + 0.15 * skin_w + 0.1 * nost
    shade_var = 0.5 * fbm(rng, (c.h, c.w), 6, 2) - 0.12 * smoothstep(0.1, 0.35, jaw_a * (1 - face_a))
    roan_mask = (rng.random((c.h, c.w), dtype=np.float32) < 0.5).astype(np.float32)
    roan_mask = cv2.GaussianBlur(roan_mask, (0, 0), 0.5) * smoothstep(0.0, 1.0, 1 - muz)
    dn = fbm(rng, (c.h, c.w), 18, 3)
    dapple = smoothstep(0.1, 0.5, dn) * 0.6
    return IdentityLayers(canvas=c, alpha=alpha.astype(np.float32), face=face_mask.astype(np.float32),
                          height=height.astype(np.float32), normal=nrm.astype(np.float32),
                          spec=spec.astype(np.float32), w_points=w_points.astype(np.float32),
                          w_white=white.astype(np.float32), tex_fine=tex_fine, tex_coarse=tex_coarse,
                          whorl=whorl_pattern(c, identity), shade_var=shade_var.astype(np.float32),
                          roan_mask=roan_mask, dapple=dapple, fixed_col=fixed_col.astype(np.float32),
                          w_fixed=_clip(w_fixed, 0, 1).astype(np.float32),
                          mane_mask=mane_a.astype(np.float32))


def season_colour(rgb, season: float, shade: float) -> np.ndarray:
    """A coat colour under ``shade`` (identity) and ``season`` (0 summer .. 1 winter coat).

    The winter coat is longer, lighter and duller: brightness up, saturation down.
    """
    c = np.asarray(rgb, np.float32) * np.float32(np.exp(0.6 * shade))
    grey = c.mean()
    c = c + (grey - c) * 0.35 * season            # duller
    c = c * (1 + 0.25 * season) + 0.03 * season     # lighter
    return _clip(c, 0, 1)


def compose_albedo(identity: HorseIdentity, lay: IdentityLayers, season: float) -> np.ndarray:
    """Canonical sRGB albedo (h, w, 3) of an identity in the given season."""
    body = season_colour(identity.body, season, identity.shade)
    points = season_colour(identity.points, 0.5 * season, 0.0)
    tex = (1 - season) * lay.tex_fine + season * lay.tex_coarse
    amp = 0.06 + 0.05 * season
    mod = 1 + amp * tex + 0.08 * lay.whorl + 0.12 * lay.shade_var
    alb = body[None, None, :] * mod[..., None]
    if identity.coat == "grey":
        light = np.array([0.86, 0.86, 0.84], np.float32)
        dark = np.array([0.42, 0.42, 0.42], np.float32)
        d = (identity.dapple * lay.dapple)[..., None]
        alb = (light * (1 - d) + dark * d) * (0.75 + 0.25 * body.mean() / 0.7) * mod[..., None]
    if identity.roan > 0:
        r = (identity.roan * lay.roan_mask)[..., None]
        alb = alb * (1 - r) + np.array([0.85, 0.84, 0.82], np.float32) * r
    wp = lay.w_points[..., None]
    alb = alb * (1 - wp) + points[None, None, :] * (1 + 0.12 * tex[..., None]) * wp
    ww = lay.w_white[..., None]
    white = np.array([0.93, 0.92, 0.89], np.float32) * (1 - 0.04 * season)
    alb = alb * (1 - ww) + white * (1 + 0.05 * tex[..., None]) * ww
    wf = lay.w_fixed[..., None]
    alb = alb * (1 - wf) + lay.fixed_col * wf
    return _clip(alb, 0, 1).astype(np.float32)
