"""Scan I/O: round trips, channel order, dual energy, DICOM, bad inputs, limits."""
from __future__ import annotations

import io
import struct
import sys
import time
import zlib

import cv2
import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from inspect_cv.errors import (ConfigError, CorruptImageError, EmptyImageError,
                               ImageTooLargeError, InputError, MissingDependencyError,
                               UnsupportedFormatError)
from inspect_cv.io import (DEFAULT_MAX_PIXELS, DualEnergyImage, decode_image, encode_image,
                           iter_image_files, normalize, read_dicom, read_dicom_meta,
                           read_dual_energy, read_image, to_float, to_uint8, window,
                           write_dual_energy, write_image)

RNG = np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _no_limit_env(monkeypatch):
    monkeypatch.delenv("INSPECT_CV_MAX_PIXELS", raising=False)
    monkeypatch.delenv("INSPECT_CV_MAX_BYTES", raising=False)


# --- independent encoders (not inspect_cv's own) ---------------------------------------

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(arr: np.ndarray | None = None, *, width=None, height=None, colour=None,
              depth=8, idat: bytes | None = None) -> bytes:
    """A PNG written by hand: rows of filter byte 0 + big-endian samples."""
    if arr is not None:
        height, width = arr.shape[:2]
        channels = 1 if arr.ndim == 2 else arr.shape[2]
        colour = {1: 0, 3: 2, 4: 6}[channels]
        depth = 16 if arr.dtype == np.uint16 else 8
        rows = arr.astype(">u2" if depth == 16 else "u1").reshape(height, -1)
        raw = b"".join(b"\x00" + row.tobytes() for row in rows)
        idat = zlib.compress(raw)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat or b"")
            + _chunk(b"IEND", b""))


def tiff_bomb(width: int, height: int) -> bytes:
    """A classic little-endian TIFF whose one IFD declares width x height, 8-bit, deflate."""
    strip = zlib.compress(b"\x00" * 1024)
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 8),
               (262, 3, 1, 1), (273, 4, 1, 0), (277, 3, 1, 1), (278, 4, 1, height),
               (279, 4, 1, len(strip))]
    ifd_size = 2 + 12 * len(entries) + 4
    data_offset = 8 + ifd_size
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        if tag == 273:
            value = data_offset
        fmt = "<HHIHH" if typ == 3 else "<HHII"
        ifd += struct.pack(fmt, tag, typ, count, value, 0) if typ == 3 else struct.pack(fmt, tag, typ, count, value)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + strip


def make_dicom(arr: np.ndarray, *, photometric="MONOCHROME2", preamble=True, rows=None,
               cols=None, frames=None) -> bytes:
    pytest.importorskip("pydicom")
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image - For Presentation
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "DX"
    ds.Rows = rows if rows is not None else arr.shape[-2 if arr.ndim == 3 else 0]
    ds.Columns = cols if cols is not None else arr.shape[-1 if arr.ndim == 3 else 1]
    if arr.ndim == 3:
        ds.NumberOfFrames = frames if frames is not None else arr.shape[0]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelSpacing = [0.15, 0.2]
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.PixelData = arr.astype("<u2").tobytes()
    buf = io.BytesIO()
    if preamble:
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        ds.save_as(buf, enforce_file_format=True)
    else:
        ds.save_as(buf, implicit_vr=True, little_endian=True)  # raw data set, no 'DICM'
    return buf.getvalue()


def rand(shape, dtype):
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else None
    if info is None:
        return RNG.random(shape, dtype=np.float32)
    return RNG.integers(info.min, int(info.max) + 1, shape, dtype=dtype)


# --- round trips ------------------------------------------------------------------------

ROUND_TRIPS = [
    ("png", (9, 13), np.uint8), ("png", (9, 13), np.uint16),
    ("png", (9, 13, 3), np.uint8), ("png", (9, 13, 3), np.uint16),
    ("png", (9, 13, 4), np.uint8), ("png", (9, 13, 4), np.uint16),
    ("tif", (9, 13), np.uint8), ("tif", (9, 13), np.uint16), ("tiff", (9, 13), np.int16),
    ("tif", (9, 13, 3), np.uint8), ("tif", (9, 13, 3), np.uint16), ("tif", (9, 13, 4), np.uint8),
    ("tif", (9, 13, 2), np.uint16), ("tif", (9, 13, 5), np.uint16), ("tif", (9, 13, 5), np.uint8),
    ("tif", (9, 13), np.float32), ("tif", (9, 13, 2), np.float32), ("tif", (9, 13, 3), np.float32),
    ("bmp", (9, 13), np.uint8), ("bmp", (9, 13, 3), np.uint8),
]


@pytest.mark.parametrize("ext,shape,dtype", ROUND_TRIPS)
def test_round_trip_exact(tmp_path, ext, shape, dtype):
    arr = rand(shape, dtype)
    path = write_image(tmp_path / f"img.{ext}", arr)
    back = read_image(path)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    np.testing.assert_array_equal(decode_image(path.read_bytes(), path.name), arr)


def test_png_16bit_keeps_raw_values(tmp_path):
    arr = np.array([[0, 1, 255, 256], [4095, 4096, 40000, 65535]], np.uint16)
    (tmp_path / "raw.png").write_bytes(png_bytes(arr))  # written by hand, not by us
    back = read_image(tmp_path / "raw.png")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, arr)


def test_read_rgb_and_rgba_order_from_independent_png(tmp_path):
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[0, 1] = (0, 255, 0)
    rgb[0, 2] = (0, 0, 255)
    (tmp_path / "rgb.png").write_bytes(png_bytes(rgb))
    np.testing.assert_array_equal(read_image(tmp_path / "rgb.png"), rgb)
    rgba = np.dstack([rgb, np.full((2, 3), 77, np.uint8)])
    (tmp_path / "rgba.png").write_bytes(png_bytes(rgba))
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), rgba)


def test_write_rgb_order_seen_by_other_readers(tmp_path):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 200  # red
    write_image(tmp_path / "red.png", rgb)
    bgr = cv2.imread(str(tmp_path / "red.png"), cv2.IMREAD_UNCHANGED)
    assert bgr[0, 0].tolist() == [0, 0, 200]
    write_image(tmp_path / "red.tif", rgb)
    with tifffile.TiffFile(tmp_path / "red.tif") as tif:
        np.testing.assert_array_equal(tif.asarray(), rgb)
        assert tif.pages[0].photometric == tifffile.PHOTOMETRIC.RGB


def test_multichannel_tiff_is_contig_minisblack(tmp_path):
    arr = rand((6, 7, 5), np.uint16)
    write_image(tmp_path / "m.tif", arr)
    with tifffile.TiffFile(tmp_path / "m.tif") as tif:
        page = tif.pages[0]
        assert page.photometric == tifffile.PHOTOMETRIC.MINISBLACK
        assert page.planarconfig == tifffile.PLANARCONFIG.CONTIG
        assert page.shape == (6, 7, 5)


def test_jpeg_colour_and_grey(tmp_path):
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 0] = 220
    rgb[..., 2] = 30
    back = read_image(write_image(tmp_path / "c.jpg", rgb))
    assert back.shape == (16, 16, 3) and back.dtype == np.uint8
    assert np.abs(back.astype(int) - rgb).max() <= 8  # lossy, but red stays red
    grey = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (16, 1))
    back = read_image(write_image(tmp_path / "g.jpeg", grey))
    assert back.shape == grey.shape and np.abs(back.astype(int) - grey).max() <= 8


def test_jpeg_exif_orientation_applied(tmp_path):
    arr = np.zeros((8, 16), np.uint8)
    arr[:, :4] = 255  # bright band on the left
    jpg = encode_image(arr, "jpeg")
    tiff = b"II*\x00" + struct.pack("<IHHHIHHI", 8, 1, 0x0112, 3, 1, 6, 0, 0)  # rotate 90 CW
    app1 = b"Exif\x00\x00" + tiff
    rotated = jpg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpg[2:]
    back = decode_image(rotated, "photo.jpg")
    assert back.shape == (16, 8)
    assert back[:4].mean() > 200 and back[4:].mean() < 50  # the band is now on top


def test_planar_separate_tiff_gives_channels_last(tmp_path):
    arr = rand((6, 7, 3), np.uint16)
    tifffile.imwrite(tmp_path / "p.tif", np.moveaxis(arr, -1, 0), photometric="rgb",
                     planarconfig="separate")
    np.testing.assert_array_equal(read_image(tmp_path / "p.tif"), arr)


def test_multipage_tiff_stacks_pages(tmp_path):
    pages = rand((3, 6, 7), np.uint16)
    with tifffile.TiffWriter(tmp_path / "s.tif") as tw:
        for page in pages:
            tw.write(page, photometric="minisblack")
    back = read_image(tmp_path / "s.tif")
    assert back.shape == (6, 7, 3)
    np.testing.assert_array_equal(back, np.moveaxis(pages, 0, -1))


def test_multipage_tiff_of_different_sizes_is_refused(tmp_path):
    with tifffile.TiffWriter(tmp_path / "mixed.tif") as tw:
        tw.write(rand((6, 7), np.uint8))
        tw.write(rand((3, 4), np.uint8))
    with pytest.raises(UnsupportedFormatError, match="mixed.tif"):
        read_image(tmp_path / "mixed.tif")


def test_format_from_magic_not_extension(tmp_path):
    arr = rand((5, 6), np.uint16)
    (tmp_path / "actually_png.tif").write_bytes(png_bytes(arr))
    np.testing.assert_array_equal(read_image(tmp_path / "actually_png.tif"), arr)


# --- dual energy ----------------------------------------------------------------------

def test_dual_energy_from_two_files(tmp_path):
    high, low = rand((8, 10), np.uint16), rand((8, 10), np.uint16)
    write_image(tmp_path / "h.png", high)
    write_image(tmp_path / "l.tif", low)
    de = read_dual_energy(tmp_path / "h.png", tmp_path / "l.tif")
    assert isinstance(de, DualEnergyImage) and de.shape == (8, 10)
    np.testing.assert_array_equal(de.high, high)
    np.testing.assert_array_equal(de.low, low)
    assert de.path.endswith("h.png") and de.low_path.endswith("l.tif")


def test_dual_energy_from_two_channel_tiff(tmp_path):
    high, low = rand((8, 10), np.uint16), rand((8, 10), np.uint16)
    path = write_dual_energy(tmp_path / "de.tiff", high, low)
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].shape == (8, 10, 2) and tif.pages[0].dtype == np.uint16
    de = read_dual_energy(path)
    np.testing.assert_array_equal(de.high, high)
    np.testing.assert_array_equal(de.low, low)
    np.testing.assert_array_equal(de.stack(), np.dstack([high, low]))


def test_dual_energy_from_two_page_tiff(tmp_path):
    high, low = rand((8, 10), np.uint16), rand((8, 10), np.uint16)
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tw:
        tw.write(high)
        tw.write(low)
    de = read_dual_energy(tmp_path / "pages.tif")
    np.testing.assert_array_equal(de.high, high)
    np.testing.assert_array_equal(de.low, low)


def test_dual_energy_shape_mismatch_names_both(tmp_path):
    write_image(tmp_path / "high.png", rand((8, 10), np.uint16))
    write_image(tmp_path / "low.png", rand((8, 11), np.uint16))
    with pytest.raises(InputError) as err:
        read_dual_energy(tmp_path / "high.png", tmp_path / "low.png")
    assert "high.png" in str(err.value) and "low.png" in str(err.value)


def test_dual_energy_bad_layouts(tmp_path):
    write_image(tmp_path / "one.png", rand((8, 10), np.uint16))
    with pytest.raises(UnsupportedFormatError, match="one.png"):
        read_dual_energy(tmp_path / "one.png")
    write_image(tmp_path / "rgb.png", rand((8, 10, 3), np.uint8))
    with pytest.raises(UnsupportedFormatError, match="rgb.png"):
        read_dual_energy(tmp_path / "rgb.png", tmp_path / "one.png")
    with pytest.raises(InputError):
        write_dual_energy(tmp_path / "f.tif", np.zeros((4, 4), np.float32), np.zeros((4, 4), np.float32))
    with pytest.raises(InputError):
        write_dual_energy(tmp_path / "neg.tif", np.full((4, 4), -1, np.int32), np.zeros((4, 4), np.int32))
    with pytest.raises(UnsupportedFormatError):
        write_dual_energy(tmp_path / "de.png", np.zeros((4, 4), np.uint16), np.zeros((4, 4), np.uint16))


# --- DICOM / DICOS --------------------------------------------------------------------

def test_dicom_dx_exact_values_and_meta(tmp_path):
    arr = RNG.integers(0, 4096, (12, 17), dtype=np.uint16)
    (tmp_path / "scan.dcm").write_bytes(make_dicom(arr))
    for back in (read_dicom(tmp_path / "scan.dcm"), read_image(tmp_path / "scan.dcm")):
        assert back.dtype == np.uint16
        np.testing.assert_array_equal(back, arr)
    meta = read_dicom_meta(tmp_path / "scan.dcm")
    assert meta["modality"] == "DX"
    assert meta["photometric_interpretation"] == "MONOCHROME2" and meta["inverted"] is False
    assert meta["bits_stored"] == 12 and meta["bits_allocated"] == 16 and meta["signed"] is False
    assert meta["rows"] == 12 and meta["columns"] == 17 and meta["number_of_frames"] == 1
    assert meta["pixel_spacing"] == pytest.approx((0.15, 0.2))
    assert meta["rescale_slope"] == 1.0 and meta["rescale_intercept"] == 0.0
    assert meta["window_center"] == 2048.0 and meta["window_width"] == 4096.0


def test_dicom_monochrome1_kept_as_stored_but_reported(tmp_path):
    arr = RNG.integers(0, 4096, (5, 6), dtype=np.uint16)
    (tmp_path / "inv.dcs").write_bytes(make_dicom(arr, photometric="MONOCHROME1"))
    np.testing.assert_array_equal(read_image(tmp_path / "inv.dcs"), arr)
    assert read_dicom_meta(tmp_path / "inv.dcs")["inverted"] is True


def test_dicom_two_frames_channels_last_and_dual_energy(tmp_path):
    frames = RNG.integers(0, 4096, (2, 6, 7), dtype=np.uint16)
    (tmp_path / "de.dcm").write_bytes(make_dicom(frames))
    back = read_image(tmp_path / "de.dcm")
    assert back.shape == (6, 7, 2)
    de = read_dual_energy(tmp_path / "de.dcm")
    np.testing.assert_array_equal(de.high, frames[0])
    np.testing.assert_array_equal(de.low, frames[1])


def test_dicom_without_preamble_by_extension(tmp_path):
    arr = RNG.integers(0, 4096, (5, 6), dtype=np.uint16)
    data = make_dicom(arr, preamble=False)
    assert data[128:132] != b"DICM"
    (tmp_path / "raw.dcm").write_bytes(data)
    np.testing.assert_array_equal(read_image(tmp_path / "raw.dcm"), arr)
    (tmp_path / "raw.bin").write_bytes(data)
    with pytest.raises(UnsupportedFormatError, match="raw.bin"):
        read_image(tmp_path / "raw.bin")


def test_dicom_truncated_and_oversized(tmp_path):
    arr = RNG.integers(0, 4096, (10, 10), dtype=np.uint16)
    data = make_dicom(arr)
    (tmp_path / "cut.dcm").write_bytes(data[:-50])
    with pytest.raises(CorruptImageError, match="cut.dcm"):
        read_image(tmp_path / "cut.dcm")
    # declares 60 frames of 65535 x 65535 but holds 200 bytes of pixels
    (tmp_path / "big.dcm").write_bytes(make_dicom(np.zeros((1, 10, 10), np.uint16),
                                                  rows=65535, cols=65535, frames=60))
    t0 = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match="big.dcm"):
        read_image(tmp_path / "big.dcm")
    assert time.perf_counter() - t0 < 2


def test_missing_pydicom_raises_missing_dependency(tmp_path, monkeypatch):
    (tmp_path / "scan.dcm").write_bytes(make_dicom(np.zeros((4, 4), np.uint16)))
    monkeypatch.setitem(sys.modules, "pydicom", None)
    for reader in (read_dicom, read_image, read_dicom_meta):
        with pytest.raises(MissingDependencyError) as err:
            reader(tmp_path / "scan.dcm")
        assert err.value.package == "pydicom" and err.value.extra == "dicom"


# --- bad inputs -----------------------------------------------------------------------

def _good_files(tmp_path):
    arr = rand((20, 24, 3), np.uint8)
    return {
        "png": encode_image(arr, "png"),
        "jpg": encode_image(arr, "jpeg"),
        "tif": encode_image(rand((20, 24), np.uint16), "tiff"),
        "bmp": encode_image(arr, "bmp"),
    }


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="nope.png") as err:
        read_image(tmp_path / "nope.png")
    assert type(err.value) is InputError
    with pytest.raises(InputError, match="folder"):
        read_image(tmp_path)


def test_empty_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(EmptyImageError, match="empty.png"):
        read_image(tmp_path / "empty.png")
    with pytest.raises(EmptyImageError, match="upload.png"):
        decode_image(b"", "upload.png")


def test_zero_size_dimension(tmp_path):
    (tmp_path / "zero.png").write_bytes(png_bytes(width=0, height=5, colour=0,
                                                  idat=zlib.compress(b"")))
    with pytest.raises(EmptyImageError, match="zero.png"):
        read_image(tmp_path / "zero.png")
    with pytest.raises(EmptyImageError):
        write_image(tmp_path / "w.png", np.zeros((0, 5), np.uint8))


@pytest.mark.parametrize("kind", ["png", "jpg", "tif", "bmp"])
def test_truncated_files_are_corrupt(tmp_path, kind):
    data = _good_files(tmp_path)[kind]
    for cut in (len(data) - 1, len(data) - 12, len(data) // 2, 40):
        path = tmp_path / f"cut{cut}.{kind}"
        path.write_bytes(data[:cut])
        with pytest.raises(CorruptImageError, match=path.name):
            read_image(path)


def test_random_bytes_and_text_named_png(tmp_path):
    (tmp_path / "noise.png").write_bytes(RNG.integers(0, 256, 500, dtype=np.uint8).tobytes())
    with pytest.raises(UnsupportedFormatError, match="noise.png"):
        read_image(tmp_path / "noise.png")
    (tmp_path / "notes.png").write_text("this is not an image\n")
    with pytest.raises(UnsupportedFormatError, match="notes.png"):
        read_image(tmp_path / "notes.png")


def test_png_bomb_refused_before_decoding(tmp_path, monkeypatch):
    bomb = png_bytes(width=100_000, height=100_000, colour=0, idat=zlib.compress(b"\x00" * 100_001))
    assert len(bomb) < 2000
    (tmp_path / "bomb.png").write_bytes(bomb)

    def never(*args, **kwargs):  # pragma: no cover - only runs if the check failed
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(cv2, "imdecode", never)
    t0 = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match="bomb.png"):
        read_image(tmp_path / "bomb.png")
    assert time.perf_counter() - t0 < 1


def test_tiff_bomb_refused_before_decoding(tmp_path, monkeypatch):
    (tmp_path / "bomb.tif").write_bytes(tiff_bomb(100_000, 100_000))

    def never(*args, **kwargs):  # pragma: no cover
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(tifffile.TiffPage, "asarray", never)
    with pytest.raises(ImageTooLargeError, match="bomb.tif"):
        read_image(tmp_path / "bomb.tif")


def test_jpeg_declared_size_checked(tmp_path):
    data = encode_image(rand((40, 50), np.uint8), "jpeg")
    with pytest.raises(ImageTooLargeError):
        decode_image(data, "x.jpg", max_pixels=40 * 50 - 1)
    assert decode_image(data, "x.jpg", max_pixels=40 * 50).shape == (40, 50)


# --- limits ----------------------------------------------------------------------------

def test_pixel_limit_env_and_argument(tmp_path, monkeypatch):
    path = write_image(tmp_path / "a.png", rand((30, 40), np.uint8))
    assert DEFAULT_MAX_PIXELS >= 2_000 * 20_000 * 2
    monkeypatch.setenv("INSPECT_CV_MAX_PIXELS", "1000")
    with pytest.raises(ImageTooLargeError, match="a.png"):
        read_image(path)
    assert read_image(path, max_pixels=1200).shape == (30, 40)  # argument beats env
    monkeypatch.setenv("INSPECT_CV_MAX_PIXELS", "1_200")
    assert read_image(path).shape == (30, 40)
    with pytest.raises(ImageTooLargeError):
        read_image(path, max_pixels=1199)


def test_byte_limit_env_and_argument(tmp_path, monkeypatch):
    path = write_image(tmp_path / "b.tif", rand((30, 40), np.uint16))
    size = path.stat().st_size
    with pytest.raises(ImageTooLargeError, match="b.tif"):
        read_image(path, max_bytes=size - 1)
    monkeypatch.setenv("INSPECT_CV_MAX_BYTES", str(size - 1))
    with pytest.raises(ImageTooLargeError):
        read_image(path)
    with pytest.raises(ImageTooLargeError):
        decode_image(path.read_bytes())
    assert read_image(path, max_bytes=size).shape == (30, 40)


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5"])
def test_invalid_limit_env_is_config_error(tmp_path, monkeypatch, value):
    path = write_image(tmp_path / "c.png", rand((3, 4), np.uint8))
    monkeypatch.setenv("INSPECT_CV_MAX_PIXELS", value)
    with pytest.raises(ConfigError, match="INSPECT_CV_MAX_PIXELS"):
        read_image(path)


# --- writing --------------------------------------------------------------------------

def test_write_refuses_what_the_format_cannot_hold(tmp_path):
    with pytest.raises(UnsupportedFormatError, match="tif"):
        write_image(tmp_path / "f.png", np.zeros((4, 4), np.float32))
    with pytest.raises(UnsupportedFormatError, match="tif"):
        write_image(tmp_path / "two.png", np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(UnsupportedFormatError):
        write_image(tmp_path / "x.jpg", np.zeros((4, 4), np.uint16))
    with pytest.raises(UnsupportedFormatError, match="gif"):
        write_image(tmp_path / "x.gif", np.zeros((4, 4), np.uint8))
    with pytest.raises(InputError):
        write_image(tmp_path / "x.png", np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(InputError, match="missing_dir"):
        write_image(tmp_path / "missing_dir" / "x.png", np.zeros((4, 4), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --- listing files ----------------------------------------------------------------------

def test_iter_image_files(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "deep").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ["z.png", "a.JPG", "b/c.tiff", "b/deep/d.dcm", "notes.txt", ".DS_Store",
                 ".hidden/x.png", "b/e.bmp", "b/deep/f.dicom", "g.dcs", "h.jpeg", "i.tif"]:
        (tmp_path / name).write_bytes(b"x")
    rel = lambda ps: [p.relative_to(tmp_path).as_posix() for p in ps]  # noqa: E731
    assert rel(iter_image_files(tmp_path)) == sorted(
        ["z.png", "a.JPG", "b/c.tiff", "b/deep/d.dcm", "b/e.bmp", "b/deep/f.dicom", "g.dcs",
         "h.jpeg", "i.tif"], key=lambda s: tuple(s.split("/")))
    assert rel(iter_image_files(tmp_path, recursive=False)) == ["a.JPG", "g.dcs", "h.jpeg",
                                                                 "i.tif", "z.png"]
    explicit = iter_image_files([tmp_path / "notes.txt", str(tmp_path / "b"), tmp_path / "b" / "e.bmp"])
    assert rel(explicit) == ["notes.txt", "b/c.tiff", "b/deep/d.dcm", "b/deep/f.dicom", "b/e.bmp"]
    with pytest.raises(InputError, match="missing"):
        iter_image_files([tmp_path / "z.png", tmp_path / "missing"])



def test_iter_image_files_follows_linked_folders_once(tmp_path):
    """Data sets are often assembled from links to other folders: those are walked, and a link
    back up the tree does not loop."""
    real = tmp_path / "real" / "h1"
    real.mkdir(parents=True)
    (real / "0.png").write_bytes(b"x")
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "h1").symlink_to(real, target_is_directory=True)
    (real / "up").symlink_to(tmp_path / "real", target_is_directory=True)  # a loop
    found = iter_image_files(ds)
    assert [p.relative_to(ds).as_posix() for p in found] == ["h1/0.png"]


# --- normalisation ----------------------------------------------------------------------

def test_to_float_and_to_uint8_by_dtype_range():
    u16 = np.array([0, 257, 32768, 65535], np.uint16)
    np.testing.assert_allclose(to_float(u16), u16 / 65535.0, rtol=1e-6)
    assert to_float(u16).dtype == np.float32
    np.testing.assert_array_equal(to_uint8(u16), [0, 1, 128, 255])
    np.testing.assert_array_equal(to_float(np.array([0, 255], np.uint8)), [0.0, 1.0])
    twelve = np.array([0, 2048, 4095], np.uint16)
    np.testing.assert_array_equal(to_uint8(twelve, bits=12), [0, 128, 255])
    with pytest.raises(InputError):
        to_float(np.array([5000], np.uint16), bits=12)
    np.testing.assert_array_equal(to_uint8(np.array([0.0, 0.5, 1.0], np.float32)), [0, 128, 255])
    with pytest.raises(InputError, match="normalize"):
        to_float(np.array([0.0, 3.5], np.float32))
    i16 = np.array([-32768, 32767], np.int16)
    np.testing.assert_array_equal(to_float(i16), [0.0, 1.0])
    with pytest.raises(EmptyImageError):
        to_float(np.zeros((0, 3), np.uint8))


def test_normalize_and_window():
    img = np.array([[100, 200], [300, 1100]], np.uint16)
    np.testing.assert_allclose(normalize(img), [[0.0, 0.1], [0.2, 1.0]], atol=1e-6)
    assert normalize(np.full((3, 3), 7, np.uint16)).max() == 0.0
    ramp = np.arange(1000, dtype=np.float32)
    out = normalize(ramp, "percentile", 1, 99)
    assert out.min() == 0.0 and out.max() == 1.0 and 0.4 < out[500] < 0.6
    assert (out[:10] == 0).all() and (out[-10:] == 1).all()
    two = np.dstack([np.array([[0, 10]], np.uint16), np.array([[0, 1000]], np.uint16)])
    np.testing.assert_allclose(normalize(two, per_channel=True)[0, 1], [1.0, 1.0])
    np.testing.assert_allclose(window(img, level=200, width=200), [[0.0, 0.5], [1.0, 1.0]])
    with pytest.raises(InputError):
        window(img, 100, 0)
    with pytest.raises(InputError):
        normalize(img, "zscore")
    with pytest.raises(InputError):
        normalize(img, "percentile", 90, 10)


# --- properties ---------------------------------------------------------------------------

_SEEDS = None


def _seeds():
    global _SEEDS
    if _SEEDS is None:
        arr = rand((6, 5, 3), np.uint8)
        _SEEDS = [encode_image(arr, "png"), encode_image(arr, "jpeg"),
                  encode_image(rand((6, 5, 2), np.uint16), "tiff"), encode_image(arr, "bmp")]
        try:
            import pydicom  # noqa: F401
        except ImportError:  # pragma: no cover - the dev extra installs it
            _SEEDS.append(encode_image(arr, "png"))
        else:
            _SEEDS.append(make_dicom(rand((4, 3), np.uint16)))
    return _SEEDS


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300), name=st.sampled_from(["x.png", "x.dcm", "<bytes>"]))
def test_arbitrary_bytes_raise_only_input_errors(data, name):
    try:
        decode_image(data, name)
    except InputError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 4), cut=st.integers(0, 10_000),
       flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6))
def test_damaged_real_files_raise_only_input_errors(which, cut, flips):
    data = bytearray(_seeds()[which])
    for pos, value in flips:
        data[pos % len(data)] = value
    data = bytes(data[: max(1, len(data) - cut % len(data))])
    try:
        out = decode_image(data, "seed.dcm" if which == 4 else "seed")
    except InputError:
        return
    assert isinstance(out, np.ndarray) and out.size > 0


_ARRAYS = hnp.arrays(
    st.sampled_from([np.uint8, np.uint16]),
    st.tuples(st.integers(1, 12), st.integers(1, 12))
    | st.tuples(st.integers(1, 12), st.integers(1, 12), st.sampled_from([3, 4])))


@settings(max_examples=40, deadline=None)
@given(arr=_ARRAYS, ext=st.sampled_from(["png", "tif"]))
def test_random_arrays_round_trip(tmp_path_factory, arr, ext):
    path = tmp_path_factory.mktemp("rt") / f"a.{ext}"
    back = read_image(write_image(path, arr))
    assert back.dtype == arr.dtype
    np.testing.assert_array_equal(back, arr)


@settings(max_examples=30, deadline=None)
@given(arr=hnp.arrays(st.sampled_from([np.uint8, np.uint16, np.float32]),
                      st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(2, 6))))
def test_random_multichannel_tiff_round_trip(arr):
    back = decode_image(encode_image(arr, "tiff"), "m.tif")
    np.testing.assert_array_equal(back, arr)
