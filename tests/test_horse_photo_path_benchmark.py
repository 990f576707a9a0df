"""benchmarks/horse_photo_path.py: the true-box crop it compares the runtime's face crop with."""
import numpy as np

from bench_scripts import load_benchmark


def test_crop_box_grows_by_the_margin_and_stays_on_the_image():
    bench = load_benchmark("horse_photo_path")
    img = np.zeros((100, 200, 3), np.uint8)
    assert bench.crop_box(img, (50, 20, 70, 60), 0.0).shape[:2] == (40, 20)
    assert bench.crop_box(img, (50, 20, 70, 60), 0.5).shape[:2] == (80, 40)
    assert bench.crop_box(img, (0, 0, 20, 40), 0.5).shape[:2] == (60, 30)     # clipped at the corner
