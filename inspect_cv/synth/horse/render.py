"""Photos of a synthetic horse: session conditions, pose warp, lighting, occluders, camera.

A *session* is one visit (enrolment at a stable, a check at the border lane...): the
season of the coat, the halter, the place (background) and the light are the same
for every photo of a session. Each photo then draws its own head pose, crop, light
jitter, lead rope, cast shadow, blur, noise and JPEG quality.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, fields

import cv2
import numpy as np

from .background import BACKGROUND_KINDS, make_background
from .canonical import (X0, Y0, IdentityLayers, build_layers, compose_albedo, face_halfwidth,
                        normals_from_height, season_colour, smoothstep)
from .identity import HorseIdentity

FACE_CENTRE_Y = 0.52   # canonical y at the centre of an aligned face crop
FACE_SPAN = 1.12        # canonical units covered by the crop side


@dataclass
class Nuisance:
    """Strength (0 = off, 1 = default) of each family of per-photo nuisances."""

    pose: float = 1.0
    light: float = 1.0
    occlusion: float = 1.0
    blur: float = 1.0
    noise: float = 1.0
    jpeg: float = 1.0
    crop: float = 1.0
    season: float = 1.0
    background: float = 1.0

    @classmethod
    def coerce(cls, value: "Nuisance | float | None") -> "Nuisance":
        """A :class:`Nuisance` from itself, a single strength for all, or None (= 1)."""
        if isinstance(value, Nuisance):
            return value
        v = 1.0 if value is None else float(value)
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"nuisance strength must be a finite number >= 0, got {value!r}")
        return cls(**{f.name: v for f in fields(cls)})


@dataclass
class Session:
    """Conditions shared by all photos of one session of one horse."""

    index: int
    season: float
    halter: dict | None
    background: str
    bg_seed: int
    outdoor: bool
    light_dir: tuple
    warmth: float
    neck: bool


def _sample_session(rng: np.random.Generator, index: int, nz: Nuisance) -> Session:
    if index % 2 == 1 and rng.random() < 0.7:
        season = rng.uniform(0.5, 1.0)
    else:
        season = rng.uniform(0.0, 0.35)
    season *= min(nz.season, 1.0)
    halter = None
    if rng.random() < 0.9 * min(nz.occlusion, 1.0):
        kind = "rope" if rng.random() < 0.25 else "nylon"
        palette = [(0.7, 0.08, 0.08), (0.1, 0.2, 0.6), (0.05, 0.05, 0.05), (0.1, 0.45, 0.2),
                   (0.85, 0.35, 0.6), (0.35, 0.2, 0.1), (0.9, 0.55, 0.05), (0.15, 0.55, 0.75),
                   (0.6, 0.1, 0.5), (0.8, 0.8, 0.75)]
        col = palette[int(rng.integers(len(palette)))]
        halter = dict(kind=kind, colour=[float(c) for c in col], y=float(rng.uniform(0.6, 0.7)),
                      width=float(rng.uniform(0.025, 0.04) if kind == "nylon" else rng.uniform(0.01, 0.016)),
                      sag=float(rng.uniform(-0.01, 0.03)), buckle=float(rng.uniform(0.3, 0.7)))
    kinds = BACKGROUND_KINDS
    bg = kinds[int(rng.integers(len(kinds)))] if nz.background > 0 else "dark"
    outdoor = bg in ("field", "random") or (bg in ("trailer", "wall") and rng.random() < 0.6)
    az = rng.uniform(-np.pi, np.pi)
    el = rng.uniform(0.35, 1.3)
    ld = (float(np.cos(el) * np.sin(az)), float(-abs(np.cos(el) * np.cos(az)) * (0.4 + 0.6 * rng.random())),
          float(np.sin(el)))
    return Session(index=index, season=float(season), halter=halter, background=bg,
                   bg_seed=int(rng.integers(2**31)), outdoor=bool(outdoor),
                   light_dir=ld, warmth=float(rng.uniform(-1, 1)), neck=bool(rng.random() < 0.6))


def session_conditions(identity: HorseIdentity, index: int, nuisance: "Nuisance | float" = 1.0) -> Session:
    """The (deterministic) conditions of session ``index`` of this horse."""
    return _sample_session(np.random.default_rng([identity.texture_seed, 7919, int(index)]), int(index),
                           Nuisance.coerce(nuisance))


# ------------------------------------------------------------------ caches
_LAYER_CACHE: "OrderedDict[tuple, IdentityLayers]" = OrderedDict()
_SESSION_CACHE: "OrderedDict[tuple, dict]" = OrderedDict()


def _cached(cache: OrderedDict, key, make, size: int):
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    val = make()
    cache[key] = val
    while len(cache) > size:
        cache.popitem(last=False)
    return val


def identity_layers(identity: HorseIdentity, res: int) -> IdentityLayers:
    """Cached :func:`build_layers`."""
    return _cached(_LAYER_CACHE, (identity.key(), res), lambda: build_layers(identity, res), 4)


def _strap(img: np.ndarray, pts, res: int, width: float, value=1.0) -> None:
    px = (np.asarray(pts, np.float64) - [X0, Y0]) * res - 0.5
    cv2.polylines(img, [np.round(px * 16).astype(np.int32)], False, value,
                  thickness=max(1, int(round(width * res))), lineType=cv2.LINE_AA, shift=4)


def _halter(identity: HorseIdentity, lay: IdentityLayers, h: dict, res: int):
    """Mask and metal mask of a halter in the canonical frame."""
    c = lay.canvas
    f = identity.face
    mask = np.zeros((c.h, c.w), np.float32)
    metal = np.zeros_like(mask)
    y = h["y"]
    hw_n = float(face_halfwidth(f, np.array([y], np.float32))[0]) + 0.008
    ey = f["eye_y"]
    hw_e = float(face_halfwidth(f, np.array([ey + 0.07], np.float32))[0]) + 0.01
    xs = np.linspace(-hw_n - 0.01, hw_n + 0.01, 24)
    nb = np.stack([xs, y + h["sag"] * (xs / hw_n) ** 2], 1)
    nb = np.concatenate([[[-hw_n - 0.015, y + 0.05]], nb, [[hw_n + 0.015, y + 0.05]]])
    _strap(mask, nb, res, h["width"])
    for s in (-1, 1):
        ring = (s * (hw_n + 0.004), y + h["sag"])
        cheek = np.array([ring, (s * (hw_e + 0.005), ey + 0.12), (s * (hw_e + 0.01), ey + 0.03),
                          (s * (hw_e + 0.015), ey - 0.06)])
        _strap(mask, cheek, res, h["width"] * 0.9)
        rp = (np.asarray(ring) - [X0, Y0]) * res - 0.5
        cv2.circle(metal, tuple(int(v) for v in rp), max(1, int(0.017 * res)), 1.0,
                   max(1, int(0.007 * res)), cv2.LINE_AA)
        if h["kind"] == "nylon" and s == 1:
            b = ring + h["buckle"] * (np.array(cheek[2]) - ring)
            bp = (b - [X0, Y0]) * res - 0.5
            half = h["width"] * res * 0.7
            cv2.rectangle(metal, (int(bp[0] - half), int(bp[1] - half * 0.8)),
                          (int(bp[0] + half), int(bp[1] + half * 0.8)), 1.0, max(1, int(0.005 * res)))
    crown = np.array([(-0.16, 0.18), (-0.07, 0.15), (0.07, 0.15), (0.16, 0.18)])
    crown_m = np.zeros_like(mask)
    _strap(crown_m, crown, res, h["width"] * 0.8)
    mask = np.maximum(mask, crown_m * (lay.alpha > 0.5))
    if h["kind"] == "rope":
        for x in (-hw_n * 0.5, hw_n * 0.5):
            p = (np.array([x, y]) - [X0, Y0]) * res - 0.5
            cv2.circle(mask, tuple(int(v) for v in p), max(1, int(h["width"] * res)), 1.0, -1, cv2.LINE_AA)
    return np.clip(mask, 0, 1), np.clip(metal, 0, 1)


def session_maps(identity: HorseIdentity, sess: Session, res: int) -> dict:
    """Canonical maps of one horse in one session (albedo with season and halter)."""
    def make():
        lay = identity_layers(identity, res)
        alb = compose_albedo(identity, lay, sess.season)
        alpha, height, normal, spec = lay.alpha.copy(), lay.height.copy(), lay.normal, lay.spec.copy()
        if sess.halter is not None:
            m, metal = _halter(identity, lay, sess.halter, res)
            m = np.maximum(m, metal)
            col = np.array(sess.halter["colour"], np.float32)
            weave = 1 + 0.12 * lay.tex_fine
            strap = col * weave[..., None]
            strap = strap * (1 - metal[..., None]) + np.float32(0.75) * metal[..., None]
            alb = alb * (1 - m[..., None]) + strap * m[..., None]
            prof = cv2.GaussianBlur(m, (0, 0), 0.006 * res)
            height = height + 0.015 * prof * (alpha > 0.05)
            n2 = normals_from_height(cv2.GaussianBlur(height, (0, 0), 0.8), res)
            normal = normal * (1 - m[..., None]) + n2 * m[..., None]
            alpha = np.maximum(alpha, m)
            spec = spec * (1 - m) + (0.1 + 0.9 * metal) * m
        packs = [np.dstack([alb, alpha]).astype(np.float32), np.dstack([normal, height]).astype(np.float32),
                 np.dstack([spec, lay.face]).astype(np.float32)]
        return dict(packs=packs, res=res, height=np.ascontiguousarray(height, np.float32),
                    body=season_colour(identity.body, sess.season, identity.shade))
    return _cached(_SESSION_CACHE, (identity.key(), res, repr(sess)), make, 8)


# ------------------------------------------------------------------ geometry
def _warp(maps: dict, M: np.ndarray, out_h: int, out_w: int, yaw: float, pitch: float,
          steps: int = 24):
    """Sample the session maps for an output image.

    ``M`` (2x3) maps output pixel centres to canonical coordinates of the image plane.
    Yaw and pitch turn the head's height field (2.5-D): each output pixel's ray is marched
    from above the highest point of the head down to the background, and the first point
    where it meets the surface is the one seen, so the near cheek hides the far one and
    the outline stays whole (no torn straps or cut cheeks at large yaw).
    """
    res = maps["res"]
    u, v = np.meshgrid(np.arange(out_w, dtype=np.float32), np.arange(out_h, dtype=np.float32))
    Mf = M.astype(np.float32)
    xi = Mf[0, 0] * u + Mf[0, 1] * v + Mf[0, 2]
    yi = Mf[1, 0] * u + Mf[1, 1] * v + Mf[1, 2]
    cy, h0 = FACE_CENTRE_Y, 0.2
    cps, sps, cth, sth = (np.float32(v) for v in (np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)))
    hmap = maps["height"]

    def at(h):  # canonical point on the ray at height h
        return (xi - (h - h0) * sps) / cps, cy + (yi - cy - (h - h0) * sth) / cth

    def surface(x, y):
        return cv2.remap(hmap, (x - X0) * res - 0.5, (y - Y0) * res - 0.5, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    top = float(hmap.max()) + 1e-3
    hit = np.zeros((out_h, out_w), np.float32)   # height where the ray meets the surface
    found = np.zeros((out_h, out_w), bool)
    prev_h, prev_gap = np.float32(top), None
    for k in range(1, steps + 1):
        h = np.float32(top * (1 - k / steps))
        gap = surface(*at(h)) - h                  # > 0: the ray is inside the head
        new = (gap >= 0) & ~found
        if prev_gap is None:
            t = np.ones_like(gap)
        else:                                      # linear refinement inside the step
            t = np.clip(-prev_gap / np.maximum(gap - prev_gap, 1e-6), 0, 1)
        hit[new] = (prev_h + (h - prev_h) * t)[new]
        found |= new
        prev_h, prev_gap = h, gap
    x, y = at(hit)
    mx, my = (x - X0) * res - 0.5, (y - Y0) * res - 0.5
    out = [cv2.remap(p, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
           for p in maps["packs"]]
    return out


def _rotate_normals(n: np.ndarray, yaw: float, pitch: float, R2: np.ndarray) -> np.ndarray:
    nx, ny, nz = n[..., 0], n[..., 1], n[..., 2]
    cps, sps, cth, sth = (float(v) for v in (np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)))
    R2 = [[float(R2[0, 0]), float(R2[0, 1])], [float(R2[1, 0]), float(R2[1, 1])]]
    nx2 = nx * cps + nz * sps
    nz2 = -nx * sps + nz * cps
    ny3 = ny * cth + nz2 * sth
    nz3 = -ny * sth + nz2 * cth
    # world -> output: inverse (transpose) of the output -> world rotation R2
    ox = R2[0][0] * nx2 + R2[1][0] * ny3
    oy = R2[0][1] * nx2 + R2[1][1] * ny3
    return np.dstack([ox, oy, nz3])


# ------------------------------------------------------------------ light & camera
def _white_balance(warmth: float) -> np.ndarray:
    return np.array([1 + 0.18 * warmth, 1.0, 1 - 0.22 * warmth], np.float32)


def _cast_shadow_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A soft shadow (1 = in shadow) cast by something out of frame."""
    a = rng.uniform(0, np.pi)
    d = rng.uniform(-0.4, 0.4) * max(h, w)
    u, v = np.meshgrid(np.arange(w) - w / 2, np.arange(h) - h / 2)
    s = np.cos(a) * u + np.sin(a) * v - d
    if rng.random() < 0.4:  # dappled (leaves, grating)
        from .canonical import fbm
        s = s + 0.25 * max(h, w) * fbm(rng, (h, w), 8, 2)
    return smoothstep(-rng.uniform(1, 0.06 * w), rng.uniform(1, 0.06 * w), s).astype(np.float32)


def _self_shadow(height: np.ndarray, L: np.ndarray, px_per_unit: float) -> np.ndarray:
    lxy = np.hypot(L[0], L[1])
    if lxy < 0.15:
        return np.zeros_like(height)
    dx, dy = L[0] / lxy, L[1] / lxy
    rise = L[2] / lxy
    h, w = height.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    shadow = np.zeros_like(height)
    for t in (3.0, 7.0, 13.0, 22.0):
        t = t * px_per_unit / 224.0
        hs = cv2.remap(height, u + t * dx, v - t * dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        excess = hs - height - rise * t / px_per_unit
        shadow = np.maximum(shadow, smoothstep(0.0, 0.015, excess))
    return shadow


def _rope(rng: np.random.Generator, h: int, w: int, start: np.ndarray, px_per_unit: float):
    """A lead rope as (mask, albedo, normal) in output pixels, hanging from ``start``."""
    side = rng.choice([-1, 1])
    end = np.array([start[0] + side * rng.uniform(0.1, 0.8) * w, h + 0.1 * h])
    if rng.random() < 0.3:
        end = np.array([w + 10 if side > 0 else -10, start[1] + rng.uniform(-0.1, 0.4) * h])
    ctrl = start + np.array([rng.uniform(-0.3, 0.3) * px_per_unit, rng.uniform(0.1, 0.4) * px_per_unit])
    t = np.linspace(0, 1, 60)[:, None]
    pts = (1 - t) ** 2 * start + 2 * (1 - t) * t * ctrl + t ** 2 * end
    width = max(2, int(rng.uniform(0.022, 0.04) * px_per_unit))
    mask = np.zeros((h, w), np.float32)
    cv2.polylines(mask, [np.round(pts * 16).astype(np.int32)], False, 1.0, width, cv2.LINE_AA, shift=4)
    # twisted strands: stripes across the rope
    twist = np.zeros((h, w), np.float32)
    cum = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    period = max(2.0, width * 0.9)
    for s in np.arange(0, cum[-1], period):
        if not (-width < np.interp(s, cum, pts[:, 0]) < w + width and np.interp(s, cum, pts[:, 1]) < h + width):
            continue
        p = np.array([np.interp(s, cum, pts[:, 0]), np.interp(s, cum, pts[:, 1])])
        q = np.array([np.interp(s + 1, cum, pts[:, 0]), np.interp(s + 1, cum, pts[:, 1])])
        d = (q - p) / (np.linalg.norm(q - p) + 1e-6)
        nrm = np.array([-d[1], d[0]]) * width / 2
        a, b = p - nrm + d * width * 0.3, p + nrm - d * width * 0.3
        cv2.line(twist, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 1.0, 1, cv2.LINE_AA)
    nrm = np.zeros((h, w, 3), np.float32)
    nrm[..., 2] = 1
    ys, xs = np.nonzero(mask)
    if len(xs):
        pad = 2 * width + 2
        y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
        x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
        prof = cv2.GaussianBlur(mask[y0:y1, x0:x1], (0, 0), width / 3.0)
        nrm[y0:y1, x0:x1] = normals_from_height(prof * width / px_per_unit, px_per_unit, 1.0)
    cols = [(0.1, 0.15, 0.5), (0.6, 0.08, 0.08), (0.85, 0.83, 0.78), (0.1, 0.1, 0.1), (0.2, 0.5, 0.25)]
    col = np.array(cols[int(rng.integers(len(cols)))], np.float32)
    alb = col * (1 - 0.35 * twist[..., None])
    # the snap hook
    snap = np.zeros((h, w), np.float32)
    cv2.ellipse(snap, tuple(int(v) for v in start), (max(1, width // 2), max(2, int(width * 0.9))), 0, 0, 360, 1.0,
                -1, cv2.LINE_AA)
    alb = alb * (1 - snap[..., None]) + np.float32(0.7) * snap[..., None]
    return np.maximum(mask, snap), alb.astype(np.float32), nrm, snap


def _camera(img: np.ndarray, rng: np.random.Generator, nz: Nuisance, scale: float) -> np.ndarray:
    """Motion blur, defocus, sensor noise and JPEG on an sRGB float image."""
    if rng.random() < 0.2 * min(nz.blur, 1.0):
        ln = max(2, int(rng.uniform(2, 6) * scale * nz.blur))
        k = np.zeros((ln * 2 + 1, ln * 2 + 1), np.float32)
        a = rng.uniform(0, np.pi)
        c = ln
        cv2.line(k, (int(c - ln * np.cos(a)), int(c - ln * np.sin(a))),
                 (int(c + ln * np.cos(a)), int(c + ln * np.sin(a))), 1.0, 1, cv2.LINE_AA)
        img = cv2.filter2D(img, -1, k / k.sum())
    if rng.random() < 0.2 * min(nz.blur, 1.0):
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.2) * scale * nz.blur)
    if nz.noise > 0:
        sig = rng.uniform(0.004, 0.03) * nz.noise
        noise = rng.standard_normal(img.shape[:2] + (1,), dtype=np.float32) * np.float32(sig)
        chroma = rng.standard_normal(img.shape, dtype=np.float32) * np.float32(sig * 0.4)
        img = img + (noise + chroma) * np.sqrt(np.maximum(img, 0.02))
    out = cv2.convertScaleAbs(img, alpha=255.0)
    if nz.jpeg > 0 and rng.random() < 0.85:
        q = int(np.clip(95 - rng.uniform(0, 60) * nz.jpeg, 20, 98))
        ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    return out


def _similarity(out_w: int, out_h: int, centre: tuple, units_per_px: float, roll: float) -> np.ndarray:
    """2x3 map from output pixel centres to canonical image-plane coordinates."""
    c, s = np.cos(roll), np.sin(roll)
    R = np.array([[c, -s], [s, c]]) * units_per_px
    t = np.array(centre) - R @ np.array([(out_w - 1) / 2, (out_h - 1) / 2])
    return np.hstack([R, t[:, None]]).astype(np.float64)


def _render(identity: HorseIdentity, rng: np.random.Generator, sess: Session, nz: Nuisance,
            out_h: int, out_w: int, px_per_unit: float, centre: tuple, yaw: float, pitch: float,
            roll: float, background: np.ndarray, res: int, neck: bool | None = None):
    maps = session_maps(identity, sess, res)
    M = _similarity(out_w, out_h, centre, 1.0 / px_per_unit, roll)
    A, B, C = _warp(maps, M, out_h, out_w, yaw, pitch)
    alb, alpha = A[..., :3], A[..., 3]
    height, spec, face = B[..., 3], C[..., 0], C[..., 1]
    normal = _rotate_normals(B[..., :3], yaw, pitch, M[:, :2] * px_per_unit)
    alpha_bg = alpha.copy()

    # neck behind the head (continues below the frame)
    if sess.neck if neck is None else neck:
        neck = np.zeros((out_h, out_w), np.float32)
        inv = cv2.invertAffineTransform(M)
        nw = float(rng.uniform(0.3, 0.4))
        quad = np.array([(-0.2, 0.3), (0.2, 0.3), (nw, 0.9), (nw + 0.6, 6.0), (-nw - 0.6, 6.0), (-nw, 0.9)])
        qp = (inv[:, :2] @ quad.T + inv[:, 2:]).T
        cv2.fillPoly(neck, [np.round(qp * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
        neck = cv2.GaussianBlur(neck, (0, 0), 1.0 + 0.01 * px_per_unit) * (1 - np.minimum(alpha, 1))
        u = np.arange(out_w, dtype=np.float32)[None, :]
        cx = float(inv[0, 1] * 1.0 + inv[0, 2])
        shade = 0.6 - 0.25 * np.minimum(np.abs(u - cx) / float((nw + 0.1) * px_per_unit), 1) ** 2
        body = maps["body"]
        hair = 1 + 0.06 * cv2.resize(rng.standard_normal((out_h // 3 + 1, out_w // 6 + 1), dtype=np.float32),
                                     (out_w, out_h))
        alb = alb * (1 - neck[..., None]) + body * (neck * shade * hair)[..., None]
        normal = normal * (1 - neck[..., None]) + np.array([0, 0, 1], np.float32) * neck[..., None]
        alpha = alpha + neck

    # lead rope (output frame)
    if sess.halter is not None and rng.random() < 0.5 * min(nz.occlusion, 1.0):
        inv = cv2.invertAffineTransform(M)
        hx = rng.choice([-1, 1]) * rng.uniform(0.0, 0.09)
        start = inv[:, :2] @ np.array([hx, sess.halter["y"] + rng.uniform(0.03, 0.25)]) + inv[:, 2]
        rm, ralb, rn, snap = _rope(rng, out_h, out_w, start, px_per_unit)
        alb = alb * (1 - rm[..., None]) + ralb * rm[..., None]
        normal = normal * (1 - rm[..., None]) + rn * rm[..., None]
        height = height * (1 - rm) + (height + 0.05) * rm
        spec = spec * (1 - rm) + (0.05 + 0.8 * snap) * rm
        alpha = np.maximum(alpha, rm)
        face = face * (1 - rm)

    # lighting
    L = np.array(sess.light_dir, np.float64)
    if nz.light > 0:
        L = L + rng.normal(0, 0.15 * nz.light, 3)
    else:
        L = np.array([-0.3, -0.45, 0.85])
    L[2] = abs(L[2]) + 0.15
    L = (L / np.linalg.norm(L)).astype(np.float32)
    key = (rng.uniform(1.2, 2.2) if sess.outdoor else rng.uniform(0.8, 1.5)) if nz.light > 0 else 1.3
    amb = (rng.uniform(0.25, 0.55) if sess.outdoor else rng.uniform(0.3, 0.6)) if nz.light > 0 else 0.45
    sky = np.array([0.85, 0.95, 1.15], np.float32) if sess.outdoor else np.array([1.05, 1.0, 0.9], np.float32)
    wb = _white_balance(sess.warmth * min(nz.light, 1.0))
    ndl = np.maximum(normal[..., 0] * L[0] + normal[..., 1] * L[1] + normal[..., 2] * L[2], 0)
    shadow = _self_shadow(height, L, px_per_unit) if nz.light > 0 else np.zeros_like(height)
    cast = np.zeros_like(height)
    if rng.random() < 0.35 * min(nz.light, 1.0):
        cast = _cast_shadow_mask(rng, out_h, out_w) * rng.uniform(0.5, 0.9)
    vis = (1 - shadow * 0.85) * (1 - cast)
    hb = cv2.GaussianBlur(height, (0, 0), 0.03 * px_per_unit)
    ao = np.maximum(1 - 4.0 * np.maximum(hb - height, 0), 0.45)
    hemi = 0.7 - 0.3 * normal[..., 1]
    hvec = L + np.array([0, 0, 1], np.float32)
    hvec /= np.linalg.norm(hvec)
    nh = np.maximum(normal[..., 0] * hvec[0] + normal[..., 1] * hvec[1] + normal[..., 2] * hvec[2], 0)
    nh2 = nh * nh
    nh8 = nh2 * nh2
    nh8 = nh8 * nh8
    specular = spec * (nh8 * nh8 * nh8) * vis * np.float32(key * 1.5)
    direct = key * ndl * vis
    ambient = amb * hemi * ao
    rad = np.empty_like(alb)
    for ch in range(3):
        a_ch = alb[..., ch]
        rad[..., ch] = a_ch * a_ch * (direct * wb[ch] + ambient * sky[ch]) + specular * wb[ch]
    # background, its light, the head's shadow on it
    bg_gain = np.float32(key * 0.5 + amb) * wb
    bg_lin = background * background
    if cast.any():
        bg_lin *= (1 - 0.6 * cast)[..., None]
    if sess.background in ("stable", "wall", "trailer") and nz.light > 0:
        off = L[:2] / max(L[2], 0.3) * 0.12 * px_per_unit
        T = np.float32([[1, 0, -off[0]], [0, 1, off[1]]])
        sh = cv2.warpAffine(alpha_bg, T, (out_w, out_h))
        sh = cv2.GaussianBlur(sh, (0, 0), 0.03 * px_per_unit + 0.5)
        bg_gain = bg_gain * (1 - 0.55 * sh[..., None])
    a = np.minimum(alpha, 1)[..., None]
    rad = rad * a + bg_lin * bg_gain * (1 - a)
    expo = rng.uniform(0.7, 1.25) if nz.light > 0 else 1.0
    rad = rad * expo
    img = np.sqrt(rad / (1 + 0.15 * rad))
    return img.astype(np.float32), face


def _photo_params(rng: np.random.Generator, nz: Nuisance):
    d = np.pi / 180
    yaw = float(np.clip(rng.normal(0, 11), -28, 28) * d * min(nz.pose, 2.0))
    pitch = float(np.clip(rng.normal(0, 7), -18, 18) * d * min(nz.pose, 2.0))
    roll = float(np.clip(rng.normal(0, 6), -15, 15) * d * min(nz.pose, 2.0))
    scale = float(np.exp(rng.normal(0, 0.07) * nz.crop))
    tx, ty = rng.normal(0, 0.03, 2) * nz.crop
    if rng.random() < 0.12 * min(nz.crop, 1.0):     # partial crop: part of the face out of frame
        a = rng.uniform(0, 2 * np.pi)
        r = rng.uniform(0.15, 0.3)
        tx, ty = tx + r * np.cos(a) * 0.6, ty + r * np.sin(a)
    return yaw, pitch, roll, scale, float(tx), float(ty)


def _resolve_session(identity: HorseIdentity, rng: np.random.Generator, session, nz: Nuisance) -> Session:
    if isinstance(session, Session):
        return session
    if session is None:
        return _sample_session(rng, int(rng.integers(0, 1000)), nz)
    return session_conditions(identity, int(session), nz)


def render_face(identity: HorseIdentity, rng: np.random.Generator, session: "int | Session | None" = None,
                size: int = 224, nuisance: "Nuisance | float" = 1.0) -> np.ndarray:
    """An aligned-ish face crop (``size`` x ``size`` uint8 RGB) of ``identity``.

    ``session`` is a session index of this horse (same season, halter, place and
    light for every photo of it), a :class:`Session`, or None for a random one.
    ``nuisance`` scales the per-photo nuisances (0 = frontal, clean, no occluders).
    """
    size = int(size)
    if size < 16:
        raise ValueError(f"size must be >= 16, got {size}")
    nz = Nuisance.coerce(nuisance)
    sess = _resolve_session(identity, rng, session, nz)
    yaw, pitch, roll, scale, tx, ty = _photo_params(rng, nz)
    ppu = size / FACE_SPAN * scale
    bg_rng = np.random.default_rng([sess.bg_seed, int(rng.integers(1 << 30))])
    bg = make_background(sess.background, bg_rng, size, size, blur=rng.uniform(0.5, 2.5) * size / 224)
    res = int(max(64, 16 * round(size / FACE_SPAN / 16)))
    img, _ = _render(identity, rng, sess, nz, size, size, ppu, (tx, FACE_CENTRE_Y + ty), yaw, pitch, roll, bg,
                     res)
    return _camera(img, rng, nz, size / 224)


def render_scene(identity: HorseIdentity, rng: np.random.Generator, size: tuple = (480, 640),
                 session: "int | Session | None" = None, nuisance: "Nuisance | float" = 1.0):
    """A wider photo with the horse's head in it, for face detection.

    Returns ``(image, face_box)`` where ``face_box`` is ``[x1, y1, x2, y2]`` (float,
    pixels) around the visible face surface (poll to lips, eye to eye; ears and
    neck excluded), or None if the face is (almost) entirely out of frame.
    """
    H, W = int(size[0]), int(size[1])
    if H < 32 or W < 32:
        raise ValueError(f"scene size must be at least 32x32, got {size}")
    nz = Nuisance.coerce(nuisance)
    sess = _resolve_session(identity, rng, session, nz)
    yaw, pitch, roll, _, _, _ = _photo_params(rng, nz)
    yaw *= 1.3
    face_h = rng.uniform(0.2, 0.85) * H
    ppu = face_h / 0.87
    cx = rng.uniform(0.1, 0.9) * W
    cy = rng.uniform(0.15, 0.85) * H
    # canonical coordinates seen at the image centre
    centre = (-(cx - W / 2) / ppu, FACE_CENTRE_Y - (cy - H / 2) / ppu)
    bg_rng = np.random.default_rng([sess.bg_seed, int(rng.integers(1 << 30))])
    bg = make_background(sess.background, bg_rng, H, W, blur=rng.uniform(0.5, 3.0) * max(H, W) / 640)
    res = int(np.clip(64 * round(ppu / 64), 64, 512))
    img, face = _render(identity, rng, sess, nz, H, W, ppu, centre, yaw, pitch, roll, bg, res, neck=True)
    out = _camera(img, rng, nz, max(H, W) / 640)
    ys, xs = np.nonzero(face > 0.5)
    if len(xs) < 16:
        return out, None
    box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
    return out, box
