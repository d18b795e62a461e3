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
# # 09 · Transformer policies trained offline: Decision Transformer and Q-Transformer
#
# **Place on the map:** B1 *RL pre-training* · *transformer policy*. Next to the diffusion policies of
# notebook 08, on the same mixed-quality data: a policy shaped by rewards from a fixed dataset,
# this time by a causal transformer.
#
# **Goals.** (1) Turn episodes into token sequences and follow every shape through a small GPT.
# (2) Train a Decision Transformer (DT) and *ask it for a return*: draw achieved against asked-for
# return, including more than the data ever got. (3) See where one decision looks (attention).
# (4) Train a Q-Transformer (QT): per-dimension discretised Q-learning with a conservative term.
# (5) The stitching question: on a dataset where no episode is optimal but two pieces are, which
# methods combine them?
#
# **Prerequisites.** Notebook 08 (offline RL, IQL, normalised return), notebook 03 (behaviour
# cloning, why a unimodal policy averages two routes).
#
# **Time.** About 40 minutes to read, run and do the exercises; the first code cell prints the
# measured compute time (`LABKIT_SMOKE=1` runs it in seconds, with barely trained models whose
# numbers then mean nothing).

# %%
import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import torch

import labkit as lk
from labkit import viz
from labkit.experiments.offline import group_returns, split_observations
from labkit.experiments.sequence import (
    BUDGETS,
    DT_PRESET,
    ENV_ID,
    QTCritic,
    decision_attention,
    evaluate_row,
    load_data,
    normalised,
    references,
    run_dt,
    run_qt,
    target_sweep,
)
from labkit.experiments.stitching import stitched_replay, stitching_facts
from labkit.pretrain import (
    ContextWindows,
    DecisionTransformer,
    DTConfig,
    ReturnConditioned,
    causal_mask,
    evaluate_return_conditioned,
)

SMOKE = lk.smoke_mode()
print(lk.course.compute_time("09_decision_transformer"))
BUDGET = BUDGETS["smoke" if SMOKE else "notebook"]
EPISODES = BUDGET["episodes"]
mixed, stitch = load_data("mixed"), load_data("stitch")
ref = references()
print(mixed)
print(stitch)

# %% [markdown]
# ## 1. Two datasets, one task
# `two_routes_mixed` is notebook 08's data: expert, noisy and failing episodes from the same start.
# The failing policy drives exactly like the expert to the split point below the cup, then straight
# up into the pocket.
#
# The **stitching** dataset keeps the failing episodes and replaces the full expert episodes by
# *suffixes*: the expert taking over at the split point of a failing episode, recorded from the
# hand-over state on. No episode goes from the start to the goal, but the first part of failing
# episode *s* followed by suffix *s* does. The cell below checks both statements (and replays the
# stitched path in MuJoCo).

# %%
for name, ds in (("mixed", mixed), ("stitch", stitch)):
    for q, row in group_returns(ds).items():
        print(f"{name:>6} {q:>13}: {row['episodes']:3d} episodes, return {row['mean_return']:6.2f}, "
              f"success {row['success_rate']:.0%}, length {row['mean_length']:.0f}")
facts = stitching_facts(stitch)
print(f"\nstitch: {facts['from_start']} episodes start at the task's start, {facts['from_start_successes']} of them "
      f"succeed (best return {facts['from_start_best_return']:.2f}); every success starts at least "
      f"{facts['closest_successful_start']:.2f} m from the start; best episode return {facts['best_return']:.2f}")
suffix = int(np.flatnonzero(np.asarray(stitch.episode_fields["quality"]) == "expert_suffix")[0])
joined = stitched_replay(stitch, suffix)
print(f"failing episode (same seed)[:h] + suffix {suffix}, replayed in MuJoCo: success {joined['success']}, "
      f"return {joined['return']:.2f} (h = {joined['handover_step']} steps; largest gap at the join "
      f"{joined['max_gap']:.1e})")
print(f"normalisation (both datasets): 0 = {ref['failing']:.2f}, 1 = {ref['expert']:.2f}; "
      f"best episode of the mixed data {ref['best_episode']:.2f}")

# %%
ends, q_st = np.asarray(stitch.episode_ends), np.asarray(stitch.episode_fields["quality"])
starts = np.r_[0, ends[:-1]]
obs_st = np.asarray(stitch.observations)
pick = np.r_[np.flatnonzero(q_st == "failing")[:20], np.flatnonzero(q_st == "expert_suffix")[:20]]
viz.trajectories_figure(
    [obs_st[starts[i] : ends[i]] for i in pick],
    [str(q_st[i]) for i in pick],
    title="The stitching dataset: failing episodes and expert suffixes",
)

# %% [markdown]
# ## 2. Episodes as token sequences
# **Return-to-go** (undiscounted, as in the DT paper), for an episode with rewards $r_0 .. r_{T-1}$:
#
# $$\hat R_t = \sum_{t'=t}^{T-1} r_{t'} \qquad\text{(`returns_to_go(rewards, episode_ends)`)}$$
#
# A window of the last $K$ steps (`context`) becomes $3K$ tokens, one per return-to-go, state and
# action, each embedded to $C$ (`n_embd`) numbers plus an embedding of the time step $t$:
#
# $$\big(\hat R_{1}, s_{1}, a_{1},\; \hat R_{2}, s_{2}, a_{2},\; \dots,\; \hat R_{K}, s_{K}, a_{K}\big)
#   \quad\to\quad x \in \mathbb{R}^{B \times 3K \times C}$$
#
# A causal transformer mixes them: token $i$ attends to tokens $j \le i$ only,
#
# $$w = \mathrm{softmax}\!\Big(\frac{q k^\top}{\sqrt{h_s}} + M\Big),\quad M_{ij} = -\infty \text{ for } j > i,
#   \qquad y = w\,v,$$
#
# and the action $a_k$ is read off the output at the state token $s_k$ (index $3k+1$, 0-based $k$), which
# has seen $\hat R_{\le k}, s_{\le k}, a_{<k}$ but not $a_k$. Training is supervised learning on the
# data's actions: a cross-entropy over `n_bins` cells per action dimension (`action_head="bins"`),
#
# $$L = \frac{1}{\#\text{real steps}}\sum_k \sum_{j} \mathrm{CE}\big(\text{logits}_{k,j},\ \mathrm{bin}(a_{k,j})\big).$$
#
# Follow the shapes:

# %%
K = DT_PRESET["context"]
windows = ContextWindows(mixed, context=K)
batch = windows.sample(4, torch.Generator().manual_seed(0))
for k, v in batch.items():
    print(f"{k:>9}: {tuple(v.shape)}")
demo = DecisionTransformer(DTConfig(mixed.obs_dim, mixed.action_dim, **DT_PRESET))
demo.normalizer_obs.fit(windows.states)
tokens = demo.tokens(batch["states"], batch["actions"], batch["rtg"], batch["timesteps"])
logits, maps = demo(batch["states"], batch["actions"], batch["rtg"], batch["timesteps"], batch["mask"],
                    return_attention=True)
print(f"   tokens: {tuple(tokens.shape)}   (B, 3K, C)")
print(f"   logits: {tuple(logits.shape)}   (B, K, A, n_bins)")
print(f"attention: {len(maps)} layers of {tuple(maps[0].shape)}   (B, heads, 3K, 3K)")
print("causal mask for K = 2 (rows: query token, columns: key token; R s a R s a):")
print(causal_mask(6).int().numpy())

# %% [markdown]
# ## 3. Train the Decision Transformer
# A nanoGPT-sized model (`DT_PRESET`: two blocks, one head, $K$-step windows), trained on all
# of `two_routes_mixed`, good and bad episodes alike. The return token is what lets it tell them apart.

# %%
dt, dt_log = run_dt(mixed, seed=0, **BUDGET["dt"])
loss = np.asarray(dt_log.loss)
print(f"trained {dt_log.iterations_done} updates in {dt_log.seconds:.0f} s; final loss {loss[-50:].mean():.3f}")
go.Figure(go.Scatter(y=loss, mode="lines")).update_layout(title="DT action loss", xaxis_title="update",
                                                         yaxis_title="cross-entropy", template="plotly_white",
                                                         height=300, width=600)

# %% [markdown]
# ## 4. Ask for a return
# At test time the first return-to-go token is the **target** $R^\star$, and after every step
# $\hat R \leftarrow \hat R - r$. The model answers "what did episodes that went on to collect $\hat R$ do
# here?". The dotted line is "got what it asked for"; the green line the best episode in the data.

# %%
targets = [-2.0, 12.0] if SMOKE else [-2.0, 0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 20.0]
sweep = target_sweep(dt, targets, episodes=EPISODES, keep_trajectories=True)
for row in sweep:
    print(f"target {row['target']:6.1f}: achieved {row['return']:6.2f}, success {row['success']:.0%}, "
          f"normalised {row['normalised return']:.2f}")
viz.target_return_figure(sweep, data_best=ref["best_episode"], data_worst=ref["failing"])

# %% [markdown]
# What to look for:
# * low targets reproduce the failing episodes (into the pocket); targets near the experts' return
#   reproduce the experts;
# * between the two modes of the data the achieved return is a blend: few episodes in the data ended
#   with such returns, so the model has little to copy;
# * **asking for more than the data holds** does not produce a better policy: beyond the data's best
#   the curve goes flat (or drops). A DT imitates the episodes that matched the request; there
#   is nothing to imitate above the best one.
#
# Drag the slider: where the robot goes for each target (the same cached rollouts).

# %%
viz.target_slider_figure({row["target"]: row["trajectories"] for row in sweep})

# %% [markdown]
# ## 5. Where one decision looks
# The attention weights of the current state token $s[t]$ over its context, per layer, at the split
# point of an expert episode, with the model asked for the experts' return. Each row sums to 1.

# %%
q_mx = np.asarray(mixed.episode_fields["quality"])
expert_ep = int(np.flatnonzero(q_mx == "expert")[0])
ep_obs = np.asarray(mixed.episode(expert_ep)["observations"])
split_step = int(np.argmax(ep_obs[:, 1] > -0.22))  # first step at the split point's height
weights, k = decision_attention(dt, mixed, expert_ep, split_step, target=ref["expert"])
print(f"episode {expert_ep}, step {split_step}: window of {k} steps; weight on return tokens "
      f"{weights[:, 0::3].sum(1).round(2)}, on state tokens {weights[:, 1::3].sum(1).round(2)} (per layer)")
viz.attention_figure(weights, viz.token_labels(k))

# %% [markdown]
# ## 6. Rollouts: the same model, two requests

# %%
videos = {}
for target in (ref["failing"], ref["expert"]):
    ev = evaluate_return_conditioned(dt, ENV_ID, 1, target_return=target, seed=1000, record_episodes=1,
                                     progress=False)
    videos[f"target {target:.1f}: return {ev.returns[0]:.1f}"] = ev.frames[0]
viz.show_videos(videos, fps=20)

# %% [markdown]
# ## 7. Q-Transformer: Q-learning, one action dimension at a time
# Each action dimension is cut into `n_bins` cells and becomes one token: the state token predicts
# $Q_1(s, \cdot)$, the token of the chosen first cell predicts $Q_2(s, a_1, \cdot)$. Greedy action:
# $a_1 = \arg\max Q_1$, then $a_2 = \arg\max Q_2(s, a_1, \cdot)$.
#
# Per-dimension Bellman targets with the target network $Q'$ (`per_dimension_targets`):
#
# $$y_1 = \max_b Q'_2(s, a_1, b), \qquad y_2 = r + \gamma\,(1-\text{done}) \max_b Q'_1(s', b),$$
#
# then two offline additions: the **Monte-Carlo lower bound** $y_i \leftarrow \max(y_i, G_t)$ (the data's
# discounted return from this step: the demonstrator got it, so the best action is worth at least that),
# and the **conservative regulariser** that pushes every cell the data did not take down to the lowest
# return `q_min`:
#
# $$L = \tfrac12\, \overline{(Q_i(s, a_{<i}, a_i) - y_i)^2} \;+\; \tfrac12\, w_\text{cons}\;
#   \overline{\textstyle\frac{1}{n-1}\sum_{b \ne a_i} (Q_i(s, a_{<i}, b) - q_\text{min})^2}.$$

# %%
qt, qt_log = run_qt(mixed, seed=0, **BUDGET["qt"])
ev_qt = evaluate_row(qt, EPISODES)
print(f"Q-Transformer: trained in {qt_log.seconds:.0f} s; success {ev_qt.success_rate:.0%}, "
      f"normalised return {normalised(ev_qt.returns):.2f}, routes {ev_qt.route_counts}")
s_split = split_observations(mixed)[0]
data_here = np.asarray(mixed.actions)[np.linalg.norm(np.asarray(mixed.observations)[:, :4] - s_split[:4], axis=1) < 0.03]
greedy = qt.predict_action(torch.as_tensor(s_split[None], dtype=torch.float32))[:, 0].numpy()
viz.action_value_figure(QTCritic(qt), s_split, {"data's actions here": data_here, "QT greedy": greedy},
                    title="Q-Transformer: Q(s, a) at the split point (cells the data never took are pushed down)")

# %% [markdown]
# ## 8. Stitching: who combines two episodes?
# Train the Decision Transformer on the stitching dataset. To reach the goal from the start, a policy
# must follow the failing episodes to the split point and then switch to the suffixes. At the start,
# every episode in the data went on to collect a *negative* return: a request for the experts' return
# is a return-to-go the model never saw there. After the hand-over, though, the return-to-go it is left
# with matches the suffixes' (the reward is progress along the path, so the pieces add up).

# %%
dt_st, _ = run_dt(stitch, seed=0, **BUDGET["dt"])
rows = {}
for target in (ref["expert"], 20.0):
    ev = evaluate_row(ReturnConditioned(dt_st, target), EPISODES)
    rows[f"DT, target {target:.1f}"] = ev
    print(f"stitch, DT asked for {target:5.1f}: success {ev.success_rate:.0%}, "
          f"normalised return {normalised(ev.returns):.2f}")
viz.trajectories_figure([t for ev in rows.values() for t in ev.trajectories[:20]],
                    [n for n, ev in rows.items() for _ in ev.trajectories[:20]],
                    title="DT trained on the stitching data (20 episodes per target)")

# %% [markdown]
# The full comparison (Gaussian BC, diffusion BC, IDQL and Diffusion-QL from notebook 08, DT at two
# targets, Q-Transformer; both datasets, three seeds) is `benchmarks/offline_sequence.py`; its results
# file is read here when it exists.

# %%
RESULTS = Path(lk.__file__).resolve().parent.parent / "benchmarks" / "results"
found = [p for p in (RESULTS / "offline_sequence.json", RESULTS / "offline_sequence_quick.json") if p.exists()]
fig = None
if found:
    bench = json.loads(found[0].read_text())
    print(f"{found[0].name}: seeds {bench['seeds']} x {bench['episodes']} episodes ({bench['mode']} budget)")
    for r in bench["summary"]:
        print(f"{r['dataset']:>6} {r['method']:>14}: success {r['success']:.0%}, normalised return "
              f"{r['normalised return']:.2f} ({r['train cpu s']:.0f} CPU s to train)")
    fig = viz.comparison_figure(bench["summary"])
else:
    print("no results yet: run `python benchmarks/offline_sequence.py` (or `--quick`) to make them")
fig

# %% [markdown]
# ## Read next
# * Chen et al. 2021, *Decision Transformer: Reinforcement Learning via Sequence Modeling*,
#   [arXiv:2106.01345](https://arxiv.org/abs/2106.01345); code: `kzl/decision-transformer`.
# * Chebotar et al. 2023, *Q-Transformer: Scalable Offline Reinforcement Learning via Autoregressive
#   Q-Functions*, [arXiv:2309.10150](https://arxiv.org/abs/2309.10150); community code: `lucidrains/q-transformer`.
# * Janner et al. 2021, *Offline RL as One Big Sequence Modeling Problem* (Trajectory Transformer),
#   [arXiv:2106.02039](https://arxiv.org/abs/2106.02039).
# * Bhargava et al. 2023, *When should we prefer Decision Transformers for offline RL?*,
#   [arXiv:2305.14550](https://arxiv.org/abs/2305.14550).
# * Karpathy, `nanoGPT` (`model.py`): the transformer block this notebook's trunk follows.
# * Moroncelli et al. 2024, the review this course follows, [arXiv:2410.16411](https://arxiv.org/abs/2410.16411).
#
# ## Summary
# * A Decision Transformer is behaviour cloning conditioned on the return still to come: one causal
#   transformer over (return-to-go, state, action) tokens, trained with a supervised action loss.
# * Asking for a return selects among the behaviours in the data; asking for more than the best episode
#   does not create a better behaviour.
# * A Q-Transformer is Q-learning with a transformer that predicts one action dimension per token;
#   conservative regularisation and Monte-Carlo bounds keep it on the data's actions.
# * Stitching two episodes is dynamic programming's strength; the stitching dataset makes visible which
#   methods have it on this task.

# %% [markdown]
# ## Exercises
# Each cell fails ("not yet") until you complete it; the solutions are in `solutions/09_decision_transformer.py`.

# %%
# EXERCISE 09.returns_to_go
def my_returns_to_go(rewards: np.ndarray) -> np.ndarray:
    """Return-to-go of ONE episode: R_t = r_t + r_{t+1} + ... + r_{T-1}, shape (T,)."""
    raise NotImplementedError


lk.check("09.returns_to_go", my_returns_to_go)

# %%
# EXERCISE 09.qt_targets
def my_targets(q_s, q_next_first, rewards, dones, gamma):
    """Per-dimension targets (B, d) from q_s (B, d, n): target-net Q at s with the data's cells fed in,
    q_next_first (B, n): Q'_1(s', .), rewards (B,), dones (B,). No Monte-Carlo bound."""
    raise NotImplementedError


lk.check("09.qt_targets", my_targets)

# %%
# EXERCISE 09.stitched_return
def my_stitched_return(data, suffix_episode: int) -> float:
    """Return of failing-episode[:h] + suffix, computed from the data's rewards only (no simulator).

    The suffix took over from the failing episode with the same `reset_seed`, at the step h where that
    episode's observation equals the suffix's first observation."""
    raise NotImplementedError


lk.check("09.stitched_return", my_stitched_return)

# %% [markdown]
# Open questions (answers in the solutions file):
# 1. Retrain the DT with `action_head="mse"` (`run_dt(mixed, action_head="mse")`) and evaluate it at the
#    experts' return. Which route does it take at the split, and why (notebook 03)?
# 2. In section 8, ask `dt_st` for *more* than the experts' return. Does stitching get better or worse?
# 3. Set `conservative_weight=0` in `run_qt(...)`. Where does the greedy action at the split go now?
