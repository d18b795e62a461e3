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
# # 10 · DPPO: fine-tuning a diffusion policy with PPO through its denoising chain
#
# **Place on the map:** B2 *RL fine-tuning*, *policy-specific* methods: the RL update reaches inside
# the generative policy (its denoising steps), unlike the policy-agnostic residual of notebook 07.
#
# **Goals.** (1) Start from an *under-trained* diffusion policy (about half of its rollouts fail).
# (2) See the denoising chain as a sequence of Gaussian "actions" with log-probabilities, so PPO can
# optimise it (DPPO, Ren et al. 2024). (3) Watch success climb over fine-tuning, with a band over
# seeds. (4) See the action distribution narrow onto the successful modes. (5) Compare with PPO on a
# Gaussian BC policy and with residual RL on the frozen diffusion policy (notebook 07).
#
# **Prerequisites.** Notebook 03 (diffusion policy, DDPM), notebook 01 (PPO), notebook 07 (residual RL).
#
# **Time.** About 5 minutes on a 2-core laptop; `LABKIT_SMOKE=1` runs it in well under a minute (with
# tiny budgets: the numbers then mean nothing).

# %%
import copy

import numpy as np
import torch

import labkit as lk
from labkit import viz
from labkit.experiments.dppo import DPPO_ACTOR, dppo_config, pretrain_diffusion, pretrain_gaussian
from labkit.finetune import DiffusionPPOActor, GaussianPPOActor, finetune_ppo

SMOKE = lk.smoke_mode()
PRETRAIN = 20 if SMOKE else 200  # BC iterations: deliberately few
SEEDS = [0] if SMOKE else [0, 1, 2]
BUDGET = dict(total_env_steps=600, max_seconds=20) if SMOKE else dict(total_env_steps=24_000, max_seconds=150)
EPISODES = 4 if SMOKE else 100
ENV_ID = "labkit/TwoRoutes-v0"
demos = lk.load("two_routes_demos")

# %% [markdown]
# ## 1. An under-trained diffusion policy
# 200 iterations of behaviour cloning on 100 expert episodes (notebook 03 used 6000 on 200). The
# policy sees one observation and predicts a chunk of 4 actions, all executed (a decision every 0.2 s),
# sampled with K = 10 DDPM steps.

# %%
policy = pretrain_diffusion(demos, iterations=PRETRAIN, seed=0)
pretrained = copy.deepcopy(policy)  # kept frozen: the "before" picture and the residual prior
actor = DiffusionPPOActor(policy, **DPPO_ACTOR)
before = lk.evaluate(actor, ENV_ID, EPISODES, seed=1000)
print(f"before fine-tuning: success {before.success_rate:.0%}, return {before.returns.mean():.2f}")
viz.trajectories_figure(before.trajectories[:40], [f"{r} ({'ok' if s else 'fail'})" for r, s in
                                               zip(before.routes[:40], before.successes[:40])],
                    title="Before: 40 rollouts of the under-trained policy")

# %% [markdown]
# ## 2. The denoising chain is a policy
# Each DDPM step draws `x_{k-1} ~ N(mean_theta(x_k, k, s), std_k^2)`. The chain of K steps is a product
# of Gaussians, so the log-probability of everything the sampler drew is a sum of K Gaussian
# log-probabilities, differentiable in theta. DPPO treats each denoising step as an action in an
# inner MDP and gives all of them the advantage of the environment decision they produced:
#
# ```
# ratio_{n,k} = p_theta(x_{k-1} | x_k, s_n) / p_theta_old(x_{k-1} | x_k, s_n)
# L = -mean_{n,k} min(ratio A_n, clip(ratio, 1 - eps, 1 + eps) A_n)
# ```
#
# DDPM's last step is deterministic (std 0), so every std is clipped from below (`min_std = 0.1`, in
# normalised action units): each step explores a little and every log-probability is finite.
# `labkit.finetune.finetune_ppo` runs 8 envs (SB3's `DummyVecEnv`), GAE over decisions, and the
# clipped update.

# %%
runs, actors = {"DPPO": []}, {}
for seed in SEEDS:
    p = copy.deepcopy(pretrained)
    a = DiffusionPPOActor(p, **DPPO_ACTOR)
    res = finetune_ppo(a, ENV_ID, dppo_config(seed=seed, **BUDGET))
    runs["DPPO"].append(res.history)
    actors[seed] = a
    print(f"seed {seed}: {res.env_steps} env steps in {res.seconds:.0f} s, "
          f"training success {res.history[-1]['success_rate']:.0%}")

# %% [markdown]
# ## 3. The baselines: Gaussian PPO and residual RL
# * **Gaussian PPO**: the same demos, horizons and pre-training budget, but a Gaussian BC policy;
#   then the same PPO loop (the log-probability of a Gaussian chunk is direct).
# * **Residual RL** (notebook 07): the diffusion policy stays frozen; SB3's PPO learns a bounded
#   correction `executed = prior + 0.3 * residual` from the same number of env steps. (Its "before"
#   differs a little from DPPO's: the frozen prior samples plain DDPM, without DPPO's `min_std`.)

# %%
gauss = pretrain_gaussian(demos, iterations=PRETRAIN, seed=0)
g_actor = GaussianPPOActor(gauss)
g_before = lk.evaluate(g_actor, ENV_ID, EPISODES, seed=1000, progress=False)
runs["Gaussian PPO"] = []
g_res = finetune_ppo(g_actor, ENV_ID, dppo_config(seed=0, **BUDGET))
runs["Gaussian PPO"].append(g_res.history)
print(f"Gaussian PPO: {g_res.env_steps} env steps in {g_res.seconds:.0f} s")

# %%
import time

from stable_baselines3 import PPO

from labkit.finetune import make_residual_env

residual_env = make_residual_env(ENV_ID, pretrained, n_envs=8, scale=0.3, seed=0, sampler="ddpm",
                                 num_inference_steps=10)
residual_before = lk.evaluate(pretrained, ENV_ID, EPISODES, seed=1000, progress=False)  # the prior alone
t0 = time.perf_counter()
residual = PPO("MlpPolicy", residual_env, n_steps=128, batch_size=256, seed=0, verbose=0)
residual.learn(BUDGET["total_env_steps"])
residual_seconds = time.perf_counter() - t0
residual_after = lk.evaluate(residual, ENV_ID, EPISODES, seed=1000, progress=False)  # deployed on its prior
print(f"residual PPO: {BUDGET['total_env_steps']} env steps in {residual_seconds:.0f} s, "
      f"success {residual_before.success_rate:.0%} -> {residual_after.success_rate:.0%}")

# %% [markdown]
# ## 4. Success over fine-tuning
# The success rate of the last 100 *training* episodes (sampled exactly as at evaluation), mean and
# min-max band over seeds.

# %%
viz.curves(runs, title="Training success (last 100 episodes)", y_title="success rate")

# %% [markdown]
# ## 5. Before and after, measured the same way
# 100 evaluation episodes with the same start states as before fine-tuning.

# %%
after = {seed: lk.evaluate(a, ENV_ID, EPISODES, seed=1000, progress=False) for seed, a in actors.items()}
g_after = lk.evaluate(g_actor, ENV_ID, EPISODES, seed=1000, progress=False)
rows = [("DPPO", before.success_rate, np.mean([r.success_rate for r in after.values()]),
         np.mean([h[-1]["env_steps"] for h in runs["DPPO"]]), np.mean([h[-1]["seconds"] for h in runs["DPPO"]])),
        ("Gaussian PPO", g_before.success_rate, g_after.success_rate, g_res.env_steps, g_res.seconds),
        ("residual PPO (SB3)", residual_before.success_rate, residual_after.success_rate,
         BUDGET["total_env_steps"], residual_seconds)]
print(f"{'method':>20}  before  after  env steps  seconds")
for name, b, a_, steps, secs in rows:
    print(f"{name:>20}  {b:6.0%}  {a_:5.0%}  {steps:9.0f}  {secs:7.0f}")
print("successful routes before:", before.route_counts, " after DPPO, per seed:",
      [r.route_counts for r in after.values()])

# %%
best = actors[SEEDS[0]]
viz.trajectories_figure(after[SEEDS[0]].trajectories[:40],
                    [f"{r} ({'ok' if s else 'fail'})" for r, s in
                     zip(after[SEEDS[0]].routes[:40], after[SEEDS[0]].successes[:40])],
                    title="After DPPO: 40 rollouts (seed 0)")

# %% [markdown]
# ## 6. The action distribution narrows onto the successful modes
# Where do the rollouts pass the cup's mouth (height y = -0.12 m)? Before fine-tuning over a third of
# them pass near x = 0, i.e. into the cup (37% in our run); after DPPO none do (0%): the crossings
# gather in a narrow band beside the cup. In our runs that band is on the *right* for every seed (the
# route counts printed in section 5: before, 37 right and 14 left successes; after, 97-100 right and
# no left). PPO maximises return; one route is enough for that, and the one the policy already
# preferred wins. The narrowing is onto *a* successful mode, and the other one is forgotten.

# %%
viz.crossing_histogram({"before": before.trajectories, "after DPPO (seed 0)": after[SEEDS[0]].trajectories})

# %%
for name, trajs in {"before": before.trajectories, "after": after[SEEDS[0]].trajectories}.items():
    xs = lk.analysis.crossing_x(trajs, -0.12)
    print(f"{name:>6}: into the cup's mouth (|x| < 0.16) {np.mean(np.abs(xs) < 0.16):.0%}, never reach it "
          f"{np.mean(np.isnan(xs)):.0%}, beside the cup {np.mean(np.abs(xs) >= 0.16):.0%}")

# %% [markdown]
# The same in action space: at the split point (on the centre line just below the cup) sample 200
# first actions from the pre-trained policy and from the fine-tuned one (both with DPPO's sampler,
# `min_std` included).

# %%
env = lk.make(ENV_ID, seed=0)
s_split = env.unwrapped.observation_at([0.0, -0.2], velocity=[0.0, 0.2])  # at the split, moving up
clouds = {"before": lk.analysis.first_actions(DiffusionPPOActor(pretrained, **DPPO_ACTOR), s_split, n=200),
          "after DPPO": lk.analysis.first_actions(best, s_split, n=200)}
for name, c in clouds.items():
    print(f"{name:>10}: mean {c.mean(0).round(2)}, share going sideways (|a_x| > 0.5) "
          f"{np.mean(np.abs(c[:, 0]) > 0.5):.0%}")
viz.action_cloud_figure(clouds)

# %% [markdown]
# `benchmarks/offline_and_dppo.py` repeats the DPPO run over 3 seeds; the README quotes its table.
#
# ## Summary
# * A diffusion policy's sampler is a chain of Gaussians, so its log-probability is a sum of K
#   tractable terms: PPO can optimise it directly (DPPO), with a `min_std` clip so every step is
#   stochastic.
# * Starting from a policy that fails about half of the time, about a minute of DPPO on a CPU
#   (24k env steps) brings it close to always succeeding (in our full run: 51% -> 98%, mean of 3
#   seeds). Its rollouts stop entering the cup: the distribution narrows onto a successful mode,
#   and in our runs onto one route only (the right one, already the favourite before). RL
#   fine-tuning buys success with the multimodality that made the diffusion policy attractive.
# * Gaussian PPO fine-tunes the same way with a direct log-probability and is far cheaper per update,
#   but it starts from a Gaussian BC policy that averages the two routes into the cup (10% in our run)
#   and got to 77% with the same env steps. Residual PPO (SB3) on the frozen diffusion policy did not
#   help with that budget: in our run its success *fell* (51% -> 12%) while its mean return stayed
#   about the same (6.5 -> 5.6). The dense reward pays progress as well as arrival, and a correction
#   learned from scratch in 24k steps need not favour arrival; adjusting the policy that already
#   knows both routes (DPPO) did much better. (Notebook 07 shows residual PPO working, on a task where
#   the reward is success alone and one push decides it.)
#
# ## Exercises
# 1. Fine-tune only the last 3 denoising steps: `DiffusionPPOActor(policy, num_inference_steps=10,
#    ft_denoising_steps=3, min_std=0.1)`. Faster per update; does it still climb?
# 2. Set `logprob_mode="chain"` in `dppo_config(...)`: one ratio per decision (the sum of the K
#    log-probabilities) instead of one per step. What happens to `clip_frac` in `res.history`?
# 3. Lower `min_std` to 0.02. Exploration shrinks; how does the learning curve change?
#    Does a smaller `actor_lr` (1e-4) or fine-tuning fewer denoising steps keep both routes alive?
# 4. Check: the log-probability DPPO uses for a whole chain is the sum of its per-step
#    log-probabilities. Compute it for a few observations below.

# %%
obs = torch.as_tensor(s_split[None, None], dtype=torch.float32).repeat(4, 1, 1)  # (4, To=1, 8)
_, chain, logp = best.act(obs, torch.Generator().manual_seed(0))
chain_logp = logp.sum(dim=1)  # your answer: (4,) log-probability of each whole chain
lk.course.check_close(chain_logp.numpy(), best.log_prob(obs, chain).sum(dim=1).detach().numpy(),
            "log-probability of the whole chain", atol=1e-3)
