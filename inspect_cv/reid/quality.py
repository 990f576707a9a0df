"""Quality gate for horse-face photos, and face localisation.

A photo is either a full scene (when a face detector is available, the best face box
is cropped) or already a face crop (without a detector every photo is taken as a crop:
"no face" can then not be detected, only "too small / blurred / badly exposed").

Checks, in order, each with a typed reason code:

- ``no_face``: the detector found no face above its confidence threshold;
- ``too_small``: the crop's shorter side is under ``min_size`` pixels;
- ``too_dark`` / ``too_bright``: mean grey level outside ``[min_brightness, max_brightness]``
  (0..255 scale) or more than ``max_clipped`` of the pixels saturated at 0 or 255;
- ``low_contrast``: grey-level standard deviation under ``min_contrast``;
- ``blurred``: variance of the Laplacian under ``min_sharpness``. The Laplacian is taken
  on the grey crop resized to ``sharpness_size`` pixels on its shorter side, so the
  measure describes blur relative to the face rather than to the photo's resolution
  (a sharp 1000-px crop and a sharp 200-px crop score alike).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import InputError, PhotoRejectedError  # noqa: F401  (re-exported)
from ..runtime.preprocess import to_model_rgb

REASONS = ("no_face", "too_small", "too_dark", "too_bright", "low_contrast", "blurred")


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds of the quality gate (defaults suit face crops of 8-bit photos)."""

    min_size: int = 48
    min_sharpness: float = 30.0
    sharpness_size: int = 128
    min_brightness: float = 25.0
    max_brightness: float = 235.0
    max_clipped: float = 0.5
    min_contrast: float = 8.0
    face_margin: float = 0.1
    face_square: float = 1.5
    """Side of the square face crop in units of the face box's longer side (0: the box itself
    grown by ``face_margin``). The embedder sees square face crops with the head in its middle;
    the box of a turned head is tall and narrow, and cut as it is it reaches the embedder
    stretched: on held-out synthetic scenes the square crop took identification rank-1 from
    0.525 to 0.778 (``benchmarks/horse_photo_path.py``; 1.5 chosen on other horses' scenes)."""


@dataclass
class QualityReport:
    """Measurements of one crop and the verdict (``reason`` is None when it passed)."""

    ok: bool
    reason: str | None
    message: str
    width: int
    height: int
    sharpness: float
    brightness: float
    contrast: float
    clipped: float
    box: list[float] | None = None
    face_score: float | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        return d


def grey_u8(image: np.ndarray) -> np.ndarray:
    """8-bit grey (H, W) from any image the runtime accepts."""
    rgb = to_model_rgb(image)
    return np.clip(rgb.mean(axis=2), 0, 255).astype(np.uint8)


def sharpness(grey: np.ndarray, size: int = 128) -> float:
    """Variance of the Laplacian of ``grey`` resized to ``size`` px on its shorter side."""
    import cv2

    h, w = grey.shape[:2]
    scale = size / float(min(h, w))
    if abs(scale - 1.0) > 1e-6:
        new = (max(1, round(w * scale)), max(1, round(h * scale)))
        grey = cv2.resize(grey, new, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return float(cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F, ksize=3).var())


def assess(crop: np.ndarray, config: QualityConfig = QualityConfig()) -> QualityReport:
    """Measure a face crop and decide whether it may be enrolled."""
    grey = grey_u8(crop)
    h, w = grey.shape
    mean = float(grey.mean())
    std = float(grey.std())
    clipped = float(np.mean((grey <= 2) | (grey >= 253)))
    sharp = sharpness(grey, config.sharpness_size) if min(h, w) >= 3 else 0.0
    reason, message = None, "ok"
    if min(h, w) < config.min_size:
        reason, message = "too_small", f"face crop is {w}x{h} px, needs at least {config.min_size} px on each side"
    elif mean < config.min_brightness or (clipped > config.max_clipped and mean < 128):
        reason, message = "too_dark", f"under-exposed (mean grey {mean:.0f}, {clipped:.0%} clipped)"
    elif mean > config.max_brightness or clipped > config.max_clipped:
        reason, message = "too_bright", f"over-exposed (mean grey {mean:.0f}, {clipped:.0%} clipped)"
    elif std < config.min_contrast:
        reason, message = "low_contrast", f"almost uniform (grey std {std:.1f} < {config.min_contrast})"
    elif sharp < config.min_sharpness:
        reason, message = "blurred", f"too blurred (sharpness {sharp:.1f} < {config.min_sharpness})"
    return QualityReport(reason is None, reason, message, int(w), int(h), round(sharp, 2), round(mean, 2),
                         round(std, 2), round(clipped, 4))


def locate_face(image: np.ndarray, detector=None, margin: float = 0.1, conf: float | None = None,
                name: str | None = None, square: float = 0.0) -> tuple[np.ndarray, list[float] | None, float | None]:
    """Crop the best face of ``image`` with ``detector``; without one return the image itself.

    The crop is the face box grown by ``margin`` of its size on each side or, with ``square``
    > 0, a square of ``square`` times the box's longer side centred on the box (clipped to the
    image).

    Returns ``(crop, box, score)`` where ``box`` is ``[x1, y1, x2, y2]`` in image pixels
    (None without a detector). Raises :class:`PhotoRejectedError` (``no_face``) when
    the detector finds nothing.
    """
    if detector is None:
        return image, None, None
    det = detector.predict(image, conf=conf)
    if len(det.boxes) == 0:
        raise PhotoRejectedError("no horse face found in the photo", "no_face", name)
    names = [n.lower() for n in getattr(det, "class_names", ())]
    scores = det.scores.copy()
    face_ids = [i for i, n in enumerate(names) if "face" in n]
    if face_ids:  # prefer face classes if the detector has other classes too
        keep = np.isin(det.labels, face_ids)
        if keep.any():
            scores = np.where(keep, scores, -1.0)
    best = int(np.argmax(scores))
    box = [float(v) for v in det.boxes[best]]
    crop = crop_face_box(image, box, margin, square)
    if crop.size == 0:
        raise PhotoRejectedError("the detected face box is empty", "no_face", name)
    return crop, box, float(det.scores[best])


def crop_face_box(image: np.ndarray, box, margin: float = 0.1, square: float = 0.0) -> np.ndarray:
    """``image`` cut at ``box`` (x1, y1, x2, y2) grown by ``margin`` of its size on each side or,
    with ``square`` > 0, at a square of ``square`` times its longer side centred on it; clipped
    to the image (possibly empty)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    h, w = image.shape[:2]
    if square > 0:
        half = square * max(x2 - x1, y2 - y1) / 2
        mx, my = half - (x2 - x1) / 2, half - (y2 - y1) / 2
    else:
        mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    c = [max(0, int(x1 - mx)), max(0, int(y1 - my)), min(w, int(np.ceil(x2 + mx))), min(h, int(np.ceil(y2 + my)))]
    return image[c[1]:max(c[1], c[3]), c[0]:max(c[0], c[2])]


def check_photo(image: np.ndarray, detector=None, config: QualityConfig = QualityConfig(),
                name: str | None = None, gate: bool = True) -> tuple[np.ndarray, QualityReport]:
    """Localise the face and run the gate: ``(crop, report)``.

    With ``gate`` a failed check raises :class:`PhotoRejectedError` naming the reason;
    without it the report is returned whatever the verdict (probes at verification).
    """
    crop, box, score = locate_face(image, detector, config.face_margin, name=name, square=config.face_square)
    report = assess(crop, config)
    report.box, report.face_score = box, score
    if gate and not report.ok:
        raise PhotoRejectedError(report.message, report.reason or "", name, report)
    return crop, report


__all__ = ["QualityConfig", "QualityReport", "PhotoRejectedError", "REASONS", "assess", "check_photo",
           "locate_face", "crop_face_box", "sharpness", "grey_u8"]
