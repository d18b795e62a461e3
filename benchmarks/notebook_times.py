"""How long every notebook takes, top to bottom, on this machine: the times notebooks print in their first cell.

    python benchmarks/notebook_times.py            # full mode (minutes each); writes results/notebook_times.json
    python benchmarks/notebook_times.py --quick    # smoke mode (seconds each); writes results/notebook_times_quick.json
    python benchmarks/notebook_times.py notebooks/03_diffusion_policy.ipynb   # only some (merged into the file)

Run it on an otherwise idle machine: the times are wall clock (the 1-minute load is recorded).
Target: every notebook within 3 minutes on 2 cores in full mode.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, machine, write_results  # noqa: E402

from labkit.course.notebooks import NOTEBOOK_GLOB, ROOT, error_outputs, execute_notebook  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to time (default: all)")
    parser.add_argument("--quick", action="store_true", help="smoke mode (seconds per notebook)")
    args = parser.parse_args()
    paths = [Path(p) for p in args.notebooks] or sorted((ROOT / "notebooks").glob(NOTEBOOK_GLOB))
    name = "notebook_times" + ("_quick" if args.quick else "")
    old = RESULTS / f"{name}.json"
    rows = json.loads(old.read_text()).get("notebooks", {}) if args.notebooks and old.exists() else {}
    for path in paths:
        start = time.perf_counter()
        try:
            errors = error_outputs(execute_notebook(path, smoke=args.quick, timeout=1800))
            status = "ok" if not errors else f"error: {errors[0][:200]}"
        except Exception as err:  # noqa: BLE001 - record the failure and go on
            status = f"error: {type(err).__name__}: {str(err)[:200]}"
        seconds = time.perf_counter() - start
        rows[path.stem] = {"seconds": round(seconds, 1), "status": status, "machine": machine()}
        print(f"{path.stem:40s} {seconds:7.1f} s  {status}", flush=True)
    slow = [k for k, r in rows.items() if r["seconds"] > 180]
    print(f"target 'every notebook within 3 minutes': {'met' if not slow else 'missed by ' + ', '.join(slow)}")
    path = write_results(name, {"mode": "smoke" if args.quick else "full", "notebooks": rows})
    print(f"wrote {path}")
    return 0 if all(r["status"] == "ok" for r in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
