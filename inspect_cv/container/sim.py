"""Container scenes: ISO container structure, truck, cargo and concealments.

A :class:`ContainerScene` is a list of primitives (:mod:`.geometry`) in a side-view
projection (beam across the container's width), plus what is true about it: cargo
category, concealed items with their class, and the cargo mass. Dimensions are ISO 668
nominal values (20 ft: 605.8 x 243.8 x 259.1 cm outside, 589.8 x 235.2 x 239.3 cm inside;
40 ft: 1219.2 cm long, 1203.2 cm inside) and typical dry-van construction (1.6 mm
corrugated side walls with a 278 mm pitch, 2 mm roof and end walls, 28 mm plywood floor on
122 mm C-section cross members about every 30 cm). The tare of the built container comes
out near real tares (~2.2 t for 20 ft, ~3.7 t for 40 ft; see ``container_scans.md``).

Roles: ``container`` and ``truck`` primitives are the vehicle (tare); ``cargo`` is the
legitimate load; ``concealment`` primitives are hidden items (tag = item id) and false
walls/floors. The *cargo mass* is the mass of everything that is neither container nor
truck (cargo + concealments, including a false wall's steel).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inspect_cv.errors import InputError

from .geometry import Prim, Profile, box, cyl_x, cyl_y, disc

CARGO_CATEGORIES = ("empty", "cartons", "textiles", "machinery", "grain", "tyres", "timber",
                    "cigarettes")
EXTRA_CARGO = ("furniture", "scrap_metal", "bottled_drinks")
"""Cargo kinds drawn only when asked for by name (``sample_scene(cargo=...)``, ``synth
container --cargo``), never by default: test sets of cargo that no shipped model was trained
on. The declaration check's category classifier does not know them."""
KNOWN_CARGO = CARGO_CATEGORIES + EXTRA_CARGO
"""Every cargo kind the simulator builds ("empty" first)."""
CONCEALMENTS = ("drugs", "firearms", "vehicle", "cigarettes", "false_wall", "false_floor")
CLASSES = ("contraband_package", "firearm", "vehicle", "cigarettes")
LENGTHS_FT = (20, 40)

# ISO 668 / typical dry-van dimensions (cm)
CONTAINER = {20: dict(length=605.8, inner=589.8), 40: dict(length=1219.2, inner=1203.2)}
OUT_WIDTH = 243.8
IN_WIDTH = 235.2
HEIGHT = 259.1
IN_HEIGHT = 239.3
SIDE_WALL_CM = 0.16
CORRUGATION_PITCH = 27.8
ROOF_CM = 0.20
END_WALL_CM = 0.20
FLOOR_CM = 2.8
FLOOR_DENSITY = 0.70
CROSS_MEMBER_PITCH = 30.0
DECK_HEIGHT = 125.0
"""Height of the container's underside above the road on a skeletal chassis (cm)."""
SCAN_TOP = 445.0
"""Top of the detector column above the road with a truck (cm)."""

ALIASES = {"wood": "cellulose", "paper": "cellulose", "cotton": "cellulose",
           "starch": "cellulose", "iron": "steel"}
"""Materials of identical elemental composition share one mass-thickness map."""


@dataclass
class ConcealedItem:
    """One labelled item: class name, item id (= primitive tag) and what it is."""

    item_id: str
    cls: str
    kind: str
    description: str = ""


@dataclass
class ContainerScene:
    """A vehicle in the scanner: primitives plus the truth about its load.

    ``extent`` = (x0, x1, y0, y1) in cm of the scanned window; ``container_x`` = (front,
    rear) of the container; ``cargo`` is the legitimate cargo category ("empty" if
    none); ``items`` the labelled concealed items; ``concealment`` the concealment kind
    or None; ``notes``: free facts (fill level, compartment extent...).
    """

    length_ft: int
    prims: list[Prim]
    extent: tuple[float, float, float, float]
    container_x: tuple[float, float]
    floor_y: float
    cargo: str
    concealment: str | None
    items: list[ConcealedItem] = field(default_factory=list)
    with_truck: bool = True
    notes: dict = field(default_factory=dict)

    def prims_of(self, role: str | None = None, tag: str | None = None) -> list[Prim]:
        """Primitives with the given role and/or tag."""
        return [p for p in self.prims if (role is None or p.role == role)
                and (tag is None or p.tag == tag)]

    @property
    def cargo_prims(self) -> list[Prim]:
        """Everything that is neither container nor truck."""
        return [p for p in self.prims if p.role in ("cargo", "concealment")]

    @property
    def cargo_mass_kg(self) -> float:
        """True cargo mass (kg): analytic mass of the cargo and concealment primitives."""
        return float(sum(p.mass_kg for p in self.cargo_prims))

    @property
    def tare_kg(self) -> float:
        """Analytic mass of the container structure (kg)."""
        return float(sum(p.mass_kg for p in self.prims if p.role == "container"))

    @property
    def empty(self) -> bool:
        """True when nothing but the container (and truck) is in the scan."""
        return not self.cargo_prims


# ------------------------------------------------------------------------- container
def _corrugation(x0: float, x1: float, rng: np.random.Generator) -> Profile:
    """Piecewise profile of a corrugated side wall seen face-on: 1 on the flats, 1/cos
    of the slope angle on the slanted webs (the beam crosses more steel there)."""
    flat_o, slope, flat_i, depth = 7.2, 6.8, 7.0, 3.6
    k = float(np.hypot(slope, depth) / slope)
    breaks, values = [x0], []
    x = x0 + float(rng.uniform(0, CORRUGATION_PITCH))
    breaks.append(x)
    values.append(1.0)
    seq = ((slope, k), (flat_i, 1.0), (slope, k), (flat_o, 1.0))
    while x < x1:
        for w, v in seq:
            nx = min(x + w, x1)
            if nx > x:
                breaks.append(nx)
                values.append(v)
            x = nx
            if x >= x1:
                break
    return Profile("pw", x0, x1, breaks=tuple(breaks), values=tuple(values))


def build_container(x0: float, y0: float, length_ft: int, rng: np.random.Generator,
                    high_cube: bool = False) -> tuple[list[Prim], float, tuple[float, float]]:
    """Primitives of an ISO dry container whose front-bottom corner is (x0, y0).

    Returns (prims, floor_top_y, (inner_x0, inner_x1)).
    """
    L = CONTAINER[length_ft]["length"]
    H = HEIGHT + (30.5 if high_cube else 0.0)
    x1, y1 = x0 + L, y0 + H
    P: list[Prim] = []
    c = dict(role="container", tag="container")
    post = 11.0
    # bottom side rails (C 160 x 4.5 mm) on both sides: web and flanges
    P.append(box("steel", x0, x1, y0, y0 + 16.0, 2 * 0.45, **c))
    P.append(box("steel", x0, x1, y0, y0 + 0.45, 2 * 4.8, **c))
    P.append(box("steel", x0, x1, y0 + 15.55, y0 + 16.0, 2 * 4.8, **c))
    # cross members (C 122 x 45 x 4.5 mm) along the width under the floor
    floor_bot = y0 + 16.0 - 1.0
    cm_top = floor_bot
    n_cm = int((L - 2 * post) // CROSS_MEMBER_PITCH)
    for i in range(n_cm + 1):
        cx = x0 + post + 6 + i * (L - 2 * post - 12) / n_cm
        P.append(box("steel", cx - 0.225, cx + 0.225, cm_top - 12.2, cm_top, IN_WIDTH, **c))
        P.append(box("steel", cx - 0.225, cx + 4.3, cm_top - 0.45, cm_top, IN_WIDTH, **c))
        P.append(box("steel", cx - 0.225, cx + 4.3, cm_top - 12.2, cm_top - 11.75,
                     IN_WIDTH, **c))
    # plywood floor, edge-on along the width
    floor_top = floor_bot + FLOOR_CM
    P.append(box("wood", x0 + post, x1 - post, floor_bot, floor_top, IN_WIDTH,
                 density=FLOOR_DENSITY, **c))
    # side walls (both) face-on, corrugated
    wall = Prim("steel", 7.85, 2 * SIDE_WALL_CM, _corrugation(x0 + post, x1 - post, rng),
                Profile("const", y0 + 16.0, y1 - 6.0), **c)
    P.append(wall)
    # top side rails (tube 60 x 60 x 3 mm) on both sides
    P.append(box("steel", x0, x1, y1 - 6.0, y1, 2 * 0.6, **c))
    P.append(box("steel", x0, x1, y1 - 0.3, y1, 2 * 6.0, **c))
    P.append(box("steel", x0, x1, y1 - 6.0, y1 - 5.7, 2 * 6.0, **c))
    # roof: corrugated 2 mm sheet edge-on across the width, 2 cm deep corrugation
    P.append(box("steel", x0 + post, x1 - post, y1 - 2.5, y1 - 0.5,
                 ROOF_CM * IN_WIDTH * 1.1 / 2.0, **c))
    # front end wall: corrugated sheet edge-on (4.5 cm deep corrugation)
    P.append(box("steel", x0 + 1.5, x0 + 6.0, y0 + 16.0, y1 - 6.0,
                 END_WALL_CM * IN_WIDTH * 1.15 / 4.5, **c))
    # corner posts (4 posts, 2 per end seen on top of each other)
    P.append(box("steel", x0, x0 + post, y0, y1, 2 * 2.6, **c))
    P.append(box("steel", x1 - post, x1, y0, y1, 2 * 3.4, **c))
    # end rails across the width (hollow sections edge-on)
    for ex in (x0, x1 - 14.0):
        P.append(box("steel", ex, ex + 14.0, y1 - 11.0, y1, IN_WIDTH * 0.18, **c))
        P.append(box("steel", ex, ex + 14.0, y0, y0 + 16.0, IN_WIDTH * 0.16, **c))
    # corner castings (hollow cast steel, 178 x 118 x 162 mm), 2 per corner in projection
    for cx in (x0, x1 - 17.8):
        for cy in (y0, y1 - 11.8):
            P.append(box("steel", cx, cx + 17.8, cy, cy + 11.8, 2 * 16.2 * 0.35, **c))
    # rear doors: two corrugated leaves edge-on, door frame, four lock bars with cams
    P.append(box("steel", x1 - 6.5, x1 - 1.5, y0 + 16.0, y1 - 11.0,
                 END_WALL_CM * IN_WIDTH * 1.15 / 5.0 + 4.0, **c))
    P.append(cyl_y("steel", x1 + 1.8, 1.35, y0 + 8.0, y1 - 4.0, depth=4 * 2.7, **c))
    for hy in (y0 + 20.0, y0 + 110.0, y1 - 20.0):
        P.append(box("steel", x1 - 0.5, x1 + 5.0, hy, hy + 9.0, 4 * 3.0, **c))
    # door gasket rubber
    P.append(box("rubber", x1 - 8.0, x1 - 6.5, y0 + 16.0, y1 - 11.0, IN_WIDTH * 0.3, **c))
    inner = (x0 + 7.0, x0 + 7.0 + CONTAINER[length_ft]["inner"])
    return P, floor_top, inner


# ----------------------------------------------------------------------------- truck
def _wheel(P: list[Prim], cx: float, r_tyre: float, n_tyres: int, role: str,
           drive: bool = False) -> None:
    """Wheels of one axle (all tyres of the axle overlap in the projection)."""
    cy = r_tyre
    c = dict(role=role, tag="wheel")
    w = 31.0
    P.append(disc("rubber", cx, cy, r_tyre, n_tyres * w * 0.55, inner=r_tyre - 7.0, **c))
    P.append(disc("rubber", cx, cy, r_tyre - 7.0, n_tyres * 4.0, inner=29.0, **c))
    P.append(disc("steel", cx, cy, r_tyre - 2.0, n_tyres * w * 0.025, inner=r_tyre - 7.0, **c))
    P.append(disc("steel", cx, cy, 29.0, n_tyres * 22.0, inner=27.8, **c))   # rim barrel
    P.append(disc("steel", cx, cy, 27.8, n_tyres * 1.4, inner=21.0, **c))    # rim face
    P.append(disc("steel", cx, cy, 21.0, 2 * 16.0, inner=15.0, **c))         # brake drums
    P.append(disc("steel", cx, cy, 15.0, 2 * 9.0, inner=5.0, **c))           # hubs
    P.append(disc("steel", cx, cy, 7.5, 180.0, inner=5.8, **c))              # axle tube
    P.append(disc("steel", cx, cy, 5.8, 2 * 35.0 if not drive else 180.0, **c))  # shafts
    for sx in (-1, 1):                                                       # wheel nuts
        P.append(disc("steel", cx + sx * 11.0, cy, 1.6, 2 * n_tyres * 4.0, **c))
        P.append(disc("steel", cx, cy + sx * 11.0, 1.6, 2 * n_tyres * 4.0, **c))
    if drive:
        P.append(disc("steel", cx, cy, 24.0, 45.0 * 0.45, inner=7.5, **c))  # differential


def build_tractor(x0: float, rng: np.random.Generator) -> tuple[list[Prim], float]:
    """A cab-over tractor whose front bumper is at x0; returns (prims, fifth-wheel x)."""
    P: list[Prim] = []
    t = dict(role="truck", tag="tractor")
    r = 53.0
    wb = float(rng.uniform(350, 390))
    ax_f = x0 + 140.0
    ax_r = ax_f + wb
    tandem = rng.random() < 0.4
    length = ax_r + (190 if tandem else 120) - x0
    rail_y = (85.0, 115.0)
    # frame rails (C 300 x 80 x 8 mm, two rails): web rows + flanges
    P.append(box("steel", x0 + 20, x0 + length, rail_y[0], rail_y[1], 2 * 0.8, **t))
    P.append(box("steel", x0 + 20, x0 + length, rail_y[0], rail_y[0] + 0.8, 2 * 8.0, **t))
    P.append(box("steel", x0 + 20, x0 + length, rail_y[1] - 0.8, rail_y[1], 2 * 8.0, **t))
    # bumper, steps, cab shell
    P.append(box("steel", x0, x0 + 18, 45, 80, 240 * 0.05, **t))
    P.append(box("polyethylene", x0, x0 + 20, 40, 85, 240 * 0.08, **t))
    cab = (x0 + 5.0, x0 + 225.0, 112.0, float(rng.uniform(315, 345)))
    cx0, cx1, cy0, cy1 = cab
    P.append(box("steel", cx0, cx1, cy0, cy1, 2 * 0.12, **t))                # side skins
    P.append(box("steel", cx0 + 30, cx0 + 125, cy0 + 10, cy1 - 40, 2 * 0.25, **t))  # doors
    P.append(box("steel", cx0, cx1, cy1 - 6, cy1, 235 * 0.12 / 6 * 3, **t))  # roof edge-on
    P.append(box("steel", cx0, cx1, cy0, cy0 + 8, 235 * 0.2 / 8 * 3, **t))   # cab floor
    P.append(box("steel", cx1 - 8, cx1, cy0, cy1, 235 * 0.12 / 8 * 3, **t))  # back wall
    P.append(box("steel", cx0, cx0 + 8, cy0, cy0 + 80, 235 * 0.12 / 8 * 3, **t))  # front
    P.append(box("glass", cx0, cx0 + 8, cy0 + 85, cy1 - 15, 230 * 0.6 / 8, **t))  # windscreen
    P.append(box("glass", cx0 + 35, cx0 + 120, cy0 + 95, cy1 - 45, 2 * 0.5, **t))  # windows
    P.append(box("polyethylene", cx0 + 10, cx0 + 60, cy0 + 55, cy0 + 90, 200 * 0.25, **t))
    P.append(box("steel", cx0 + 10, cx0 + 60, cy0 + 60, cy0 + 85, 200 * 0.02, **t))  # dash
    P.append(cyl_x("steel", cx0 + 40, cx0 + 85, cy0 + 85, 2.5, depth=25, **t))  # column
    for sx in (cx0 + 80, cx0 + 170):                                          # seats
        P.append(box("polyethylene", sx, sx + 55, cy0 + 30, cy0 + 125, 2 * 50 * 0.12, **t))
        P.append(box("steel", sx, sx + 55, cy0 + 10, cy0 + 40, 2 * 50 * 0.03, **t))
    P.append(box("polyethylene", cx0 + 140, cx1 - 10, cy0 + 30, cy0 + 55, 200 * 0.1, **t))
    # radiator, engine, gearbox, exhaust, fuel tank, battery, air tanks
    P.append(box("aluminium", x0 + 12, x0 + 28, 75, 200, 85 * 0.12, **t))
    P.append(box("water", x0 + 12, x0 + 28, 75, 200, 85 * 0.25, **t))
    ex0 = x0 + float(rng.uniform(55, 75))
    P.append(box("steel", ex0, ex0 + 115, 70, 150, 75 * 0.22, **t))         # block
    for k in range(6):                                                       # cylinders
        bx = ex0 + 6 + k * 18.0
        P.append(box("steel", bx, bx + 4, 95, 150, 75 * 0.12, **t))          # walls
        P.append(box("steel", bx + 5, bx + 14, 118, 135, 70 * 0.10, **t))   # pistons
    P.append(box("steel", ex0 + 5, ex0 + 110, 150, 185, 70 * 0.30, **t))     # head
    P.append(box("aluminium", ex0 + 5, ex0 + 110, 185, 197, 70 * 0.15, **t))  # cover
    P.append(box("steel", ex0 - 5, ex0 + 120, 60, 72, 70 * 0.20, **t))      # sump
    P.append(cyl_x("steel", ex0, ex0 + 115, 95, 6, depth=65 * 0.6, **t))     # crank
    P.append(disc("steel", ex0 + 125, 105, 28, 8.0, **t))                    # flywheel
    P.append(box("steel", ex0 + 130, ex0 + 215, 78, 130, 45 * 0.35, **t))   # gearbox
    P.append(box("aluminium", ex0 + 130, ex0 + 215, 78, 130, 45 * 0.12, **t))
    P.append(cyl_x("steel", ex0 + 215, ax_r - 20, 80, 6, depth=6 * 0.35, **t))  # prop shaft
    P.append(cyl_y("steel", cx1 + 10, 6.5, 130, cy1 + 20, depth=13 * 0.1, inner=6.2, **t))
    ft0 = ax_f + 90
    P.append(cyl_x("aluminium", ft0, ft0 + 130, 90, 30, depth=60 * 0.02, **t))
    P.append(cyl_x("polyethylene", ft0, ft0 + 130, 90, 28, depth=56 * 0.85,
                   density=0.84, **t))                                       # diesel
    P.append(box("lead", ft0 + 140, ft0 + 190, 65, 100, 55 * 0.22, **t))     # batteries
    P.append(box("water", ft0 + 140, ft0 + 190, 65, 100, 55 * 0.25, density=1.25, **t))
    P.append(cyl_x("steel", ft0, ft0 + 70, 122, 12, depth=24 * 0.06, inner=11.6, **t))
    # fifth wheel plate
    fw = ax_r - float(rng.uniform(20, 45))
    P.append(box("steel", fw - 45, fw + 45, rail_y[1], rail_y[1] + 18, 200 * 0.30, **t))
    # mudguards (plastic)
    P.append(box("polyethylene", ax_r - 60, ax_r + 60, 2 * r + 5, 2 * r + 9, 240 * 0.04, **t))
    _wheel(P, ax_f, r, 2, "truck")
    _wheel(P, ax_r, r, 4, "truck", drive=True)
    if tandem:
        _wheel(P, ax_r + 135, r, 4, "truck", drive=True)
    return P, fw


def build_chassis(x_front: float, length: float, deck: float, n_axles: int,
                  rng: np.random.Generator) -> list[Prim]:
    """A skeletal container chassis under a container of ``length`` starting at x_front."""
    P: list[Prim] = []
    t = dict(role="truck", tag="chassis")
    r = 53.0
    beam_h = 32.0
    x1 = x_front + length
    P.append(box("steel", x_front + 20, x1, deck - beam_h, deck, 2 * 0.6, **t))
    P.append(box("steel", x_front + 20, x1, deck - beam_h, deck - beam_h + 1.4, 2 * 12.0, **t))
    P.append(box("steel", x_front + 20, x1, deck - 1.4, deck, 2 * 12.0, **t))
    P.append(box("steel", x_front, x_front + 20, deck - 25, deck, 240 * 0.12, **t))
    n_cm = int(length // 120)
    for i in range(n_cm + 1):
        cx = x_front + 20 + i * (length - 40) / max(n_cm, 1)
        P.append(box("steel", cx, cx + 10, deck - 20, deck - 2, 215 * 0.12, **t))
    # kingpin, twistlocks, landing gear, ICC bumper
    P.append(cyl_y("steel", x_front + 90, 4.5, deck - beam_h - 8, deck - beam_h, **t))
    for tx in (x_front + 5, x1 - 15):
        P.append(box("steel", tx, tx + 10, deck, deck + 3, 2 * 10, **t))
    lg = x_front + float(rng.uniform(220, 260))
    P.append(box("steel", lg, lg + 12, 18, deck - beam_h, 2 * 12 * 0.25, **t))
    P.append(box("steel", lg - 8, lg + 20, 12, 20, 2 * 25 * 0.15, **t))
    P.append(box("steel", x1 - 25, x1 - 5, 50, 62, 200 * 0.12, **t))
    P.append(box("steel", x1 - 22, x1 - 12, 55, deck - beam_h, 2 * 8 * 0.3, **t))
    # suspension and axles at the rear
    last = x1 - float(rng.uniform(90, 130))
    for k in range(n_axles):
        ax = last - k * 131.0
        _wheel(P, ax, r, 4, "truck")
        P.append(box("steel", ax - 60, ax + 60, r + 8, r + 20, 2 * 9 * 0.5, **t))  # springs
    P.append(box("polyethylene", last - (n_axles - 1) * 131 - 65, last + 65, 2 * r + 4,
                 2 * r + 8, 240 * 0.04, **t))
    return P


# ----------------------------------------------------------------------------- cargo
@dataclass
class Hold:
    """The free cargo space: x range, floor height, usable height, width along the beam."""

    x0: float
    x1: float
    y0: float
    height: float
    width: float = IN_WIDTH


GOODS_MIX = {
    # mass fractions of the content of general-goods cartons (typical consumer goods)
    "household": {"paper": 0.30, "polyethylene": 0.45, "glass": 0.15, "steel": 0.10},
    "electronics": {"paper": 0.30, "polyethylene": 0.40, "steel": 0.15, "copper": 0.05,
                    "glass": 0.10},
    "paper_goods": {"paper": 0.9, "polyethylene": 0.1},
    "food": {"paper": 0.25, "water": 0.45, "sugar": 0.20, "steel": 0.10},
}


def _mix_box(P: list[Prim], mix: dict[str, float], bulk: float, x0: float, x1: float,
             y0: float, y1: float, depth: float, role: str = "cargo", tag: str = "") -> None:
    for mat, frac in mix.items():
        if frac > 0:
            P.append(box(mat, x0, x1, y0, y1, depth, density=bulk * frac, role=role, tag=tag))


def _pallet(P, x0, y0, depth, role="cargo", tag="") -> float:
    """A 120 x 100 x 14.4 cm wooden pallet (~25 kg per pallet); returns its top y."""
    n = max(1, round(depth / 100))
    P.append(box("wood", x0, x0 + 120, y0, y0 + 2.2, depth * 0.85, density=0.55,
                 role=role, tag=tag))
    P.append(box("wood", x0, x0 + 120, y0 + 12.2, y0 + 14.4, depth * 0.8, density=0.55,
                 role=role, tag=tag))
    for bx in (x0, x0 + 55, x0 + 108):
        P.append(box("wood", bx, bx + 12, y0 + 2.2, y0 + 12.2, depth * 0.3, density=0.55,
                     role=role, tag=tag))
    _ = n
    return y0 + 14.4


def _fill_length(hold: Hold, rng: np.random.Generator, fill: float | None) -> float:
    f = float(rng.uniform(0.3, 1.0)) if fill is None else fill
    return (hold.x1 - hold.x0) * f


def cargo_cartons(hold: Hold, rng, fill=None, goods=None, role="cargo",
                  single_across_before: float | None = None) -> list[Prim]:
    """Palletised cartons: pallets with carton stacks, 2 pallets across the width (one
    before x = ``single_across_before``, where something else shares the width)."""
    P: list[Prim] = []
    goods = goods or str(rng.choice(list(GOODS_MIX)))
    mix = GOODS_MIX[goods]
    end = hold.x0 + _fill_length(hold, rng, fill)
    x = hold.x0 + float(rng.uniform(0, 5))
    stack_h = float(rng.uniform(90, min(hold.height - 20, 220)))
    double = rng.random() < 0.4 and stack_h < 110
    while x + 120 <= end + 1e-6:
        across = 2 if rng.random() < 0.9 else 1
        if single_across_before is not None and x < single_across_before:
            across = 1
        depth = 100.0 * across
        top = _pallet(P, x, hold.y0, depth, role)
        levels = [(top, stack_h)]
        if double and hold.height > 2 * stack_h + 30:
            levels.append((top + stack_h + 14.4, stack_h))
            _pallet(P, x, top + stack_h, depth, role)
        for ly, h in levels:
            cw = float(rng.choice([30.0, 40.0, 60.0]))
            ch = float(rng.choice([20.0, 30.0, 40.0]))
            bulk0 = float(rng.uniform(0.12, 0.35))
            ncol = int(120 // cw)
            nrow = int(h // ch)
            d = depth * 0.95
            for i in range(ncol):
                for j in range(nrow):
                    bulk = bulk0 * float(rng.uniform(0.8, 1.2))
                    a, b = x + i * cw, ly + j * ch
                    _mix_box(P, mix, bulk * 0.6, a, a + cw, b, b + ch, d, role)
                    # content items: a few denser objects per carton
                    for _ in range(int(rng.integers(1, 4))):
                        iw = float(rng.uniform(0.2, 0.8)) * cw
                        ih = float(rng.uniform(0.2, 0.8)) * ch
                        ix = a + float(rng.uniform(0, cw - iw))
                        iy = b + float(rng.uniform(0, ch - ih))
                        _mix_box(P, mix, bulk * 0.4 * cw * ch / (iw * ih) / 3, ix, ix + iw,
                                 iy, iy + ih, d, role)
                # carton walls seen edge-on (5 mm board along the whole depth)
                P.append(box("paper", a + cw - 0.25, a + cw + 0.25, ly, ly + nrow * ch, d,
                             density=0.12, role=role))
            for j in range(nrow + 1):
                P.append(box("paper", x, x + ncol * cw, ly + j * ch - 0.25, ly + j * ch + 0.25,
                             d, density=0.12, role=role))
            P.append(box("polyethylene", x, x + 120, ly, ly + nrow * ch, 2 * 0.01, role=role))
        x += 120.0 + float(rng.uniform(0.5, 6))
    return P


def cargo_textiles(hold: Hold, rng, fill=None) -> list[Prim]:
    """Floor-loaded cartons/bales of garments (cotton and polyester)."""
    P: list[Prim] = []
    end = hold.x0 + _fill_length(hold, rng, fill)
    top = min(hold.height - 10, float(rng.uniform(170, 230)))
    bw = float(rng.uniform(50, 70))
    bh = float(rng.uniform(35, 50))
    x = hold.x0
    cot = float(rng.uniform(0.4, 0.9))
    while x + bw <= end + 1e-6:
        h_col = top - float(rng.uniform(0, 40))
        j = 0
        while (j + 1) * bh <= h_col:
            bulk = float(rng.uniform(0.18, 0.32))
            y0 = hold.y0 + j * bh
            P.append(box("cotton", x, x + bw, y0, y0 + bh, hold.width * 0.93,
                         density=bulk * cot))
            P.append(box("polyethylene", x, x + bw, y0, y0 + bh, hold.width * 0.93,
                         density=bulk * (1 - cot)))
            j += 1
        x += bw
    return P


def cargo_machinery(hold: Hold, rng, fill=None) -> list[Prim]:
    """Machines on wooden skids: steel bases and frames, motors, gear housings."""
    P: list[Prim] = []
    end = hold.x0 + _fill_length(hold, rng, fill)
    x = hold.x0 + float(rng.uniform(10, 40))
    while True:
        L = float(rng.uniform(100, 300))
        if x + L > end:
            break
        H = float(rng.uniform(80, min(200, hold.height - 20)))
        D = float(rng.uniform(100, 200))
        y = hold.y0
        P.append(box("wood", x, x + L, y, y + 12, D * 0.6, density=0.6))     # skid
        y += 12
        P.append(box("steel", x + 5, x + L - 5, y, y + 15, D * float(rng.uniform(0.08, 0.2))))
        # frame: two columns and a beam
        P.append(box("steel", x + 5, x + 20, y + 15, y + H, D * 0.08))
        P.append(box("steel", x + L - 20, x + L - 5, y + 15, y + H, D * 0.08))
        P.append(box("steel", x + 5, x + L - 5, y + H - 15, y + H, D * 0.08))
        # motor: steel housing cylinder along x, copper windings
        mr = float(rng.uniform(15, 30))
        mx = x + float(rng.uniform(25, max(26, L - 2 * mr - 60)))
        P.append(cyl_x("steel", mx, mx + 2 * mr + 20, y + 30 + mr, mr, depth=2 * mr * 0.25))
        P.append(cyl_x("copper", mx + 8, mx + 2 * mr + 12, y + 30 + mr, mr * 0.7,
                       depth=2 * mr * 0.7 * 0.3))
        # gear housing / block
        gx = x + L * float(rng.uniform(0.45, 0.6))
        gw = min(L * 0.35, 80)
        P.append(box("steel", gx, gx + gw, y + 20, y + min(H - 20, 90),
                     D * float(rng.uniform(0.06, 0.16))))
        # wooden crate sides
        P.append(box("wood", x, x + L, y, y + H + 5, 2 * 2.0, density=0.55))
        x += L + float(rng.uniform(20, 80))
    if not P:  # at least one small machine
        P.append(box("steel", hold.x0 + 20, hold.x0 + 100, hold.y0, hold.y0 + 60, 40.0))
    return P


def cargo_grain(hold: Hold, rng, fill=None) -> list[Prim]:
    """Bulk grain in a liner bag (flat top, slope at the door bulkhead) or 50 kg bags."""
    P: list[Prim] = []
    rho = float(rng.uniform(0.70, 0.80))
    if rng.random() < 0.6:
        h = float(rng.uniform(120, min(200, hold.height - 20)))
        end = hold.x1 - 5
        start = hold.x0 + (0 if fill is None else (1 - fill) * (hold.x1 - hold.x0))
        # payload limit: keep the load under ~25 t
        h = min(h, 25e6 / (rho * max(end - start, 1.0) * hold.width * 0.98))
        slope_len = h / np.tan(np.radians(27.0))
        flat_end = end - slope_len * float(rng.uniform(0.0, 0.4))
        P.append(box("starch", start, flat_end, hold.y0, hold.y0 + h, hold.width * 0.98,
                     density=rho))
        n = 24
        for k in range(n):  # slope towards the door as steps
            xa = flat_end + (end - flat_end) * k / n
            xb = flat_end + (end - flat_end) * (k + 1) / n
            hk = h * (1 - (k + 0.5) / n) * 0.6 + h * 0.4
            P.append(box("starch", xa, xb, hold.y0, hold.y0 + hk, hold.width * 0.98,
                         density=rho))
        P.append(box("polyethylene", start, end, hold.y0, hold.y0 + h, 2 * 0.02))
        # door bulkhead: steel bars and cardboard
        P.append(box("steel", end - 1, end + 1, hold.y0, hold.y0 + h, 4 * 2.0))
    else:
        end = hold.x0 + _fill_length(hold, rng, fill)
        bw, bh = 80.0, 15.0
        top = float(rng.uniform(120, 190))
        x = hold.x0
        while x + bw <= end + 1e-6:
            for j in range(int(top // bh)):
                d = float(rng.uniform(0.9, 1.0))
                P.append(box("starch", x + 1, x + bw - 1, hold.y0 + j * bh + 0.8,
                             hold.y0 + (j + 1) * bh - 0.8, hold.width * 0.9 * d,
                             density=rho * 0.92))
            x += bw
    return P


def cargo_tyres(hold: Hold, rng, fill=None) -> list[Prim]:
    """Car tyres stacked flat in columns, three columns across the width."""
    P: list[Prim] = []
    end = hold.x0 + _fill_length(hold, rng, fill)
    R = float(rng.uniform(30, 36))
    ri = R - float(rng.uniform(9, 12))
    w = float(rng.uniform(19, 25))
    across = int(hold.width // (2 * R))
    x = hold.x0 + R
    while x + R <= end:
        n = int((hold.height - 10) // w)
        n = max(1, n - int(rng.integers(0, 3)))
        for j in range(n):
            y0 = hold.y0 + j * w
            P.append(cyl_y("rubber", x, R, y0 + 0.6, y0 + w - 0.6, depth=2 * R * across * 0.22,
                           inner=ri, density=1.15))
            P.append(cyl_y("steel", x, R, y0 + 2, y0 + w - 2, depth=2 * R * across * 0.012,
                           inner=ri + 4))
        x += 2 * R + float(rng.uniform(0, 3))
    return P


def cargo_timber(hold: Hold, rng, fill=None) -> list[Prim]:
    """Bundles of sawn timber (planks with gaps), two bundles across the width."""
    P: list[Prim] = []
    end = hold.x0 + _fill_length(hold, rng, fill)
    rho = float(rng.uniform(0.45, 0.65))
    x = hold.x0
    while True:
        L = float(rng.uniform(240, 480))
        if x + L > end:
            L = end - x
            if L < 100:
                break
        y = hold.y0
        for _ in range(2):
            bh = float(rng.uniform(60, 100))
            if y + bh + 10 > hold.y0 + hold.height:
                break
            plank = float(rng.choice([2.5, 3.8, 5.0]))
            gap = 0.4
            breaks, values, yy = [y + 8], [], y + 8
            while yy + plank <= y + 8 + bh:
                breaks += [yy + plank, yy + plank + gap]
                values += [1.0, 0.0]
                yy += plank + gap
            if len(breaks) < 3:
                break
            fy = Profile("pw", y + 8, breaks[-1], breaks=tuple(breaks), values=tuple(values))
            P.append(Prim("wood", rho, 2 * 110 * 0.95, Profile("const", x, x + L), fy,
                          role="cargo"))
            for sx in np.linspace(x + 10, x + L - 18, 4):   # bearers under each bundle
                P.append(box("wood", sx, sx + 8, y, y + 8, 2 * 110, density=rho))
            y = breaks[-1]
        x += L + float(rng.uniform(2, 15))
        if x >= end:
            break
    return P


def cargo_cigarettes(hold: Hold, rng, fill=None, role="cargo", tag="") -> list[Prim]:
    """Master cases of cigarettes (tobacco and cardboard) on pallets."""
    P: list[Prim] = []
    end = hold.x0 + _fill_length(hold, rng, fill)
    x = hold.x0
    while x + 120 <= end + 1e-6:
        top = _pallet(P, x, hold.y0, 200.0, role=role, tag=tag)
        _cig_block(P, x, x + 120, top, top + min(hold.height - 25, 180), 190.0, rng,
                   role, tag)
        x += 122.0
    return P


def _cig_block(P, x0, x1, y0, y1, depth, rng, role, tag) -> None:
    """Master cases (58 x 38 cm seen from the side, ~10 kg: bulk ~0.2 g/cm^3)."""
    cw, ch = 58.0, 38.0
    nx, ny = max(1, int((x1 - x0) // cw)), max(1, int((y1 - y0) // ch))
    cw, ch = (x1 - x0) / nx, (y1 - y0) / ny
    for i in range(nx):
        for j in range(ny):
            bulk = float(rng.uniform(0.19, 0.23))
            a, b = x0 + i * cw, y0 + j * ch
            P.append(box("tobacco", a + 0.5, a + cw - 0.5, b + 0.5, b + ch - 0.5, depth,
                         density=bulk * 0.75, role=role, tag=tag))
            P.append(box("paper", a, a + cw, b, b + ch, depth, density=bulk * 0.25,
                         role=role, tag=tag))


def cargo_furniture(hold: Hold, rng, fill=None) -> list[Prim]:
    """Flat-pack furniture (stacks of particleboard panels with steel fittings, in
    cartons) and upholstered seats (wooden frame, foam, spring rows)."""
    P: list[Prim] = []
    end = hold.x0 + _fill_length(hold, rng, fill)
    x = hold.x0 + float(rng.uniform(0, 10))
    while True:
        if rng.random() < 0.6:      # a stack of flat-pack cartons
            L = float(rng.uniform(120, 220))
            if x + L > end:
                break
            y = hold.y0
            top = hold.y0 + float(rng.uniform(100, min(210, hold.height - 15)))
            while True:
                h = float(rng.uniform(8, 25))
                if y + h > top:
                    break
                D = float(rng.uniform(60, 110))
                P.append(box("wood", x, x + L, y + 0.5, y + h - 0.5, D,
                             density=float(rng.uniform(0.6, 0.75))))        # chipboard
                P.append(box("paper", x, x + L, y, y + h, 2 * 0.5))          # carton
                if rng.random() < 0.7:                                      # fittings bag
                    fx = x + float(rng.uniform(5, L - 20))
                    P.append(box("steel", fx, fx + 15, y + 1, y + min(h - 1, 4), 10 * 0.05))
                y += h
        else:                        # a sofa or armchair standing on its feet
            L = float(rng.uniform(80, 220))
            if x + L > end:
                break
            H = float(rng.uniform(75, 95))
            D = float(rng.uniform(80, 100))
            y = hold.y0
            P.append(box("wood", x, x + L, y + 10, y + 20, D * 0.3, density=0.6))   # base
            P.append(box("wood", x, x + 12, y + 10, y + H, D * 0.25, density=0.6))  # arms
            P.append(box("wood", x + L - 12, x + L, y + 10, y + H, D * 0.25, density=0.6))
            P.append(box("polyethylene", x + 5, x + L - 5, y + 20, y + 45, D,
                         density=0.03))                                            # foam
            P.append(box("polyethylene", x + 5, x + L - 5, y + 45, y + H, 25, density=0.03))
            for sx in np.arange(x + 14, x + L - 14, 12.0):                         # springs
                P.append(box("steel", sx, sx + 1.5, y + 20, y + 35, D * 0.02))
            P.append(box("polyethylene", x, x + L, y, y + H, 2 * 0.02))            # wrap
            if H + 95 < hold.height and rng.random() < 0.5:   # a flat-pack stack on top
                P.append(box("wood", x + 5, x + L - 5, y + H, y + H + 40, D * 0.5,
                             density=0.65))
        x += L + float(rng.uniform(3, 25))
    if not P:
        P.append(box("wood", hold.x0 + 10, hold.x0 + 150, hold.y0, hold.y0 + 60, 80.0,
                     density=0.65))
    return P


def cargo_scrap_metal(hold: Hold, rng, fill=None) -> list[Prim]:
    """Baled steel scrap stacked two or three high, or a loose heap (shredded scrap with
    plates, pipes and wheel rims in it): dense, cluttered, full of edges. Loaded up to a
    payload of ~15-26 t, so a 40 ft box is rarely filled to its end."""
    P: list[Prim] = []
    payload = float(rng.uniform(15e6, 26e6))           # g
    end = hold.x0 + _fill_length(hold, rng, fill)
    x = hold.x0 + float(rng.uniform(0, 20))
    mass = 0.0
    baled = rng.random() < 0.5
    while x + 60 <= end and mass < payload:
        if baled:                    # car-body bales (~0.7 x 0.7 x 1.5 m, 0.6-1.2 g/cm^3)
            s = float(rng.uniform(55, 80))
            d = float(rng.uniform(120, 160))
            y = hold.y0
            while y + s <= hold.y0 + min(hold.height - 10, 3 * 80):
                rho = float(rng.uniform(0.6, 1.2))
                P.append(box("steel", x, x + s, y, y + s, d, density=rho))
                mass += rho * s * s * d
                for _k in range(int(rng.integers(4, 10))):              # pieces in the bale
                    px, py = x + float(rng.uniform(0, s - 15)), y + float(rng.uniform(0, s - 6))
                    P.append(box("steel", px, px + float(rng.uniform(8, 30)), py,
                                 py + float(rng.uniform(1, 5)), float(rng.uniform(0.5, 6))))
                y += s + float(rng.uniform(0, 3))
            x += s + float(rng.uniform(1, 8))
        else:                        # a heap of shredded scrap with larger pieces in it
            L = float(rng.uniform(150, 300))
            L = min(L, end - x)
            H = float(rng.uniform(60, min(140, hold.height - 20)))
            rho = float(rng.uniform(0.25, 0.5))
            for k in range(6):       # the heap as steps (peak in the middle)
                f = 1 - abs((k + 0.5) / 6 - 0.5) * 1.2
                P.append(box("steel", x + k * L / 6, x + (k + 1) * L / 6, hold.y0,
                             hold.y0 + H * f, hold.width * 0.9, density=rho))
                mass += rho * L / 6 * H * f * hold.width * 0.9
            for _k in range(int(rng.integers(15, 40))):
                px = x + float(rng.uniform(0, max(1.0, L - 30)))
                py = hold.y0 + float(rng.uniform(0, H * 0.8))
                kind = rng.integers(0, 3)
                if kind == 0:
                    P.append(box("steel", px, px + float(rng.uniform(15, 60)), py,
                                 py + float(rng.uniform(0.5, 3)), float(rng.uniform(20, 100))))
                elif kind == 1:
                    r = float(rng.uniform(3, 12))
                    P.append(cyl_x("steel", px, px + float(rng.uniform(30, 120)), py + r, r,
                                   depth=2 * r * float(rng.uniform(1, 3)),
                                   inner=r * float(rng.uniform(0.7, 0.9))))
                else:
                    r = float(rng.uniform(20, 35))
                    P.append(disc("steel", px + r, py + r, r, 2 * 0.4, inner=r - 4))
            x += L + float(rng.uniform(0, 10))
    if not P:
        P.append(box("steel", hold.x0 + 10, hold.x0 + 90, hold.y0, hold.y0 + 80, 120.0,
                     density=0.8))
    return P


def cargo_bottled_drinks(hold: Hold, rng, fill=None) -> list[Prim]:
    """Pallets of bottled drinks: layers of glass or PET bottles standing upright (seen
    from the side, rows of water columns), tier sheets between layers, shrink wrap."""
    P: list[Prim] = []
    end = hold.x0 + _fill_length(hold, rng, fill)
    glass = rng.random() < 0.5
    r = float(rng.uniform(3.0, 4.5)) if glass else float(rng.uniform(3.5, 5.5))
    hb = float(rng.uniform(22, 32))
    wall = 0.3 if glass else 0.03
    x = hold.x0 + float(rng.uniform(0, 5))
    while x + 120 <= end + 1e-6:
        top = _pallet(P, x, hold.y0, 200.0)
        n_layers = int(min(5, (min(hold.height - 20, 180) - (top - hold.y0)) // (hb + 1)))
        rows = int(200.0 // (2 * r + 0.5))          # bottles across two pallets' depth
        for k in range(max(1, n_layers)):
            y = top + k * (hb + 1)
            for bx in np.arange(x + r, x + 120 - r, 2 * r + 0.3):
                P.append(cyl_y("water", float(bx), r - wall, y, y + hb * 0.85,
                               depth=2 * (r - wall) * rows * 0.95))
                P.append(cyl_y("glass" if glass else "polyethylene", float(bx), r, y,
                               y + hb, depth=2 * r * rows * 0.95, inner=r - wall))
            P.append(box("paper", x, x + 120, y + hb, y + hb + 0.5, 200.0, density=0.7))
        P.append(box("polyethylene", x, x + 120, top, top + n_layers * (hb + 1), 2 * 0.03))
        x += 122.0
    return P


CARGO_BUILDERS = {"cartons": cargo_cartons, "textiles": cargo_textiles,
                  "machinery": cargo_machinery, "grain": cargo_grain, "tyres": cargo_tyres,
                  "timber": cargo_timber, "cigarettes": cargo_cigarettes,
                  "furniture": cargo_furniture, "scrap_metal": cargo_scrap_metal,
                  "bottled_drinks": cargo_bottled_drinks}


def single_item(hold: Hold, rng) -> list[Prim]:
    """One small item left in an otherwise empty container (a carton or a small crate)."""
    w = float(rng.uniform(30, 60))
    h = float(rng.uniform(20, 45))
    d = float(rng.uniform(30, 60))
    x = float(rng.uniform(hold.x0 + 10, hold.x1 - w - 10))
    kind = rng.integers(0, 3)
    if kind == 0:
        P: list[Prim] = []
        _mix_box(P, GOODS_MIX["household"], float(rng.uniform(0.15, 0.35)), x, x + w,
                 hold.y0, hold.y0 + h, d)
        return P
    if kind == 1:
        return [box("steel", x, x + w, hold.y0, hold.y0 + h, d * 0.05),
                box("wood", x, x + w, hold.y0, hold.y0 + h, 2 * 2.0, density=0.55)]
    return [box("cotton", x, x + w, hold.y0, hold.y0 + h, d, density=0.3)]


# ----------------------------------------------------------------------- concealment
def _bricks(P, x0, x1, y0, y1, depth, tag, rng) -> None:
    """Block of 1 kg bricks: cocaine-like powder (packed ~1.0 g/cm^3) in PE wrap."""
    rho = float(rng.uniform(0.9, 1.15))
    P.append(box("cocaine", x0, x1, y0, y1, depth, density=rho, role="concealment", tag=tag))
    P.append(box("polyethylene", x0, x1, y0, y1, depth * 0.03, role="concealment", tag=tag))


def _firearm(P, x, y, tag, rng) -> tuple[float, float]:
    """A pistol (0) or a rifle (1) lying on its side; returns its (length, height)."""
    c = dict(role="concealment", tag=tag)
    if rng.random() < 0.5:
        L = float(rng.uniform(17, 21))
        P.append(box("steel", x, x + L, y + 9, y + 13.5, 2.8 * 0.75, **c))     # slide
        P.append(box("steel", x + L - 6, x + L - 1.5, y, y + 9.5, 3.0 * 0.3, **c))  # grip
        P.append(box("polyethylene", x + L - 6, x + L - 1.5, y, y + 9.5, 3.0 * 0.6, **c))
        P.append(box("steel", x + L - 5.2, x + L - 2.3, y + 0.5, y + 9, 2.2 * 0.35, **c))
        return L, 13.5
    L = float(rng.uniform(85, 100))
    P.append(cyl_x("steel", x, x + 42, y + 13, 1.1, depth=2.2 * 0.8, **c))   # barrel
    P.append(box("steel", x + 40, x + 68, y + 9, y + 16, 4.5 * 0.35, **c))   # receiver
    P.append(box("steel", x + 50, x + 58, y, y + 9, 3.5 * 0.35, **c))         # magazine
    P.append(box("wood", x + 66, x + L, y + 5, y + 15, 4.0, density=0.7, **c))  # stock
    P.append(box("wood", x + 20, x + 40, y + 10, y + 16, 5.0, density=0.7, **c))
    return L, 16.0


def _hold_of(hold: Hold, x0=None, x1=None, y0=None) -> Hold:
    return Hold(hold.x0 if x0 is None else x0, hold.x1 if x1 is None else x1,
                hold.y0 if y0 is None else y0,
                hold.height - ((y0 - hold.y0) if y0 is not None else 0), hold.width)


def conceal(kind: str, hold: Hold, cargo_prims: list[Prim], rng,
            items: list[ConcealedItem]) -> list[Prim]:
    """Primitives of a concealment of ``kind`` placed in ``hold`` among ``cargo_prims``."""
    P: list[Prim] = []
    if cargo_prims:
        ext = np.array([p.extent for p in cargo_prims])
        cx0, cx1 = float(ext[:, 0].min()), float(ext[:, 1].max())
        ctop = float(np.percentile(ext[:, 3], 90))
    else:
        cx0, cx1, ctop = hold.x0, hold.x1, hold.y0 + 120
    ctop = max(ctop, hold.y0 + 60)
    if kind == "drugs":
        n = int(rng.integers(1, 3))
        for k in range(n):
            w = float(rng.uniform(30, 90))
            h = float(rng.uniform(16, 45))
            d = float(rng.uniform(20, 60))
            x = float(rng.uniform(cx0, max(cx0 + 1, cx1 - w)))
            y = float(rng.uniform(hold.y0 + 15, max(hold.y0 + 16, ctop - h - 5)))
            tag = f"item{len(items)}"
            _bricks(P, x, x + w, y, y + h, d, tag, rng)
            items.append(ConcealedItem(tag, "contraband_package", kind,
                                       f"{w:.0f}x{h:.0f}x{d:.0f} cm block of bricks"))
    elif kind == "firearms":
        # a carton with 1-4 guns, among the cargo
        cw, chh = 110.0, 45.0
        x = float(rng.uniform(cx0, max(cx0 + 1, cx1 - cw)))
        y = float(rng.uniform(hold.y0 + 15, max(hold.y0 + 16, ctop - chh)))
        _mix_box(P, {"paper": 0.8, "polyethylene": 0.2}, 0.08, x, x + cw, y, y + chh, 50.0,
                 role="concealment", tag="carton")
        gx, gy = x + 3, y + 3
        for _ in range(int(rng.integers(1, 5))):
            tag = f"item{len(items)}"
            L, H = _firearm(P, gx, gy, tag, rng)
            items.append(ConcealedItem(tag, "firearm", kind, "firearm in a carton"))
            gy += H + 2
            if gy + 17 > y + chh:
                gy = y + 3
                gx += L + 3
                if gx + 100 > x + cw:
                    break
    elif kind == "vehicle":
        tag = f"item{len(items)}"
        x = hold.x0 + float(rng.uniform(5, 30))
        _car(P, x, hold.y0, tag, rng)
        items.append(ConcealedItem(tag, "vehicle", kind, "passenger car"))
    elif kind == "cigarettes":
        # cases at the front of the container, hidden behind cargo on the door side
        tag = f"item{len(items)}"
        L = float(rng.uniform(120, 240))
        h = float(rng.uniform(100, min(200, hold.height - 20)))
        d = float(rng.uniform(80, 130))
        _cig_block(P, hold.x0 + 2, hold.x0 + 2 + L, hold.y0, hold.y0 + h, d, rng,
                   "concealment", tag)
        items.append(ConcealedItem(tag, "cigarettes", kind, "master cases at the front"))
    elif kind == "false_wall":
        depth = float(rng.uniform(40, 80))
        wx = hold.x0 + depth
        steel = rng.random() < 0.6
        c = dict(role="concealment", tag="false_wall")
        if steel:
            P.append(box("steel", wx, wx + 0.3, hold.y0, hold.y0 + hold.height, hold.width,
                         **c))
        else:
            P.append(box("wood", wx, wx + 1.8, hold.y0, hold.y0 + hold.height, hold.width,
                         density=0.65, **c))
        P.append(box("steel", wx - 5, wx, hold.y0, hold.y0 + hold.height, 4 * 0.3, **c))
        tag = f"item{len(items)}"
        hh = float(rng.uniform(60, hold.height - 20))
        if rng.random() < 0.5:
            _bricks(P, hold.x0 + 2, wx - 6, hold.y0, hold.y0 + hh,
                    float(rng.uniform(80, 200)), tag, rng)
            items.append(ConcealedItem(tag, "contraband_package", kind,
                                       "packages behind a false front wall"))
        else:
            _cig_block(P, hold.x0 + 2, wx - 6, hold.y0, hold.y0 + hh,
                       float(rng.uniform(150, 220)), rng, "concealment", tag)
            items.append(ConcealedItem(tag, "cigarettes", kind,
                                       "cigarettes behind a false front wall"))
    elif kind == "false_floor":
        raise InputError("false_floor is built by sample_scene")  # handled there
    else:
        raise InputError(f"unknown concealment '{kind}' (known: {', '.join(CONCEALMENTS)})")
    return P


def _car(P, x, y, tag, rng) -> None:
    """A passenger car seen from the side (~1.3 t): shell, engine, wheels, glass."""
    c = dict(role="concealment", tag=tag)
    L = float(rng.uniform(420, 480))
    W = 175.0
    hb = float(rng.uniform(140, 150))
    r = 31.0
    P.append(box("steel", x, x + L, y + 25, y + 85, 2 * 0.25, **c))          # body sides
    P.append(box("steel", x + 5, x + L - 5, y + 22, y + 30, W * 0.12 / 8 * 2.5, **c))  # floor
    P.append(box("steel", x + 120, x + 330, y + hb - 5, y + hb, W * 0.1 / 5 * 2.0, **c))  # roof
    P.append(box("steel", x + 110, x + 340, y + 85, y + hb, 2 * 0.2, **c))    # pillars/doors
    P.append(box("glass", x + 95, x + 125, y + 85, y + hb - 5, W * 0.5 / 30 * 1.5, **c))
    P.append(box("glass", x + 140, x + 320, y + 92, y + hb - 8, 2 * 0.4, **c))
    P.append(box("steel", x + 15, x + 95, y + 75, y + 82, W * 0.08 / 7 * 2.5, **c))  # bonnet
    P.append(box("steel", x + 25, x + 85, y + 35, y + 75, 50 * 0.35, **c))    # engine
    P.append(box("aluminium", x + 25, x + 85, y + 35, y + 75, 50 * 0.15, **c))
    P.append(box("steel", x + 85, x + 110, y + 30, y + 60, 40 * 0.3, **c))    # gearbox
    P.append(box("polyethylene", x + 150, x + 320, y + 35, y + 95, 2 * 50 * 0.12, **c))  # seats
    P.append(box("steel", x + 150, x + 320, y + 35, y + 55, 2 * 50 * 0.02, **c))
    P.append(box("polyethylene", x + 340, x + 400, y + 40, y + 60, 60 * 0.5, density=0.75,
                 **c))                                                         # fuel
    P.append(box("steel", x, x + 12, y + 30, y + 55, W * 0.06, **c))          # bumpers
    P.append(box("steel", x + L - 12, x + L, y + 30, y + 55, W * 0.06, **c))
    for wx in (x + 80, x + L - 95):
        P.append(disc("rubber", wx, y + r, r, 2 * 20 * 0.35, inner=r - 9, **c))
        P.append(disc("rubber", wx, y + r, r - 9, 2 * 3.0, inner=19, **c))
        P.append(disc("aluminium", wx, y + r, 19, 2 * 2.5, **c))
        P.append(disc("steel", wx, y + r, 14, 2 * 4.0, inner=4, **c))          # brake disc
        P.append(disc("steel", wx, y + r, 4, 150, inner=2.5, **c))            # axle/shaft


# ----------------------------------------------------------------------------- scene
def sample_scene(rng: np.random.Generator, length_ft: int = 20, cargo: str | None = None,
                 concealment: str | None = None, with_truck: bool = True,
                 fill: float | None = None, single: bool = False,
                 high_cube: bool | None = None) -> ContainerScene:
    """A random container scene.

    ``cargo``: one of :data:`CARGO_CATEGORIES` or :data:`EXTRA_CARGO` (None: random from
    :data:`CARGO_CATEGORIES`, "empty" allowed);
    ``concealment``: one of :data:`CONCEALMENTS` or None (none); ``fill``: fraction of
    the length loaded (None: random); ``single``: the load is one small item only.
    """
    if length_ft not in LENGTHS_FT:
        raise InputError(f"container length must be 20 or 40 ft, got {length_ft!r}")
    if cargo is not None and cargo not in KNOWN_CARGO:
        raise InputError(f"unknown cargo '{cargo}' (known: {', '.join(KNOWN_CARGO)})")
    if concealment is not None and concealment not in CONCEALMENTS:
        raise InputError(f"unknown concealment '{concealment}' "
                         f"(known: {', '.join(CONCEALMENTS)})")
    if fill is not None and not 0 < fill <= 1:
        raise InputError(f"fill must be in (0, 1], got {fill}")
    if cargo is None:
        cargo = str(rng.choice(CARGO_CATEGORIES[1:]))
    if high_cube is None:
        high_cube = bool(rng.random() < 0.3)
    prims: list[Prim] = []
    margin = float(rng.uniform(60, 120))
    if with_truck:
        tractor, fw = build_tractor(margin, rng)
        prims += tractor
        c_front = fw - 90.0 + 10.0
        deck = DECK_HEIGHT + float(rng.uniform(-5, 5))
        L = CONTAINER[length_ft]["length"]
        prims += build_chassis(c_front - 10.0, L + 20.0, deck, 2 if length_ft == 20 else 3,
                               rng)
        y_base = deck
        y_top = SCAN_TOP
    else:
        c_front = margin
        y_base = 8.0   # on the ground supports
        y_top = HEIGHT + 40.0 + (30.5 if high_cube else 0.0)
        L = CONTAINER[length_ft]["length"]
        for sx in (c_front + 30, c_front + L - 60):
            prims.append(box("wood", sx, sx + 30, 0, y_base, 240, density=0.6, role="truck",
                             tag="support"))
    cont, floor_top, inner = build_container(c_front, y_base, length_ft, rng, high_cube)
    prims += cont
    in_h = IN_HEIGHT + (30.5 if high_cube else 0.0)
    hold = Hold(inner[0] + 1, inner[1] - 2, floor_top, in_h - 2)
    items: list[ConcealedItem] = []
    notes: dict = {"high_cube": high_cube}
    conceal_prims: list[Prim] = []
    if concealment == "false_floor":
        fh = float(rng.uniform(10, 18))
        c = dict(role="concealment", tag="false_floor")
        conceal_prims.append(box("wood", hold.x0, hold.x1, hold.y0 + fh, hold.y0 + fh + 2.0,
                                 IN_WIDTH, density=0.65, **c))
        for bx in np.arange(hold.x0 + 20, hold.x1 - 10, 60.0):
            conceal_prims.append(box("steel", bx, bx + 4, hold.y0, hold.y0 + fh, IN_WIDTH * 0.02,
                                     **c))
        plen = float(rng.uniform(100, min(500, hold.x1 - hold.x0 - 40)))
        px = float(rng.uniform(hold.x0 + 10, hold.x1 - plen - 10))
        tag = f"item{len(items)}"
        _bricks(conceal_prims, px, px + plen, hold.y0 + 1, hold.y0 + fh - 1,
                float(rng.uniform(60, 200)), tag, rng)
        items.append(ConcealedItem(tag, "contraband_package", concealment,
                                   "packages under a false floor"))
        notes["false_floor_height_cm"] = fh
        hold = _hold_of(hold, y0=hold.y0 + fh + 2.0)
    if concealment == "false_wall":
        conceal_prims += conceal("false_wall", hold, [], rng, items)
        wall_x = max(p.extent[1] for p in conceal_prims if p.tag == "false_wall")
        hold = _hold_of(hold, x0=wall_x + 1.0)
    if concealment == "vehicle":
        conceal_prims += conceal("vehicle", hold, [], rng, items)
        car_end = max(p.extent[1] for p in conceal_prims)
        hold = _hold_of(hold, x0=car_end + 10.0)
    if concealment == "cigarettes":
        conceal_prims += conceal("cigarettes", hold, [], rng, items)
        # legitimate cartons share the width with the cases (one pallet across there)
        # and fill the rest of the container: the cases hide behind them
        cargo = "cartons"
    cargo_prims: list[Prim] = []
    if cargo != "empty" and hold.x1 - hold.x0 > 130:
        if single:
            cargo_prims = single_item(hold, rng)
        elif concealment == "cigarettes":
            cig_end = max(p.extent[1] for p in conceal_prims)
            cargo_prims = cargo_cartons(hold, rng, 1.0 if fill is None else fill,
                                        single_across_before=cig_end)
        else:
            cargo_prims = CARGO_BUILDERS[cargo](hold, rng, fill)
    elif cargo != "empty":
        cargo = "empty"
    if concealment in ("drugs", "firearms"):
        conceal_prims += conceal(concealment, hold, cargo_prims, rng, items)
    prims += cargo_prims + conceal_prims
    x_end = c_front + CONTAINER[length_ft]["length"] + (30.0 if with_truck else 0.0) + margin
    extent = (0.0, x_end, 0.0, y_top)
    notes["fill"] = fill
    notes["single_item"] = bool(single)
    return ContainerScene(length_ft, prims, extent, (c_front, c_front + L), floor_top,
                          cargo if cargo_prims else "empty", concealment, items, with_truck,
                          notes)


__all__ = ["ContainerScene", "ConcealedItem", "sample_scene", "CARGO_CATEGORIES", "EXTRA_CARGO",
           "KNOWN_CARGO",
           "CONCEALMENTS", "CLASSES", "build_container", "build_tractor", "build_chassis",
           "ALIASES", "Hold"]
