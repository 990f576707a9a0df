"""Command-line options shared by several commands."""
from __future__ import annotations

# = inspect_cv.detection.tta.MODES, not imported here: parsing the command line loads no numpy
TTA_MODES = ("none", "flip")


def add_tta_argument(p, what: str = "image") -> None:
    """``--tta none|flip`` (default: the model card's setting)."""
    p.add_argument("--tta", choices=list(TTA_MODES), default=None,
                   help=f"flip: also run each {what} mirrored and fuse the two views (twice the model time); "
                        "default the card's setting, which its thresholds were chosen with")
