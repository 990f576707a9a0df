"""Side-view projection geometry: primitives and their exact rasterisation.

Coordinates are in centimetres: ``x`` along the vehicle (0 at the front of the scan
window, growing towards the rear), ``y`` height above the road, ``z`` across the vehicle
(the beam direction). The scanner projects along ``z``, so each primitive is described by
its extent in (x, y) and its *mass thickness* along the beam, ``density * path``
(g/cm^2), where ``path`` is the length the beam travels through the object.

A :class:`Prim` has a separable profile ``path(x, y) = depth * fx(x) * fy(y)`` (boxes,
cylinders whose axis is along x or y, corrugated sheets) or is a disc/annulus whose axis
is along the beam (wheels, standing tyres), of constant path ``depth`` inside the shape.
Separable profiles are integrated *exactly* over each pixel (antiderivatives), so the sum
over pixels of ``mass_thickness * pixel_area`` equals the primitive's analytic mass; discs
are supersampled (error << 1 %).

The pixel grid (:class:`Grid`) has uniform rows (detector elements, top row = highest)
and arbitrary column edges (the scan's speed jitter makes the column pitch vary).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inspect_cv.errors import InputError

PROFILE_KINDS = ("const", "chord", "annulus", "pw")


@dataclass(frozen=True)
class Profile:
    """A 1-D profile over ``[lo, hi]`` (cm) along x or y, averaged exactly per pixel.

    * ``const``: 1 inside ``[lo, hi]``;
    * ``chord``: ``2 sqrt(r^2 - (u - c)^2) / (2 r)`` (a cylinder's chord, normalised to 1
      on its axis) with ``c`` the centre and ``r = (hi - lo) / 2``;
    * ``annulus``: chord of the outer radius minus chord of ``inner`` radius, normalised
      by the outer diameter (a hollow cylinder);
    * ``pw``: piecewise constant, values ``values[k]`` on ``[breaks[k], breaks[k+1]]``.
    """

    kind: str
    lo: float
    hi: float
    inner: float = 0.0
    breaks: tuple = ()
    values: tuple = ()

    def __post_init__(self):
        if self.kind not in PROFILE_KINDS:
            raise InputError(f"unknown profile kind '{self.kind}'")
        if not (np.isfinite(self.lo) and np.isfinite(self.hi) and self.hi > self.lo):
            raise InputError(f"profile extent must satisfy lo < hi, got [{self.lo}, {self.hi}]")

    def cumulative(self, u: np.ndarray) -> np.ndarray:
        """Integral of the profile from ``-inf`` to ``u`` (cm)."""
        u = np.asarray(u, dtype=np.float64)
        if self.kind == "const":
            return np.clip(u, self.lo, self.hi) - self.lo
        if self.kind in ("chord", "annulus"):
            c = 0.5 * (self.lo + self.hi)
            r = 0.5 * (self.hi - self.lo)
            out = _chord_integral(u - c, r)
            if self.kind == "annulus" and self.inner > 0:
                out = out - _chord_integral(u - c, min(self.inner, r))
            return out / (2 * r)
        b = np.asarray(self.breaks, dtype=np.float64)
        v = np.asarray(self.values, dtype=np.float64)
        cum = np.concatenate([[0.0], np.cumsum(np.diff(b) * v)])
        return np.interp(u, b, cum)

    def integral(self) -> float:
        """Integral of the profile over its whole extent (cm)."""
        return float(self.cumulative(np.array([self.hi + 1.0]))[0])


def _chord_integral(u: np.ndarray, r: float) -> np.ndarray:
    """Integral of ``2 sqrt(r^2 - t^2)`` from ``-r`` to ``clip(u, -r, r)``."""
    t = np.clip(u, -r, r)
    s = np.sqrt(np.maximum(r * r - t * t, 0.0))
    return t * s + r * r * np.arcsin(t / r) + 0.5 * np.pi * r * r


@dataclass(frozen=True)
class Prim:
    """One homogeneous object in the projection.

    ``material``: key of :data:`inspect_cv.xray.materials.MATERIALS` (its composition
    sets the attenuation per g/cm^2); ``density`` (g/cm^3, the bulk density of this
    object, may differ from the material's nominal one); ``depth``: path along the beam
    (cm) where both profiles are 1; ``fx``/``fy``: profiles along x/y, or ``disc`` =
    (cx, cy, r_outer, r_inner) for a disc/annulus with its axis along the beam.
    ``role``: ``container``, ``truck``, ``cargo`` or ``concealment``; ``tag``: free
    label (the concealment item id for concealed items).
    """

    material: str
    density: float
    depth: float
    fx: Profile | None = None
    fy: Profile | None = None
    disc: tuple | None = None
    role: str = "cargo"
    tag: str = ""

    def __post_init__(self):
        if not (self.density > 0 and self.depth >= 0):
            raise InputError(f"primitive of {self.material}: density must be > 0 and depth "
                             f">= 0 (got {self.density}, {self.depth})")
        if self.disc is None and (self.fx is None or self.fy is None):
            raise InputError("a primitive needs fx and fy profiles, or a disc")
        if self.disc is not None and not (self.disc[2] > 0 and 0 <= self.disc[3] < self.disc[2]):
            raise InputError(f"disc radii must satisfy 0 <= inner < outer, got {self.disc}")

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(x0, x1, y0, y1) in cm."""
        if self.disc is not None:
            cx, cy, r, _ = self.disc
            return cx - r, cx + r, cy - r, cy + r
        return self.fx.lo, self.fx.hi, self.fy.lo, self.fy.hi

    @property
    def mass_kg(self) -> float:
        """Analytic mass: density * depth * integral of the profile (kg)."""
        if self.disc is not None:
            _, _, r, ri = self.disc
            area = np.pi * (r * r - ri * ri)
        else:
            area = self.fx.integral() * self.fy.integral()
        return float(self.density * self.depth * area / 1000.0)


def box(material: str, x0: float, x1: float, y0: float, y1: float, depth: float,
        density: float | None = None, role: str = "cargo", tag: str = "") -> Prim:
    """A box ``[x0, x1] x [y0, y1]`` (cm) of path ``depth`` (cm) along the beam."""
    return Prim(material, _density(material, density), depth, Profile("const", x0, x1),
                Profile("const", y0, y1), role=role, tag=tag)


def cyl_x(material: str, x0: float, x1: float, yc: float, r: float, depth: float | None = None,
          density: float | None = None, inner: float = 0.0, role: str = "cargo",
          tag: str = "") -> Prim:
    """A (hollow) cylinder with its axis along x (pipe, log, barrel lying along the
    container): path ``depth * chord(y) / (2 r)``; ``depth`` defaults to the diameter."""
    kind = "annulus" if inner > 0 else "chord"
    return Prim(material, _density(material, density), 2 * r if depth is None else depth,
                Profile("const", x0, x1), Profile(kind, yc - r, yc + r, inner=inner),
                role=role, tag=tag)


def cyl_y(material: str, xc: float, r: float, y0: float, y1: float,
          depth: float | None = None, density: float | None = None, inner: float = 0.0,
          role: str = "cargo", tag: str = "") -> Prim:
    """A (hollow) cylinder with a vertical axis (drum, tyre lying flat, lock bar)."""
    kind = "annulus" if inner > 0 else "chord"
    return Prim(material, _density(material, density), 2 * r if depth is None else depth,
                Profile(kind, xc - r, xc + r, inner=inner), Profile("const", y0, y1),
                role=role, tag=tag)


def disc(material: str, cx: float, cy: float, r: float, depth: float, inner: float = 0.0,
         density: float | None = None, role: str = "cargo", tag: str = "") -> Prim:
    """A disc or annulus with its axis along the beam (wheel, standing tyre, axle)."""
    return Prim(material, _density(material, density), depth, disc=(cx, cy, r, inner),
                role=role, tag=tag)


def _density(material: str, density: float | None) -> float:
    if density is not None:
        return float(density)
    from inspect_cv.xray.materials import get_material

    return get_material(material).density


# ----------------------------------------------------------------------------- grid
@dataclass(frozen=True, eq=False)
class Grid:
    """Pixel grid: ``col_edges`` (W + 1, cm, increasing) and uniform rows of ``pitch_y``
    cm from ``y_top`` downwards (row 0 is the top of the scan)."""

    col_edges: np.ndarray
    y_top: float
    pitch_y: float
    height: int

    @property
    def width(self) -> int:
        return len(self.col_edges) - 1

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def row_edges(self) -> np.ndarray:
        """Row edges in cm, decreasing (row i spans row_edges[i+1] .. row_edges[i])."""
        return self.y_top - self.pitch_y * np.arange(self.height + 1)

    def pixel_area_cm2(self) -> np.ndarray:
        """(W,) area of one pixel per column (cm^2)."""
        return np.diff(self.col_edges) * self.pitch_y

    def col_span(self, x0: float, x1: float) -> tuple[int, int]:
        """Columns [c0, c1) touched by ``[x0, x1]``."""
        e = self.col_edges
        c0 = int(np.clip(np.searchsorted(e, x0, side="right") - 1, 0, self.width))
        c1 = int(np.clip(np.searchsorted(e, x1, side="left"), 0, self.width))
        return c0, max(c0, c1)

    def row_span(self, y0: float, y1: float) -> tuple[int, int]:
        """Rows [r0, r1) touched by ``[y0, y1]``."""
        r0 = int(np.clip(np.floor((self.y_top - y1) / self.pitch_y), 0, self.height))
        r1 = int(np.clip(np.ceil((self.y_top - y0) / self.pitch_y), 0, self.height))
        return r0, max(r0, r1)

    def box_px(self, x0: float, x1: float, y0: float, y1: float) -> tuple[int, int, int, int]:
        """Pixel box [c0, r0, c1, r1) (xyxy, exclusive) of a cm extent."""
        c0, c1 = self.col_span(x0, x1)
        r0, r1 = self.row_span(y0, y1)
        return c0, r0, c1, r1


def uniform_grid(x0: float, x1: float, y0: float, y1: float, pitch_cm: float) -> Grid:
    """A grid with square pixels of ``pitch_cm`` covering ``[x0, x1] x [y0, y1]``."""
    if not pitch_cm > 0 or not (x1 > x0 and y1 > y0):
        raise InputError("grid needs pitch > 0 and a non-empty extent")
    w = int(np.ceil((x1 - x0) / pitch_cm))
    h = int(np.ceil((y1 - y0) / pitch_cm))
    return Grid(x0 + pitch_cm * np.arange(w + 1), y0 + h * pitch_cm, pitch_cm, h)


def _profile_weights(p: Profile, edges: np.ndarray) -> np.ndarray:
    """Mean of the profile over each interval of ``edges`` (increasing)."""
    cum = p.cumulative(edges)
    return np.diff(cum) / np.diff(edges)


DISC_SUPERSAMPLE = 4


def prim_patch(prim: Prim, grid: Grid) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """``((r0, r1, c0, c1), patch)``: the primitive's mass thickness (g/cm^2, float64) on
    the rows/columns it touches, or None if it is outside the grid."""
    x0, x1, y0, y1 = prim.extent
    c0, c1 = grid.col_span(x0, x1)
    r0, r1 = grid.row_span(y0, y1)
    if c1 <= c0 or r1 <= r0:
        return None
    ce = grid.col_edges[c0:c1 + 1]
    re = grid.row_edges[r0:r1 + 1][::-1]  # increasing y
    if prim.disc is None:
        wx = _profile_weights(prim.fx, ce)
        wy = _profile_weights(prim.fy, re)[::-1]  # back to top-down rows
        patch = np.outer(wy, wx) * (prim.depth * prim.density)
    else:
        cx, cy, r, ri = prim.disc
        s = DISC_SUPERSAMPLE
        fx = (np.arange(s) + 0.5) / s
        xs = (ce[:-1, None] + np.diff(ce)[:, None] * fx[None, :]).reshape(-1)
        ys = (grid.row_edges[r0:r1][:, None] - grid.pitch_y * fx[None, :]).reshape(-1)
        d2 = (ys[:, None] - cy) ** 2 + (xs[None, :] - cx) ** 2
        inside = ((d2 <= r * r) & (d2 >= ri * ri)).astype(np.float64)
        cov = inside.reshape(r1 - r0, s, c1 - c0, s).mean(axis=(1, 3))
        patch = cov * (prim.depth * prim.density)
    return (r0, r1, c0, c1), patch


def rasterize(prims, grid: Grid, dtype=np.float32) -> dict[str, np.ndarray]:
    """Mass-thickness maps ``{material: (H, W) g/cm^2}`` of the primitives."""
    maps: dict[str, np.ndarray] = {}
    for prim in prims:
        res = prim_patch(prim, grid)
        if res is None:
            continue
        (r0, r1, c0, c1), patch = res
        m = maps.get(prim.material)
        if m is None:
            m = maps[prim.material] = np.zeros(grid.shape, dtype=dtype)
        m[r0:r1, c0:c1] += patch.astype(dtype)
    return maps


def prims_box_px(prims, grid: Grid) -> tuple[int, int, int, int] | None:
    """Tight pixel box [x1, y1, x2, y2) of the union of primitives' footprints."""
    boxes = []
    for prim in prims:
        res = prim_patch(prim, grid)
        if res is None:
            continue
        (r0, r1, c0, c1), patch = res
        nz = patch > 0
        if not nz.any():
            continue
        rows = np.flatnonzero(nz.any(axis=1))
        cols = np.flatnonzero(nz.any(axis=0))
        boxes.append((c0 + cols[0], r0 + rows[0], c0 + cols[-1] + 1, r0 + rows[-1] + 1))
    if not boxes:
        return None
    b = np.array(boxes)
    return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())


@dataclass
class PrimList:
    """A list of primitives with a convenience ``add``."""

    items: list = field(default_factory=list)

    def add(self, *prims: Prim) -> None:
        self.items.extend(prims)
