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
    kl = [np.nanmean([h["approx_kl"] for h in r["history"]]) for r in rows if r["history"]]
    print(f"{name:>27}: success {np.mean([r['before'] for r in rows]):.0%} -> {np.mean([r['after'] for r in rows]):.0%}"
          f" (per seed {[round(r['after'], 2) for r in rows]}), {np.mean([r['seconds'] for r in rows]):.0f} s per run"
          + (f", mean clip_frac {np.mean(clip):.2f}, mean approx_kl {np.mean(kl):.3f}" if clip else ""))

# %% [markdown]
# **Exercise 3 (open question: the last step alone).** Two reasons. First, the route is chosen early
# in the chain, while the sample is still noisy: the last step starts from an $x_1$ that is already
# almost the chunk and can only nudge it, so it cannot move the choice between the cup and a way round
# it. Second, the last steps are the narrowest Gaussians ($\sigma$ clipped at `min_std`), so their
# log-densities react most to a change of the mean: trained alone, at the same learning rate, every
# update moves them far. The sweep shows it: the fewer steps fine-tuned, the higher the mean
# `clip_frac` and `approx_kl` (printed above; `clip_frac` is also the second slider of section 7), and
# with the last step alone success drifts down during training instead of up. With the last three
# steps, two seeds end as high as with all ten and one collapses to almost never succeeding, its
# training success falling steadily from the start: fewer fine-tuned steps is cheaper per update but
# less stable. A lower `actor_lr` or a `target_kl` (both in `PPOConfig`) are the first remedies to try.
# One setting takes about a minute of fine-tuning per seed on an idle 2-core machine (several minutes
# under load).
#
# **Exercise 4 (open question: one ratio per chain).** The log of the chain's ratio is the sum of the
# K per-step log-ratios, so it moves about K times further for the same change of the weights: it leaves
# $[1 - \epsilon, 1 + \epsilon]$ far more often. In the sweep, `clip_frac` is more than twice per-step
# DPPO's and `approx_kl` is an order of magnitude larger; most decisions stop giving a gradient once
# clipped. It still climbs, fast at first, then flattens and ends a little below per-step DPPO on each seed. Per-step
# ratios keep each step inside its own trust region. About a minute per seed.
#
# **Exercise 5 (open question: a smaller `min_std`).** With `min_std = 0.02` the last denoising steps
# barely explore, and their Gaussians are five times narrower: a small change of the mean changes
# their log-densities a lot, so the ratios that do move, move far (in the sweep `approx_kl` is about
# ten times per-step DPPO's with `min_std = 0.1`, while `clip_frac` stays about the same). Success
# climbs more slowly and ends lower on every seed (printed above). Its "before" differs a little too:
# the sampler itself changed. The sweep does not record routes; to see whether both routes survive,
# print `lk.evaluate(actor, ENV_ID, 100, seed=1000).route_counts` after each variant. What to expect: a
# smaller `actor_lr` (1e-4) slows both the climb and the collapse onto one route; fine-tuning fewer
# steps leaves the early, route-choosing steps as they were, but (exercise 3) is less stable. Which
# route wins depends on the pre-trained policy's preference, so expect seeds to differ. About a minute
# of fine-tuning per seed and setting on an idle 2-core machine.
