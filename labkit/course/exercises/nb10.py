"""Notebook 10's exercises: GAE over decisions, and the log-probability of a whole denoising chain.

Both compare the learner's function with the kit's own code: ``labkit.finetune.ppo.compute_gae`` (what
``finetune_ppo`` uses) and ``DiffusionPPOActor.log_prob`` (the per-step Gaussian log-densities DPPO's
ratios are built from), on inputs the check makes itself.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch

from labkit.course.checks import close, exercise
from labkit.finetune.dppo import DiffusionPPOActor
from labkit.finetune.ppo import compute_gae
from labkit.policies.diffusion import DiffusionPolicy
from labkit.policies.presets import make_policy


@exercise(
    "10.gae",
    hint="go backwards: delta_t = r_t + gamma V(s_{t+1}) (1 - done_t) - V(s_t), then "
    "A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}; V(s_T) is last_value, and A after the end is 0",
)
def _gae(fn: Any) -> tuple[bool, str]:
    rng = np.random.default_rng(10)
    T = 12
    rewards, values = rng.normal(size=T), rng.normal(size=T)
    dones = np.zeros(T)
    dones[[3, 8]] = 1.0  # two episodes end inside the batch: nothing flows back across them
    last_value = float(rng.normal())
    for gamma, lam in ((0.99, 0.95), (0.9, 0.0), (0.8, 1.0)):
        got = np.asarray(fn(rewards, values, dones, last_value, gamma, lam), dtype=float)
        expected, _ = compute_gae(rewards[:, None], values[:, None], dones[:, None], np.array([last_value]), gamma, lam)
        ok, detail = close(got, expected[:, 0], atol=1e-6)
        if not ok:
            return False, f"gamma = {gamma}, lambda = {lam}: {detail}"
    return True, "matches labkit.finetune.compute_gae (the advantages finetune_ppo trains on)"


def _chain_case(ft_steps: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A fresh dppo-preset diffusion policy's chain on random observations: chain, means, stds, expected (B,)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        policy = cast(DiffusionPolicy, make_policy("diffusion", obs_dim=8, action_dim=2, preset="dppo"))  # any weights
        policy.fit_normalizers(torch.randn(64, 8), torch.rand(64, 2) * 2 - 1)
        actor = DiffusionPPOActor(policy, num_inference_steps=10, ft_denoising_steps=ft_steps, min_std=0.1)
        obs = torch.randn(5, 1, 8)  # (B, To, D)
    _, chain, _ = actor.act(obs, torch.Generator().manual_seed(seed))  # chain (B, R + 1, H, A)
    means, stds = actor.step_distributions(obs, chain)  # (B, R, H, A) each
    with torch.no_grad():
        expected = actor.log_prob(obs, chain).sum(dim=1)  # (B,): DPPO's per-step log-probs, summed
    return chain, means, stds, expected


@exercise(
    "10.chain_log_prob",
    hint="step j drew chain[:, j + 1] from N(means[:, j], stds[:, j]^2): add -0.5 z^2 - log(std) - 0.5 log(2 pi) "
    "with z = (x - mean) / std over every step j, every position in the chunk and every action dimension",
)
def _chain_log_prob(fn: Any) -> tuple[bool, str]:
    for ft_steps, seed in ((10, 0), (3, 1)):  # every step fine-tuned, then only the last 3 recorded
        chain, means, stds, expected = _chain_case(ft_steps, seed)
        got = fn(chain.clone(), means.clone(), stds.clone())
        got = got.detach().numpy() if isinstance(got, torch.Tensor) else np.asarray(got, dtype=float)
        ok, detail = close(got, expected.numpy(), atol=1e-3, rtol=1e-5)
        if not ok:
            return False, f"a chain of {ft_steps} recorded steps: {detail}"
    return True, "matches DiffusionPPOActor.log_prob summed over the steps (for 10 and for 3 recorded steps)"
