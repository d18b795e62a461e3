"""How often the frozen prior is called per vectorised step, with and without ``ChunkRunner(align=...)``.

    python benchmarks/prior_calls.py [--quick] [--steps 2000] [--envs 8]

A ``ResidualVecEnv`` with 8 envs takes random small residuals on each task of
``labkit.experiments.priors.TASKS``; we count the prior's batched calls (``runner.n_calls``) and time a
vec step. Episodes end at different steps (successes terminate early), so without alignment the
envs' chunks fall out of step and the prior is called for a few rows almost every step; with it,
about once per Ta = 4 steps plus once per step in which some env restarts. The counts are exact for
the seeds used; the milliseconds move with the machine's load.
Writes benchmarks/results/prior_calls.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import table, write_results  # noqa: E402

from labkit.experiments.priors import TASKS  # noqa: E402
from labkit.finetune import make_residual_env  # noqa: E402


def measure(task_name: str, align: bool, steps: int, n_envs: int) -> dict:
    task = TASKS[task_name]
    venv = make_residual_env(task.env_id, task.load_prior(), n_envs, seed=0, check_env_id=False, align=align)
    rng = np.random.default_rng(0)
    venv.reset()
    start = time.perf_counter()
    for _ in range(steps):
        venv.step(rng.uniform(-0.2, 0.2, (n_envs, venv.action_space.shape[0])).astype(np.float32))
    seconds = time.perf_counter() - start
    return {
        "task": task_name,
        "align": align,
        "calls per vec step": round(venv.runner.n_calls / steps, 3),
        "ms per vec step": round(1000 * seconds / steps, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 steps per case (seconds)")
    parser.add_argument("--steps", type=int, default=None, help="vec steps per case (default 2000)")
    parser.add_argument("--envs", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    steps = args.steps or (200 if args.quick else 2_000)
    rows = [measure(task, align, steps, args.envs) for task in TASKS for align in (False, True)]
    print(table(rows, list(rows[0])))
    path = write_results(
        "prior_calls" + ("_quick" if args.quick else ""), {"steps": steps, "n_envs": args.envs, "rows": rows}
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
