"""labkit.course: the taxonomy map, exercise checks, the doctor, headless notebook runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labkit.course import (
    LEAVES,
    NOTEBOOKS,
    check_close,
    check_env_spaces,
    check_true,
    error_outputs,
    leaf_table,
    notebook_available,
    taxonomy_figure,
)
from labkit.course.notebooks import NOTEBOOK_GLOB, ROOT


def test_taxonomy_covers_curriculum_and_links_existing_notebooks():
    assert {leaf.notebook for leaf in LEAVES} | {"00_map_and_setup", "01_rl_with_sb3", "02_demonstrations"} == set(
        NOTEBOOKS
    )
    assert notebook_available("00_map_and_setup")
    table = leaf_table()
    assert table.count("\n") == len(LEAVES) + 1
    fig = taxonomy_figure()
    assert fig.data[0].type == "sunburst" and len(fig.data[0].ids) > len(LEAVES)


def test_checks_report_right_and_wrong(capsys):
    assert check_env_spaces("labkit/TwoRoutes-v0", 8, 2)
    assert not check_env_spaces("labkit/TwoRoutes-v0", 6, 2)
    assert not check_close(1.0, 2.0, "x")
    assert check_true(True, "y") and not check_true(False, "z")
    assert "\u274c" in capsys.readouterr().out


def test_doctor_passes_here():
    out = subprocess.run([sys.executable, "-m", "labkit", "doctor"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "MUJOCO_GL" in out.stdout and "render             ok" in out.stdout


def test_broken_backend_gives_one_clear_message():
    env = dict(os.environ, MUJOCO_GL="osmesa", PYOPENGL_PLATFORM="osmesa")
    # Probe with mujoco alone (importing labkit in a child costs ~10 s on a busy laptop).
    code = (
        'import mujoco; m = mujoco.MjModel.from_xml_string(\'<mujoco><worldbody><geom size="0.1"/></worldbody>'
        "</mujoco>'); r = mujoco.Renderer(m, 8, 8); r.update_scene(mujoco.MjData(m)); r.render()"
    )
    if subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=300).returncode == 0:
        pytest.skip("OSMesa works on this machine, so it cannot stand in for a broken backend")
    out = subprocess.run(
        [sys.executable, "-m", "labkit", "doctor"], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 1
    assert "PROBLEM" in out.stderr and (
        "libosmesa6" in out.stderr or "MUJOCO_GL=egl works on this machine" in out.stderr
    )


def test_notebook_glob_finds_the_numbered_notebooks():
    found = sorted(p.stem for p in (ROOT / "notebooks").glob(NOTEBOOK_GLOB))
    assert found and set(found) <= set(NOTEBOOKS) and "00_map_and_setup" in found


def test_error_outputs_reads_errors_and_stderr_tracebacks():
    nb = nbformat.v4.new_notebook()
    ok = nbformat.v4.new_code_cell("1")
    ok.outputs = [nbformat.v4.new_output("stream", name="stderr", text="a warning\n")]
    bad = nbformat.v4.new_code_cell("1 / 0")
    bad.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]
    logged = nbformat.v4.new_code_cell("")
    logged.outputs = [nbformat.v4.new_output("stream", name="stderr", text="Traceback (most recent call last):\n  ...")]
    nb.cells = [ok, bad, logged]
    errors = error_outputs(nb)
    assert errors[0] == "ZeroDivisionError: division by zero" and len(errors) == 2 and "Traceback" in errors[1]


def test_execute_notebook_refuses_a_missing_file(tmp_path):
    from labkit.course import execute_notebook

    with pytest.raises(FileNotFoundError, match="no notebook at"):
        execute_notebook(Path(tmp_path) / "nope.ipynb", smoke=True)


def test_benchmark_result_reads_a_results_file_or_names_what_to_run():
    from labkit.course import benchmark_result

    assert benchmark_result("priors_sample_efficiency_blocked")["task"] == "blocked"
    with pytest.raises(FileNotFoundError, match="run the benchmark"):
        benchmark_result("no_such_benchmark")
