"""Damaged JPEG data that libjpeg 'recovers' is refused, and the decoder's chatter stays off stderr."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from inspect_cv.errors import CorruptImageError
from inspect_cv.io import decode_image
from inspect_cv.io._native import JPEG_DAMAGE, native_stderr, split_messages

SAMPLE = Path(__file__).resolve().parents[1] / "inspect_cv" / "samples" / "baggage" / "synthetic_bag_1_pseudocolour.jpg"


def _damaged(seed: int = 1, flips: int = 40) -> bytes:
    d = bytearray(SAMPLE.read_bytes())
    rng = np.random.default_rng(seed)
    for i in rng.integers(1000, len(d) - 1000, flips):
        d[i] ^= 0xFF
    return bytes(d)


def test_damaged_jpeg_is_refused_quietly(capfd):
    with pytest.raises(CorruptImageError) as e:
        decode_image(_damaged(), "bag.jpg")
    assert "bag.jpg" in str(e.value) and "damaged" in str(e.value)
    assert capfd.readouterr().err == ""


def test_intact_jpeg_decodes_quietly(capfd):
    img = decode_image(SAMPLE.read_bytes(), "bag.jpg")
    assert img.shape == (640, 800, 3)
    assert capfd.readouterr().err == ""


def test_foreign_output_is_written_back(capfd):
    with native_stderr() as said:
        os.write(2, b"Corrupt JPEG data: 3 extraneous bytes\nsomething else\nlibpng warning: iCCP\n")
    bad, other = split_messages(said, JPEG_DAMAGE)
    assert bad == ["Corrupt JPEG data: 3 extraneous bytes"] and other == ["something else"]
    assert capfd.readouterr().err == ""  # nothing leaked while captured


def test_opencv_codec_log_is_not_echoed(capfd):
    import cv2

    bmp = bytearray(cv2.imencode(".bmp", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    bmp[30:34] = b"\xff\xff\xff\x7f"  # compression field out of range: OpenCV logs an [ERROR] line
    with pytest.raises(Exception) as e:
        decode_image(bytes(bmp), "x.bmp")
    assert "x.bmp" in str(e.value)
    assert capfd.readouterr().err == ""


def test_concurrent_decodes_keep_their_own_verdicts():
    good, bad = SAMPLE.read_bytes(), _damaged()
    results: dict[int, str] = {}

    def work(i: int) -> None:
        try:
            decode_image(bad if i % 2 else good, f"{i}.jpg")
            results[i] = "ok"
        except CorruptImageError:
            results[i] = "corrupt"

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: ("corrupt" if i % 2 else "ok") for i in range(12)}
