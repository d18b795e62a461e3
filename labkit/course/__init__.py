"""The course around the library: the taxonomy map, exercise checks, the doctor, headless notebook runs."""

from labkit.course import exercises
from labkit.course.checks import EXERCISES, check, check_close, check_env_spaces, check_true, close, exercise
from labkit.course.doctor import doctor
from labkit.course.notebooks import error_outputs, execute_notebook, run_notebooks
from labkit.course.taxonomy import LEAVES, NOTEBOOKS, Leaf, leaf_table, notebook_available, taxonomy_figure
from labkit.course.timing import compute_time

__all__ = [
    "EXERCISES",
    "LEAVES",
    "NOTEBOOKS",
    "Leaf",
    "check",
    "check_close",
    "check_env_spaces",
    "check_true",
    "close",
    "compute_time",
    "doctor",
    "error_outputs",
    "exercise",
    "exercises",
    "execute_notebook",
    "leaf_table",
    "notebook_available",
    "run_notebooks",
    "taxonomy_figure",
]
