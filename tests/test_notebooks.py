"""Execute the user notebooks with small settings and check what they report.

Each notebook ends with a cell tagged ``summary`` that prints one JSON object; the tests read
it and check the numbers. The kernel is ``python3`` from this interpreter (jupyter_client
runs a ``python`` kernelspec with ``sys.executable``; :func:`test_kernel_is_this_interpreter`
checks it), with ``INSPECT_CV_NB_SMALL=1`` and the checkout on ``PYTHONPATH``.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = ["baggage_quickstart.ipynb", "container_inspection.ipynb", "horse_reid.ipynb"]


@pytest.fixture
def nb_env(monkeypatch, tmp_path):
    """Small settings, the checkout importable, matplotlib cache in the tmp dir."""
    monkeypatch.setenv("INSPECT_CV_NB_SMALL", "1")
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + (os.pathsep + path if path else ""))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # the kernel's scratch folders land here
    return tmp_path


def scratch_left(tmp_path: Path) -> list[str]:
    """Notebook scratch folders still there after the kernel stopped (they should be removed)."""
    return sorted(p.name for p in (tmp_path / "tmp").glob("inspect_cv_*_nb_*"))


def execute(nb, cwd: Path, timeout: int = 300):
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()  # raises CellExecutionError on any cell error
    return nb


def run_notebook(name: str, cwd: Path) -> tuple[dict, object]:
    nb = execute(nbformat.read(NB_DIR / name, as_version=4), cwd)
    cells = [c for c in nb.cells if "summary" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{name}: expected one cell tagged 'summary'"
    text = "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")
    return json.loads(text.strip().splitlines()[-1]), nb


def n_figures(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.outputs if o.output_type in ("display_data", "execute_result"))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_clean(name):
    nb = nbformat.read(NB_DIR / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code), \
        f"{name}: commit notebooks without outputs"
    assert "INSPECT_CV_NB_SMALL" in code[0].source, f"{name}: the first code cell holds the parameters"


def test_kernel_is_this_interpreter(nb_env):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, sys; print(os.path.realpath(sys.executable)); print(os.environ['INSPECT_CV_NB_SMALL'])")])
    out = execute(nb, nb_env, timeout=60).cells[0].outputs[0]["text"].split()
    assert out == [os.path.realpath(sys.executable), "1"]


def test_baggage_quickstart(nb_env):
    s, nb = run_notebook("baggage_quickstart.ipynb", nb_env)
    assert s["n_eval_bags"] == 8
    assert 0.0 < s["map50"] <= 1.0 and 0.0 <= s["map50_95"] <= s["map50"]
    assert all(0.0 <= v <= 1.0 for k, v in s["alarm"].items() if not k.startswith("threshold"))
    # the projected threat is found where TIP put it, and was not there before
    assert s["tip_score_after"] > 0.05 and s["tip_iou"] >= 0.3
    assert s["tip_score_after"] > s["tip_score_before"]
    assert s["tip_rgb_score"] > 0.05
    assert scratch_left(nb_env) == []
    x1, y1, x2, y2 = s["tip_box"]
    assert x2 > x1 and y2 > y1
    assert n_figures(nb) >= 6


def test_container_inspection(nb_env):
    s, nb = run_notebook("container_inspection.ipynb", nb_env)
    assert s["scan_empty_verdict"] is False
    assert abs(s["scan_mass_kg"] - s["scan_true_mass_kg"]) <= 0.25 * s["scan_true_mass_kg"]
    assert s["false_manifest_consistent"] is False
    assert "declared_empty_but_loaded" in s["false_manifest_reasons"]
    assert s["n_empty"] == 4 and s["n_loaded"] == 4
    assert s["caught_at_threshold"] >= 0.75 and s["false_alarm_at_threshold"] <= 0.25
    assert n_figures(nb) >= 5
    if s["detector"] is not None:   # the shipped detector ran on fresh scans with hidden items
        assert s["det_scans"] == 6 and s["det_items"] >= 4
        assert s["det_recall_at_0.05"] is None or 0.0 <= s["det_recall_at_0.05"] <= 1.0


def test_horse_reid(nb_env):
    pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    s, nb = run_notebook("horse_reid.ipynb", nb_env)
    assert s["onnx_max_abs_diff"] < 1e-4
    assert 0.0 <= s["rank1"] <= 1.0 and 0.0 <= s["eer"] <= 1.0
    assert s["n_enrolled"] >= 2
    assert -1.0 <= s["verify_other_score"] <= 1.0 and -1.0 <= s["verify_same_score"] <= 1.0
    if s["pretrained"]:  # ImageNet features separate synthetic horses even after a few iterations
        assert s["genuine_mean"] > s["impostor_mean"]
        assert s["eer"] < 0.5
        assert s["rank1"] > 1.0 / (s["n_test_identities"] - 1)
    assert n_figures(nb) >= 4
    assert scratch_left(nb_env) == []


def test_notebook_keeps_files_in_a_chosen_folder(nb_env, monkeypatch):
    """INSPECT_CV_NB_WORK keeps the scratch files: the setup cell writes there and leaves it."""
    work = nb_env / "keep"
    monkeypatch.setenv("INSPECT_CV_NB_WORK", str(work))
    nb = nbformat.read(NB_DIR / "horse_reid.ipynb", as_version=4)
    setup = [c for c in nb.cells if c.cell_type == "code"][:2]
    probe = nbformat.v4.new_code_cell("(WORK / 'probe.txt').write_text('kept'); print(WORK)")
    out = execute(nbformat.v4.new_notebook(cells=setup + [probe]), nb_env, timeout=60)
    assert out.cells[-1].outputs[-1]["text"].split()[-1] == str(work)
    assert (work / "probe.txt").read_text() == "kept"
