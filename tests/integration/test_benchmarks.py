"""Every benchmark script at least parses its arguments (imports resolve, --help works).

The benchmarks themselves measure speed and quality; they are run by hand (README quotes them),
not timed here.
"""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = sorted(
    p for p in (Path(__file__).resolve().parents[2] / "benchmarks").glob("*.py") if not p.name.startswith("_")
)


def test_there_are_benchmarks():
    assert SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_benchmark_help(script):
    out = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    if script.stem != "report":  # report.py renders the results; every other script measures
        assert "--quick" in out.stdout
