"""Notebook 01's exercises: the discounted return, and PPO's clipped objective, each against the kit's own code."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from labkit.course.checks import close, exercise
from labkit.finetune.ppo import compute_gae, ppo_clip_loss


@exercise(
    "01.discounted_return",
    hint="G_t = r_t + gamma * G_{t+1}, computed backwards from the last step (G after the end is 0)",
)
def _discounted_return(fn: Any) -> tuple[bool, str]:
    rng = np.random.default_rng(1)
    rewards, gamma = rng.normal(size=12), 0.9
    got = np.asarray(fn(rewards, gamma), dtype=float)
    # GAE with lambda = 1 and a zero value function is exactly the discounted return-to-go.
    zeros = np.zeros((len(rewards), 1))
    expected, _ = compute_gae(rewards[:, None], zeros, zeros, np.zeros(1), gamma, 1.0)
    return close(got, expected[:, 0], atol=1e-6)


@exercise(
    "01.clipped_objective",
    hint="min(r * A, clip(r, 1 - eps, 1 + eps) * A), element by element; numpy's np.clip and np.minimum",
)
def _clipped_objective(fn: Any) -> tuple[bool, str]:
    rng = np.random.default_rng(2)
    ratio, adv, eps = rng.uniform(0.3, 1.8, 50), rng.normal(size=50), 0.2
    got = np.asarray(fn(ratio, adv, eps), dtype=float)
    for i in range(len(ratio)):  # the kit's loss is minus the mean objective: compare one sample at a time
        loss, _ = ppo_clip_loss(torch.log(torch.tensor([[ratio[i]]])), torch.zeros(1, 1), torch.tensor([[adv[i]]]), eps)
        if got.shape != ratio.shape or abs(got[i] + float(loss)) > 1e-5:
            return False, f"sample {i}: ratio {ratio[i]:.2f}, advantage {adv[i]:.2f}"
    return True, "matches labkit.finetune.ppo_clip_loss"
