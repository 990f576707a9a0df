"""Format detection from magic bytes, and header parsing before decoding.

The header parsers read only the declared size (so a decompression bomb is refused
before anything is allocated) and walk the file's structure far enough to notice a
truncated file, which OpenCV would otherwise sometimes decode partially.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import PurePath

from ..errors import CorruptImageError, EmptyImageError, UnsupportedFormatError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
BMP_MAGIC = b"BM"
DICOM_MAGIC_OFFSET = 128
DICOM_MAGIC = b"DICM"

DICOM_EXTENSIONS = frozenset({".dcm", ".dicom", ".dcs"})
#: Extensions picked up when walking folders (case-insensitive).
SUPPORTED_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}) | DICOM_EXTENSIONS

FORMAT_NAMES = "PNG, JPEG, TIFF, BMP, DICOM/DICOS"


def detect_format(data: bytes, name: str) -> str:
    """Return ``"png" | "jpeg" | "tiff" | "bmp" | "dicom"`` from the content.

    The DICOM preamble check comes first (a DICOM preamble may hold another format's
    header); a DICOM file without preamble is recognised only by its extension.
    """
    if data[DICOM_MAGIC_OFFSET:DICOM_MAGIC_OFFSET + 4] == DICOM_MAGIC:
        return "dicom"
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data[:4] in TIFF_MAGICS:
        return "tiff"
    if data.startswith(BMP_MAGIC) and len(data) >= 26:
        return "bmp"
    ext = PurePath(name).suffix.lower()
    if ext in DICOM_EXTENSIONS:
        return "dicom"
    hint = f"; the '{ext}' extension does not match the content" if ext else ""
    raise UnsupportedFormatError(f"content is not a recognised image format ({FORMAT_NAMES}){hint}", name)


@dataclass(frozen=True)
class HeaderInfo:
    """Declared size of an image: height, width and the channel count after decoding."""

    height: int
    width: int
    channels: int

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)


# --- PNG -------------------------------------------------------------------------

_PNG_CHANNELS = {0: 1, 2: 3, 3: 4, 4: 4, 6: 4}  # palette and grey+alpha may decode to 4 (RGBA)
_PNG_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}


def png_header(data: bytes, name: str) -> HeaderInfo:
    """Parse IHDR; a zero width or height raises EmptyImageError."""
    if len(data) < 8 + 8 + 13 or data[12:16] != b"IHDR":
        raise CorruptImageError("PNG is truncated or has no IHDR chunk", name)
    length, = struct.unpack(">I", data[8:12])
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    if length != 13 or colour not in _PNG_DEPTHS or depth not in _PNG_DEPTHS[colour]:
        raise CorruptImageError("PNG header (IHDR) is invalid", name)
    if width == 0 or height == 0:
        raise EmptyImageError(f"PNG declares a zero-size image ({width} x {height})", name)
    return HeaderInfo(height, width, _PNG_CHANNELS[colour])


def png_check_structure(data: bytes, name: str) -> None:
    """Walk the chunks: each must fit in the file, IDAT must be present, IEND must end it."""
    pos, size, seen_idat = 8, len(data), False
    while True:
        if pos + 12 > size:
            raise CorruptImageError("PNG is truncated (no IEND chunk)", name)
        length, = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > size:
            raise CorruptImageError(f"PNG is truncated (chunk {kind!r} runs past the end)", name)
        if kind == b"IDAT":
            seen_idat = True
        elif kind == b"IEND":
            break
        pos = end
    if not seen_idat:
        raise CorruptImageError("PNG has no image data (IDAT chunk)", name)


# --- JPEG ------------------------------------------------------------------------

_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def jpeg_header(data: bytes, name: str) -> tuple[HeaderInfo, int]:
    """Walk the marker segments up to the first SOS; return the SOF size and SOS offset."""
    pos, size, info = 2, len(data), None
    while True:
        if pos >= size:
            raise CorruptImageError("JPEG is truncated before its image data", name)
        if data[pos] != 0xFF:
            raise CorruptImageError(f"JPEG marker expected at byte {pos}", name)
        while pos < size and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= size:
            raise CorruptImageError("JPEG is truncated before its image data", name)
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE:
            continue
        if marker in (0xD8, 0xD9):
            raise CorruptImageError("JPEG has no image data (EOI before SOS)", name)
        if pos + 2 > size:
            raise CorruptImageError("JPEG is truncated inside a marker segment", name)
        length, = struct.unpack(">H", data[pos:pos + 2])
        if length < 2 or pos + length > size:
            raise CorruptImageError("JPEG is truncated inside a marker segment", name)
        if marker in _SOF_MARKERS and info is None:
            if length < 8:
                raise CorruptImageError("JPEG frame header (SOF) is invalid", name)
            height, width = struct.unpack(">HH", data[pos + 3:pos + 7])
            components = data[pos + 7]
            if width == 0 or height == 0:
                raise EmptyImageError(f"JPEG declares a zero-size image ({width} x {height})", name)
            if components == 0:
                raise CorruptImageError("JPEG frame header declares no colour components", name)
            info = HeaderInfo(height, width, 1 if components == 1 else 3)
        if marker == 0xDA:
            if info is None:
                raise CorruptImageError("JPEG has no frame header (SOF) before its image data", name)
            return info, pos
        pos += length


def jpeg_check_end(data: bytes, sos: int, name: str) -> None:
    """The entropy-coded data cannot contain FFD9, so an EOI after SOS means the file is whole."""
    if data.rfind(b"\xff\xd9", sos) < 0:
        raise CorruptImageError("JPEG is truncated (no end-of-image marker)", name)


# --- BMP -------------------------------------------------------------------------

def bmp_header(data: bytes, name: str) -> HeaderInfo:
    """Parse the BMP headers and check that uncompressed pixel rows fit in the file."""
    size = len(data)
    offset, dib = struct.unpack("<II", data[10:18])
    if dib == 12:
        width, height, _planes, bpp = struct.unpack("<HHHH", data[18:26])
        compression = 0
    elif dib >= 40 and size >= 14 + 40:
        width, height, _planes, bpp, compression = struct.unpack("<iiHHI", data[18:34])
    else:
        raise CorruptImageError("BMP header is invalid or truncated", name)
    if width == 0 or height == 0:
        raise EmptyImageError(f"BMP declares a zero-size image ({width} x {abs(height)})", name)
    if width < 0 or bpp not in (1, 4, 8, 16, 24, 32):
        raise CorruptImageError("BMP header is invalid", name)
    height = abs(height)
    if compression in (0, 3, 6):  # uncompressed rows (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS)
        stride = ((width * bpp + 31) // 32) * 4
        if offset + stride * height > size:
            raise CorruptImageError("BMP is truncated (pixel rows run past the end)", name)
    return HeaderInfo(height, width, 4 if bpp == 32 else 3)
