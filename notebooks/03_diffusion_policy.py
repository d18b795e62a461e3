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
# # 03 · Diffusion policy vs Gaussian behaviour cloning
#
# **Place on the map:** A1 *diffusion model* as a generator of low-level behaviour, and the
# pre-requisite of B (every later notebook fine-tunes, steers or distils this policy).
#
# **Goals.** (1) Train a Gaussian behaviour-cloning policy and a diffusion policy on the same
# demonstrations. (2) Compare success and *route balance*. (3) Open the denoising process with a
# slider: watch noise become the two routes. (4) Trade denoising steps (DDPM vs DDIM) against latency
# and success.
#
# **Prerequisites.** Notebook 02 (the bimodal demonstrations). The idea of a denoising diffusion model
# helps but is recapped below.
#
# **Time.** About 4 minutes on a 2-core laptop; `LABKIT_SMOKE=1` runs it in seconds (with untrained
# policies: the numbers then mean nothing).

# %%
import numpy as np
import plotly.graph_objects as go
import torch

import labkit as lk
from labkit import viz
from labkit.policies import with_sampling
from labkit.rollout import measure_latency

SMOKE = lk.smoke_mode()
ITERATIONS = 60 if SMOKE else 6_000
EPISODES = 6 if SMOKE else 100
demos = lk.load("two_routes_demos")
print(demos, "\npreset 'chunked':", lk.PRESETS["chunked"].horizons, "-", lk.PRESETS["chunked"].why)

# %% [markdown]
# ## 1. Two policies, one dataset
# Both policies see the last `n_obs_steps = 2` observations and predict a **chunk** of
# `horizon = 16` actions, of which `n_action_steps = 8` are executed before asking again
# (Diffusion Policy's receding horizon; at 20 Hz a chunk commits the robot for 0.4 s):
#
# ```
# obs:     o[t-1] o[t]
# chunk:   a[t-1] a[t] a[t+1] ... a[t+7] a[t+8] ... a[t+14]
# execute:        a[t] a[t+1] ... a[t+7]
# ```
#
# * **Gaussian BC** predicts a mean chunk and a standard deviation, trained by maximum likelihood.
#   Where demonstrations go left *or* right, the best single Gaussian puts its mean in between.
# * **Diffusion policy** learns to *denoise*: a chunk is noised to a random level `t`
#   (`x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`) and an MLP learns to predict `eps`. Sampling
#   starts from pure noise and removes it step by step (DDPM: 100 stochastic steps; DDIM: 10
#   deterministic ones), landing on one of the modes of the data.
#
# Both train with the same loop (AdamW, cosine schedule, EMA weights; Ctrl-C keeps what was learned).

# %%
gauss, gauss_run = lk.behaviour_cloning("gaussian", demos, iterations=ITERATIONS, seed=0)
diff, diff_run = lk.behaviour_cloning("diffusion", demos, iterations=ITERATIONS, seed=0)

fig = go.Figure()
for name, run in [("Gaussian BC (NLL)", gauss_run), ("diffusion (noise MSE)", diff_run)]:
    k = max(1, len(run.loss) // 200)
    smooth = np.convolve(run.loss, np.ones(k) / k, mode="valid")
    fig.add_scatter(y=smooth, name=f"{name}: {run.seconds:.0f} s", mode="lines")
fig.update_layout(title="Training losses (moving average)", xaxis_title="iteration", yaxis_title="loss",
                  template="plotly_white", height=330)
fig

# %% [markdown]
# ## 2. Success and route balance
# 100 episodes each, with the same start states. A route counts only when the episode succeeds. The
# demonstrations use each route about half of the time: a policy that learned them should too.

# %%
results = {
    "Gaussian BC": lk.evaluate(gauss, "labkit/TwoRoutes-v0", EPISODES, seed=1000, record_episodes=2),
    "diffusion (DDIM-10)": lk.evaluate(diff, "labkit/TwoRoutes-v0", EPISODES, seed=1000, record_episodes=2),
}
for name, r in results.items():
    print(f"{name:>20}: success {r.success_rate:.0%}, successful routes {r.route_counts}")
viz.route_bar({name: r.route_counts for name, r in results.items()})

# %%
viz.trajectories_figure(
    [t for r in results.values() for t in r.trajectories[:40]],
    [f"{name}: {route}" for name, r in results.items() for route in r.routes[:40]],
    title="Where each policy drives (40 episodes each)",
)

# %% [markdown]
# ## 3. The denoising explorer
# Put the robot where the demonstrations split (just below the cup) and sample 64 chunks. Drag the
# slider from *noise* to *actions*: each line is a sampled chunk drawn as the path it would drive.
# The Gaussian's 64 samples are shown on the right for comparison.

# %%
env = lk.make("labkit/TwoRoutes-v0", seed=0)
split_obs = env.unwrapped.observation_at([0.0, -0.2], velocity=[0.0, 0.3])  # at the split, moving up
obs_hist = torch.as_tensor(np.stack([split_obs, split_obs]), dtype=torch.float32)[None].repeat(64, 1, 1)  # (64, To, 8)
gen = torch.Generator().manual_seed(0)
_, chain = diff.sample_actions(obs_hist, generator=gen, sampler="ddpm", num_inference_steps=100, return_chain=True)
chain = chain[::5] if len(chain) > 30 else chain  # every 5th of the 101 steps keeps the slider light
viz.denoising_explorer(chain.numpy(), split_obs[:2], unnormalize=lambda x: diff.normalizer_act.unnormalize(torch.as_tensor(x)).numpy(),
                   title="Diffusion: 64 sampled chunks, from noise (step 0) to actions")

# %%
g_chunks = gauss.sample_actions(obs_hist, generator=torch.Generator().manual_seed(0)).numpy()
paths = viz.chunks_to_paths(g_chunks, split_obs[:2])
viz.trajectories_figure(list(paths), ["Gaussian sample"] * len(paths),
                    title="Gaussian BC: 64 sampled chunks at the split").update_layout(
    xaxis=dict(range=[-0.3, 0.3]), yaxis=dict(range=[-0.5, 0.1]))

# %% [markdown]
# ## 4. How many denoising steps? DDPM vs DDIM
# DDPM removes noise in 100 small stochastic steps; DDIM takes bigger deterministic steps along the same
# learned field. Fewer steps = less latency per call. Does success survive?

# %%
settings = [("ddpm", 100), ("ddpm", 20), ("ddim", 10), ("ddim", 5), ("ddim", 2)]
rows = []
for sampler, k in settings:
    lat = measure_latency(diff, demos.obs_dim, sampler=sampler, num_inference_steps=k, calls=10 if SMOKE else 30)

    r = lk.evaluate(with_sampling(diff, sampler=sampler, num_inference_steps=k), "labkit/TwoRoutes-v0",
                 4 if SMOKE else 50, seed=2000, progress=False)
    rows.append((f"{sampler.upper()}-{k}", lat, r.success_rate))
    print(f"{sampler.upper()}-{k:<3} latency {lat:6.2f} ms per call   success {r.success_rate:.0%}")
fig = go.Figure(go.Scatter(x=[r[1] for r in rows], y=[r[2] for r in rows], text=[r[0] for r in rows],
                           mode="markers+text", textposition="top center", marker=dict(size=12)))
fig.update_layout(title="Latency per call (batch 1) vs success", xaxis_title="ms per call (log)", xaxis_type="log",
                  yaxis_title="success rate", yaxis_range=[-0.05, 1.1], template="plotly_white", height=360)
fig

# %% [markdown]
# At 20 Hz control a call every 4 steps has a 200 ms budget, so all settings are real-time here;
# on a real robot at 100+ Hz with a vision encoder, the step count is what decides.
#
# ## 5. Side by side

# %%
viz.show_videos({f"Gaussian BC ({results['Gaussian BC'].routes[0]})": results["Gaussian BC"].frames[0],
             f"diffusion ({results['diffusion (DDIM-10)'].routes[0]})": results["diffusion (DDIM-10)"].frames[0],
             f"diffusion ({results['diffusion (DDIM-10)'].routes[1]})": results["diffusion (DDIM-10)"].frames[1]}, fps=20)

# %% [markdown]
# `benchmarks/diffusion_policy.py` repeats this comparison over 3 seeds and 100 episodes each; the
# README quotes its table.
#
# ## Summary
# * A Gaussian fitted to bimodal demonstrations keeps one mean per state: at the split it can only
#   average (and stall) or lean to one side. Trained long enough, it leans: it reaches the goal but
#   almost always by the same route, so one of the demonstrated behaviours is lost. Trained briefly,
#   it also stalls (see `benchmarks/diffusion_policy.py --quick`).
# * A diffusion policy samples *one of the modes* each time; the slider shows noise contracting onto
#   two bundles, and its rollouts use both routes.
# * DDIM with a handful of steps keeps success at a fraction of DDPM's latency.
#
# ## Exercises
# 1. Train the diffusion policy with `n_action_steps=1` (`behaviour_cloning(..., n_action_steps=1)`):
#    re-deciding every step, does it dither at the split? Compare success.
# 2. Save the diffusion policy with `labkit.train.save_checkpoint(diff, "my_policy.pt", {"env_id": ...})`,
#    load it back with `load_checkpoint`, and check the loaded policy samples the same chunks with the
#    same generator seed.

# %%
import tempfile
from pathlib import Path

path = Path(tempfile.mkdtemp()) / "diffusion.pt"
lk.save(diff, path)
loaded = lk.load(path, env_id="labkit/TwoRoutes-v0")
a = diff.sample_actions(obs_hist[:4], generator=torch.Generator().manual_seed(1))
b = loaded.sample_actions(obs_hist[:4], generator=torch.Generator().manual_seed(1))
lk.course.check_true(torch.allclose(a, b), "the loaded checkpoint samples the same chunks")
