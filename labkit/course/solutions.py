"""Apply the worked solutions to a notebook: every ``# EXERCISE NN.x`` cell replaced by its ``# SOLUTION NN.x``.

``solutions/NN_topic.py`` (py:percent) holds one code cell per exercise, whose first line is
``# SOLUTION NN.x``, plus markdown notes (what to expect across seeds, how long it takes). Instructors
run ``python -m labkit run-notebooks --solutions`` to get the notebooks with every exercise solved; the
tests do the same to prove that every check passes on the reference solutions.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

__all__ = ["SOLUTIONS_DIR", "apply_solutions", "exercise_cells", "load_solutions", "solutions_for"]

SOLUTIONS_DIR = Path(__file__).resolve().parent.parent.parent / "solutions"
_EXERCISE = re.compile(r"^# EXERCISE (\d\d\w*\.\w+)\s*$")
_SOLUTION = re.compile(r"^# SOLUTION (\d\d\w*\.\w+)\s*$")


def _first_line_id(source: str, pattern: re.Pattern) -> str | None:
    match = pattern.match(source.split("\n", 1)[0])
    return match.group(1) if match else None


def exercise_cells(nb: nbformat.NotebookNode) -> dict[str, int]:
    """``{exercise id: cell index}`` of a notebook's exercise cells."""
    out: dict[str, int] = {}
    for i, cell in enumerate(nb.cells):
        ex = _first_line_id(cell.source, _EXERCISE) if cell.cell_type == "code" else None
        if ex is not None:
            if ex in out:
                raise ValueError(f"exercise {ex!r} appears twice in the notebook (cells {out[ex]} and {i}).")
            out[ex] = i
    return out


def load_solutions(path: str | Path) -> dict[str, str]:
    """``{exercise id: solution cell source}`` from a py:percent solutions file."""
    import jupytext  # loads in seconds: only when solutions are applied

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no solutions file at {path}")
    out = {}
    for cell in jupytext.read(path).cells:
        sol = _first_line_id(cell.source, _SOLUTION) if cell.cell_type == "code" else None
        if sol is not None:
            out[sol] = cell.source
    return out


def solutions_for(notebook: str | Path) -> Path:
    """``solutions/<stem>.py`` of a notebook."""
    return SOLUTIONS_DIR / (Path(notebook).stem + ".py")


def apply_solutions(nb: nbformat.NotebookNode, solutions: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``nb`` with each exercise cell's source replaced by its solution.

    :raises KeyError: an exercise has no solution (the message lists which).
    """
    cells = exercise_cells(nb)
    missing = sorted(set(cells) - set(solutions))
    if missing:
        raise KeyError(f"no solution for exercises {missing}; add '# SOLUTION <id>' cells to the solutions file.")
    out = copy.deepcopy(nb)
    for ex, i in cells.items():
        out.cells[i].source = solutions[ex]
    return out
