"""Steps per second of SB3 PPO and SAC with a frozen diffusion prior in the loop vs without.

    python benchmarks/priors_throughput.py [--quick]

Same agent and settings with and without the prior, on labkit/TwoRoutes-v0 (PPO: 4 vec envs).
The prior is trained for a few hundred iterations (its quality does not matter for speed): an MLP
denoiser, DDIM with 10 steps, chunks of 8 with 4 executed. Timings are wall-clock on whatever the
machine is doing, so runs alternate plain / prior and report the median of ``--repeats``.
Writes benchmarks/results/priors_throughput.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results  # noqa: E402

from labkit import behaviour_cloning, load, make  # noqa: E402
from labkit.finetune import SampleSelectSAC, make_noise_space_env, make_residual_env  # noqa: E402

ENV = "labkit/TwoRoutes-v0"


def rate(model, steps: int) -> float:
    model.learn(min(steps // 10, 500))  # warm up (first calls, buffers)
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small budgets (smoke run)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ppo_steps, sac_steps = (1024, 200) if args.quick else (8192, 1500)
    prior, _ = behaviour_cloning("diffusion", load("two_routes_demos"), iterations=300, preset="prior", progress=False)
    plain4 = lambda: DummyVecEnv([lambda: Monitor(make(ENV)) for _ in range(4)])  # noqa: E731
    cases = {
        "ppo_plain": lambda: PPO("MlpPolicy", plain4(), n_steps=256, seed=0),
        "ppo_residual": lambda: PPO("MlpPolicy", make_residual_env(ENV, prior, 4), n_steps=256, seed=0),
        "ppo_noise_space": lambda: PPO("MlpPolicy", make_noise_space_env(ENV, prior, 4), n_steps=256, seed=0),
        "sac_plain": lambda: SAC("MlpPolicy", Monitor(make(ENV)), learning_starts=100, seed=0),
        "sac_residual": lambda: SAC("MlpPolicy", make_residual_env(ENV, prior, 1), learning_starts=100, seed=0),
        "sac_noise_space": lambda: SAC("MlpPolicy", make_noise_space_env(ENV, prior, 1), learning_starts=100, seed=0),
        "sac_select": lambda: SampleSelectSAC(
            "MlpPolicy", Monitor(make(ENV)), prior=prior, learning_starts=100, seed=0
        ),
    }
    results: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.repeats):
        for name, build in cases.items():
            results[name].append(rate(build(), ppo_steps if name.startswith("ppo") else sac_steps))
    summary = {k: round(statistics.median(v), 1) for k, v in results.items()}
    for k in summary:
        base = summary["ppo_plain" if k.startswith("ppo") else "sac_plain"]
        print(f"{k:16s} {summary[k]:8.1f} agent steps/s  ({summary[k] / base:.2f} x plain)")
    print("(noise-space steps are decisions: each executes 4 env steps)")
    path = write_results(
        "priors_throughput" + ("_quick" if args.quick else ""),
        {"steps_per_second": summary, "runs": results, "quick": args.quick},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
