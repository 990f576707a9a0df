"""The JSON Lines loop shared by ``detect`` and ``scan-container``.

Each input is processed into one record; an input that cannot be used becomes
``{"image": path, "error": "..."}`` and the run goes on.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable

from ..errors import InputError


def write_records(items: list[tuple[str, str | None]], process: Callable[[str], dict],
                  out_path: Path | None, desc: str) -> list[dict]:
    """Run ``process(path)`` over ``(path, error)`` items, writing one JSON line each."""
    from ..progress import progress

    records = []
    out = open(out_path, "w") if out_path else sys.stdout
    try:
        for path, error in progress(items, desc=desc, enabled=None if len(items) > 1 else False):
            if error is None:
                try:
                    record = process(path)
                except InputError as e:
                    record = {"image": path, "error": str(e)}
            else:
                record = {"image": path, "error": error}
            records.append(record)
            out.write(json.dumps(record) + "\n")
            out.flush()
    finally:
        if out_path:
            out.close()
    return records
