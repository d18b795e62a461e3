"""End to end (slow): PPO on the diffusion reward solves TwoRoutes where PPO on the sparse reward does not.

The preset diffusion reward is trained (3,000 iterations), then PPO runs 24,576 env steps on it and on
the sparse reward, same seed and settings (about 46 CPU seconds on one thread in the prototype). With
one torch thread the runs are deterministic, so this compares two fixed outcomes (seed 0; the
benchmark's per-seed curves are in benchmarks/results/rewards*.json).
"""

from __future__ import annotations

import time

import pytest

from labkit.experiments import rewards as X

SEED = 0
STEPS = 24_576  # 24 PPO updates of 8 x 128 steps


@pytest.mark.slow
def test_ppo_on_the_diffusion_reward_beats_ppo_on_the_sparse_reward():
    c0 = time.process_time()
    model, _ = X.train_reward("diffusion", seed=SEED, progress=False)
    learned = X.ppo_summary(X.run_ppo(model, STEPS, seed=SEED, eval_every=10_000, progress=False))
    sparse = X.ppo_summary(X.run_ppo("sparse", STEPS, seed=SEED, eval_every=10_000, progress=False))
    print(
        f"diffusion {learned['final_success']:.0%}, sparse {sparse['final_success']:.0%}, "
        f"{time.process_time() - c0:.0f} CPU s"
    )
    assert learned["final_success"] > sparse["final_success"]
