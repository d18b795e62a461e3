"""SYLLABUS.md lists every notebook, with the learner time its own first cell states."""

from labkit.course.syllabus import SYLLABUS, learner_time, render_syllabus, syllabus_table
from labkit.course.taxonomy import NOTEBOOK_DIR, NOTEBOOKS


def test_learner_time_reads_the_time_line():
    cell = "# 01 · RL\n\n**Time.** About 40 minutes to read, run and do the exercises; the first ..."
    assert learner_time(cell) == "about 40 minutes"
    assert learner_time("# no time here") == "not stated"


def test_every_notebook_has_a_row_and_a_stated_time():
    table = syllabus_table()
    for stem in NOTEBOOKS:
        if (NOTEBOOK_DIR / f"{stem}.ipynb").exists():
            row = next(line for line in table.splitlines() if f"notebooks/{stem}.ipynb" in line)
            assert "not stated" not in row, f"{stem}: its first cell needs '**Time.** About N minutes ...'"


def test_syllabus_is_in_sync_with_the_notebooks():
    text = SYLLABUS.read_text()
    assert render_syllabus(text) == text, "SYLLABUS.md is stale: python -m labkit.course.syllabus"
