"""A small progress bar on stderr, for long loops in the CLI and in training.

The API never prints on its own: library functions accept an optional ``progress``
callable, and the CLI passes :func:`progress` (shown only when stderr is a terminal,
or when ``INSPECT_CV_PROGRESS=1``).
"""
from __future__ import annotations

import os
import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def _enabled(force: bool | None) -> bool:
    if force is not None:
        return force
    env = os.environ.get("INSPECT_CV_PROGRESS")
    if env is not None:
        return env not in ("0", "", "false", "no")
    return sys.stderr.isatty()


def progress(items: Iterable[T], total: int | None = None, desc: str = "",
             enabled: bool | None = None, stream=None, min_interval: float = 0.2) -> Iterator[T]:
    """Yield ``items`` while drawing ``desc [####----] i/total rate ETA`` on stderr."""
    if not _enabled(enabled):
        yield from items
        return
    stream = stream or sys.stderr
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    start = last = time.monotonic()
    done = 0

    def draw(final: bool = False) -> None:
        elapsed = time.monotonic() - start
        rate = done / elapsed if elapsed > 0 else 0.0
        if total:
            frac = min(done / total, 1.0)
            bar = "#" * int(frac * 24) + "-" * (24 - int(frac * 24))
            eta = (total - done) / rate if rate > 0 else 0.0
            text = f"{desc} [{bar}] {done}/{total} {rate:.1f}/s eta {eta:.0f}s"
        else:
            text = f"{desc} {done} {rate:.1f}/s"
        stream.write("\r" + text + ("\n" if final else ""))
        stream.flush()

    try:
        for item in items:
            yield item
            done += 1
            now = time.monotonic()
            if now - last >= min_interval:
                last = now
                draw()
    finally:
        draw(final=True)
