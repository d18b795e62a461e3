"""Command line: ``python -m labkit doctor | run-notebooks | make-data``.

``doctor`` prints versions, the rendering backend, torch threads and GPU, renders one frame of a
labkit task, and exits non-zero with the reason when something is broken.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import labkit  # noqa: F401  (picks MUJOCO_GL first)


def doctor() -> int:
    """Check the installation; return a process exit code (0 = all good)."""
    from importlib import metadata

    problems: list[str] = []
    print(f"labkit {labkit.__version__} on Python {platform.python_version()} ({platform.platform()})")
    for pkg in ["torch", "mujoco", "gymnasium", "stable-baselines3", "numpy", "plotly", "ipywidgets", "jupyterlab"]:
        try:
            print(f"  {pkg:<18} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            problems.append(f"{pkg} is not installed: run `make setup` (or `pip install -e .`)")
            print(f"  {pkg:<18} MISSING")
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU is fine)"
        print(f"  torch threads      {torch.get_num_threads()}\n  GPU                {gpu}")
    except Exception as exc:  # pragma: no cover - torch missing is reported above
        problems.append(f"torch does not import: {exc}")
    from labkit.render import RenderingError, backend, check_rendering

    print(f"  MUJOCO_GL          {backend()}")
    try:
        check_rendering()
        from labkit.envs import make

        t0 = time.perf_counter()
        env = make("labkit/TwoRoutes-v0", seed=0, render_mode="rgb_array")
        frame = env.render()
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="check versions, rendering backend and GPU; render one frame")
    run = sub.add_parser("run-notebooks", help="execute notebooks headless into executed .ipynb and HTML")
    run.add_argument("notebooks", nargs="*", help="notebooks to run (default: notebooks/[0-9]*.ipynb)")
    run.add_argument("--smoke", action="store_true", help="smoke mode (LABKIT_SMOKE=1): seconds per notebook")
    run.add_argument("--out", default="build/notebooks", help="output folder (default: build/notebooks)")
    run.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    mk = sub.add_parser("make-data", help="remake the shipped datasets/checkpoints in data/")
    mk.add_argument("names", nargs="*", help="entries to remake (default: all); see labkit.datasets.SHIPPED")
    args = parser.parse_args(argv)
    if args.command == "doctor":
        return doctor()
    if args.command == "make-data":
        from labkit.datasets import make_data

        return make_data(args.names)
    from labkit.notebooks import run_notebooks

    return run_notebooks(args.notebooks, smoke=args.smoke, out=args.out, timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
