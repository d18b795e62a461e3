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
# # 10 · DPPO: fine-tuning a diffusion policy with PPO through its denoising chain
#
# **Place on the map:** B2 *RL fine-tuning*, *policy-specific* methods: the RL update reaches inside
# the generative policy (its denoising steps), unlike the policy-agnostic residual of notebook 07.
#
# **Goals.** (1) Start from an *under-trained* diffusion policy (about half of its rollouts fail).
# (2) See the denoising chain as a sequence of Gaussian "actions" with log-probabilities, so PPO can
# optimise it (DPPO, Ren et al. 2024): a two-level MDP, GAE over decisions, one clipped ratio per
# denoising step. (3) Watch success climb over fine-tuning, with a band over seeds. (4) See the action
# distribution narrow onto the successful modes. (5) Compare, on the same seeds, with PPO on a Gaussian
# BC policy and with residual RL on the frozen diffusion policy (notebook 07). (6) Find out, with a
# slider over cached runs, how many denoising steps need fine-tuning.
#
# **Prerequisites.** Notebook 03 (diffusion policy, DDPM), notebook 01 (PPO's clipped objective and
# the discounted return), notebook 07 (residual RL).
#
# **Time.** About an hour to read, run and do the two checkable exercises (a quarter of an hour each),
# more with the open questions (each is a fresh fine-tuning run). The first code cell prints the
# measured compute time; `LABKIT_SMOKE=1` runs the notebook with tiny budgets in about a minute (the
# numbers then mean nothing).

# %%
import copy
import json
import time

import numpy as np
import torch
from stable_baselines3 import PPO

import labkit as lk
from labkit import viz
from labkit.experiments.dppo import DPPO_ACTOR, dppo_config, pretrain_diffusion, pretrain_gaussian
from labkit.finetune import DiffusionPPOActor, GaussianPPOActor, finetune_ppo, make_residual_env
from labkit.policies.presets import PRESETS

SMOKE = lk.smoke_mode()
print(lk.course.compute_time("10_dppo_finetuning"))
PRETRAIN = 20 if SMOKE else 200  # BC iterations: deliberately few
SEEDS = [0] if SMOKE else [0, 1, 2]  # every method runs on every one of these seeds
BUDGET = dict(total_env_steps=600, max_seconds=20) if SMOKE else dict(total_env_steps=24_000, max_seconds=150)
EPISODES = 4 if SMOKE else 100
ENV_ID = "labkit/TwoRoutes-v0"
RESULTS = lk.course.timing.RESULTS.parent  # benchmarks/results
demos = lk.load("two_routes_demos")
for name in ("chunked", "dppo"):
    p = PRESETS[name]
    print(f"preset {name!r}: To / H / Ta = {p.horizons['n_obs_steps']} / {p.horizons['horizon']} / "
          f"{p.horizons['n_action_steps']}, sampler {p.diffusion['sampler']}-{p.diffusion['num_inference_steps']}: {p.why}")
print(f"smoke={SMOKE}: {PRETRAIN} BC iterations, {BUDGET['total_env_steps']} env steps per run, seeds {SEEDS}")

# %% [markdown]
# **Why the `dppo` preset and not 03's `chunked`.** PPO needs the probability of what the policy did:
# DDIM (03's sampler) is deterministic, DDPM draws a Gaussian at every step; and a short chunk of one
# observation makes decisions frequent, so GAE can tell a good decision from a bad one.
#
# ## 1. An under-trained diffusion policy
# A few BC iterations on the first 100 expert episodes (the count is printed above; notebook 03 trains
# far longer on more demos). The policy sees one observation and predicts a chunk of 4
# actions, all executed, sampled with K = 10 DDPM steps. For a fair comparison every method below
# starts, for seed s, from a policy pre-trained with seed s; the pictures show seed 0.

# %%
pretrained = {s: pretrain_diffusion(demos, iterations=PRETRAIN, seed=s, progress=False) for s in SEEDS}
before = {s: lk.evaluate(DiffusionPPOActor(copy.deepcopy(p), **DPPO_ACTOR), ENV_ID, EPISODES, seed=1000,
                         generator_seed=s, progress=False) for s, p in pretrained.items()}
b0 = before[SEEDS[0]]
print("before fine-tuning, per seed: success", {s: f"{r.success_rate:.0%}" for s, r in before.items()},
      "| return", {s: round(float(r.returns.mean()), 2) for s, r in before.items()})
viz.trajectories_figure(b0.trajectories[:40], [f"{r} ({'ok' if s else 'fail'})" for r, s in
                                               zip(b0.routes[:40], b0.successes[:40])],
                        title="Before: 40 rollouts of the under-trained policy (seed 0)")

# %% [markdown]
# ## 2. The denoising chain is a policy: DPPO's two-level MDP
# **The environment MDP.** At decision $n$ the policy sees $s_n$ (`obs`, shape `(E, To, D)`), emits a
# chunk, and the env executes its $T_a$ actions (`ActionChunkWrapper`: one `step`, their rewards
# summed into $r_n$); $d_n = 1$ when the episode ended there (`dones`).
#
# **The denoising MDP inside each decision.** The sampler starts from noise $x_K \sim \mathcal{N}(0, I)$
# and takes K steps. Step $k$ is a Gaussian policy whose state is $(s_n, x_k, k)$ and whose action is
# the next, less noisy sample:
#
# $$\pi_\theta(x_{k-1} \mid x_k, s_n) = \mathcal{N}\big(x_{k-1};\ \mu_\theta(x_k, t_k, s_n),\ \sigma_k^2 I\big),
# \qquad \sigma_k = \max(\sigma_k^\text{DDPM}, \sigma_{\min}),$$
#
# with $\mu_\theta$ and $\sigma_k^\text{DDPM}$ from the scheduler (`sched.step(...).mean`, `.std`) and
# $\sigma_{\min}$ = `min_std`. DDPM's last step is deterministic ($\sigma_1^\text{DDPM} = 0$), so the clip
# makes every step explore a little and every log-probability finite. The last sample $x_0$ is the chunk;
# only that last denoising step "acts" on the env and earns $r_n$, the others earn nothing and are not
# discounted. So every denoising step of decision $n$ gets that decision's advantage $A_n$, and the
# log-likelihood of the whole chain is a sum of K Gaussian log-densities, differentiable in $\theta$:
#
# $$\log p_\theta(x_{K-1}, \dots, x_0 \mid x_K, s_n) = \sum_{k=1}^{K} \log \pi_\theta(x_{k-1} \mid x_k, s_n)
# = \sum_{k=1}^{K} \sum_i \Big[-\frac{(x_{k-1,i} - \mu_{\theta,i})^2}{2 \sigma_k^2} - \log \sigma_k - \tfrac12 \log 2\pi\Big]$$
#
# ($i$ runs over the chunk's positions and action dimensions.) In the code, `actor.act(obs)` returns the
# executed actions, the recorded `chain` `(B, R+1, H, A)` (`chain[:, 0]` is the first recorded step's
# input, `chain[:, -1]` $= x_0$) and `logp` `(B, R)`, one column per step; `actor.log_prob(obs, chain)`
# recomputes them under the current weights, and `actor.step_distributions(obs, chain)` gives each
# step's $\mu$ and $\sigma$. Only the last $R$ = `ft_denoising_steps` steps are recorded and fine-tuned.
#
# **Advantages: GAE over decisions.** A value network $V_\phi(s)$ (`value`) predicts the return from
# $s_n$. Its one-step error, the TD residual, and the generalised advantage estimate (Schulman et al.,
# 2015) are
#
# $$\delta_n = r_n + \gamma V_\phi(s_{n+1})(1 - d_n) - V_\phi(s_n), \qquad
# A_n = \sum_{l \ge 0} (\gamma\lambda)^l \delta_{n+l} = \delta_n + \gamma\lambda (1 - d_n) A_{n+1},$$
#
# the sum stopping at the episode's end. $\lambda$ = `gae_lambda` trades bias ($\lambda = 0$: one step
# of $V_\phi$) for variance ($\lambda = 1$: the discounted return of notebook 01 minus $V_\phi(s_n)$).
# `compute_gae(rewards, values, dones, last_values, gamma, lam)` runs the recursion backwards;
# $V_\phi$ regresses on the targets $A_n + V_\phi(s_n)$ (`returns`), and the advantages are standardised
# over each batch.
#
# **The update: one clipped ratio per denoising step.** With $\epsilon$ = `clip_range`,
#
# $$\rho_{n,k}(\theta) = \exp\big(\log \pi_\theta(x^n_{k-1} \mid x^n_k, s_n) - \log \pi_{\theta_\text{old}}(x^n_{k-1} \mid x^n_k, s_n)\big),$$
#
# $$L(\theta) = -\frac{1}{NR} \sum_{n} \sum_{k} \min\big(\rho_{n,k} A_n,\ \text{clip}(\rho_{n,k}, 1 - \epsilon, 1 + \epsilon) A_n\big),$$
#
# which is `ppo_clip_loss(logp_new, logp_old, adv[:, None], clip_range)` with `(N, R)` log-probs
# broadcast against `(N, 1)` advantages. `labkit.finetune.finetune_ppo` runs 8 envs (SB3's
# `DummyVecEnv`), GAE over decisions and this update.
#
# **Exercise 10.gae** *(about a quarter of an hour)*. Write GAE for one env's trajectory of T decisions
# (1-D arrays; `dones[t] = 1` where an episode ended at t, `last_value` is $V_\phi$ of the observation
# after the last decision). The check compares your advantages with `labkit.finetune.compute_gae`, the
# function `finetune_ppo` trains on, for three $(\gamma, \lambda)$ and a batch in which two episodes end.

# %%
# EXERCISE 10.gae
def gae(rewards, values, dones, last_value, gamma, lam):
    """A_t for t = 0..T-1: (T,) rewards, values V(s_t), dones; last_value = V(s_T) -> (T,) advantages."""
    raise NotImplementedError  # your code here


lk.check("10.gae", gae)

# %% [markdown]
# Now one decision of the pre-trained policy at the split point below the cup: the chain it recorded,
# each step's $\sigma_k$ (the clip at `min_std` shows in the last steps) and the per-step log-probs.

# %%
env = lk.make(ENV_ID, seed=0)
s_split = env.unwrapped.observation_at([0.0, -0.2], velocity=[0.0, 0.2])  # at the split, moving up
probe = DiffusionPPOActor(copy.deepcopy(pretrained[SEEDS[0]]), **DPPO_ACTOR)
obs = torch.as_tensor(s_split[None, None], dtype=torch.float32).repeat(4, 1, 1)  # (B=4, To=1, D=8)
actions, chain, logp = probe.act(obs, torch.Generator().manual_seed(0))
means, stds = probe.step_distributions(obs, chain)
print("executed actions", tuple(actions.shape), "| chain", tuple(chain.shape), "| logp", tuple(logp.shape),
      "| means and stds", tuple(means.shape))
print("sigma_k per step (first sample):", stds[0, :, 0, 0].numpy().round(3))
print("log pi per step (first sample): ", logp[0].numpy().round(1))

# %% [markdown]
# **Exercise 10.chain_log_prob** *(about a quarter of an hour)*. Write the log-likelihood of whole
# chains from the per-step Gaussians: `chain` `(B, R+1, H, A)`, `means` and `stds` `(B, R, H, A)`
# (step j drew `chain[:, j + 1]` from `N(means[:, j], stds[:, j]^2)`), returning `(B,)`. Use torch
# operations (no `torch.distributions`). The check builds its own policy and chains (all 10 steps
# recorded, then only the last 3) and compares with `DiffusionPPOActor.log_prob` summed over the steps:
# the quantity whose ratio `logprob_mode="chain"` clips. You can try yours on the tensors above.

# %%
# EXERCISE 10.chain_log_prob
def chain_log_prob(chain, means, stds):
    """log p(x_{R-1}, ..., x_0 | x_R, s): chain (B, R+1, H, A); means, stds (B, R, H, A) -> (B,)."""
    raise NotImplementedError  # your code here


lk.check("10.chain_log_prob", chain_log_prob)

# %% [markdown]
# ## 3. DPPO, seed by seed
# Each seed fine-tunes its own pre-trained policy (all K = 10 steps, `DPPO_ACTOR`) with
# `dppo_config(seed=s)`; the budget is printed above.

# %%
runs, actors, seconds = {"DPPO": [], "Gaussian PPO": []}, {}, {"DPPO": [], "Gaussian PPO": [], "residual PPO (SB3)": []}
for s in SEEDS:
    a = DiffusionPPOActor(copy.deepcopy(pretrained[s]), **DPPO_ACTOR)
    res = finetune_ppo(a, ENV_ID, dppo_config(seed=s, **BUDGET))
    runs["DPPO"].append(res.history)
    actors[s] = a
    seconds["DPPO"].append(res.seconds)
    print(f"seed {s}: {res.env_steps} env steps in {res.seconds:.0f} s, "
          f"training success {res.history[-1]['success_rate']:.0%}")

# %% [markdown]
# ## 4. The baselines, on the same seeds: Gaussian PPO and residual RL
# * **Gaussian PPO**: the same demos, horizons and pre-training budget, but a Gaussian BC policy;
#   then the same PPO loop (the log-probability of a Gaussian chunk is direct: R = 1).
# * **Residual RL** (notebook 07): the diffusion policy stays frozen; SB3's PPO learns a bounded
#   correction `executed = prior + 0.3 * residual` from the same number of env steps. (Its "before"
#   differs a little from DPPO's: the frozen prior samples plain DDPM, without DPPO's `min_std`.)

# %%
g_before, g_after, g_actors = {}, {}, {}
for s in SEEDS:
    g_actor = GaussianPPOActor(pretrain_gaussian(demos, iterations=PRETRAIN, seed=s, progress=False))
    g_before[s] = lk.evaluate(g_actor, ENV_ID, EPISODES, seed=1000, generator_seed=s, progress=False)
    g_res = finetune_ppo(g_actor, ENV_ID, dppo_config(seed=s, **BUDGET), progress=False)
    runs["Gaussian PPO"].append(g_res.history)
    seconds["Gaussian PPO"].append(g_res.seconds)
    g_after[s] = lk.evaluate(g_actor, ENV_ID, EPISODES, seed=1000, generator_seed=s, progress=False)
    print(f"Gaussian PPO seed {s}: {g_res.env_steps} env steps in {g_res.seconds:.0f} s")

r_before, r_after = {}, {}
for s in SEEDS:
    residual_env = make_residual_env(ENV_ID, pretrained[s], n_envs=8, scale=0.3, seed=s, sampler="ddpm",
                                     num_inference_steps=10)
    r_before[s] = lk.evaluate(pretrained[s], ENV_ID, EPISODES, seed=1000, generator_seed=s, progress=False)
    t0 = time.perf_counter()
    residual = PPO("MlpPolicy", residual_env, n_steps=128, batch_size=256, seed=s, verbose=0)
    residual.learn(BUDGET["total_env_steps"])
    seconds["residual PPO (SB3)"].append(time.perf_counter() - t0)
    r_after[s] = lk.evaluate(residual, ENV_ID, EPISODES, seed=1000, generator_seed=s, progress=False)  # on its prior
    print(f"residual PPO seed {s}: {BUDGET['total_env_steps']} env steps in {seconds['residual PPO (SB3)'][-1]:.0f} s")

# %% [markdown]
# ## 5. Success over fine-tuning
# The success rate of the last 100 *training* episodes (sampled exactly as at evaluation; the first
# points average only the few episodes finished so far): the mean and the min-max band over the seeds
# listed in the legend, the same seeds for both methods. Residual
# PPO has no curve here (SB3 trains it inside its own wrapper); its before and after on the same seeds
# are in the table of section 6.

# %%
viz.curves(runs, title="Training success (last 100 episodes), mean and range over the same seeds",
           y_title="success rate")

# %% [markdown]
# ## 6. Before and after, measured the same way
# Evaluation episodes with the same start states before and after, and the same sampling seed per
# seed; mean over the seeds, with the range in brackets.

# %%
after = {s: lk.evaluate(a, ENV_ID, EPISODES, seed=1000, generator_seed=s, progress=False) for s, a in actors.items()}


def spread(values):
    """'mean (min-max)' of success rates over seeds."""
    v = np.asarray(list(values), dtype=float)
    return f"{v.mean():4.0%} ({v.min():.0%}-{v.max():.0%})"


table = {
    "DPPO": (before, after),
    "Gaussian PPO": (g_before, g_after),
    "residual PPO (SB3)": (r_before, r_after),
}
print(f"{len(SEEDS)} seed(s) {SEEDS}, {EPISODES} episodes each; success rate, mean (min-max) over seeds")
print(f"{'method':>20}  {'before':>15}  {'after':>15}  {'return after':>12}  seconds")
for name, (b, a_) in table.items():
    print(f"{name:>20}  {spread(r.success_rate for r in b.values()):>15}  {spread(r.success_rate for r in a_.values()):>15}"
          f"  {np.mean([r.returns.mean() for r in a_.values()]):12.2f}  {np.mean(seconds[name]):7.0f}")
print("successful routes before (seed 0):", before[SEEDS[0]].route_counts, "| after DPPO, per seed:",
      {s: r.route_counts for s, r in after.items()})

# %% [markdown]
# The benchmark behind the README (`benchmarks/offline_and_dppo.py`, full budget) runs the same DPPO
# protocol: this cell prints its numbers, to compare with yours.

# %%
bench = json.loads((RESULTS / "offline_and_dppo.json").read_text())["dppo"]["per_seed"]
print(f"benchmark, DPPO over {len(bench)} seeds: success {np.mean([r['before'] for r in bench]):.0%} -> "
      f"{np.mean([r['after'] for r in bench]):.0%} (per seed "
      + ", ".join(f"{r['before']:.0%} -> {r['after']:.0%}" for r in bench)
      + f") in about {np.mean([r['env steps'] for r in bench]):,.0f} env steps and "
      f"{min(r['seconds'] for r in bench):.0f}-{max(r['seconds'] for r in bench):.0f} s per seed")
print(f"this notebook, DPPO over {len(SEEDS)} seed(s): {np.mean([r.success_rate for r in before.values()]):.0%} -> "
      f"{np.mean([r.success_rate for r in after.values()]):.0%}" + ("  (smoke mode: tiny budgets)" if SMOKE else ""))

# %%
a0 = after[SEEDS[0]]
viz.trajectories_figure(a0.trajectories[:40], [f"{r} ({'ok' if s else 'fail'})" for r, s in
                                               zip(a0.routes[:40], a0.successes[:40])],
                        title="After DPPO: 40 rollouts (seed 0)")

# %% [markdown]
# ## 7. How many denoising steps need fine-tuning? (a slider over cached runs)
# `DiffusionPPOActor(policy, num_inference_steps=10, ft_denoising_steps=R)` samples all 10 steps but
# records and trains only the last R: earlier steps run without gradients, so an update is cheaper, and
# the ratios $\rho_{n,k}$ exist only for those R steps. The runs below come from
# `python benchmarks/offline_and_dppo.py --only sweep` (the full budget, the same seeds and
# pre-trained policies for every setting): move the slider, then read the table, seed by seed too (a
# single seed can collapse). Seconds are wall time on a shared 2-core machine whose load varied between
# runs; env steps are the fair axis.

# %%
sweep = json.loads((RESULTS / "offline_and_dppo_sweep.json").read_text())
ft_runs = {"1": "DPPO, last 1 step", "3": "DPPO, last 3 steps", "10": "DPPO, all 10 steps"}
ft_runs = {k: v for k, v in ft_runs.items() if v in sweep["runs"]}
settings = {k: {f"DPPO, last {k} of 10 steps": [r["history"] for r in sweep["runs"][name]],
                "Gaussian PPO (reference)": [r["history"] for r in sweep["runs"].get("Gaussian PPO", [])]}
            for k, name in ft_runs.items()}
print(f"cached: seeds {sweep['seeds']}, {sweep['episodes']} evaluation episodes, budget {sweep['dppo_budget']}")
for k, name in ft_runs.items():
    rows = sweep["runs"][name]
    print(f"fine-tune the last {k:>2} of 10 steps: success {spread(r['before'] for r in rows)} -> "
          f"{spread(r['after'] for r in rows)}, per seed {[round(r['after'], 2) for r in rows]}, "
          f"{np.mean([r['seconds'] for r in rows]):.0f} s per run")
viz.curves_slider(settings, prefix="fine-tuned denoising steps R = ",
                  title="Training success for R fine-tuned steps (mean and range over seeds)", y_title="success rate")

# %% [markdown]
# The same runs, seen through PPO's clip: the share of ratios $\rho_{n,k}$ outside
# $[1 - \epsilon, 1 + \epsilon]$ in each update (`clip_frac`). Which steps are the narrowest Gaussians,
# and what does that do to their ratios when they are trained alone?

# %%
viz.curves_slider(settings, y="clip_frac", prefix="fine-tuned denoising steps R = ",
                  title="Clip fraction for R fine-tuned steps (mean and range over seeds)", y_title="clip_frac")

# %% [markdown]
# ## 8. The action distribution narrows onto the successful modes
# Where do the rollouts pass the cup's mouth (height y = -0.12 m)? Compare the two histograms: the
# crossings near x = 0 go into the cup; after DPPO they gather in a narrow band beside it. The cell
# below counts them, and the route counts of section 6 say which side won, seed by seed. PPO maximises
# return; one route is enough for that, and which one wins can differ between seeds: the narrowing is
# onto *a* successful mode, and the other one can be forgotten.

# %%
viz.crossing_histogram({"before": b0.trajectories, "after DPPO (seed 0)": a0.trajectories})

# %%
for name, trajs in {"before": b0.trajectories, "after": a0.trajectories}.items():
    xs = lk.analysis.crossing_x(trajs, -0.12)
    print(f"{name:>6}: into the cup's mouth (|x| < 0.16) {np.mean(np.abs(xs) < 0.16):.0%}, never reach it "
          f"{np.mean(np.isnan(xs)):.0%}, beside the cup {np.mean(np.abs(xs) >= 0.16):.0%}")

# %% [markdown]
# The same in action space: at the split point sample 200 first actions from the pre-trained policy
# and from the fine-tuned one (both with DPPO's sampler, `min_std` included).

# %%
clouds = {"before": lk.analysis.first_actions(DiffusionPPOActor(copy.deepcopy(pretrained[SEEDS[0]]), **DPPO_ACTOR),
                                              s_split, n=200),
          "after DPPO": lk.analysis.first_actions(actors[SEEDS[0]], s_split, n=200)}
for name, c in clouds.items():
    print(f"{name:>10}: mean {c.mean(0).round(2)}, share going sideways (|a_x| > 0.5) "
          f"{np.mean(np.abs(c[:, 0]) > 0.5):.0%}")
viz.action_cloud_figure(clouds)

# %% [markdown]
# ## Summary
# * A diffusion policy's sampler is a chain of Gaussians, so its log-probability is a sum of K tractable
#   terms: PPO can optimise it directly (DPPO), seeing each denoising step as an action of an inner MDP
#   that shares its decision's GAE advantage, with a `min_std` clip so every step is stochastic.
# * Starting from a policy that fails about half of the time, a CPU minute or so of DPPO per seed makes
#   it succeed most of the time, on some seeds nearly always (the cells above print this run's numbers
#   and the benchmark's, seed by seed: at this budget the end point varies across seeds). Its
#   rollouts stop entering the cup: the distribution narrows onto a successful mode; in the full run each
#   seed keeps a single route, not the same one for every seed (the route counts of section 6). RL
#   fine-tuning buys success with some of the multimodality that made the diffusion policy attractive.
# * Gaussian PPO fine-tunes with a direct log-probability and is far cheaper per update, but it starts
#   from a Gaussian BC policy that averages the two routes into the cup, and how far it climbs varies
#   from seed to seed. Residual PPO on the frozen diffusion policy, with the same budget, is erratic on
#   this dense reward (the cell below counts the seeds on which it helped): the reward pays progress as
#   well as arrival, and a correction learned from scratch need not favour arrival, while DPPO adjusts a
#   policy that already knows both routes. (Notebook 07 shows residual PPO working where the reward is
#   success alone.)
# * Which steps to fine-tune matters: the slider of section 7 compares the last step alone, the last
#   three and all ten. PPO on a chain is not guaranteed to climb: look at every seed, not only the mean.

# %%
means_ = {name: (np.mean([r.success_rate for r in b.values()]), np.mean([r.success_rate for r in a_.values()]))
          for name, (b, a_) in table.items()}
print("this run (" + ("smoke mode, tiny budgets: " if SMOKE else "") + f"mean of {len(SEEDS)} seed(s)): "
      + "; ".join(f"{n} {b:.0%} -> {a_:.0%}" for n, (b, a_) in means_.items()))
cached = {n: (np.mean([r["before"] for r in sweep["runs"][n]]), np.mean([r["after"] for r in sweep["runs"][n]]))
          for n in ("DPPO, all 10 steps", "Gaussian PPO", "residual PPO (SB3)") if n in sweep["runs"]}
print(f"the cached sweep (full budget, seeds {sweep['seeds']}): "
      + "; ".join(f"{n} {b:.0%} -> {a_:.0%}" for n, (b, a_) in cached.items()))
for n in cached:
    rows = sweep["runs"][n]
    up = sum(r["after"] > r["before"] for r in rows)
    print(f"  {n}: success rose on {up} of {len(rows)} seeds, after-fine-tuning range "
          f"{min(r['after'] for r in rows):.0%}-{max(r['after'] for r in rows):.0%}")

# %% [markdown]
# ## Exercises
# 1. *(checkable, section 2, about a quarter of an hour)* `10.gae`: GAE for one trajectory, checked
#    against `labkit.finetune.compute_gae`.
# 2. *(checkable, section 2, about a quarter of an hour)* `10.chain_log_prob`: the log-likelihood of a
#    whole denoising chain as the sum of its per-step Gaussian log-densities, checked against
#    `DiffusionPPOActor.log_prob`.
# 3. *(open question)* The slider of section 7: why might fine-tuning only the last denoising step
#    barely help, although that step writes the action? Re-run one setting yourself:
#    `DiffusionPPOActor(copy.deepcopy(pretrained[0]), num_inference_steps=10, ft_denoising_steps=3, min_std=0.1)`.
# 4. *(open question)* Set `logprob_mode="chain"` in `dppo_config(...)`: one ratio per decision (the sum
#    of the K log-probabilities, your `chain_log_prob`) instead of one per step. What happens to
#    `clip_frac` in `res.history`, and to the learning curve?
# 5. *(open question)* Lower `min_std` to 0.02 in the actor. Exploration shrinks; how does the learning
#    curve change? Does a smaller `actor_lr` (1e-4) or fine-tuning fewer denoising steps keep both
#    routes alive?

# %% [markdown]
# ## Read next
# * Ren et al., *Diffusion Policy Policy Optimization* (DPPO), [arXiv:2409.00588](https://arxiv.org/abs/2409.00588);
#   code: [irom-princeton/dppo](https://github.com/irom-princeton/dppo) (the two-level MDP, `min_std`
#   clipping, fine-tuning only the last denoising steps).
# * Black et al., *Training Diffusion Models with Reinforcement Learning* (DDPO),
#   [arXiv:2305.13301](https://arxiv.org/abs/2305.13301): the denoising chain as an MDP, for images.
# * Schulman et al., *Proximal Policy Optimization Algorithms*, [arXiv:1707.06347](https://arxiv.org/abs/1707.06347).
# * Schulman et al., *High-Dimensional Continuous Control Using Generalized Advantage Estimation*,
#   [arXiv:1506.02438](https://arxiv.org/abs/1506.02438).
# * Ankile et al., *From Imitation to Refinement: Residual RL for Precise Assembly* (ResiP),
#   [arXiv:2407.16677](https://arxiv.org/abs/2407.16677): the residual baseline of section 4.
