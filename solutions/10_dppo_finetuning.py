# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Solutions · 10 DPPO: fine-tuning a diffusion policy with PPO through its denoising chain

# %%
# SOLUTION 10.gae
import numpy as np


def gae(rewards, values, dones, last_value, gamma, lam):
    """A_t for t = 0..T-1: (T,) rewards, values V(s_t), dones; last_value = V(s_T) -> (T,) advantages."""
    T = len(rewards)
    adv = np.zeros(T)
    next_adv = 0.0
    for t in reversed(range(T)):  # backwards: A_t needs A_{t+1}
        next_value = last_value if t == T - 1 else values[t + 1]
        nonterminal = 1.0 - dones[t]  # an episode ended at t: no bootstrap, nothing flows back
        delta = rewards[t] + gamma * next_value * nonterminal - values[t]
        next_adv = delta + gamma * lam * nonterminal * next_adv
        adv[t] = next_adv
    return adv


lk.check("10.gae", gae)

# %% [markdown]
# The recursion $A_t = \delta_t + \gamma\lambda(1 - d_t)A_{t+1}$ is the sum $\sum_l (\gamma\lambda)^l
# \delta_{t+l}$ computed in one backward pass. With $\lambda = 0$ it is the TD residual $\delta_t$; with
# $\lambda = 1$ it is the discounted return minus $V(s_t)$ (notebook 01's exercise). SB3's
# `RolloutBuffer.compute_returns_and_advantage` is the same loop, with "episode starts" (our `dones`
# shifted by one step); `tests/finetune/test_dppo.py` checks the two agree. No seeds; instant.

# %%
# SOLUTION 10.chain_log_prob
import math

import torch


def chain_log_prob(chain, means, stds):
    """log p(x_{R-1}, ..., x_0 | x_R, s): chain (B, R+1, H, A); means, stds (B, R, H, A) -> (B,)."""
    x = chain[:, 1:]  # (B, R, H, A): what each step drew
    z = (x - means) / stds
    log_density = -0.5 * z**2 - torch.log(stds) - 0.5 * math.log(2 * math.pi)  # (B, R, H, A)
    return log_density.sum(dim=(1, 2, 3))  # over steps, chunk positions and action dimensions


lk.check("10.chain_log_prob", chain_log_prob)

# %% [markdown]
# The product of the steps' Gaussians becomes a sum of log-densities: over the steps (the chain), and
# over the chunk's positions and action dimensions (each step's Gaussian is isotropic). `chain[:, 0]`
# is the first recorded step's input, so step j's sample is `chain[:, j + 1]`. The common mistakes are
# summing over one axis too few, or comparing `chain[:, :-1]` with the means. No seeds; instant.
#
# The open questions' answers read `benchmarks/results/offline_and_dppo_sweep.json`
# (`python benchmarks/offline_and_dppo.py --only sweep`: three seeds per setting, the full budget,
# about half an hour on 2 cores for all seven settings). Run this cell to print them:

# %%
import json

import labkit as lk

sweep = json.loads((lk.course.timing.RESULTS.parent / "offline_and_dppo_sweep.json").read_text())
for name, rows in sweep["runs"].items():
    clip = [np.nanmean([h["clip_frac"] for h in r["history"]]) for r in rows if r["history"]]
    print(f"{name:>27}: success {np.mean([r['before'] for r in rows]):.0%} -> {np.mean([r['after'] for r in rows]):.0%}"
          f" (per seed {[round(r['after'], 2) for r in rows]}), {np.mean([r['seconds'] for r in rows]):.0f} s per run"
          + (f", mean clip_frac {np.mean(clip):.2f}" if clip else ""))

# %% [markdown]
# **Exercise 3 (open question: the last step alone).** The last denoising step starts from an $x_1$
# that is already almost the chunk, and its Gaussian is the clipped one ($\sigma = $ `min_std`): it can
# only nudge the action by about that much. Whether the robot goes into the cup or round it is decided
# earlier in the chain, while the sample is still noisy, so fine-tuning only the last step cannot move
# the route choice and barely moves success (in the sweep it stays near where it started, and one seed
# loses ground); the last three steps already carry most of the gain of all ten, at a lower cost per
# update. Across seeds the last-step-only runs disagree most, because their small gradient is mostly
# noise. A re-run of one setting takes about a minute of fine-tuning per seed on 2 cores (more on a
# loaded machine).
#
# **Exercise 4 (open question: one ratio per chain).** Summing the K log-probabilities makes one ratio
# per decision whose log is the sum of K per-step log-ratios: it moves K times further for the same
# weight change, so the ratio leaves $[1 - \epsilon, 1 + \epsilon]$ far more often (`clip_frac` rises;
# the sweep prints it above) and most samples stop giving a gradient. The per-step ratios of DPPO keep
# each step's update inside the trust region separately. Expect a slower, noisier climb than per-step
# DPPO, varying more across seeds; about a minute per seed.
#
# **Exercise 5 (open question: a smaller `min_std`).** With `min_std = 0.02` the last steps barely
# explore, so PPO's gradient comes mostly from the early, noisy steps and the ratios of the last steps
# are very sharp (small std: a tiny change of the mean changes the log-density a lot), which makes clipping
# frequent. The cached run prints how far it gets compared with `min_std = 0.1`. A smaller `actor_lr`
# slows the collapse onto one route but also the climb; fine-tuning fewer steps keeps the early,
# route-choosing steps as they were, so both routes survive longer, at the price of a lower final
# success. About a minute per seed and setting; expect one seed in three to behave differently, since
# which route wins depends on the pre-trained policy's preference.
