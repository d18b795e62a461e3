"""The course around the library: the taxonomy map, exercise checks, the doctor, headless notebook runs."""

from labkit.course.checks import check_close, check_env_spaces, check_true
from labkit.course.doctor import doctor
from labkit.course.notebooks import error_outputs, execute_notebook, run_notebooks
from labkit.course.taxonomy import LEAVES, NOTEBOOKS, Leaf, leaf_table, notebook_available, taxonomy_figure

__all__ = [
    "LEAVES",
    "NOTEBOOKS",
    "Leaf",
    "check_close",
    "check_env_spaces",
    "check_true",
    "doctor",
    "error_outputs",
    "execute_notebook",
    "leaf_table",
    "notebook_available",
    "run_notebooks",
    "taxonomy_figure",
]
