"""Small helpers shared by the format readers and writers (not public API)."""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..errors import DatasetError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` of an image, from its header where possible (PNG, JPEG).

    Other formats are decoded with OpenCV. Raises :class:`DatasetError` if the file is
    missing or unreadable. EXIF orientation is ignored (sizes are those stored).
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(26)
            if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
                w, h = struct.unpack(">II", head[16:24])
                return int(w), int(h)
            if head[:2] == b"\xff\xd8":
                size = _jpeg_size(f)
                if size is not None:
                    return size
    except FileNotFoundError:
        raise DatasetError("image not found", path) from None
    except OSError as e:
        raise DatasetError(f"cannot read image: {e.strerror or e}", path) from None
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DatasetError("cannot decode image", path)
    return int(img.shape[1]), int(img.shape[0])


def _jpeg_size(f) -> tuple[int, int] | None:
    """Scan JPEG markers for the first SOFn segment; ``None`` if not found."""
    f.seek(2)
    while True:
        b = f.read(1)
        while b and b != b"\xff":
            b = f.read(1)
        while b == b"\xff":
            b = f.read(1)
        if not b:
            return None
        marker = b[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue
        seg = f.read(2)
        if len(seg) < 2:
            return None
        length = struct.unpack(">H", seg)[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            data = f.read(5)
            if len(data) < 5:
                return None
            h, w = struct.unpack(">HH", data[1:5])
            return int(w), int(h)
        f.seek(length - 2, 1)


def find_image(folder: Path, stem: str, exts: Iterable[str]) -> Path | None:
    """First existing ``folder/stem+ext`` for ``ext`` in order, else ``None``."""
    for ext in exts:
        p = folder / f"{stem}{ext}"
        if p.is_file():
            return p
    return None


def short_float(value: float, ok: Callable[[float], bool] | None = None) -> float | int:
    """The shortest decimal form of ``value`` (int if integral) for which ``ok`` holds.

    ``ok(candidate)`` checks that the written value reads back to what we need (used to
    keep float32 round trips exact while writing ``10.3`` rather than
    ``10.300000190734863``). Without ``ok``, the float32 value must be preserved.
    """
    value = float(value)
    if ok is None:
        target = np.float32(value)

        def ok(c: float) -> bool:
            return np.float32(c) == target
    if value == int(value) and ok(float(int(value))):
        return int(value)
    for digits in (6, 7, 8, 9, 12, 15):
        c = float(f"{value:.{digits}g}")
        if ok(c):
            return c
    return value


def fmt_num(value: float | int) -> str:
    """Text for a number written by :func:`short_float` (``12`` not ``12.0``)."""
    return str(value) if isinstance(value, int) else repr(value)


def read_lines(path: Path, encoding: str = "utf-8-sig") -> list[str]:
    """Lines of a text file; :class:`DatasetError` if missing or not decodable."""
    try:
        return Path(path).read_text(encoding=encoding).splitlines()
    except FileNotFoundError:
        raise DatasetError("file not found", path) from None
    except UnicodeDecodeError as e:
        raise DatasetError(f"not {encoding} text ({e.reason})", path) from None
    except OSError as e:
        raise DatasetError(f"cannot read: {e.strerror or e}", path) from None


def read_id_list(path: Path) -> list[tuple[int, str]]:
    """``(line_number, id)`` for each non-empty line of an id list file."""
    return [(i, s.strip()) for i, s in enumerate(read_lines(path), 1) if s.strip()]


def to_float(text: str, path, line: int | None, what: str) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise DatasetError(f"{what} is not a number: {text!r}", path, line) from None
    if not np.isfinite(v):
        raise DatasetError(f"{what} is not finite: {text!r}", path, line)
    return v


def clamp_box(box, width: int, height: int) -> list[float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return [min(max(x1, 0.0), width), min(max(y1, 0.0), height),
            min(max(x2, 0.0), width), min(max(y2, 0.0), height)]


def is_degenerate(box) -> bool:
    return not (box[2] > box[0] and box[3] > box[1])


# ---- XML with line numbers ------------------------------------------------------------

class XNode:
    """A minimal XML element: ``tag``, ``text``, ``children`` and its source ``line``."""

    __slots__ = ("tag", "text", "children", "line")

    def __init__(self, tag: str, line: int):
        self.tag, self.line, self.text, self.children = tag, line, "", []

    def find(self, tag: str) -> "XNode | None":
        for c in self.children:
            if c.tag == tag:
                return c
        return None

    def findall(self, tag: str) -> list["XNode"]:
        return [c for c in self.children if c.tag == tag]

    def findtext(self, tag: str, default: str | None = None) -> str | None:
        c = self.find(tag)
        return default if c is None else c.text.strip()


def parse_xml(path: Path) -> XNode:
    """Parse an XML file into :class:`XNode` s; syntax errors raise DatasetError with the line."""
    from xml.parsers import expat

    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DatasetError("file not found", path) from None
    parser = expat.ParserCreate()
    stack: list[XNode] = []
    root: list[XNode] = []

    def start(tag, _attrs):
        node = XNode(tag, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(_tag):
        stack.pop()

    def chars(text):
        if stack:
            stack[-1].text += text

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise DatasetError(f"malformed XML: {expat.ErrorString(e.code)}", path, e.lineno) from None
    if not root:
        raise DatasetError("empty XML document", path)
    return root[0]
