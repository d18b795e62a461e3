"""Every notebook runs top to bottom in smoke mode, with no error output; pairs stay in sync."""

from pathlib import Path

import jupytext
import nbformat
import pytest

from labkit.course.notebooks import NOTEBOOK_GLOB, error_outputs, execute_notebook

NB_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob(NOTEBOOK_GLOB))  # what python -m labkit run-notebooks runs


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_smoke_mode(path):
    nb = execute_notebook(path, smoke=True, timeout=600)
    assert error_outputs(nb) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_committed_without_outputs_and_paired(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), (
        f"strip outputs: jupyter nbconvert --clear-output {path}"
    )
    paired = path.with_suffix(".py")
    assert paired.exists(), f"{paired.name} missing: jupytext --to py:percent {path}"
    text = jupytext.read(paired)
    src_py = [c.source for c in text.cells]
    src_nb = [c.source for c in nb.cells]
    assert src_py == src_nb, f"{path.name} and {paired.name} differ: jupytext --sync {paired}"


def test_notebooks_open_with_map_place_and_end_with_exercises():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0].source
        assert "Place on the map" in first and "Goals" in first and "Prerequisites" in first, path.name
        tail = "\n".join(c.source for c in nb.cells[-4:])
        assert "Summary" in tail or "## Summary" in "\n".join(c.source for c in nb.cells), path.name
        assert "Exercises" in "\n".join(c.source for c in nb.cells), path.name
