"""What OpenCV's image libraries print on file descriptor 2, caught and turned into data.

libjpeg reports damaged entropy-coded data ("Corrupt JPEG data: premature end of data
segment") on the process's standard error and still returns a picture, partly grey. For an
inspection station that is a damaged scan, not a noisy log line: the reader turns such
messages into :class:`CorruptImageError` and keeps the terminal clean. Redirecting fd 2 is
process-wide, so captures are serialised by a lock, and whatever else was written to fd 2
during the (millisecond) window is written back afterwards.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator

_LOCK = threading.Lock()

# libjpeg messages that mean the decoded picture is not what the scanner wrote
JPEG_DAMAGE = ("Corrupt JPEG data", "Premature end of JPEG file", "Invalid SOS parameters",
               "Bogus marker", "Huffman table", "Unsupported marker")
# library chatter dropped outright: harmless warnings, and OpenCV's own log lines about a
# file it could not decode (the reader reports that as a typed error with the file's name)
NOISE = ("libpng warning:", "libpng error:", "Warning: unknown JFIF revision", "Warning: thumbnail image size")
CODEC_LOG = ("imgcodecs", "imdecode")


@contextmanager
def native_stderr() -> Iterator[list[str]]:
    """Collect the lines C code writes to fd 2 inside the block (yields the list, filled at exit)."""
    lines: list[str] = []
    with _LOCK:
        try:
            sys.stderr.flush()
        except (AttributeError, ValueError, OSError):
            pass
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 (some embedded interpreters): nothing to catch
            yield lines
            return
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                yield lines
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                tmp.seek(0)
                lines.extend(tmp.read().decode("utf-8", "replace").splitlines())


def split_messages(lines: list[str], damage: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(damage messages, foreign lines to write back); library noise is dropped."""
    bad, other = [], []
    for line in lines:
        text = line.strip()
        if not text or text.startswith(NOISE) or (text.startswith("[") and any(k in text for k in CODEC_LOG)):
            continue
        (bad if any(k in text for k in damage) else other).append(text)
    return bad, other


def write_back(lines: list[str]) -> None:
    """Return foreign output caught during a capture to the real standard error."""
    if lines:
        try:
            os.write(2, ("\n".join(lines) + "\n").encode())
        except OSError:
            pass
