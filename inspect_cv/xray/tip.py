"""Threat image projection (TIP): insert a threat signature into a scan.

Physics: stacked objects' attenuations add (Beer-Lambert), so projecting a threat adds its
attenuation ``-ln T`` to the scan's, i.e. multiplies transmissions. For a dual-energy pair
stacked as channels, or for the channels of a pseudo-colour image taken as per-channel
transmissions, this is done per channel (an approximation for pseudo-colour, exact for
monochromatic channels; beam hardening makes it approximate for polychromatic ones).

Geometry: the signature (times ``mask``) is scaled and rotated about its centre onto an
expanded canvas (nothing is cut), multiplied by ``density``, values below
``ATT_MIN`` are zeroed (interpolation dust), and the canvas is pasted with its top-left
corner at ``position=(x, y)`` (for rotation 0 and scale 1 the canvas is the signature
array itself), clipped at the scan edge. The returned box is the exact
``[x1, y1, x2, y2]`` (x2, y2 exclusive) of the pasted nonzero attenuation.
"""
from __future__ import annotations

import math

import numpy as np

from inspect_cv.errors import EmptyImageError, InputError

ATT_MIN = 1e-4
"""Attenuation below which a warped threat pixel counts as empty (zeroed)."""
RGB_FLOOR = 0.5
"""Pixel value used instead of 0 when a uint8 image is read as transmission v / 255."""

Box = tuple[int, int, int, int]


def _warp_channel(img: np.ndarray, rotation_deg: float, scale: float) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    if scale < 1.0:  # pre-shrink with area averaging so the integral is preserved
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
        img = img * ((w * h * scale * scale) / (nw * nh))
        scale_rest = 1.0
        h, w = img.shape[:2]
    else:
        scale_rest = scale
    if rotation_deg % 360 == 0 and scale_rest == 1.0:
        return img
    a = math.radians(rotation_deg)
    c, s = math.cos(a) * scale_rest, math.sin(a) * scale_rest
    # forward map of pixel centres, rotation counter-clockwise on screen (y down)
    m = np.array([[c, s, 0.0], [-s, c, 0.0]])
    corners = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]])
    pts = corners @ m[:, :2].T
    lo = np.floor(pts.min(axis=0)) - 1
    hi = np.ceil(pts.max(axis=0)) + 1
    m[:, 2] = -lo - 0.5
    out_w, out_h = int(hi[0] - lo[0]), int(hi[1] - lo[1])
    chans = [img] if img.ndim == 2 else [img[..., k] for k in range(img.shape[2])]
    warped = [cv2.warpAffine(np.ascontiguousarray(ch), m, (out_w, out_h),
                             flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                             borderValue=0) for ch in chans]
    return warped[0] if img.ndim == 2 else np.stack(warped, axis=-1)


def transform_threat(threat_att, mask=None, rotation_deg: float = 0.0, scale: float = 1.0,
                     density: float = 1.0) -> np.ndarray:
    """Masked, scaled, rotated and density-scaled signature on its expanded canvas.

    float32, (h', w') or (h', w', C). Without rotation and scaling the canvas is the input
    array itself; otherwise it is the bounding rectangle of the transformed input plus a
    1-pixel margin (nothing is cut). The canvas depends only on the input shape, rotation
    and scale, not on the values, so projections of A and B with the same geometry line up.
    """
    att = np.asarray(threat_att, dtype=np.float32)
    if att.ndim not in (2, 3) or att.size == 0:
        raise EmptyImageError(f"threat_att must be a non-empty (h, w) or (h, w, C) array, "
                              f"got shape {att.shape}")
    if not np.all(np.isfinite(att)) or att.min() < 0:
        raise InputError("threat_att must be finite and >= 0 (attenuation -ln T)")
    if not (np.isfinite(scale) and scale > 0):
        raise InputError(f"scale must be > 0, got {scale}")
    if not (np.isfinite(density) and density >= 0):
        raise InputError(f"density must be >= 0, got {density}")
    if mask is not None:
        mk = np.asarray(mask, dtype=np.float32)
        if mk.shape != att.shape[:2]:
            raise InputError(f"mask shape {mk.shape} differs from threat shape {att.shape[:2]}")
        att = att * (mk[..., None] if att.ndim == 3 else mk)
    out = _warp_channel(att, float(rotation_deg), float(scale)) * np.float32(density)
    out = np.array(out, dtype=np.float32, copy=True)
    out[out < ATT_MIN] = 0.0
    return out


def _paste(scan_att_shape: tuple[int, ...], sig: np.ndarray, position: tuple[int, int]
           ) -> tuple[tuple[slice, slice], np.ndarray, Box] | None:
    H, W = scan_att_shape[:2]
    x, y = int(round(position[0])), int(round(position[1]))
    h, w = sig.shape[:2]
    x1, y1, x2, y2 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 >= x2 or y1 >= y2:
        return None
    part = sig[y1 - y:y2 - y, x1 - x:x2 - x]
    nz = part.any(axis=-1) if part.ndim == 3 else part > 0
    if not nz.any():
        return None
    ys, xs = np.nonzero(nz)
    box = (x1 + int(xs.min()), y1 + int(ys.min()), x1 + int(xs.max()) + 1,
           y1 + int(ys.max()) + 1)
    return (slice(y1, y2), slice(x1, x2)), part, box


def project_threat(scan, threat_att, mask=None, position: tuple[int, int] = (0, 0),
                   rotation_deg: float = 0.0, scale: float = 1.0, density: float = 1.0,
                   domain: str = "transmission") -> tuple[np.ndarray, Box | None]:
    """Project a threat's attenuation signature into a scan.

    ``scan``: transmission (``domain="transmission"``, values in (0, 1]) or attenuation
    (``domain="attenuation"``) image, (H, W) or (H, W, C). ``threat_att``: (h, w) (applied
    to every channel) or (h, w, C). Returns ``(new_scan float32, box)`` with ``box`` the
    exact ``[x1, y1, x2, y2]`` (exclusive ends) of the pasted nonzero attenuation, or
    ``None`` when nothing lands in the scan (the scan is then returned unchanged).
    ``position`` is the top-left corner of the transformed signature's canvas (see
    :func:`transform_threat`): without rotation/scale, threat pixel (i, j) lands on scan
    pixel (y + i, x + j).
    """
    if domain not in ("transmission", "attenuation"):
        raise InputError(f"domain must be 'transmission' or 'attenuation', got '{domain}'")
    img = np.asarray(scan)
    if img.ndim not in (2, 3) or img.size == 0:
        raise EmptyImageError(f"scan must be a non-empty (H, W) or (H, W, C) array, "
                              f"got shape {img.shape}")
    out = img.astype(np.float32, copy=True)
    sig = transform_threat(threat_att, mask, rotation_deg, scale, density)
    if sig.ndim == 3:
        if img.ndim != 3 or sig.shape[2] != img.shape[2]:
            raise InputError(f"threat has {sig.shape[2]} channels but scan has shape "
                             f"{img.shape}")
    elif img.ndim == 3:
        sig = sig[..., None]
    placed = _paste(out.shape, sig, position)
    if placed is None:
        return out, None
    region, part, box = placed
    if domain == "transmission":
        out[region] *= np.exp(-part)
    else:
        out[region] += part
    return out, box


def rgb_to_attenuation(rgb) -> np.ndarray:
    """Per-channel attenuation ``-ln(max(v, RGB_FLOOR) / 255)`` of a uint8 image."""
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8:
        raise InputError(f"expected a uint8 image, got dtype {arr.dtype}")
    return -np.log(np.maximum(arr.astype(np.float32), RGB_FLOOR) / 255.0)


def attenuation_to_rgb(att) -> np.ndarray:
    """Inverse of :func:`rgb_to_attenuation`: ``rint(255 exp(-att))`` as uint8."""
    return np.clip(np.rint(255.0 * np.exp(-np.asarray(att, np.float32))), 0, 255
                   ).astype(np.uint8)


def threat_signature_from_rgb(rgb_on_air) -> np.ndarray:
    """Per-channel attenuation signature of a threat rendered alone on air (white)."""
    return rgb_to_attenuation(rgb_on_air)


def project_threat_rgb(image, threat_att, mask=None, position: tuple[int, int] = (0, 0),
                       rotation_deg: float = 0.0, scale: float = 1.0, density: float = 1.0
                       ) -> tuple[np.ndarray, Box | None]:
    """TIP on a displayed uint8 image (pseudo-colour (H, W, 3) or greyscale (H, W)).

    Each channel is read as a transmission ``v / 255``, the threat's per-channel
    attenuation is added in the ``-ln`` domain and the result written back as uint8.
    """
    img = np.asarray(image)
    att = rgb_to_attenuation(img)
    new_att, box = project_threat(att, threat_att, mask, position, rotation_deg, scale,
                                  density, domain="attenuation")
    if box is None:
        return img.copy(), None
    out = img.copy()
    x1, y1, x2, y2 = box
    out[y1:y2, x1:x2] = attenuation_to_rgb(new_att[y1:y2, x1:x2])
    return out, box
