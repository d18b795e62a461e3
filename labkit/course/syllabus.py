"""The syllabus's learning-path table, made from the notebooks themselves (never typed twice).

Each row comes from a notebook's first cell (its title and its "**Time.**" line: the learner time)
and from the map (``taxonomy.LEAVES``: which part of the course it belongs to). A notebook still to
come is listed without a link. ``python -m labkit.course.syllabus`` rewrites the table in
``SYLLABUS.md`` (between ``<!-- syllabus:table -->`` markers); a test fails when they drift apart.
"""

from __future__ import annotations

import re
import sys

import nbformat

from labkit.course.taxonomy import LEAVES, NOTEBOOK_DIR, NOTEBOOKS

__all__ = ["SYLLABUS", "learner_time", "render_syllabus", "syllabus_table"]

SYLLABUS = NOTEBOOK_DIR.parent / "SYLLABUS.md"
_MARKER = re.compile(r"(<!-- syllabus:table -->\n)(.*?)(<!-- /syllabus -->)", re.S)
_TIME = re.compile(r"\*\*Time\.\*\*\s*(About [^;.]*)", re.I)


def learner_time(first_cell: str) -> str:
    """ "About 40 minutes to read, run ..." -> "about 40 minutes" (the words before the first ; or .)."""
    m = _TIME.search(first_cell.replace("\n", " "))
    if not m:
        return "not stated"
    words = re.split(r"\s+to\s+(?:read|run|work)", m.group(1))[0]
    return words[0].lower() + words[1:]


def _title(first_cell: str, stem: str) -> str:
    for line in first_cell.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return stem


def syllabus_table() -> str:
    """The markdown table: notebook (linked when it exists), part of the course, what you do, learner time."""
    part = {leaf.notebook: leaf.path[0].split(". ", 1)[-1] for leaf in LEAVES}
    rows = ["| notebook | part | what you do | learner time |", "|---|---|---|---|"]
    for stem, what in NOTEBOOKS.items():
        path = NOTEBOOK_DIR / f"{stem}.ipynb"
        if path.exists():
            first = nbformat.read(path, as_version=4).cells[0].source
            name, when = f"[{_title(first, stem)}](notebooks/{stem}.ipynb)", learner_time(first)
        else:
            name, when = f"{stem} (coming)", "-"
        rows.append(f"| {name} | {part.get(stem, '-')} | {what} | {when} |")
    return "\n".join(rows) + "\n"


def render_syllabus(text: str) -> str:
    """``text`` with its table between the markers replaced by :func:`syllabus_table`."""
    if not _MARKER.search(text):
        raise ValueError("SYLLABUS.md has no <!-- syllabus:table --> ... <!-- /syllabus --> block")
    return _MARKER.sub(lambda m: m.group(1) + syllabus_table() + m.group(3), text)


def main() -> int:
    SYLLABUS.write_text(render_syllabus(SYLLABUS.read_text()))
    print(f"updated {SYLLABUS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
