# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 · Offline RL with diffusion policies: IDQL and Diffusion-QL
#
# **Place on the map:** B1 *RL pre-training* of a *diffusion policy*: the policy is shaped by rewards,
# but only from a fixed dataset (no environment interaction while learning).
#
# **Goals.** (1) Meet a *mixed-quality* dataset: expert, noisy and failing episodes, all with rewards.
# (2) Train the same data three ways: Gaussian BC, diffusion BC, and offline RL with a diffusion
# policy (IDQL: diffusion BC re-ranked by an IQL critic; Diffusion-QL: a diffusion policy trained to
# climb a learned Q). (3) Compare success and normalised return. (4) Look at the critic's landscape
# at the decision point and where each policy's actions land on it.
#
# **Prerequisites.** Notebook 03 (diffusion policy, Gaussian BC), notebook 01 (Q-functions, TD
# learning).
#
# **Time.** About 3 minutes on a 2-core laptop; `LABKIT_SMOKE=1` runs it in well under a minute (with
# barely trained policies: the numbers then mean nothing).

# %%
import numpy as np

import labkit as lk
from labkit import viz
from labkit.experiments.offline import group_returns, normalized_return, split_observations, train_offline_suite

SMOKE = lk.smoke_mode()
BUDGET = (dict(bc_iterations=30, iql_iterations=30, dql_iterations=10) if SMOKE
          else dict(bc_iterations=1500, iql_iterations=1500, dql_iterations=600))
EPISODES = 4 if SMOKE else 100
ENV_ID = "labkit/TwoRoutes-v0"
data = lk.load("two_routes_mixed")
print(data)

# %% [markdown]
# ## 1. A dataset of mixed quality
# `two_routes_mixed` holds three kinds of episodes (per-episode field `quality`):
#
# * **expert**: the scripted expert, left or right round the cup (always succeeds);
# * **noisy**: the same expert with large action noise (slow, sometimes fails);
# * **failing**: a policy that drives *exactly like the expert up to the split point*, then goes on
#   straight up into the cup's pocket and stays there.
#
# Up to the split point the three are indistinguishable. At the split the data holds three actions for
# the same state (left, right, up) and nearly half of the steps come from the failing episodes.
# Behaviour cloning copies all of them; only the rewards (`10 x progress - 0.01` per step, `+5` on
# success) say which action is wrong.

# %%
ref = group_returns(data, "quality")
for q, row in ref.items():
    print(f"{q:>8}: {row['episodes']:3d} episodes, return {row['mean_return']:6.2f}, "
          f"success {row['success_rate']:.0%}, length {row['mean_length']:.0f}")
quality = np.asarray(data.episode_fields["quality"])
ends = np.asarray(data.episode_ends)
starts = np.r_[0, ends[:-1]]
obs = np.asarray(data.observations)
pick = np.r_[np.flatnonzero(quality == "expert")[:25], np.flatnonzero(quality == "noisy")[:25],
             np.flatnonzero(quality == "failing")[:25]]
viz.trajectories_figure([obs[starts[i]:ends[i]] for i in pick], [str(quality[i]) for i in pick],
                    title="The mixed dataset (25 episodes of each quality)")

# %% [markdown]
# We score policies by success and by a **normalised return** (as D4RL does): 0 is the failing
# episodes' mean return, 1 the experts'.
#
# ## 2. The same data, trained four ways
# Every policy sees one observation and acts one step at a time, so a one-step critic `Q(s, a)` judges
# exactly what the robot executes.
#
# * **Gaussian BC** and **diffusion BC**: maximum likelihood / denoising on *all* the data.
# * **IQL critic** (Kostrikov et al. 2022): `Q(s, a)` by TD on the data's own actions, and `V(s)` as an
#   upper *expectile* of Q over the data's actions (`tau = 0.9`: close to the best action seen in `s`), 1500 updates.
#   It never asks Q about an action outside the data, so it cannot be fooled by its own extrapolation.
# * **IDQL** (Hansen-Estruch et al. 2023): sample 32 candidates from diffusion BC, draw one with
#   probabilities `softmax(Q / 0.3)`. The diffusion model says what is *possible*, the critic what is
#   *good*.
# * **Diffusion-QL** (Wang et al. 2023): train the diffusion policy itself on
#   `L = L_diffusion - alpha Q(s, a_pi) / mean|Q|`, with the gradient of Q flowing back through the
#   5-step sampling chain that produced `a_pi`.

# %%
suite = train_offline_suite(data, seed=0, **BUDGET)
policies = suite.policies
print({k: f"{v:.0f} s" for k, v in suite.seconds.items()})

# %% [markdown]
# ## 3. Success and normalised return
# 100 episodes each, the same start states for every policy. All four *sample* their actions (the
# Gaussian too); a deterministic Gaussian is discussed in the exercises.

# %%
results = {name: lk.evaluate(p, ENV_ID, EPISODES, seed=1000) for name, p in policies.items()}
for name, r in results.items():
    print(f"{name:>13}: success {r.success_rate:4.0%}   return {r.returns.mean():6.2f}   "
          f"normalised {normalized_return(r.returns, data):5.2f}   length {r.lengths.mean():5.1f}")
viz.route_bar({name: r.route_counts for name, r in results.items()})

# %%
viz.trajectories_figure(
    [t for r in results.values() for t in r.trajectories[:25]],
    [name for name, r in results.items() for _ in r.trajectories[:25]],
    title="Where each policy drives (25 episodes each)",
)

# %% [markdown]
# ## 4. The critic's view of the decision
# Take one state where the expert data splits (robot on the centre line just below the cup). The
# heatmap is the IQL critic's `Q(s, a)` over the whole action square; the dots are 150 first actions
# of each policy in that state. Going up (`a_y > 0`, `a_x ~ 0`) earns progress now but leads into the
# pocket; the critic should rank the sideways actions higher.

# %%
s_split = split_observations(data)[0]
clouds = {name: lk.analysis.first_actions(p, s_split, n=150) for name, p in policies.items()}
viz.action_value_figure(suite.critic, s_split, clouds)

# %% [markdown]
# What to look for:
#
# * **Diffusion BC** puts samples on all three modes of the data (left, right, *and* up): it is a
#   faithful copy of a dataset that is half failures.
# * **IDQL** keeps mostly the samples the critic likes: its dots thin out on the "up" mode (in our run
#   the critic values left 5.3, right 4.9, up 3.4 at this state; see the next cell).
# * **Gaussian BC** has one mean per state, here at a compromise; it survives because its noise
#   pushes the robot off the centre line, where the data is no longer ambiguous.
# * **Diffusion-QL** is pulled towards the critic's maximum through its sampling chain, against its
#   BC term.
#
# In our full run: Gaussian BC 84% success (normalised return 0.85), diffusion BC 58% (0.58), IDQL 89%
# (0.95), Diffusion-QL 0% (0.39). IDQL beats both BC baselines, and its episodes are shorter (65
# steps against 81-82): it turns at the split instead of drifting. Diffusion-QL is the instructive
# failure. Look at its rollouts above: it has learned to avoid the cup (it goes round it), but on one
# route only, and its actions are pushed to the edge of the action square, where the critic, which
# has never seen such actions, extrapolates upwards. It overshoots the goal and ends pinned against
# the top wall. With a few hundred updates on a CPU, a critic learned by TD on the policy's *own*
# actions is not yet trustworthy there; IQL never queries off-data actions, and IDQL only chooses
# among candidates that look like the data.
#
# The critic's values of the three modes, side by side:

# %%
import torch

modes = {"left": [-1.0, 0.0], "up": [0.0, 1.0], "right": [1.0, 0.0]}
q_modes = {k: float(suite.critic.q_value(torch.as_tensor(s_split[None]), torch.tensor([v]))[0])
           for k, v in modes.items()}
print({k: round(v, 2) for k, v in q_modes.items()})

# %% [markdown]
# `benchmarks/offline_and_dppo.py` repeats this comparison over 3 seeds; the README quotes its table.
#
# ## Summary
# * Behaviour cloning cannot tell good from bad demonstrations: a diffusion policy reproduces every
#   mode of the data, including the failing one, as faithfully as the good ones.
# * An IQL critic learns from rewards which actions lead somewhere, using only actions the data
#   contains (expectile regression instead of a max over actions).
# * IDQL keeps the diffusion model as the proposal (only actions that look like the data) and lets the
#   critic choose among them. Softmax selection is robust; a hard argmax trusts the critic's ranking of
#   every candidate, including rare off-data ones where Q is pure extrapolation.
# * Diffusion-QL moves the policy itself towards high Q through the sampling chain, regularised by
#   its diffusion loss. That is more powerful and more fragile: the Q-gradient follows the critic
#   wherever it is wrong, and on our CPU budget it led the policy off the data (0% success here).
#
# ## Exercises
# 1. Make IDQL greedy: `IDQLPolicy(policies["diffusion BC"], suite.critic, selection="argmax")`.
#    Evaluate it on 50 episodes. What happens, and why (look at the heatmap outside the data's
#    modes)?
# 2. Diffusion-QL's `alpha` trades BC against Q. Retrain a fresh policy
#    (`lk.make_policy("diffusion", 8, 2, preset="offline")`) with
#    `train_diffusion_ql(policy, data, DiffusionQLConfig(alpha=0.05), iterations=600)`, then again with
#    the IQL critic in place of its own (`critic=suite.critic`). Where do its rollouts end now?
# 3. Evaluate Gaussian BC with `evaluate(..., deterministic=True)`. Its success rate changes - which
#    routes does it use now? Is that the same policy the data showed?
# 4. Check your understanding of the normalised return: what would a policy that behaves like the
#    noisy expert score? Compute it from `quality_returns(data)` and check it below.

# %%
noisy_score = (ref["noisy"]["mean_return"] - ref["failing"]["mean_return"]) / (
    ref["expert"]["mean_return"] - ref["failing"]["mean_return"])  # your answer
lk.course.check_close(noisy_score, normalized_return(ref["noisy"]["mean_return"], data), "normalised return of 'noisy'",
            atol=1e-6)
