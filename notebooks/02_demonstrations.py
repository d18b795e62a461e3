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
# **Place on the map:** the data behind *B. RL for generative policies* (pre-training by imitation)
# and behind every diffusion *prior* in *A. Generative tools for RL*.
#
# **Goals.** (1) Record demonstrations from a scripted expert and from a trained SB3 agent into a
# validated, hashed dataset. (2) *See* that the scripted demonstrations are bimodal. (3) Show that
# averaging the two modes - what a mean-squared-error or Gaussian policy is pulled towards - fails.
#
# **Prerequisites.** Notebooks 00 (the TwoRoutes task) and 01 (training PPO).
#
# **Time.** About a minute on a 2-core laptop; `LABKIT_SMOKE=1` runs it in seconds.

# %%
import tempfile
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

import labkit as lk
from labkit import viz
from labkit.data import DatasetError

SMOKE = lk.smoke_mode()
N_DEMOS = 8 if SMOKE else 100
workdir = Path(tempfile.mkdtemp(prefix="labkit02_"))

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
# Take every step where the robot was below the cup, on the centre line. Which way did the expert
# push? A polar histogram of the action directions (90 degrees = straight up):

# %%
angles = lk.analysis.action_directions(demos.observations, demos.actions, x_range=(-0.03, 0.03), y_range=(-0.3, -0.15))
mean_angle = np.degrees(np.arctan2(np.sin(np.radians(angles)).mean(), np.cos(np.radians(angles)).mean()))
counts, edges = np.histogram(angles, bins=36, range=(-180, 180))
fig = go.Figure(go.Barpolar(r=counts, theta=(edges[:-1] + edges[1:]) / 2, marker_color="#1f77b4", name="demonstrated"))
fig.add_trace(go.Scatterpolar(r=[0, counts.max()], theta=[mean_angle, mean_angle], mode="lines",
                              line=dict(color="#d62728", width=4), name=f"mean action ({mean_angle:.0f} deg)"))
fig.update_layout(title=f"Action directions below the obstacle ({len(angles)} steps)", height=420,
                  polar=dict(angularaxis=dict(rotation=0, direction="counterclockwise")))
fig

# %% [markdown]
# Up (the approach), then left *or* right (the decision, taken on the centre line): the lobes are the
# modes. Their mean (red) points straight up, into the cup.
#
# ## 3. What the average does
# Take the two experts - one always left, one always right - and act with the *average* of their
# actions. Each alone succeeds every time. Their average:

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
# (as in notebook 01) and record it:

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
# ## 6. The dataset that ships with the kit
# `data/two_routes_demos.npz` holds 200 scripted episodes; `data/README.md` gives its hash and the
# command that remakes it. Notebook 03 trains on it.

# %%
shipped = lk.load("two_routes_demos")
shipped.summary()

# %% [markdown]
# With Minari installed (`pip install "minari[create]"`), `labkit.data.to_minari(ds, "labkit/two-routes/expert-v0")`
# and `from_minari(...)` convert both ways; labkit does not require it.
#
# ## Summary
# * A dataset is episodes plus metadata (env, expert, seed, version, remake command) and a hash;
#   saves are atomic, loads are validated.
# * Scripted demonstrations of TwoRoutes are bimodal; the average of the two experts stalls at the split.
# * An RL expert is typically unimodal: it found one solution.
#
# ## Exercises
# 1. Record 50 episodes with `lk.experts.TwoRoutesExpert(route="left")` and 50 with `route="right"`, join them
#    with `labkit.data.concat_datasets`, and check that the route counts are 50/50.
# 2. Raise the expert's `noise` to 0.4. How does the success rate change? Why might noisier
#    demonstrations still be useful for learning?

# %%
n = 3 if SMOKE else 50
left = lk.collect(lk.experts.TwoRoutesExpert(route="left"), "labkit/TwoRoutes-v0", n, seed=1000, expert_name="left",
                  progress=False)
right = lk.collect(lk.experts.TwoRoutesExpert(route="right"), "labkit/TwoRoutes-v0", n, seed=2000, expert_name="right",
                   progress=False)
both = left.concat(right)
lk.course.check_true(both.summary()["route_counts"] == {"left": n, "right": n}, f"route counts {both.summary()['route_counts']}")
