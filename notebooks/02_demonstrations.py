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
# # 02 · Demonstrations: the data generative policies learn from
#
# **Place on the map:** Foundations, *demonstrations*: the data behind *B. RL for generative
# policies* (pre-training by imitation) and behind every diffusion *prior* in *A. Generative tools for
# RL*.
#
# **Goals.** (1) Record demonstrations from a scripted expert and from a trained SB3 agent into a
# validated, hashed dataset. (2) *See* that the scripted demonstrations are bimodal, and how
# demonstration noise blurs the modes. (3) Show why a mean-squared-error or Gaussian policy is pulled
# towards the average of the modes, and that the average fails.
#
# **Prerequisites.** Notebooks 00 (the TwoRoutes task) and 01 (training PPO); an expectation and a
# conditional expectation.
#
# **Time.** About 35 minutes to read, run and do the exercises; the first code cell prints the measured
# compute time (the short PPO run is the slow part).
#
# **Key equation.** Behaviour cloning by mean squared error fits a policy $\pi_\theta(s)$ to the
# demonstrated pairs $(s, a) \sim \mathcal{D}$ (`demos.observations`, `demos.actions`):
#
# $$\min_\theta\ \mathbb{E}_{(s, a) \sim \mathcal{D}}\,\|a - \pi_\theta(s)\|^2 .$$
#
# At each state $s$, for any candidate action $\hat a$,
# $\mathbb{E}\big[\|a - \hat a\|^2 \mid s\big] = \|\hat a - \mathbb{E}[a \mid s]\|^2 + \operatorname{tr}\operatorname{Cov}[a \mid s]$,
# so the best a flexible enough network can do is the **conditional mean**
#
# $$\pi^*(s) = \mathbb{E}[a \mid s].$$
#
# A Gaussian policy $\mathcal{N}(\mu_\theta(s), \sigma^2 I)$ trained by maximum likelihood minimises
# $\|a - \mu_\theta(s)\|^2 / (2\sigma^2) + d \log \sigma$ ($d$ the action size), so its mean goes to the
# same place. Where the
# demonstrations go left with probability $p$ and right otherwise,
# $\mathbb{E}[a \mid s] = p\, a_\text{left} + (1 - p)\, a_\text{right}$: with both routes equally
# common, that points straight up, into the obstacle. Exercise 02.mse_action computes it on the
# shipped data.

# %%
import tempfile
from pathlib import Path

import numpy as np

import labkit as lk
from labkit import viz
from labkit.data import DatasetError

SMOKE = lk.smoke_mode()
print(lk.course.compute_time("02_demonstrations"))
N_DEMOS = 8 if SMOKE else 100
SPLIT_X, SPLIT_Y = (-0.03, 0.03), (-0.3, -0.15)  # the box below the cup, on the centre line (metres)
workdir = Path(tempfile.mkdtemp(prefix="labkit02_"))
print(f"smoke={SMOKE}: {N_DEMOS} demonstrations per expert")

# %% [markdown]
# ## 1. A scripted expert writes a dataset
# `collect_episodes` resets episode *i* with seed `seed + i`, calls the expert, and records
# observations, actions, rewards, terminations, truncations and, per episode, `success` and `route`
# from the env's `info`. The metadata names the env, the expert, the seed and the command that remakes it.

# %%
demos = lk.collect(lk.experts.TwoRoutesExpert(noise=0.1), "labkit/TwoRoutes-v0", N_DEMOS, seed=0,
                   expert_name="TwoRoutesExpert(noise=0.1)", created_with="notebook 02")
print(demos)
demos.summary()

# %%
episodes = list(demos)
viz.trajectories_figure([np.vstack([e["observations"], e["final_observation"][None]]) for e in episodes],
                    [str(e["route"]) for e in episodes],
                    title=f"{len(episodes)} scripted demonstrations, coloured by route")

# %% [markdown]
# ## 2. The actions are bimodal where the routes split
# Take every step where the robot was below the cup, on the centre line (the box `SPLIT_X` x
# `SPLIT_Y`). Which way did the expert push? A polar histogram of the action directions
# (90 degrees = straight up), with their mean in red:

# %%
angles = lk.analysis.action_directions(demos.observations, demos.actions, SPLIT_X, SPLIT_Y)
viz.action_direction_figure({"demonstrations": angles})

# %% [markdown]
# Up (the approach), then left *or* right (the decision, taken on the centre line): the lobes are the
# modes. Their mean (red) points up, into the cup: that is $\mathbb{E}[a \mid s]$ of the key equation.
#
# ### Demonstration noise vs mode separation
# The expert adds Gaussian noise of standard deviation `noise` to every action. More noise blurs the
# lobes into each other, but it does not move their mean: noisy data does not save an averaging
# policy. The slider switches between datasets recorded with increasing noise (each a few episodes,
# recorded once here, so moving the slider costs nothing); the table prints what the mean does.

# %%
NOISES = [0.0, 0.1, 0.2, 0.4, 0.8]
by_noise, table = {}, []
for noise in NOISES:
    ds = lk.collect(lk.experts.TwoRoutesExpert(noise=noise), "labkit/TwoRoutes-v0", 6 if SMOKE else 30, seed=500,
                    expert_name=f"noise={noise}", progress=False)
    by_noise[f"noise {noise}"] = lk.analysis.action_directions(ds.observations, ds.actions, SPLIT_X, SPLIT_Y)
    x, y = ds.observations[:, 0], ds.observations[:, 1]
    at_split = ds.actions[(x >= SPLIT_X[0]) & (x <= SPLIT_X[1]) & (y >= SPLIT_Y[0]) & (y <= SPLIT_Y[1])]
    mean = at_split.mean(axis=0)
    sideways = np.abs(at_split[:, 0]) > np.abs(at_split[:, 1])  # actions that turn more than they climb
    table.append((noise, ds.summary()["success_rate"], sideways.mean(), np.degrees(np.arctan2(mean[1], mean[0]))))
for noise, success, side, angle in table:
    print(f"noise {noise:>3}: success {success:.0%}; {side:.0%} of the split actions turn sideways; "
          f"their mean points at {angle:.0f} degrees")
viz.action_direction_figure(by_noise, title="Action directions below the obstacle: move the slider to add noise")

# %% [markdown]
# ## 3. What the average does
# Take the two experts - one always left, one always right - and act with the *average* of their
# actions, the $\mathbb{E}[a \mid s]$ of a 50/50 split. Each alone succeeds every time. Their average:

# %%
average = lk.experts.AverageOfExperts(lk.experts.TwoRoutesExpert(route="left"),
                                      lk.experts.TwoRoutesExpert(route="right"))
avg_res = lk.evaluate(average, "labkit/TwoRoutes-v0", n_episodes=4 if SMOKE else 20, seed=100, progress=False)
exp_res = lk.evaluate(lk.experts.TwoRoutesExpert(), "labkit/TwoRoutes-v0", n_episodes=4 if SMOKE else 20, seed=100,
                      progress=False)
print(f"expert success {exp_res.success_rate:.0%}; average-of-experts success {avg_res.success_rate:.0%}")
viz.trajectories_figure(avg_res.trajectories, ["average of left and right"] * len(avg_res.trajectories),
                    title="The average of two good behaviours stops where they disagree")

# %% [markdown]
# A learned Gaussian policy is not exactly this average: its mean is a smooth function of the state,
# and small asymmetries in it break the tie one way or the other (so it favours one route, and
# sometimes stalls). Notebook 03 fits a Gaussian policy and a diffusion policy to these
# demonstrations and measures both effects.
#
# ## 4. An RL agent as the expert
# Any trained SB3 model is an expert too (`sb3_expert`), for any gymnasium task. Train PPO briefly
# (notebook 01's settings) and record it:

# %%
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

ppo = PPO("MlpPolicy", make_vec_env("labkit/TwoRoutes-v0", n_envs=4, seed=0),
          n_steps=256, batch_size=256, n_epochs=5, learning_rate=1e-3, gamma=0.98, seed=0, verbose=0)
lk.learn(ppo, 1_024 if SMOKE else 40_000)
rl_demos = lk.collect(lk.experts.SB3Expert(ppo), "labkit/TwoRoutes-v0", N_DEMOS, seed=0, expert_name="sb3:PPO",
                      created_with="notebook 02")
# summary() lists routes only once some episode got past the cup ({} if none did)
print("scripted:", demos.summary().get("route_counts", {}), "| PPO expert:", rl_demos.summary().get("route_counts", {}),
      f"(success {rl_demos.summary()['success_rate']:.0%})")

# %% [markdown]
# The RL expert uses one route (when it succeeds at all): its demonstrations are *unimodal*. Scripted
# experts and people give you both.
#
# ## 5. Saving, loading, and what happens to a damaged file
# `save_dataset` writes a temporary file and renames it over the target, so an interrupted save never
# leaves half a file. `load_dataset` checks the schema, shapes, env id and a content hash.

# %%
path = lk.save(demos, workdir / "my_demos.npz")
again = lk.load(path, env_id="labkit/TwoRoutes-v0")
print(f"saved {path.stat().st_size / 1024:.0f} KiB; hash {again.content_hash[:16]}... equal: {again == demos}")

damaged = workdir / "damaged.npz"
damaged.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
for attempt in [lambda: lk.load(damaged), lambda: lk.load(path, env_id="InvertedPendulum-v5")]:
    try:
        attempt()
    except DatasetError as err:
        print("DatasetError:", err)

# %% [markdown]
# ## 6. The dataset that ships with the kit, and the preset that cuts it into windows
# `data/two_routes_demos.npz` holds scripted episodes (the cell prints how many, and the routes);
# `data/README.md` gives its hash and the command that remakes it. Notebook 03 trains on it.
#
# **Preset.** This notebook trains no imitation policy (its PPO expert uses notebook 01's settings).
# Notebook 03's reference preset `chunked` decides how the episodes become training examples: windows
# of `n_obs_steps` observations and `horizon` actions. The cell prints both, and how many windows that
# makes.

# %%
from labkit.data.windows import ChunkDataset

shipped = lk.load("two_routes_demos")
print(shipped)
preset = lk.PRESETS["chunked"]
windows = ChunkDataset(shipped, n_obs_steps=preset.horizons["n_obs_steps"], horizon=preset.horizons["horizon"])
print(f"preset 'chunked' {preset.horizons}: {len(windows)} training windows; {preset.why}")
shipped.summary()

# %% [markdown]
# With Minari installed (`pip install "minari[create]"`), `labkit.data.to_minari(ds, "labkit/two-routes/expert-v0")`
# and `from_minari(...)` convert both ways; labkit does not require it.
#
# ## Summary
# * A dataset is episodes plus metadata (env, expert, seed, version, remake command) and a hash;
#   saves are atomic, loads are validated.
# * Scripted demonstrations of TwoRoutes are bimodal at the split. Mean squared error and a Gaussian's
#   likelihood are minimised by $\mathbb{E}[a \mid s]$, the average of the modes, and the average of
#   the two experts stalls at the split; demonstration noise blurs the modes but leaves that average
#   where it was.
# * An RL expert is typically unimodal: it found one solution.
#
# ## Exercises
# 1. *(10 minutes)* **02.mse_action.** Compute the constant action $\hat a$ that a mean-squared-error
#    fit predicts in the split box for the shipped demonstrations `shipped`: the minimiser of the mean
#    of $\|a_i - \hat a\|^2$ over the actions $a_i$ taken with the robot inside `SPLIT_X` x `SPLIT_Y`.
#    The check recomputes it from the dataset and tells you where it points.
# 2. *(10 minutes)* **02.both_routes.** Record episodes with `lk.experts.TwoRoutesExpert(route="left")`
#    and as many with `route="right"` (`n = 3 if SMOKE else 50`), join them with `left.concat(right)`,
#    and check that both routes are there, in equal numbers, and that the actions at the split go both
#    ways.
# 3. *(open question)* Move the noise slider. How does the success rate change with noise? Why might
#    noisier demonstrations still be useful for learning (think of the states a policy visits when it
#    makes small mistakes)?
# 4. *(open question)* Which dataset would you give a diffusion policy that should keep both routes:
#    the scripted one or the PPO one? And an MSE policy?

# %%
# EXERCISE 02.mse_action
mse_action = None  # your answer: a (2,) array, the action minimising the mean squared error in the split box
lk.check("02.mse_action", mse_action)

# %%
# EXERCISE 02.both_routes
n = 3 if SMOKE else 50
both = None  # your answer: an EpisodeDataset with n left and n right episodes
lk.check("02.both_routes", both)

# %% [markdown]
# ## Read next
# * Chi et al., *Diffusion Policy: Visuomotor Policy Learning via Action Diffusion*,
#   [arXiv:2303.04137](https://arxiv.org/abs/2303.04137): why multimodal demonstrations need a
#   generative policy (notebook 03).
# * Florence et al., *Implicit Behavioral Cloning*, [arXiv:2109.00137](https://arxiv.org/abs/2109.00137),
#   and Shafiullah et al., *Behavior Transformers: Cloning k modes with one stone*,
#   [arXiv:2206.11251](https://arxiv.org/abs/2206.11251): the averaging problem and two other fixes.
# * Mandlekar et al., *What Matters in Learning from Offline Human Demonstrations for Robot
#   Manipulation* (robomimic), [arXiv:2108.03298](https://arxiv.org/abs/2108.03298): data quality.
# * Ross et al., *A Reduction of Imitation Learning to No-Regret Online Learning* (DAgger),
#   [arXiv:1011.0686](https://arxiv.org/abs/1011.0686): why a cloned policy drifts off the data.
# * Repositories: [Farama-Foundation/Minari](https://github.com/Farama-Foundation/Minari) (a standard
#   format for offline datasets), [ARISE-Initiative/robomimic](https://github.com/ARISE-Initiative/robomimic),
#   [huggingface/lerobot](https://github.com/huggingface/lerobot) (datasets of real robot demonstrations).
