"""Command-line options shared by several commands."""
from __future__ import annotations

import argparse

# = inspect_cv.detection.tta.MODES, not imported here: parsing the command line loads no numpy
TTA_MODES = ("none", "flip", "gated")


def tta_mode(text: str) -> str:
    """``none``, ``flip``, ``gated`` or ``gated:LO,HI`` (checked in full by the API)."""
    if text.partition(":")[0] not in TTA_MODES or (":" in text and not text.startswith("gated:")):
        raise argparse.ArgumentTypeError(f"{text!r} is not one of none, flip, gated, gated:LO,HI")
    return text


def add_tta_argument(p, what: str = "image") -> None:
    """``--tta none|flip|gated[:LO,HI]`` (default: the model card's setting)."""
    p.add_argument("--tta", type=tta_mode, default=None, metavar="none|flip|gated[:LO,HI]",
                   help=f"flip: also run each {what} mirrored and fuse the two views (twice the model time); "
                        f"gated[:LO,HI]: mirror only each {what} whose plain alarm score lies in LO..HI "
                        "(default the card's gate); default the card's setting, which its thresholds were chosen with")
