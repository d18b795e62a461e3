"""``python -m labkit doctor``: versions, rendering backend, torch threads and GPU, one rendered frame."""

from __future__ import annotations

import platform
import sys
import time
from importlib import metadata
from typing import cast

import numpy as np
import torch

from labkit.envs.registry import make
from labkit.runtime import RenderingError, backend, check_rendering

__all__ = ["doctor"]


def doctor() -> int:
    """Check the installation; return a process exit code (0 = all good)."""
    problems: list[str] = []
    print(f"labkit {metadata.version('labkit')} on Python {platform.python_version()} ({platform.platform()})")
    for pkg in ["torch", "mujoco", "gymnasium", "stable-baselines3", "numpy", "plotly", "ipywidgets", "jupyterlab"]:
        try:
            print(f"  {pkg:<18} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            problems.append(f"{pkg} is not installed: run `make setup` (or `pip install -e .`)")
            print(f"  {pkg:<18} MISSING")
    try:
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU is fine)"
        print(f"  torch threads      {torch.get_num_threads()}\n  GPU                {gpu}")
    except Exception as exc:  # pragma: no cover - torch missing is reported above
        problems.append(f"torch does not import: {exc}")
    print(f"  MUJOCO_GL          {backend()}")
    try:
        check_rendering()
        t0 = time.perf_counter()
        env = make("labkit/TwoRoutes-v0", seed=0, render_mode="rgb_array")
        frame = cast(np.ndarray, env.render())  # render_mode="rgb_array"
        env.close()
        print(f"  render             ok: labkit/TwoRoutes-v0 frame {frame.shape} in {time.perf_counter() - t0:.2f} s")
    except RenderingError as exc:
        problems.append(str(exc))
    except Exception as exc:
        problems.append(f"rendering labkit/TwoRoutes-v0 failed ({type(exc).__name__}: {exc})")
    if problems:
        for p in problems:
            print(f"PROBLEM: {p}", file=sys.stderr)
        return 1
    print("labkit doctor: all good")
    return 0
