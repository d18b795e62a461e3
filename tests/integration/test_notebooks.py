"""Every notebook runs top to bottom in smoke mode with no error output, and is a course page.

* as shipped, every exercise check says "not yet"; with the worked solutions applied, every one passes;
* no percentage or timing is typed into the prose: numbers come from code or a benchmark results file;
* it opens with its place on the map, goals, prerequisites and time, and ends with a summary, exercises
  and what to read next; the .ipynb is committed without outputs and paired with its .py.
"""

import json
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from labkit.course.notebooks import NOTEBOOK_GLOB, error_outputs, execute_notebook, run_one
from labkit.course.solutions import exercise_cells, load_solutions, solutions_for

NB_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob(NOTEBOOK_GLOB))  # what python -m labkit run-notebooks runs
IDS = [p.stem for p in NOTEBOOKS]
#: the hook's rule: a percentage, or a number of seconds or milliseconds (not "2 s-1" or "3 x")
TYPED_NUMBER = re.compile(r"\d+(\.\d+)?\s?%|\d+(\.\d+)?\s?(ms|s)\b(?! *[-x])")


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


def _checks(log: Path) -> dict[str, bool]:
    return {r["exercise"]: r["passed"] for r in map(json.loads, log.read_text().splitlines())} if log.exists() else {}


@pytest.mark.notebook
@pytest.mark.xdist_group("notebooks")  # with pytest -n: on the worker that builds the site from these runs
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_runs_in_smoke_mode_and_every_check_says_not_yet(path, tmp_path, executed_dir):
    log = tmp_path / "checks.jsonl"
    nb, status, detail = run_one(path, smoke=True, timeout=600, check_log=log)
    nbformat.write(nb, executed_dir / path.name)  # the site test builds its pages from this run
    assert status == "ok", detail
    assert error_outputs(nb) == []
    expected = set(exercise_cells(nbformat.read(path, as_version=4)))
    checks = _checks(log)
    assert set(checks) == expected, f"exercise cells {sorted(expected)} but checks ran for {sorted(checks)}"
    assert not any(checks.values()), f"checks that pass before the learner did anything: {checks}"


@pytest.mark.notebook
@pytest.mark.xdist_group("solutions")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_check_passes_with_the_solutions(path, tmp_path):
    log = tmp_path / "checks.jsonl"
    nb = execute_notebook(path, smoke=True, timeout=600, check_log=log, solutions=True)
    assert error_outputs(nb) == []
    checks = _checks(log)
    assert checks and all(checks.values()), f"checks that fail on the reference solutions: {checks}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_is_a_course_page(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0].source
    for part in ("Place on the map", "Goals", "Prerequisites", "Time"):
        assert part in first, f"{path.name}: the first cell needs '{part}'"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in ("## Summary", "## Exercises", "## Read next"):
        assert heading in text, f"{path.name}: add a '{heading}' section"
    exercises = exercise_cells(nb)
    assert len(exercises) >= 2, f"{path.name}: at least two checkable exercises (cells starting '# EXERCISE NN.x')"
    solutions = load_solutions(solutions_for(path))
    assert set(exercises) <= set(solutions), f"no solution for {sorted(set(exercises) - set(solutions))}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_typed_numbers_in_the_prose(path):
    nb = nbformat.read(path, as_version=4)
    typed = [
        line.strip()
        for c in nb.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
        if TYPED_NUMBER.search(line)
    ]
    assert not typed, f"{path.name}: print these from code or a benchmarks/results file instead: {typed[:5]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs_and_paired(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), (
        f"strip outputs: jupyter nbconvert --clear-output {path}"
    )
    paired = path.with_suffix(".py")
    assert paired.exists(), f"{paired.name} missing: jupytext --to py:percent {path}"
    src_py = [c.source for c in jupytext.read(paired).cells]
    src_nb = [c.source for c in nb.cells]
    assert src_py == src_nb, f"{path.name} and {paired.name} differ: jupytext --sync {paired}"
