import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("INSPECT_CV_PROGRESS", "0")

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", max_examples=40, deadline=None)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def grid_model(tmp_path_factory):
    from fixture_models import grid_detector

    return grid_detector(tmp_path_factory.mktemp("models") / "grid.onnx")


@pytest.fixture(scope="session")
def grid_model_raw(tmp_path_factory):
    from fixture_models import grid_detector

    return grid_detector(tmp_path_factory.mktemp("models_raw") / "grid_raw.onnx", output_format="raw")


@pytest.fixture(scope="session")
def embed_model(tmp_path_factory):
    from fixture_models import tiny_embedder

    return tiny_embedder(tmp_path_factory.mktemp("emb") / "emb.onnx")
