"""Collecting image files from a mix of file and folder arguments."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Union

from ..errors import InputError
from ._sniff import SUPPORTED_EXTENSIONS

PathArg = Union[str, "os.PathLike[str]"]


def iter_image_files(inputs: PathArg | Iterable[PathArg], recursive: bool = True) -> list[Path]:
    """List the image files named by ``inputs`` (files and/or folders).

    A folder contributes its files with a supported extension (png jpg jpeg tif tiff
    bmp dcm dicom dcs, any case), sorted, walking sub-folders when ``recursive``;
    hidden files and folders (name starting with ``.``) are skipped. A file named
    explicitly is kept whatever its extension (DICOM files often have none; the reader
    checks the content). Order follows ``inputs``; duplicates are dropped. A path that
    does not exist raises :class:`InputError`.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    found: list[Path] = []
    seen: set[Path] = set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files = _walk(p, recursive)
        elif p.exists():
            files = [p]
        else:
            raise InputError("no such file or folder", p)
        for f in files:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                found.append(f)
    return found


def _walk(folder: Path, recursive: bool) -> list[Path]:
    """Files under ``folder``; linked sub-folders are followed (data sets are often assembled from
    links), each real folder once, so a link back up the tree cannot loop."""
    out = []
    visited = {os.path.realpath(folder)}
    for root, dirs, files in os.walk(folder, followlinks=True):
        keep = []
        for d in sorted(d for d in dirs if not d.startswith(".")) if recursive else []:
            real = os.path.realpath(os.path.join(root, d))
            if real not in visited:
                visited.add(real)
                keep.append(d)
        dirs[:] = keep
        for name in files:
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_EXTENSIONS:
                out.append(Path(root) / name)
    return sorted(out)
