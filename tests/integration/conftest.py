"""Shared by the browser tests (JupyterLab, the course site, the hand-out pages): finding Chromium."""

from __future__ import annotations

import os
import shutil

import pytest

# The flags every browser test launches Debian's Chromium with (no sandbox: containers run as root).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def find_chromium() -> str | None:
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def require_chromium() -> str:
    """Chromium's path; skip without it, except in CI (CI=true), where the browser tests are mandatory."""
    chromium = find_chromium()
    if chromium is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "Chromium not found, and CI=true makes the browser test mandatory (.ci/run installs Debian's chromium)"
            )
        pytest.skip(
            "Chromium not found: install Debian's chromium (sudo apt-get install chromium) to run the browser test"
        )
    return chromium


@pytest.fixture(scope="session")
def chromium_args() -> list[str]:
    return list(CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium, or a skip (a failure in CI) that says how to install it."""
    return require_chromium()


@pytest.fixture(scope="session")
def executed_dir(tmp_path_factory):
    """Notebooks executed in smoke mode as shipped, by the notebook tests; the site test reuses them."""
    return tmp_path_factory.mktemp("executed")
