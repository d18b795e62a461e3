"""Command line: ``python -m labkit doctor | run-notebooks | make-data``.

Every subcommand answers a bad name or a missing file with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from labkit.course.doctor import doctor
from labkit.course.notebooks import run_notebooks
from labkit.data.shipped import SHIPPED, UnknownShippedError
from labkit.experiments.shipped import make_data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="check versions, rendering backend and GPU; render one frame")
    run = sub.add_parser("run-notebooks", help="execute notebooks headless into executed .ipynb and HTML")
    run.add_argument("notebooks", nargs="*", help="notebooks to run (default: every notebooks/NN*_*.ipynb)")
    run.add_argument("--smoke", action="store_true", help="smoke mode (LABKIT_SMOKE=1): seconds per notebook")
    run.add_argument("--out", default="build/notebooks", help="output folder (default: build/notebooks)")
    run.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    mk = sub.add_parser("make-data", help="remake the shipped datasets/checkpoints in data/")
    mk.add_argument("names", nargs="*", help=f"entries to remake (default: all): {', '.join(SHIPPED)}")
    args = parser.parse_args(argv)
    if args.command == "doctor":
        return doctor()
    if args.command == "make-data":
        try:
            return make_data(args.names)
        except UnknownShippedError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if args.timeout < 1:
        print(f"error: --timeout must be a positive number of seconds. Got {args.timeout}.", file=sys.stderr)
        return 2
    return run_notebooks(args.notebooks, smoke=args.smoke, out=args.out, timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
