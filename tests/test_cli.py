"""``python -m labkit``: a bad name or a missing file is one line on stderr and exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labkit.__main__ import main


def test_make_data_unknown_name_is_one_line_and_exit_2():
    out = subprocess.run(
        [sys.executable, "-m", "labkit", "make-data", "NOSUCH"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "NOSUCH" in lines[0] and "two_routes_demos" in lines[0], out.stderr
    assert "making" not in out.stdout  # refused before anything ran


@pytest.mark.parametrize(
    "argv, words",
    [
        (["run-notebooks", "nosuch.ipynb"], ["nosuch.ipynb", "notebooks"]),
        (["run-notebooks", "--timeout", "0"], ["--timeout"]),
        (["make-data", "two_routes_demos", "NOSUCH"], ["NOSUCH"]),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(argv, words, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)] if argv[0] == "run-notebooks" else argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and all(w in err[0] for w in words), err
    assert list(tmp_path.iterdir()) == []  # nothing was written
