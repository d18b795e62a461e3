"""The course around the library: the taxonomy map, exercise checks, the doctor, headless notebook runs,
the hand-out pages and the course site (``labkit.course.site``)."""

from labkit.course import exercises
from labkit.course.checks import EXERCISES, check, check_close, check_env_spaces, check_true, close, exercise
from labkit.course.doctor import doctor
from labkit.course.notebooks import error_outputs, execute_notebook, export_html, prepare_for_html, run_notebooks
from labkit.course.site import build_site
from labkit.course.taxonomy import LEAVES, NOTEBOOKS, Leaf, leaf_table, notebook_available, taxonomy_figure
from labkit.course.timing import benchmark_result, compute_time

__all__ = [
    "EXERCISES",
    "LEAVES",
    "NOTEBOOKS",
    "Leaf",
    "benchmark_result",
    "build_site",
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
    "export_html",
    "leaf_table",
    "notebook_available",
    "prepare_for_html",
    "run_notebooks",
    "taxonomy_figure",
]
