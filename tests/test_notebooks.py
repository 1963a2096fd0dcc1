"""The notebooks' pairs stay in sync, carry no outputs, and stay thin. (nbmake runs them.)"""

import json
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PY_FILES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
EXPECTED = ["01_data_exploration", "02_training", "03_inference", "04_checkpoint_comparison"]


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_the_four_pairs_exist():
    assert [p.stem for p in PY_FILES] == EXPECTED
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == EXPECTED


@pytest.mark.parametrize("py", PY_FILES, ids=lambda p: p.stem)
def test_pair_in_sync_and_without_outputs(py):
    ipynb = py.with_suffix(".ipynb")
    source_nb = jupytext.read(py)
    committed = jupytext.read(ipynb)
    assert _cells(source_nb) == _cells(committed), (
        f"{ipynb.name} is out of sync with {py.name}: run `jupytext --sync notebooks/*.py`"
    )
    raw = json.loads(ipynb.read_text())
    for cell in raw["cells"]:
        assert not cell.get("outputs") and not cell.get("execution_count"), (
            f"{ipynb.name} holds outputs: clear them (e.g. `jupytext --to ipynb {py}`)"
        )
    assert "jupytext_version:" not in py.read_text()  # version drift must not dirty the pair


@pytest.mark.parametrize("py", PY_FILES, ids=lambda p: p.stem)
def test_notebook_reads_like_a_report(py):
    nb = jupytext.read(py)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    headings = [c.source for c in nb.cells if c.cell_type == "markdown" and "## 1." in c.source]
    assert headings, f"{py.name}: sections are numbered (## 1. ...)"
    longest = max(len(c.source.splitlines()) for c in nb.cells if c.cell_type == "code")
    assert longest <= 25, f"{py.name}: a code cell of {longest} lines; move logic to vitst_utils"
