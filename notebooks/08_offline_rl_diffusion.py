# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
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
# (2) Learn what a critic is: $Q(s, a)$, $V(s)$ and temporal-difference (TD) learning, and why offline
# RL needs IQL's expectile instead of a max. (3) Train the same data three ways: Gaussian BC,
# diffusion BC, and offline RL with a diffusion policy (IDQL: diffusion BC re-ranked by an IQL critic;
# Diffusion-QL: a diffusion policy trained to climb a learned Q). (4) Compare success and normalised
# return. (5) Look at the critic's landscape at the decision point, and move IDQL's temperature to
# see what the critic picks among the diffusion model's proposals.
#
# **Prerequisites.** Notebook 03 (diffusion policy, Gaussian BC, the denoising loss); notebook 01 for
# the return $G_t$, the discount $\gamma$ and the word *critic*. Q-functions and TD learning are
# taught here, in section 2.
#
# **Time.** About 60 minutes to read, run and do the exercises; the first code cell prints the
# measured compute time (`LABKIT_SMOKE=1` runs it in about a minute, with barely trained policies:
# the numbers then mean nothing).

# %%
import json
from pathlib import Path

import numpy as np
import torch

import labkit as lk
from labkit import viz
from labkit.experiments.offline import (
    DQL_CONFIG,
    IQL_CONFIG,
    group_returns,
    normalized_return,
    split_action_stats,
    split_observations,
    train_offline_suite,
)
from labkit.policies import PRESETS, selection_probabilities

SMOKE = lk.smoke_mode()
print(lk.course.compute_time("08_offline_rl_diffusion"))
BUDGET = (dict(bc_iterations=30, iql_iterations=30, dql_iterations=10) if SMOKE
          else dict(bc_iterations=1500, iql_iterations=1500, dql_iterations=600))
EPISODES = 4 if SMOKE else 100
ENV_ID = "labkit/TwoRoutes-v0"
print("preset 'offline':", PRESETS["offline"].horizons, "-", PRESETS["offline"].why)
print("notebook 03's preset 'chunked':", PRESETS["chunked"].horizons)
data = lk.load("two_routes_mixed")
print(data)

# %% [markdown]
# **Why not notebook 03's preset.** Every policy here uses the `"offline"` preset: one observation and
# one action per decision instead of 03's long open-loop chunks, so that a one-step critic $Q(s, a)$
# judges exactly the action the robot executes (a chunk would need a critic of whole chunks).
#
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
# ## 2. Critics: Q, V and temporal differences
# Notebook 01 defined the return $G_t = \sum_{k \ge 0} \gamma^k r_{t+k}$. A **critic** predicts it.
# The *action value* of a policy $\pi$ is the expected return after taking $a$ in $s$ and following
# $\pi$ afterwards, and the *state value* averages it over the policy's actions:
#
# $$Q^\pi(s, a) = \mathbb{E}\big[G_t \mid s_t = s,\ a_t = a\big], \qquad V^\pi(s) = \mathbb{E}_{a \sim \pi(\cdot|s)}\big[Q^\pi(s, a)\big].$$
#
# Because $G_t = r_t + \gamma G_{t+1}$, the value of a step is its reward plus the discounted value of
# the next state (the *Bellman equation*), $Q^\pi(s, a) = \mathbb{E}\big[r + \gamma V^\pi(s')\big]$.
# **TD learning** turns this into regression: for each transition $(s, a, r, s', d)$ of the data
# ($d = 1$ if the episode ended there), move $Q_\theta(s, a)$ towards the *TD target* made of the
# network's own current estimate of the next state,
#
# $$y = r + \gamma\,(1 - d)\,V(s'), \qquad L_Q(\theta) = \mathbb{E}_{(s,a,r,s',d) \sim \mathcal{D}}\big[(y - Q_\theta(s, a))^2\big].$$
#
# No episode has to be played to the end: each update copies value one step back, and after enough
# updates the goal's reward has flowed back to the start. Q-learning takes
# $V(s') = \max_{a'} Q(s', a')$, the value of the *best* next action (SAC in 01 takes Q at its own
# policy's next actions, a policy that climbs Q). Offline, both ask Q about actions the data never
# tried, where Q is a guess, and the largest guess wins: the critic overestimates, and no new
# experience ever corrects it, so the policy chases the error.
#
# **IQL** (Kostrikov et al., 2022) never queries an action outside the data. It fits $V_\psi(s)$ as an
# upper **expectile** of $Q$ over the data's actions in $s$ (with $\hat Q$ the slow target copy of
# the twin Q, minimum of the two):
#
# $$L_V(\psi) = \mathbb{E}_{(s,a) \sim \mathcal{D}}\big[L_2^\tau\big(\hat Q(s, a) - V_\psi(s)\big)\big], \qquad L_2^\tau(u) = |\tau - \mathbb{1}(u < 0)|\, u^2 .$$
#
# With $\tau = 0.5$ this is plain least squares (V is the mean of Q over the data's actions); as
# $\tau \to 1$ positive errors cost more than negative ones and V rises towards the best action the
# data shows in $s$, a max restricted to the data. Q is then learned with the TD loss above, using
# this $V_\psi(s')$. In the code: `labkit.pretrain.expectile_loss(diff, expectile)` is $L_2^\tau$ with
# `diff` $= u$ and `expectile` $= \tau$; `IQLCritic.losses(batch)` returns $(L_V, L_Q)$, with
# `batch["rewards"]`, `batch["dones"]`, `config.gamma` as $r$, $d$, $\gamma$; `critic.q_value` is
# $\hat Q$. You write both losses' key pieces in the exercises.
#
# **IDQL** (Hansen-Estruch et al., 2023) keeps a diffusion model $\mu$ trained by plain BC as the
# proposal: sample $N$ candidates $a_1, \dots, a_N \sim \mu(\cdot|s)$ and draw one with the
# *selection weights*
#
# $$w_i = \frac{\exp\big(Q(s, a_i)/T\big)}{\sum_{j=1}^N \exp\big(Q(s, a_j)/T\big)},$$
#
# or keep $\arg\max_i Q(s, a_i)$, the limit $T \to 0$. (Weights on the advantage $A = Q - V$ are
# the same: $V(s)$ is one constant shared by all candidates and cancels.) In the code:
# `IDQLPolicy(behaviour, critic, n_samples=N, temperature=T)`, its weights
# `labkit.policies.selection_probabilities(values, temperature=T)`.
#
# **Diffusion-QL** (Wang et al., 2023) trains the diffusion policy itself on its denoising (BC) loss
# minus a Q term, with the action $a_\theta(s)$ produced by the $K$-step sampling chain and the
# gradient of Q flowing back through that chain:
#
# $$L(\theta) = L_\text{diffusion}(\theta) - \alpha\, \frac{\mathbb{E}_{s \sim \mathcal{D}}\big[Q_\phi(s, a_\theta(s))\big]}{\mathbb{E}\,|Q_\phi|},$$
#
# where its own twin $Q_\phi$ is learned by TD with next actions from the policy,
# $y = r + \gamma (1 - d) \min_i Q'_{\phi_i}(s', a'),\ a' \sim \pi_\theta(s')$. In the code:
# `DiffusionQLConfig.alpha` is $\alpha$, `num_inference_steps` is $K$ (the division by
# $\mathbb{E}|Q|$, detached, makes $\alpha$ independent of the scale of the rewards).

# %%
print(f"IQL: expectile tau = {IQL_CONFIG.expectile}, gamma = {IQL_CONFIG.gamma}")
print(f"Diffusion-QL (the suite's): alpha = {DQL_CONFIG.alpha}, K = {DQL_CONFIG.num_inference_steps} sampling steps")
# The expectile in one line: the tau-expectile of a few numbers, found by minimising L_2^tau on a grid.
q_samples = torch.tensor([3.0, 3.5, 4.0, 5.0, 5.5])  # say, Q of the data's actions in one state
grid = torch.linspace(2.0, 6.0, 4001)
for tau in (0.5, 0.7, 0.9, 0.99):
    losses = [lk.pretrain.expectile_loss(q_samples - v, tau) for v in grid]
    print(f"tau = {tau:4}: V = {float(grid[int(np.argmin(losses))]):.2f}   "
          f"(mean {q_samples.mean():.2f}, max {q_samples.max():.2f})")

# %% [markdown]
# ## 3. The same data, trained four ways
# Every policy sees one observation and acts one step at a time (the preset above).
#
# * **Gaussian BC** and **diffusion BC**: maximum likelihood / denoising on *all* the data.
# * **IQL critic**: $Q$ and $V$ as in section 2, with the expectile printed above: V close to the
#   best action seen in $s$.
# * **IDQL**: $N$ candidates from diffusion BC, one drawn with the softmax weights (the next cell
#   prints $N$ and $T$). The diffusion model says what is *possible*, the critic what is *good*.
# * **Diffusion-QL**: a copy of diffusion BC trained further on $L(\theta)$ above, with the IQL
#   critic's $Q$ (frozen) in place of a TD critic of its own, and a small $\alpha$ (printed above).

# %%
suite = train_offline_suite(data, seed=0, **BUDGET)
policies = suite.policies
idql = policies["IDQL"]
print({k: f"{v:.0f} s" for k, v in suite.seconds.items()})
print(f"IDQL: N = {idql.n_samples} candidates, temperature T = {idql.temperature} "
      f"({'advantage units' if idql.normalize else 'units of Q'})")

# %% [markdown]
# ## 4. Success and normalised return
# The same start states for every policy (the next cell prints how many episodes). All four *sample*
# their actions (the Gaussian too); a deterministic Gaussian is discussed in the exercises.

# %%
results = {name: lk.evaluate(p, ENV_ID, EPISODES, seed=1000) for name, p in policies.items()}
print(f"{EPISODES} evaluation episodes per policy")
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
# One run is one seed. `benchmarks/offline_and_dppo.py` repeats the comparison over several seeds with
# the same budget; its stored results (the next cell reads them) are what to compare with. Smoke mode's
# numbers above mean nothing.

# %%
BENCH = Path(lk.__file__).resolve().parent.parent / "benchmarks" / "results" / "offline_and_dppo.json"
bench = json.loads(BENCH.read_text())
off = bench["offline"]
print(f"{BENCH.name}: {len(bench['seeds'])} seeds, {bench['episodes']} episodes each, budget "
      f"{bench['offline_budget']}, run {bench['machine']['date']}")
for row in off["summary"]:
    print(f"{row['method']:>13}: success {row['success']:4.0%} (seeds from {row['success min']:.0%} to "
          f"{row['success max']:.0%}), normalised return {row['normalised return']:.2f}, train {row['train s']:.0f} s")
print("methods that beat both BC baselines on success and normalised return:", off["winners"])

# %% [markdown]
# ## 5. The critic's view of the decision
# Take one state where the expert data splits (robot on the centre line just below the cup). The
# heatmap is the IQL critic's $\hat Q(s, a)$ over the whole action square; the dots are first actions
# of each policy in that state. Going up ($a_y > 0$, $a_x \approx 0$) earns progress now but leads into
# the pocket; the critic should rank the sideways actions higher.

# %%
s_split = split_observations(data)[0]
clouds = {name: lk.analysis.first_actions(p, s_split, n=150) for name, p in policies.items()}
viz.action_value_figure(suite.critic, s_split, clouds)

# %% [markdown]
# The critic's values of the three modes, side by side, and $V(s)$ (an upper expectile of Q over the
# data's actions in this state, so it should sit near the better modes):

# %%
modes = {"left": [-1.0, 0.0], "up": [0.0, 1.0], "right": [1.0, 0.0]}
s_t = torch.as_tensor(s_split[None], dtype=torch.float32)
q_modes = {k: float(suite.critic.q_value(s_t, torch.tensor([v]))[0]) for k, v in modes.items()}
with torch.no_grad():
    v_split = float(suite.critic.v(s_t)[0])
print("Q at the split:", {k: round(v, 2) for k, v in q_modes.items()}, f"  V = {v_split:.2f}")
lengths = {name: r.lengths.mean() for name, r in results.items()}
print("mean episode length:", {k: round(float(v)) for k, v in lengths.items()})

# %% [markdown]
# What to look for:
#
# * **Diffusion BC** puts samples on all three modes of the data (left, right, *and* up): it is a
#   faithful copy of a dataset that is half failures.
# * **IDQL** keeps mostly the samples the critic likes: its dots thin out on the "up" mode (compare
#   the critic's three values printed above). In a full run its episodes are also shorter (the
#   lengths above): it turns at the split instead of drifting.
# * **Gaussian BC** has one mean per state, here at a compromise; it survives because its noise
#   pushes the robot off the centre line, where the data is no longer ambiguous.
# * **Diffusion-QL** is pulled towards the critic's maximum through its sampling chain, against its
#   BC term.
#
# **What it took to make Diffusion-QL work.** Trained as in the paper, a fresh policy with its own
# TD critic and $\alpha$ of one, it failed on every seed: with a few hundred CPU updates its critic had
# not yet propagated the goal's value back to the split (its Q there was about the one-step reward), so
# the Q-gradient pushed the actions to the edge of the action square, where a critic that has never
# seen such actions only extrapolates. The suite's version changes three things, all in the paper's
# spirit: it starts from the diffusion BC policy (the data's modes are already there), takes $Q$ from
# the IQL critic (trained on the data's actions, values already propagated), and weights the Q term
# with a small $\alpha$ (the paper's setting for narrow data), so that the BC term keeps the actions
# where the data is and the Q term only tilts them towards higher Q. The next cell counts, at the
# split, how many first actions take the "up" mode and how many lie at the edge of the square, and
# their mean Q: in a full run the tilt in this one state is modest, but it acts at every step of an
# episode, and the success rates above show what it adds up to.

# %%
for name in ("diffusion BC", "Diffusion-QL"):
    st = split_action_stats(clouds[name], suite.critic, s_split)  # clouds: section 5's dots, (n, 2)
    print(f"{name:>13}: up {st['up']:4.0%}   at the edge {st['edge']:4.0%}   mean Q {st['mean_q']:.2f}")

# %% [markdown]
# ## 6. Move IDQL's temperature
# IDQL's choice is cheap to redo: sample the candidates and their Q-values once, then re-select among
# them at any temperature. The next cell caches $N$ candidates for many decisions at the split state;
# the slider redraws which one IDQL picks for each decision, with the *same* random numbers at every
# step, so only $T$ changes (it starts at the suite's $T$). The figure's subtitle gives the effective number of candidates
# $1/\sum_i w_i^2$ (all $N$ when the weights are uniform, 1 for argmax) and the mean Q of the chosen.
# The table below it gives, exactly from the weights, how often each temperature picks each direction
# (*up* leads into the pocket, *back* points down, away from the goal) and how often a candidate at
# the edge of the action square, where the data has almost no actions; a very large $T$ is diffusion
# BC again, the smallest is nearly argmax.

# %%
DECISIONS = 40 if SMOKE else 150
chunks, q_cand = idql.propose(torch.as_tensor(s_split, dtype=torch.float32).repeat(DECISIONS, 1, 1),
                              generator=torch.Generator().manual_seed(0))  # (M, N, H, A), (M, N)
cand = chunks[:, :, 0].numpy()  # (M, N, 2) first actions


def mode_of(a):
    """'up', 'back' (down), 'left' or 'right' for actions (..., 2): the direction they point to most."""
    side = np.where(a[..., 0] < 0, "left", "right")
    return np.where(a[..., 1] >= np.abs(a[..., 0]), "up", np.where(-a[..., 1] >= np.abs(a[..., 0]), "back", side))


TEMPERATURES = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
is_mode = {m: torch.as_tensor(mode_of(cand) == m, dtype=torch.float32) for m in ("left", "up", "right", "back")}
is_mode["at the edge"] = torch.as_tensor(np.abs(cand).max(-1) > 0.95, dtype=torch.float32)  # off the data's modes
print(f"{DECISIONS} decisions x {idql.n_samples} cached candidates; the suite's IDQL uses T = {idql.temperature}")
for label, kw in [(f"T = {t:g}", dict(temperature=t)) for t in TEMPERATURES] + [("argmax", dict(selection="argmax"))]:
    w = selection_probabilities(q_cand, **kw)  # (M, N) the selection weights
    share = {m: float((w * mask).sum(1).mean()) for m, mask in is_mode.items()}
    print(f"{label:>9}: " + "  ".join(f"{m} {s:4.0%}" for m, s in share.items())
          + f"   effective candidates {float((1 / (w**2).sum(1)).mean()):5.1f}")
print("candidates (diffusion BC alone): " + "  ".join(f"{m} {float(mask.mean()):4.0%}" for m, mask in is_mode.items()))
start = TEMPERATURES.index(idql.temperature) if idql.temperature in TEMPERATURES else 0  # the suite's T
viz.idql_temperature_figure(cand, q_cand.numpy(), TEMPERATURES, critic=suite.critic, obs=s_split, active=start)

# %% [markdown]
# Move the slider from the right (hot) to the left (cold). Hot: the chosen dots are the candidates,
# every mode included, in diffusion BC's proportions. Colder: the "up" dots vanish first (the critic
# ranks that mode lowest), then each decision keeps only its single highest-Q candidate. Compare the
# last columns of the table for a full run: those winners are often the rare candidates at the edge
# of the square, some pointing *back*, where Q is pure extrapolation, and the cold end picks them far
# more often than they occur among the candidates. Softmax at a moderate $T$ gives them only a small
# weight; argmax trusts them every time. Exercise 1 measures what that costs in success.
#
# ## Summary
# * A critic $Q(s, a)$ predicts the return; TD learning fits it by regressing on
#   $r + \gamma (1 - d) V(s')$, one step of lookahead with its own estimate.
# * Behaviour cloning cannot tell good from bad demonstrations: a diffusion policy reproduces every
#   mode of the data, including the failing one, as faithfully as the good ones.
# * An IQL critic learns from rewards which actions lead somewhere, using only actions the data
#   contains (an upper expectile, $L_2^\tau$, instead of a max over actions).
# * IDQL keeps the diffusion model as the proposal (only actions that look like the data) and lets the
#   critic choose among them with weights $\text{softmax}(Q/T)$; the temperature moves it from diffusion
#   BC (hot) to greedy (cold). A hard argmax trusts the critic's ranking of every candidate, including
#   rare off-data ones where Q is pure extrapolation.
# * Diffusion-QL moves the policy itself towards high Q through the sampling chain, regularised by
#   its diffusion loss. That is more powerful and more fragile: the Q-gradient follows the critic
#   wherever it is wrong. On a CPU budget it works when it starts from diffusion BC, uses a critic
#   that has already learnt (IQL's) and keeps $\alpha$ small; a fresh TD critic and $\alpha$ of one led
#   the policy off the data.
#
# ## Exercises
# 1. *(open question, 10 minutes; a minute or two of compute)* Make IDQL greedy:
#    `IDQLPolicy(policies["diffusion BC"], suite.critic, selection="argmax")`. Evaluate it on 50
#    episodes. What happens, and why (look at the heatmap outside the data's modes, and at the
#    slider's argmax step)?
# 2. *(open question, 15 minutes; a few minutes of compute)* Undo the suite's changes to
#    Diffusion-QL one at a time, with `lk.pretrain.train_diffusion_ql(policy, data, config,
#    iterations=600, critic=...)`: a fresh policy (`lk.make_policy("diffusion", 8, 2, preset="offline")`)
#    with its own TD critic (no `critic=`) and `lk.pretrain.DiffusionQLConfig()`; the same with
#    `critic=suite.critic`; then a copy of diffusion BC (`copy.deepcopy(policies["diffusion BC"])`,
#    `fit_normalizers=False`) with `critic=suite.critic` and `DiffusionQLConfig(alpha=1.0)`. Where do
#    the rollouts end each time, and which change matters most: the start, the critic or the weight?
# 3. *(open question, 5 minutes)* Evaluate Gaussian BC with `evaluate(..., deterministic=True)`. Its
#    success rate changes: which routes does it use now? Is that the same policy the data showed?
# 4. *(5 minutes)* Write IQL's expectile loss `expectile_loss(u, tau)`: the mean of $L_2^\tau(u)$ over a
#    tensor `u` of differences $\hat Q - V$. The check compares it with `labkit.pretrain.expectile_loss`
#    on random inputs.
# 5. *(5 minutes)* Write the TD target `td_target(rewards, dones, next_v, gamma)`: $y$ for a batch of
#    transitions. The check builds an `IQLCritic`, computes the Q loss with your targets and compares
#    it with `IQLCritic.losses`.
# 6. *(10 minutes)* Write IDQL's selection weights `idql_weights(q, temperature)`: $w$ for each row of a
#    `(B, N)` tensor of candidates' Q-values. The check compares them with
#    `labkit.policies.selection_probabilities`, down to a very small temperature (mind the overflow).
# 7. *(5 minutes)* Check your understanding of the normalised return: what would a policy that behaves
#    like the noisy expert score? Compute it from `ref` (section 1).

# %%
# EXERCISE 08.expectile_loss
def expectile_loss(u, tau):
    """mean over u of |tau - 1(u < 0)| * u^2: (B,) tensor, float -> scalar tensor."""
    raise NotImplementedError  # your code here


lk.check("08.expectile_loss", expectile_loss)

# %%
# EXERCISE 08.td_target
def td_target(rewards, dones, next_v, gamma):
    """y = r + gamma (1 - d) V(s') for a batch: (B,), (B,), (B,), float -> (B,)."""
    raise NotImplementedError  # your code here


lk.check("08.td_target", td_target)

# %%
# EXERCISE 08.idql_weights
def idql_weights(q, temperature):
    """softmax(q / temperature) over each row: (B, N) Q-values of N candidates -> (B, N) weights."""
    raise NotImplementedError  # your code here


lk.check("08.idql_weights", idql_weights)

# %%
# EXERCISE 08.noisy_score
noisy_score = None  # your answer: the normalised return of the noisy episodes, computed from ref
lk.check("08.noisy_score", noisy_score)

# %% [markdown]
# ## Read next
# * Kostrikov, Nair and Levine, *Offline Reinforcement Learning with Implicit Q-Learning* (IQL),
#   [arXiv:2110.06169](https://arxiv.org/abs/2110.06169); code:
#   [ikostrikov/implicit_q_learning](https://github.com/ikostrikov/implicit_q_learning).
# * Hansen-Estruch et al., *IDQL: Implicit Q-Learning as an Actor-Critic Method with Diffusion
#   Policies*, [arXiv:2304.10573](https://arxiv.org/abs/2304.10573); code:
#   [philippe-eecs/IDQL](https://github.com/philippe-eecs/IDQL).
# * Wang, Hunt and Zhou, *Diffusion Policies as an Expressive Policy Class for Offline Reinforcement
#   Learning* (Diffusion-QL), [arXiv:2208.06193](https://arxiv.org/abs/2208.06193); code:
#   [Zhendong-Wang/Diffusion-Policies-for-Offline-RL](https://github.com/Zhendong-Wang/Diffusion-Policies-for-Offline-RL).
# * Fu et al., *D4RL: Datasets for Deep Data-Driven Reinforcement Learning*,
#   [arXiv:2004.07219](https://arxiv.org/abs/2004.07219): the normalised score used above.
# * Sutton and Barto, *Reinforcement Learning: An Introduction*, chapter 6 (temporal-difference
#   learning), [incompleteideas.net/book](http://incompleteideas.net/book/the-book-2nd.html).
# * Next in the course: notebook 10 fine-tunes a diffusion policy online with PPO (DPPO).
