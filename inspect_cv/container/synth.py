"""Render container scenes as dual-energy 16-bit scans and write labelled data sets.

``render_scan(scene, rng, profile)`` -> :class:`ContainerScan`: rasterise the scene's
mass-thickness maps on the scan grid (columns stretched by speed jitter), polychromatic
Beer-Lambert for the high- and low-energy spectra, scatter halo, detector cross-talk,
Poisson noise at the profile's dose, per-row/module gain streaks and per-pulse dose
residuals, then air-calibrated uint16 counts (air = ``profile.air_counts``, a small dark
offset with read noise). ``write_dataset`` writes scans, COCO labels, manifests and the
truth; the layout is documented in ``datasets/container_scans.md``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inspect_cv.errors import InputError

from . import physics as cphys
from .geometry import Grid, prims_box_px, rasterize
from .sim import ALIASES, CARGO_CATEGORIES, CLASSES, CONCEALMENTS, KNOWN_CARGO, ContainerScene, sample_scene


@dataclass(eq=False)
class ContainerScan:
    """One rendered scan with its labels.

    ``high``/``low``: (H, W) uint16 air-calibrated counts (air ~ ``meta["air_counts"]``,
    ``meta["dark_counts"]`` offset); ``boxes``: (N, 4) float32 xyxy pixels (x2/y2
    exclusive) of the concealed items; ``labels``: (N,) int indices into
    ``class_names``; ``empty``: nothing but the container (and truck); ``cargo``: true
    cargo category; ``cargo_mass_kg``: true mass of everything loaded; ``pixel_mm``:
    nominal pixel pitch (rows exact; columns vary with speed, see ``meta``).
    """

    high: np.ndarray
    low: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    class_names: tuple
    empty: bool
    cargo: str
    cargo_mass_kg: float
    pixel_mm: float
    meta: dict = field(default_factory=dict)

    def transmission(self) -> tuple[np.ndarray, np.ndarray]:
        """(high_T, low_T) float32 in (0, 1]: counts calibrated with the dark and air level."""
        dark, air = self.meta["dark_counts"], self.meta["air_counts"]
        out = []
        for img in (self.high, self.low):
            t = (img.astype(np.float32) - np.float32(dark)) / np.float32(air - dark)
            out.append(np.clip(t, 1e-5, 1.0))
        return out[0], out[1]


# --------------------------------------------------------------------------- the grid
def scan_grid(scene: ContainerScene, profile: cphys.LinacProfile,
              rng: np.random.Generator | None, pixel_mm: float | None = None) -> Grid:
    """The scan grid: rows at the detector pitch, columns stretched by speed jitter.

    The vehicle speed is ``v(t) = v0 (1 + j * s(t))`` with ``s`` a smooth random curve
    (std 1) and ``j = profile.speed_jitter``; columns are acquired at a fixed pulse rate,
    so column ``i`` spans ``pitch * (1 + j * s_i)`` cm. The curve is normalised to mean 1
    over the scan, so the total length is exact.
    """
    x0, x1, y0, y1 = scene.extent
    pitch = (profile.pixel_mm if pixel_mm is None else pixel_mm) / 10.0
    w = int(np.ceil((x1 - x0) / pitch))
    h = int(np.ceil((y1 - y0) / pitch))
    if w * h > 60_000_000:
        raise InputError(f"scan grid of {h} x {w} pixels is too large")
    s = np.ones(w)
    if rng is not None and profile.speed_jitter > 0:
        n_knots = max(4, w // 300)
        knots = rng.standard_normal(n_knots)
        s = np.interp(np.linspace(0, n_knots - 1, w), np.arange(n_knots), knots)
        s = 1.0 + profile.speed_jitter * (s - s.mean()) / max(s.std(), 1e-9)
        s = np.clip(s, 0.5, 1.5)
        s = s / s.mean()
    widths = pitch * s * ((x1 - x0) / (pitch * w))
    edges = x0 + np.concatenate([[0.0], np.cumsum(widths)])
    return Grid(edges, y0 + h * pitch, pitch, h)


def mass_maps(prims, grid: Grid) -> dict[str, np.ndarray]:
    """Mass-thickness maps (g/cm^2) keyed by material, aliases merged (float32)."""
    from .geometry import Prim

    merged = [p if p.material not in ALIASES else
              Prim(ALIASES[p.material], p.density, p.depth, p.fx, p.fy, p.disc, p.role, p.tag)
              for p in prims]
    return rasterize(merged, grid)


def integrated_mass_kg(maps: dict[str, np.ndarray], grid: Grid) -> float:
    """Sum over pixels of mass thickness (g/cm^2) times pixel area (cm^2), in kg."""
    area = grid.pixel_area_cm2()[None, :]
    return float(sum(float((m.astype(np.float64) * area).sum()) for m in maps.values()) / 1e3)


# -------------------------------------------------------------------------- detector
def _smooth_noise(n: int, rng: np.random.Generator, corr: int) -> np.ndarray:
    k = max(2, n // max(corr, 1))
    knots = rng.standard_normal(k + 1)
    return np.interp(np.linspace(0, k, n), np.arange(k + 1), knots)


def _scatter(T: np.ndarray, fraction: float, sigma_px: float) -> np.ndarray:
    """Add a broad scatter halo: (1 - f) T + f * blur(T), computed at reduced size."""
    import cv2

    if fraction <= 0:
        return T
    f = max(1, int(sigma_px // 4))
    small = cv2.resize(T, (max(1, T.shape[1] // f), max(1, T.shape[0] // f)),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), max(sigma_px / f, 0.5),
                             borderType=cv2.BORDER_REPLICATE)
    halo = cv2.resize(small, (T.shape[1], T.shape[0]), interpolation=cv2.INTER_LINEAR)
    return (1 - fraction) * T + fraction * halo


def _detect(T: np.ndarray, i0: float, prof: cphys.LinacProfile, row_gain: np.ndarray,
            rng: np.random.Generator, noise: bool) -> np.ndarray:
    import cv2

    T = _scatter(T, prof.scatter_fraction, prof.scatter_sigma_cm * 10 / prof.pixel_mm)
    if prof.blur_px > 0:
        T = cv2.GaussianBlur(T, (0, 0), prof.blur_px, borderType=cv2.BORDER_REPLICATE)
    if noise:
        lam = T * np.float32(i0)
        T = (lam + np.sqrt(lam) * rng.standard_normal(T.shape, dtype=np.float32)) / np.float32(i0)
        pulse = 1 + prof.pulse_std * rng.standard_normal(T.shape[1]).astype(np.float32)
        T = T * row_gain[:, None] * pulse[None, :]
    return T


def _counts(T: np.ndarray, prof: cphys.LinacProfile, rng: np.random.Generator,
            noise: bool) -> np.ndarray:
    dark = np.float32(prof.dark_counts)
    span = np.float32(prof.air_counts - prof.dark_counts)
    v = dark + span * np.clip(T, 0, 1.02)
    if noise:
        v = v + np.float32(3.0) * rng.standard_normal(T.shape, dtype=np.float32)
    return np.clip(np.rint(v), 0, 65535).astype(np.uint16)


def render_scan(scene: ContainerScene, rng: np.random.Generator | None = None,
                profile: cphys.LinacProfile | str | None = None, noise: bool = True,
                pixel_mm: float | None = None, flip: bool | None = None) -> ContainerScan:
    """Render a scene as a dual-energy scan with labels.

    ``flip``: mirror the scan (vehicle driving the other way); None: random.
    ``pixel_mm`` overrides the profile's pitch (e.g. coarse scans in tests).
    """
    if not isinstance(scene, ContainerScene):
        raise InputError(f"scene must be a ContainerScene, got {type(scene).__name__}")
    prof = cphys.get_profile(profile)
    if pixel_mm is not None and not 0.5 <= pixel_mm <= 100:
        raise InputError(f"pixel_mm must be in [0.5, 100], got {pixel_mm}")
    rng = rng if rng is not None else np.random.default_rng()
    grid = scan_grid(scene, prof, rng if noise else None, pixel_mm)
    maps = mass_maps(scene.prims, grid)
    if flip is None:
        flip = bool(rng.random() < 0.5)
    spec_h, spec_l = prof.spectra
    t_high, t_low = cphys.transmissions(maps, [spec_h, spec_l])
    del maps
    h = grid.height
    module = np.repeat(1 + prof.module_gain_std * rng.standard_normal(h // prof.module_rows + 1),
                       prof.module_rows)[:h]
    row_gain = (module * (1 + prof.row_gain_std * rng.standard_normal(h))).astype(np.float32)
    i0_h, i0_l = prof.i0_high, prof.i0_low
    t_high = _detect(t_high, i0_h, prof, row_gain, rng, noise)
    row_gain_l = row_gain * (1 + 0.3 * prof.row_gain_std
                             * rng.standard_normal(h)).astype(np.float32)
    t_low = _detect(t_low, i0_l, prof, row_gain_l, rng, noise)
    high = _counts(t_high, prof, rng, noise)
    low = _counts(t_low, prof, rng, noise)
    boxes, labels, item_meta = [], [], []
    for item in scene.items:
        b = prims_box_px(scene.prims_of(tag=item.item_id), grid)
        if b is None:
            continue
        x1, y1, x2, y2 = b
        if flip:
            x1, x2 = grid.width - x2, grid.width - x1
        boxes.append((x1, y1, x2, y2))
        labels.append(CLASSES.index(item.cls))
        item_meta.append({"item_id": item.item_id, "class": item.cls, "kind": item.kind,
                          "box": [int(x1), int(y1), int(x2), int(y2)],
                          "mass_kg": round(sum(p.mass_kg for p in
                                               scene.prims_of(tag=item.item_id)), 3),
                          "description": item.description})
    if flip:
        high = np.ascontiguousarray(high[:, ::-1])
        low = np.ascontiguousarray(low[:, ::-1])
    col_w = np.diff(grid.col_edges)
    meta = {
        "profile": prof.name, "profile_description": prof.description,
        "high_mev": prof.high_mev, "low_mev": prof.low_mev,
        "air_counts": prof.air_counts, "dark_counts": prof.dark_counts,
        "pixel_mm_rows": grid.pitch_y * 10, "pixel_mm_cols_mean": float(col_w.mean() * 10),
        "pixel_mm_cols_min": float(col_w.min() * 10),
        "pixel_mm_cols_max": float(col_w.max() * 10),
        "flipped": flip, "length_ft": scene.length_ft, "with_truck": scene.with_truck,
        "concealment": scene.concealment, "items": item_meta,
        "tare_kg": round(scene.tare_kg, 1),
        "container_px": _container_px(scene, grid, flip),
        "floor_row": int(np.clip((grid.y_top - scene.floor_y) / grid.pitch_y, 0, h)),
        "notes": scene.notes,
    }
    return ContainerScan(high, low, np.asarray(boxes, np.float32).reshape(-1, 4),
                         np.asarray(labels, np.int64), CLASSES, scene.empty, scene.cargo,
                         round(scene.cargo_mass_kg, 3), prof.pixel_mm if pixel_mm is None
                         else float(pixel_mm), meta)


def _container_px(scene: ContainerScene, grid: Grid, flip: bool) -> list[int]:
    x0, x1 = scene.container_x
    c0, c1 = grid.col_span(x0, x1)
    if flip:
        c0, c1 = grid.width - c1, grid.width - c0
    return [int(c0), int(c1)]


# -------------------------------------------------------------------------- previews
def preview_grey(scan: ContainerScan, max_width: int = 2400, a_max: float = 9.0,
                 gamma: float = 0.5) -> np.ndarray:
    """uint8 greyscale preview (dark = dense): ``255 (1 - (A / a_max) ** gamma)`` of the
    high-energy attenuation ``A = -ln T`` (a log window whose gamma < 1 stretches thin
    objects, like the enhanced display of inspection consoles), downscaled to
    ``max_width`` columns."""
    import cv2

    t, _ = scan.transmission()
    a = -np.log(t)
    v = 1.0 - np.clip(a / a_max, 0, 1) ** gamma
    img = np.clip(255 * v + 0.5, 0, 255).astype(np.uint8)
    return _downscale(img, max_width, cv2)


def preview_colour(scan: ContainerScan, max_width: int = 2400) -> np.ndarray:
    """uint8 RGB dual-energy pseudo-colour (rough material map) from
    :func:`inspect_cv.xray.physics.pseudo_colour` with a Zeff table for the scan's spectra."""
    import cv2

    from inspect_cv.xray import physics as xphys

    th, tl = scan.transmission()
    f = max(1, int(np.ceil(th.shape[1] / max_width)))
    if f > 1:
        size = (th.shape[1] // f, th.shape[0] // f)
        th = cv2.resize(th, size, interpolation=cv2.INTER_AREA)
        tl = cv2.resize(tl, size, interpolation=cv2.INTER_AREA)
    lut = zeff_lut(scan.meta["profile"])
    rgb = xphys.pseudo_colour(th, tl, "standard", lut=lut).astype(np.float32)
    # below ~0.3 high-energy attenuation the MeV ratio is noise: fade to grey there
    a_h = -np.log(th)
    w = np.clip((a_h - 0.1) / 0.3, 0, 1)[..., None]
    grey = (255 * np.clip(th, 0, 1) ** 0.55)[..., None]
    return np.clip(w * rgb + (1 - w) * grey + 0.5, 0, 255).astype(np.uint8)


_LUT_CACHE: dict = {}
LUT_Z = tuple(range(3, 31))


def zeff_lut(profile: cphys.LinacProfile | str | None = None, n_a: int = 256,
             n_r: int = 256, a_max: float = 8.0):
    """Zeff look-up table (A_high, R) -> Zeff for the profile's MeV spectra.

    At MeV energies pair production grows with Z at the high energy, so at a fixed
    A_high the ratio R = A_low / A_high *decreases* with Z (the opposite of kV
    baggage scanners): the table inverts the noise-free R(A_high) curves of the
    elements Z = 3..30 (forced monotone decreasing) computed from the attenuation table.
    """
    from inspect_cv.xray import physics as xphys
    from inspect_cv.xray.materials import ZEFF_BOUNDARIES
    from inspect_cv.xray.scanner import element_curve

    prof = cphys.get_profile(profile)
    spec_h, spec_l = prof.spectra
    key = (spec_h.key(), spec_l.key(), n_a, n_r, a_max)
    if key in _LUT_CACHE:
        return _LUT_CACHE[key]
    a_grid = np.linspace(0.0, a_max, n_a)
    mt = np.geomspace(1e-3, 5e3, 400)
    curves, r_at = {}, np.empty((len(LUT_Z), n_a))
    for k, z in enumerate(LUT_Z):
        a_h, r = element_curve(z, spec_l, spec_h, mt)
        a_h = np.concatenate([[0.0], a_h])
        r = np.concatenate([[r[0]], r])
        curves[z] = (a_h, r)
        r_at[k] = np.interp(a_grid, a_h, r)
    r_at = np.minimum.accumulate(r_at, axis=0)
    r_grid = np.linspace(r_at.min() * 0.98, r_at.max() * 1.02, n_r)
    zs = np.asarray(LUT_Z, dtype=np.float64)
    table = np.empty((n_a, n_r), dtype=np.float32)
    for i in range(n_a):
        col = r_at[::-1, i] + np.arange(len(LUT_Z)) * 1e-9      # increasing in R
        table[i] = np.interp(r_grid, col, zs[::-1])
    lut = xphys.ZeffLUT(a_grid, r_grid, table, ZEFF_BOUNDARIES, curves)
    _LUT_CACHE[key] = lut
    return lut


def _downscale(img: np.ndarray, max_width: int, cv2) -> np.ndarray:
    f = max(1, int(np.ceil(img.shape[1] / max_width)))
    if f == 1:
        return img
    return cv2.resize(img, (img.shape[1] // f, img.shape[0] // f), interpolation=cv2.INTER_AREA)


__all__ = ["ContainerScan", "render_scan", "scan_grid", "mass_maps", "integrated_mass_kg",
           "preview_grey", "preview_colour", "zeff_lut", "CARGO_CATEGORIES", "CONCEALMENTS",
           "sample_scene"]


# --------------------------------------------------------------------------- data set
MANIFEST_ERRORS = ("declared_empty_but_loaded", "wrong_category", "mass_misdeclared")
FALSE_MANIFEST_FRACTION = 0.25
CONCEALMENT_FRACTION = 0.5
SINGLE_ITEM_FRACTION = 0.1


@dataclass(frozen=True)
class SynthOptions:
    """Data-set options: ``length`` 20, 40 or "mixed"; ``empty_fraction`` of empty
    containers; ``with_truck``; ``profile`` name; ``pixel_mm`` override;
    ``false_manifest_fraction`` of deliberately wrong manifests;
    ``concealment_fraction`` of loaded scans with a concealment; ``cargo``: the cargo
    categories loaded containers are drawn from (default all but "empty"; a subset holds
    a cargo mix out of a training set); ``concealments``: the kinds a concealment is drawn
    from (default all of :data:`CONCEALMENTS`; e.g. only "firearms" for a hard-case training
    set: with the default the draws are those of earlier versions)."""

    length: str = "mixed"
    empty_fraction: float = 0.2
    with_truck: bool = True
    profile: str = cphys.DEFAULT_PROFILE
    pixel_mm: float | None = None
    false_manifest_fraction: float = FALSE_MANIFEST_FRACTION
    concealment_fraction: float = CONCEALMENT_FRACTION
    cargo: tuple = CARGO_CATEGORIES[1:]
    concealments: tuple = CONCEALMENTS

    def check(self) -> "SynthOptions":
        if str(self.length) not in ("20", "40", "mixed"):
            raise InputError(f"length must be 20, 40 or mixed, got {self.length!r}")
        for name in ("empty_fraction", "false_manifest_fraction", "concealment_fraction"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 <= v <= 1):
                raise InputError(f"{name.replace('_', '-')} must be in [0, 1], got {v!r}")
        cphys.get_profile(self.profile)
        known = KNOWN_CARGO[1:]
        bad = [c for c in self.cargo if c not in known]
        if not self.cargo or bad or isinstance(self.cargo, str):
            raise InputError(f"cargo must be a non-empty list of {', '.join(known)}; "
                             f"got {self.cargo!r}")
        bad = [c for c in self.concealments if c not in CONCEALMENTS]
        if not self.concealments or bad or isinstance(self.concealments, str):
            raise InputError(f"concealments must be a non-empty list of {', '.join(CONCEALMENTS)}; "
                             f"got {self.concealments!r}")
        return self


def scan_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of scan ``index`` of a data set: depends only on (seed, index)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def sample_dataset_scene(rng: np.random.Generator, opts: SynthOptions) -> ContainerScene:
    """The scene of one data-set scan (length, empty or loaded, cargo, concealment)."""
    length = int(rng.choice([20, 40])) if str(opts.length) == "mixed" else int(opts.length)
    if rng.random() < opts.empty_fraction:
        return sample_scene(rng, length, cargo="empty", concealment=None,
                            with_truck=opts.with_truck)
    cargo = str(rng.choice(list(opts.cargo)))
    single = bool(rng.random() < SINGLE_ITEM_FRACTION)
    conc = None
    if not single and rng.random() < opts.concealment_fraction:
        conc = str(rng.choice(list(opts.concealments)))
    return sample_scene(rng, length, cargo=cargo, concealment=conc,
                        with_truck=opts.with_truck, single=single)


def make_manifest(container_id: str, scan: ContainerScan, rng: np.random.Generator,
                  false_fraction: float) -> tuple[dict, list[str]]:
    """(manifest, errors): the declaration, deliberately wrong with ``false_fraction``.

    A true manifest declares the true cargo category ("empty" for an empty container)
    and the true mass within +-3 % (rounded to 10 kg). Errors: declared empty but
    loaded, a wrong category, or the mass off by 25-60 %.
    """
    true_mass = scan.cargo_mass_kg
    declared = "empty" if scan.empty else scan.cargo
    mass = 0.0 if scan.empty else true_mass * float(rng.uniform(0.97, 1.03))
    errors: list[str] = []
    if rng.random() < false_fraction:
        kinds = ["mass_misdeclared", "wrong_category"] if not scan.empty else ["wrong_category"]
        if not scan.empty:
            kinds.append("declared_empty_but_loaded")
        kind = str(rng.choice(kinds))
        if kind == "declared_empty_but_loaded":
            declared, mass = "empty", 0.0
        elif kind == "wrong_category":
            others = [c for c in CARGO_CATEGORIES if c not in (declared, "empty")]
            declared = str(rng.choice(others))
            if scan.empty:
                mass = float(rng.uniform(2000, 15000))
        else:
            f = float(rng.uniform(0.25, 0.6))
            mass = true_mass * (1 - f if rng.random() < 0.5 else 1 + f)
        errors.append(kind)
    manifest = {"container_id": container_id, "declared": declared,
                "declared_mass_kg": float(round(mass / 10.0) * 10.0),
                "length_ft": scan.meta["length_ft"]}
    return manifest, errors


def _write_tiff(path: Path, img: np.ndarray) -> None:
    """uint16 TIFF, deflate level 1 with horizontal predictor (fast, ~2x smaller than raw;
    readable by :func:`inspect_cv.io.read_image` and any TIFF reader)."""
    import os

    import tifffile

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tifffile.imwrite(tmp, img, photometric="minisblack", predictor=True,
                         compression="zlib", compressionargs={"level": 1})
        os.replace(tmp, path)
    except OSError as e:
        raise InputError(f"cannot write scan ({e.strerror or e})", path) from None


def _one(args) -> dict:
    out_dir, seed, index, opts = args
    rng = scan_rng(seed, index)
    scene = sample_dataset_scene(rng, opts)
    scan = render_scan(scene, rng, opts.profile, pixel_mm=opts.pixel_mm)
    cid = f"SIMU{seed % 1000:03d}{index:07d}"
    high_name, low_name = f"scans/{cid}_high.tif", f"scans/{cid}_low.tif"
    _write_tiff(Path(out_dir) / high_name, scan.high)
    _write_tiff(Path(out_dir) / low_name, scan.low)
    manifest, errors = make_manifest(cid, scan, rng, opts.false_manifest_fraction)
    if scene.items:
        errors = errors + ["undeclared_items"]
    truth = {
        "container_id": cid, "index": index, "high": high_name, "low": low_name,
        "width": int(scan.high.shape[1]), "height": int(scan.high.shape[0]),
        "empty": scan.empty, "cargo": scan.cargo,
        "cargo_mass_kg": scan.cargo_mass_kg,
        "boxes": scan.boxes.tolist(), "labels": [CLASSES[i] for i in scan.labels],
        "manifest_false": bool(errors), "manifest_errors": errors,
        "pixel_mm": scan.pixel_mm, **scan.meta,
    }
    (Path(out_dir) / "manifests" / f"{cid}.json").write_text(json.dumps(manifest, indent=1))
    (Path(out_dir) / "truth" / f"{cid}.json").write_text(json.dumps(truth, indent=1,
                                                                      default=_jsonable))
    return truth


def _jsonable(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_dataset(out_dir, n: int, seed: int = 0, progress=None, workers: int = 1,
                  options: SynthOptions | None = None, **kw) -> Path:
    """Write ``n`` container scans with labels to ``out_dir``; returns the COCO path.

    Layout: ``scans/<id>_high.tif`` and ``scans/<id>_low.tif`` (uint16 TIFF),
    ``annotations.json`` (COCO; ``file_name`` is the high-energy file, the image entry
    also holds ``low_file_name``, ``container_id``, ``empty``, ``cargo``,
    ``cargo_mass_kg``), ``manifests/<id>.json`` (the declaration, possibly false),
    ``truth/<id>.json`` (everything true) and ``generator.json``. Scan ``i`` depends only
    on (seed, i), not on ``n`` or ``workers``. ``kw`` are :class:`SynthOptions` fields.
    """
    from inspect_cv.formats.coco import to_coco_dict
    from inspect_cv.formats.core import DetectionDataset, ImageRecord

    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise InputError(f"n must be a positive integer, got {n!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be >= 1, got {workers!r}")
    opts = (options or SynthOptions()).__class__(**{**(options or SynthOptions()).__dict__,
                                                    **kw}).check()
    out = Path(out_dir)
    try:
        for sub in ("scans", "manifests", "truth"):
            (out / sub).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create output folder ({e.strerror or e})", out) from None
    jobs = [(str(out), int(seed), i, opts) for i in range(int(n))]
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            it = pool.map(_one, jobs)
            truths = list(progress(it, total=n, desc="container") if progress else it)
    else:
        it = map(_one, jobs)
        truths = list(progress(it, total=n, desc="container") if progress else it)
    ds = DetectionDataset(list(CLASSES))
    for t in truths:
        ds.images.append(ImageRecord(t["high"], t["width"], t["height"],
                                     np.asarray(t["boxes"], np.float32).reshape(-1, 4),
                                     [CLASSES.index(c) for c in t["labels"]],
                                     {"id": t["index"] + 1}))
    coco = to_coco_dict(ds)
    for img, t in zip(coco["images"], truths):
        img.update({"low_file_name": t["low"], "container_id": t["container_id"],
                    "empty": t["empty"], "cargo": t["cargo"],
                    "cargo_mass_kg": t["cargo_mass_kg"], "pixel_mm": t["pixel_mm"]})
    coco["info"] = {"description": "inspect-cv synthetic container scans", "seed": int(seed)}
    coco_path = out / "annotations.json"
    coco_path.write_text(json.dumps(coco))
    gen = {"generator": "inspect_cv.container", "n": int(n), "seed": int(seed),
           "options": {k: v for k, v in opts.__dict__.items()},
           "classes": list(CLASSES), "cargo_categories": list(CARGO_CATEGORIES),
           "profile": cphys.get_profile(opts.profile).description,
           "counts": {"empty": sum(t["empty"] for t in truths),
                      "boxes": sum(len(t["boxes"]) for t in truths),
                      "false_manifests": sum(t["manifest_false"] for t in truths)}}
    from inspect_cv import __version__

    gen["version"] = __version__
    (out / "generator.json").write_text(json.dumps(gen, indent=1))
    return coco_path


__all__ += ["write_dataset", "SynthOptions", "make_manifest", "scan_rng",
            "sample_dataset_scene"]
