"""A downscaled overview PNG of an inspected container scan, readable at a glance.

:func:`render_overview`: dual-energy pseudo-colour (MeV Zeff table of
:func:`inspect_cv.container.synth.zeff_lut`, fading to a log-windowed grey where the
matter is too thin for the ratio to mean anything) or the grey window for single-energy
scans; the container outline; detector boxes with labels; a banner with the empty
verdict, the mass estimate and the declaration result with its reasons.
"""
from __future__ import annotations

import numpy as np

GREEN, RED, AMBER, GREY = (20, 130, 40), (200, 20, 20), (215, 140, 0), (45, 45, 45)


def _background(scan, max_side: int) -> tuple[np.ndarray, float]:
    import cv2

    from inspect_cv.xray import physics as xphys

    from .inspect import attenuation
    from .synth import zeff_lut

    h, w = scan.shape
    f = max(1, int(np.ceil(max(h, w) / max_side)))
    ah = attenuation(scan.high, scan.air_high, scan.dark, f)
    grey = 255 * (1.0 - np.clip(ah / 9.0, 0, 1) ** 0.5)
    if scan.low is None:
        rgb = np.repeat(grey[..., None], 3, axis=2)
    else:
        al = attenuation(scan.low, scan.air_low, scan.dark, f)
        th, tl = np.exp(-ah), np.exp(-al)
        col = xphys.pseudo_colour(th, tl, "standard", lut=zeff_lut(scan.profile)).astype(np.float32)
        wgt = np.clip((ah - 0.1) / 0.3, 0, 1)[..., None]
        rgb = wgt * col + (1 - wgt) * grey[..., None]
    img = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img), img.shape[1] / w


def _banner_lines(insp) -> list[tuple[str, tuple[int, int, int]]]:
    a = insp.analysis
    lines = []
    if a.empty:
        lines.append((f"EMPTY (cargo evidence {a.score:.2f})", GREEN))
    else:
        cat = a.features.get("category")
        lines.append((f"LOADED ~{a.mass_kg:,.0f} +- {a.mass_sigma_kg:,.0f} kg"
                      + (f", looks like {cat}" if cat else "")
                      + f" (evidence {a.score:.2f})", AMBER))
    if insp.detections is not None:
        names = sorted(set(insp.detections.label_names))
        lines.append(("ALARM: " + ", ".join(names), RED) if insp.alarm else
                     (f"detector {insp.detector_name}: nothing found", GREEN))
    else:
        lines.append(("no detector run (physics only)", GREY))
    d = insp.declaration
    if d is not None:
        head = f"declared {d['declared']}"
        if d.get("declared_mass_kg") is not None:
            head += f", {float(d['declared_mass_kg']):,.0f} kg"
        if d["consistent"]:
            lines.append((f"DECLARATION CONSISTENT ({head})", GREEN))
        else:
            lines.append((f"DECLARATION INCONSISTENT ({head})", RED))
            lines += [("  - " + r["message"], RED) for r in d["reasons"]]
    return lines


def render_overview(insp, max_side: int = 2400) -> np.ndarray:
    """RGB uint8 overview of a :class:`~inspect_cv.container.inspect.ContainerInspection`."""
    import cv2

    img, r = _background(insp.scan, max_side)
    h, w = img.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    fs = max(0.5, min(1.1, w / 1800))
    th = max(1, round(fs * 2))
    bx = [int(round(v * r)) for v in insp.body.box]
    cv2.rectangle(img, (bx[0], bx[1]), (bx[2], bx[3]), (0, 160, 255), max(1, th), cv2.LINE_AA)
    if insp.detections is not None:
        from inspect_cv.vis import PALETTE

        for (x1, y1, x2, y2), s, lab, name in zip(insp.detections.boxes * r, insp.detections.scores,
                                                  insp.detections.labels, insp.detections.label_names):
            c = PALETTE[int(lab) % len(PALETTE)]
            p1, p2 = (int(x1), int(y1)), (int(np.ceil(x2)), int(np.ceil(y2)))
            cv2.rectangle(img, p1, p2, (0, 0, 0), th + 3, cv2.LINE_AA)
            cv2.rectangle(img, p1, p2, c, th + 1, cv2.LINE_AA)
            text = f"{name} {s:.2f}"
            (tw, tht), base = cv2.getTextSize(text, font, fs * 0.8, th)
            ty = p1[1] - 4 if p1[1] - tht - 6 > 0 else p2[1] + tht + 6
            cv2.rectangle(img, (p1[0], ty - tht - base), (p1[0] + tw + 4, ty + base // 2), (20, 20, 20), -1)
            cv2.putText(img, text, (p1[0] + 2, ty - base // 2), font, fs * 0.8, c, th, cv2.LINE_AA)
    lines = _banner_lines(insp)
    lh = int(34 * fs) + 8
    banner = np.full((lh * len(lines) + 10, w, 3), 30, np.uint8)
    for i, (text, colour) in enumerate(lines):
        y0 = 5 + i * lh
        cv2.rectangle(banner, (0, y0), (14, y0 + lh - 4), colour, -1)
        cv2.putText(banner, text, (24, y0 + lh - 12), font, fs, (255, 255, 255) if i else
                    tuple(min(255, c + 60) for c in colour), th, cv2.LINE_AA)
    title = f"{insp.scan.path or 'scan'}  {insp.scan.shape[1]}x{insp.scan.shape[0]} px, {insp.scan.pixel_mm:g} mm"
    cv2.putText(banner, title, (max(24, w - int(cv2.getTextSize(title, font, fs * 0.6, 1)[0][0]) - 10),
                                int(lh * 0.6)), font, fs * 0.6, (190, 190, 190), 1, cv2.LINE_AA)
    return np.concatenate([banner, img], axis=0)


__all__ = ["render_overview"]
