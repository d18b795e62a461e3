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
# # 05 · Representations and world models: a state from pixels, a model that trains the agent
#
# **Place on the map:** A3 5.2, *generative models as the agent's state and as its world*. Part 1: a
# representation learned from action-free video (VIP) or by reconstruction (an autoencoder), frozen, as
# the observation of an SB3 agent. Part 2: an ensemble of probabilistic dynamics models (MBPO) whose
# short imagined rollouts fill SB3 SAC's replay buffer, and a TD-MPC-style latent model that plans.
#
# **Goals.** (1) See TwoRoutes through a 64 x 64 camera and measure what a frame costs. (2) Train VIP's
# time-contrastive value objective and an autoencoder on frames of the shipped demonstrations, without
# their actions. (3) Look inside: the latent space coloured by position, nearest-neighbour frames, the VIP
# distance to the goal along an episode, VIP's reward against the task's. (4) Compare PPO on the true
# state and on the frozen VIP latent (the benchmark adds the autoencoder latent and raw pixels). (5) Train
# SAC on a world model's rollouts and compare it with model-free SAC; watch the model's errors compound
# and its members disagree where it has no data. (6) Train a TD-MPC-style latent world model that plans
# with MPPI, measure how far it gets on a laptop, and see where a planner exploits its model's errors.
#
# **Prerequisites.** Notebook 01 (SB3 PPO and SAC, learning curves) and 02 (the demonstrations).
#
# **Time.** About 40 minutes to read and do the exercises; the first code cell prints the measured
# compute time (`LABKIT_SMOKE=1` runs it with tiny budgets: the numbers then mean nothing). The long,
# multi-seed runs come from `benchmarks/world_models.py`, read below.

# %%
import json
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import torch

import labkit as lk
from labkit import viz
from labkit.envs import PixelObservation
from labkit.experiments import world_models as wm
from labkit.world_models import LatentObservation, RepresentationMismatchError

SMOKE = lk.smoke_mode()
START = time.perf_counter()
print(lk.course.compute_time("05_representations_and_world_models"))
RESULTS = Path(lk.__file__).resolve().parent.parent / "benchmarks" / "results"
BENCHES = [
    (p.name, json.loads(p.read_text()))
    for p in (RESULTS / "world_models.json", RESULTS / "world_models_quick.json")
    if p.exists()
]


def bench_part(part):
    """The first benchmark results file (full run, then --quick) that holds ``part`` ("ppo" or "sac")."""
    return next(((name, b) for name, b in BENCHES if part in b), (None, None))


EPISODES = 4 if SMOKE else 60  # demo episodes per source rendered as frames
REP_ITERATIONS = 20 if SMOKE else 1_000
PPO_STEPS = 1_024 if SMOKE else 20_000
SAC_STEPS = 600 if SMOKE else 3_000
N_EVAL = 2 if SMOKE else 10  # evaluation episodes per point of a learning curve
print(f"smoke mode: {SMOKE}; torch threads: {torch.get_num_threads()}; benchmark files: {[n for n, _ in BENCHES]}")

# %% [markdown]
# ## 1. The task through a camera
# `PixelObservation` turns a labkit MuJoCo task into one that hands out `(3, 64, 64)` uint8 frames from
# its top camera (channel-first, as SB3's `CnnPolicy` expects); `info["state"]` keeps the true state for
# our plots, never for the agent. `lk.make("labkit/TwoRoutesPixels-v0")` is the same, registered. It owns
# one offscreen `mujoco.Renderer` without anti-aliasing: on the software OpenGL of a laptop without a GPU,
# the multisampled `env.render()` costs several times more. The robot is a few pixels across.

# %%
env = lk.make("labkit/TwoRoutesPixels-v0")
frame, info = env.reset(seed=0)
print("frame", frame.shape, frame.dtype, "| true state", np.round(info["state"], 2))
cost = wm.measure_render_cost(steps=50 if SMOKE else 500)
print(
    f"CPU per env step: state {cost['state_cpu_ms']:.2f} ms, PixelObservation {cost['pixels_cpu_ms']:.2f} ms, "
    f"gymnasium render() {cost['gymnasium_render_cpu_ms']:.2f} ms (load {cost['load']:.1f})"
)
go.Figure(go.Image(z=frame.transpose(1, 2, 0))).update_layout(  # (3, H, W) -> (H, W, 3)
    title="what the agent sees (64 x 64)", width=360, height=380
)

# %% [markdown]
# ## 2. Videos without actions
# The shipped demonstrations store states; we render each state of each episode (the robot put where it
# was, `env.frames_at(positions, velocities)`), and keep only the frames and their order. The expert
# demos go round the cup; the mixed set adds noisy and failing episodes, which show the robot in more
# places (a representation cannot know what it never saw).

# %%
frames = wm.demo_frames(max_episodes=EPISODES)
probe, probe_xy = wm.probe_frames(100 if SMOKE else 1_000)  # uniform positions: not only the demos' paths
goal = wm.goal_frame()
print(f"{len(frames):,} frames in {frames.n_episodes} episodes from {frames.source}; {len(probe)} probe frames")

# %% [markdown]
# ## 3. Two ways to learn a state from frames
# **VIP** (Value-Implicit Pre-training) reads every video clip as a task that costs one per step until its
# last frame `g`, and asks the embedding `phi` to make $V(o; g) = -\lVert\phi(o) - \phi(g)\rVert$ the optimal
# value of that task. For a clip $(o_0, \dots, o_t, o_{t+1}, \dots, g)$ and reward $r = -1$:
#
# $$\mathcal{L}_{\text{VIP}}(\phi) = (1-\gamma)\,\mathbb{E}\big[-V(o_0; g)\big]
#   + \log \mathbb{E}\Big[\exp\big(-(r + \gamma V(o_{t+1}; g) - V(o_t; g))\big)\Big]$$
#
# (`vip_loss(e0, eg, et, et1, gamma)`: `e0` = $\phi(o_0)$, `eg` = $\phi(g)$, `et`, `et1` = $\phi(o_t)$,
# $\phi(o_{t+1})$; `gamma` = $\gamma$.) The first term pulls the start towards the goal; the log-mean-exp
# is a soft maximum over the batch of how much a step *fails* to bring the frame closer, so the distance
# to the goal falls along the video. The kit adds VIP's "negatives" (`n_negatives`): the same term with
# steps of *other* clips, so frames of different videos get related too. Nothing needs actions or rewards.
#
# The **autoencoder** is the reconstruction baseline: $\mathcal{L}_{\text{AE}} = \lVert \text{dec}(\phi(o)) - o \rVert^2$
# averaged over pixels. Its only signal is what costs pixels; it has no notion of which frames are close
# *in time*. Both use the same small encoder (`ConvEncoder`, a 16-dimensional `z`) and the same frames.

# %%
reps = wm.train_representations(frames, iterations=REP_ITERATIONS, seed=0)
for kind, rep in reps.items():
    m = rep.log.meta
    print(
        f"{kind:12s}: {rep.spec.iterations} steps, {m['cpu_seconds']:.0f} CPU s ({m['wall_seconds']:.0f} s wall), "
        f"loss {np.mean(rep.losses[:10]):.3f} -> {np.mean(rep.losses[-10:]):.3f}"
    )
smooth = min(20, REP_ITERATIONS)
loss_fig = go.Figure()
for kind, rep in reps.items():
    moving = np.convolve(rep.losses, np.ones(smooth) / smooth, mode="valid")  # moving average
    loss_fig.add_scatter(y=moving, name=kind, line=dict(color=viz.color_of(kind)))
loss_fig.update_layout(
    title="training loss (moving average; the two losses have different units)",
    xaxis_title="step",
    yaxis_title="loss",
    height=320,
)

# %% [markdown]
# A representation remembers what it was trained on. Using it on frames of another size or another
# task is refused when the env is built, with one line that says what to do:

# %%
for wrong in [
    PixelObservation(lk.make("labkit/TwoRoutes-v0"), size=32),
    PixelObservation(lk.make("labkit/TwoRoutesShifted-v0"), size=64),
]:
    try:
        LatentObservation(wrong, reps["vip"])
    except RepresentationMismatchError as err:
        print("RepresentationMismatchError:", err)


# %%
# EXERCISE 05.vip_loss
def my_vip_loss(e0, eg, et, et1, gamma=0.98):
    """VIP's loss from embeddings (B, d) of the clip start, goal, o_t and o_t+1 (reward -1 per step)."""
    raise NotImplementedError  # V(o; g) = -||phi(o) - phi(g)||; see the equation above


lk.check("05.vip_loss", my_vip_loss)

# %% [markdown]
# ## 4. Inside the representations
# Can the robot's position be read off `z`? A small MLP fitted on half of the probe frames (the robot at
# uniform positions, most of them never seen in a demo) is tested on the other half. The figure projects
# each latent on its two principal directions, coloured by the robot's position; the dropdown switches
# between the two representations.

# %%
for kind, rep in reps.items():
    err = wm.position_probe(rep, probe, probe_xy, steps=50 if SMOKE else 1_500)
    print(
        f"{kind:12s}: position read off z on unseen uniform frames: median error {100 * err['median_error']:.1f} cm, "
        f"90th percentile {100 * err['p90_error']:.1f} cm"
    )
viz.latent_map_figure(
    {k: r.encode(frames.frames) for k, r in reps.items()},
    frames.states[:, :2],
    title="Latent space of the demo frames (PCA), coloured by the robot's position",
)

# %% [markdown]
# **Nearest neighbours.** For three query frames (below the cup, beside it on the left, near the goal),
# the five demo frames closest in each embedding. A useful state puts the robot in nearly the same place.

# %%
query_xy = np.array([[0.0, -0.25], [-0.25, 0.0], [0.05, 0.3]])
queries = PixelObservation(lk.make("labkit/TwoRoutes-v0"), size=64)
queries.reset(seed=0)
q_frames = queries.frames_at(query_xy)
for kind, rep in reps.items():
    idx = wm.nearest_frames(rep, frames.frames, q_frames, k=5)  # (3, 5)
    spread = np.linalg.norm(frames.states[idx][..., :2] - query_xy[:, None], axis=-1)  # (3, 5)
    print(f"{kind:12s}: neighbours' mean distance from the query position {100 * spread.mean():.1f} cm")
    viz.neighbours_figure(q_frames, frames.frames[idx], [f"{kind}: query, then its 5 nearest"]).show()

# %% [markdown]
# **The distance to the goal along an episode.** VIP's objective asks this to fall step by step
# towards the goal frame; the autoencoder's distance is whatever reconstruction happens to give.

# %%
episode = frames.frames[frames.episode(0)]
viz.distance_over_episode_figure(
    {k: r.distance(episode, goal) for k, r in reps.items()},
    title="Distance to the goal frame along demo episode 0 (scaled to 1 at the start)",
)

# %% [markdown]
# ## 5. VIP as a reward
# VIP's reward for a transition is the change in value, $R(o, o'; g) = V(o'; g) - V(o; g) = d(o, g) - d(o', g)$:
# positive when a step brings the frame closer to the goal frame in embedding. The task's own reward is
# progress along the shortest way round the cup. How well do they agree, transition by transition?

# %%
table = wm.vip_reward_table(reps["vip"], frames, goal)
corr = np.corrcoef(table["vip"], table["true"])[0, 1]
corr_ae = np.corrcoef(wm.vip_reward_table(reps["autoencoder"], frames, goal)["vip"], table["true"])[0, 1]
print(
    f"correlation with the task's reward over {len(table['true']):,} demo transitions: VIP {corr:.2f}, "
    f"the same formula on the autoencoder's embedding {corr_ae:.2f}"
)
n_expert = min(EPISODES, 200)
viz.reward_scatter_figure(
    table["true"], table["vip"], np.where(table["episode"] < n_expert, "expert demos", "mixed set")
)


# %%
# EXERCISE 05.vip_reward
def my_vip_reward(rep, episode_frames, goal_frame):
    """VIP's reward d(o_t, g) - d(o_t+1, g) for each transition of one episode: (T + 1 frames) -> (T,)."""
    raise NotImplementedError


lk.check("05.vip_reward", my_vip_reward)

# %% [markdown]
# ## 6. PPO on the true state and on the frozen VIP latent
# The same PPO (notebook 01's settings, 4 envs) on TwoRoutes seen as the true state (8 numbers) and as the
# frozen VIP latent of each camera frame (`LatentObservation`). Here one seed and a short budget; the
# benchmark ran four observations (adding the autoencoder latent and raw pixels with SB3's `CnnPolicy`
# from scratch) over seeds, and its numbers follow.

# %%
ppo = {}
for kind in ("state", "vip"):
    _, ppo[kind] = wm.run_ppo(
        kind, PPO_STEPS, seed=0, rep=reps.get(kind), eval_every=PPO_STEPS // 4, n_eval_episodes=N_EVAL
    )
    m = ppo[kind].meta
    print(
        f"PPO on the {wm.OBSERVATIONS[kind]:18s}: success {ppo[kind].curve()[1][-1]:.0%} after {m['env_steps']:,} "
        f"steps, {m['cpu_seconds']:.0f} CPU s ({m['cpu_ms_per_step']:.2f} ms per step)"
    )
viz.curves({wm.OBSERVATIONS[k]: [log] for k, log in ppo.items()}, title="PPO on TwoRoutes, this notebook (one seed)")

# %%
bench_name, bench = bench_part("ppo")
if bench is not None:
    print(f"from {bench_name}, seeds {bench['seeds']}:")
    for kind, s in bench["ppo"]["stats"].items():
        print(f"  PPO on the {wm.OBSERVATIONS[kind]:26s}: final success IQM {s['iqm']:.0%}, 95% CI {s['iqm_ci']}")
    runs = {
        wm.OBSERVATIONS[k]: [(r["curve_steps"], r["curve_success"]) for r in rs]
        for k, rs in bench["ppo"]["per_seed"].items()
    }
    viz.curves(runs, title="Benchmark: PPO on TwoRoutes, mean and range over seeds").show()
else:
    print("run `python benchmarks/world_models.py` to see the multi-seed comparison here")

# %% [markdown]
# ## 7. A model of the world that trains SAC
# Each member $k$ of an ensemble of $K$ MLPs predicts a Gaussian over the change of state and the reward,
# $p_k(s' - s, r \mid s, a) = \mathcal{N}(\mu_k(s, a), \operatorname{diag}\sigma^2_k(s, a))$, trained by the
# negative log-likelihood $\sum_j (y_j - \mu_{k,j})^2 / \sigma^2_{k,j} + \log \sigma^2_{k,j}$
# (`ProbabilisticEnsemble.fit`; `mean`, `logvar`). MBPO branches **short** rollouts from states the agent
# really visited: $k$ = `rollout_length` steps with SAC's own actor, each step from a random elite member.
# SAC's batches then mix a fraction `real_ratio` of real transitions with imagined ones
# (`MixedReplayBuffer.sample`, one screen of code in `labkit/world_models/mbpo.py`), and it takes
# `gradient_steps` updates per env step:
#
# ```
# env step -> real buffer --(every train_every steps) fit the ensemble
#                  \--(every rollout_every steps) rollout_starts real states -> k imagined steps -> model ring
# SAC update: real_ratio * B real + (1 - real_ratio) * B imagined, gradient_steps per env step
# ```

# %%
settings = wm.MBPO_PRESETS["two_routes"]
sac, sac_models = {}, {}
for name, mbpo in [("SAC", None), ("SAC + model (MBPO-style)", settings)]:
    sac_models[name], sac[name] = wm.run_sac(
        "two_routes", SAC_STEPS, seed=0, mbpo=mbpo, eval_every=SAC_STEPS // 6, n_eval_episodes=N_EVAL
    )
    print(f"{name:26s}: success {sac[name].curve()[1][-1]:.0%}, {sac[name].meta['cpu_ms_per_step']:.1f} CPU ms/step")
mb_log, mb_model = sac["SAC + model (MBPO-style)"], sac_models["SAC + model (MBPO-style)"]
print(
    f"imagined transitions: {mb_log.extras['imagined']:,}; CPU seconds fitting the model "
    f"{mb_log.extras['model_fit_cpu_seconds']}, imagining {mb_log.extras['rollout_cpu_seconds']}"
)
viz.curves({k: [log] for k, log in sac.items()}, title="This notebook: SAC with and without a model (one seed)")

# %%
bench_name, bench = bench_part("sac")
if bench is not None:
    print(
        f"from {bench_name}, seeds {bench['seeds']}, model-free SAC for {bench['sac']['per_seed']['sac'][0]['env_steps']:,} steps:"
    )
    t = bench["targets"].get("mbpo", {})
    names = {"sac": "SAC", "mbpo": "SAC + model (MBPO-style)", "sac_same_updates": "SAC, same updates, no model"}
    for key, s in bench["sac"]["stats"].items():
        print(f"  {names[key]:28s}: final success IQM {s['iqm']:.0%}, 95% CI {s['iqm_ci']}")
    if t:
        print(
            f"steps to SAC's final success ({t['bar']:.0%}): SAC {t['sac']['steps_to_bar']}, with a model "
            f"{t['mbpo']['steps_to_bar']} (ratio {t['steps_ratio']['value']:.2f}; {t['steps_ratio']['note'] or 'ok'}); "
            f"CPU per env step {t['cost_ratio_cpu']['value']:.1f}x SAC's"
        )
    runs = {
        names[k]: [(r["curve_steps"], r["curve_success"]) for r in rs] for k, rs in bench["sac"]["per_seed"].items()
    }
    viz.curves(runs, title="Benchmark: SAC with and without a model (mean and range over seeds)").show()

# %% [markdown]
# ## 8. Errors compound; members disagree where there is no data
# From the same start and with the same actions, each member imagines the whole path open loop, feeding
# its own prediction back in. Drag the slider: one step ahead they sit on the real path; further out the
# small errors add up. This is why MBPO's rollouts are short and start from real states.

# %%
ensemble = mb_log.extras["ensemble"]
real_xy, pred_xy = wm.open_loop_paths(ensemble, mb_model, n_starts=4, horizon=10 if SMOKE else 40)
err = np.linalg.norm(pred_xy - real_xy[:, None], axis=-1).mean(axis=(0, 1))  # (H + 1,) over starts and members
print(
    "mean position error (cm) after k imagined steps:", {k: round(100 * float(err[k]), 2) for k in (1, 5, len(err) - 1)}
)
viz.compounding_figure(real_xy, pred_xy)

# %%
xs, ys, spread = wm.disagreement_grid(ensemble, n=15 if SMOKE else 41)
visited = mb_model.replay_buffer.real_transitions()[0][:, :2]
viz.disagreement_map_figure(
    xs, ys, spread, visited, title="Ensemble disagreement at rest, pushing up (dots: real data)"
)


# %%
# EXERCISE 05.disagreement
def my_disagreement(ensemble, obs, act):
    """Per row, the std over members of the predicted mean next state, in standardised units, averaged over dims."""
    raise NotImplementedError  # ensemble.predict_all(obs, act) -> means (K, B, D + 1) and variances


lk.check("05.disagreement", my_disagreement)

# %% [markdown]
# ## 9. A latent world model that plans: TD-MPC on a laptop
# Dreamer learns a recurrent latent model from pixels and trains its actor and critic in imagination;
# TD-MPC (and TD-MPC2) learn a latent model *without a decoder* and plan in it. Their users report a
# few frames per second for DreamerV3 on a datacentre GPU and days for TD-MPC2's five million steps, so
# here is a small TD-MPC-style agent for the true state (`labkit/world_models/tdmpc.py`, one screen per
# part). Small MLPs share a latent $z$: an encoder $z = h(o)$, latent dynamics $z' = d(z, a)$, a
# reward $R(z, a)$, a termination head $T(z, a)$ (does this step end the episode), twin critics
# $Q_1, Q_2(z, a)$ and a policy $\pi(z)$. From windows of $H$ real steps the model starts at
# $z_0 = h(o_0)$ and imagines $z_{t+1} = d(z_t, a_t)$ with the window's actions. Every imagined latent
# must match the encoding of the observation that really came, predict the reward that came and carry
# TD values (a bar marks a slow Polyak-averaged copy, $\bar z_{t+1} = \bar h(o_{t+1})$; $\rho < 1$ weighs
# later, less certain steps less; $c_1, c_2, c_3$ are `consistency_coef`, `reward_coef`, `value_coef`):
#
# $$\mathcal{L} = \sum_{t=0}^{H-1} \rho^t \Big( c_1 \lVert d(z_t, a_t) - \bar z_{t+1} \rVert^2
#   + c_2 \big(R(z_t, a_t) - r_t\big)^2 + c_3 \sum_{i=1}^{2} \big(Q_i(z_t, a_t) - r_t - \gamma (1 - \mathrm{done}_t) \min_j \bar Q_j(\bar z_{t+1}, \pi(\bar z_{t+1}))\big)^2 \Big)$$
#
# The termination head's cross-entropy term is in the code and left out here. The policy is trained to
# maximise $\min_j Q_j(z_t, \pi(z_t))$. To act, the agent plans with MPPI (model predictive path
# integral control): it samples action sequences (some from $\pi$, one the last plan shifted by a
# step), scores each in imagination by $\sum_t \gamma^t R(z_t, a_t) + \gamma^H Q(z_H, \pi(z_H))$ (each
# term weighted by the predicted chance that the episode has not ended), refits a Gaussian to the best
# ones, each weighted by the exponential of its score, and repeats. Below it trains on TwoRoutes for the
# same env steps as SAC in section 7.

# %%
TDMPC_STEPS = 300 if SMOKE else SAC_STEPS
td_agent, td_log = wm.run_tdmpc(
    "two_routes", TDMPC_STEPS, seed=0, config=wm.TDMPC_CONFIG if not SMOKE else lk.world_models.TDMPCConfig(
        seed_steps=100, samples=32, policy_samples=4, elites=8, iterations=2
    ), eval_every=max(TDMPC_STEPS // 6, 50), n_eval_episodes=N_EVAL,
)
sac["TD-MPC (latent model + MPPI)"] = td_log
train_ms = 1e3 * (td_log.meta["update_cpu_seconds"] + td_log.meta["act_cpu_seconds"]) / td_log.env_steps
print(
    f"TD-MPC: success {td_log.curve()[1][-1]:.0%} after {td_log.env_steps:,} steps; training "
    f"{train_ms:.1f} CPU ms/step ({train_ms / sac['SAC'].meta['cpu_ms_per_step']:.1f}x SAC's, the benchmark's "
    f"measure): {td_log.meta['update_cpu_seconds']} s updating, {td_log.meta['act_cpu_seconds']} s planning "
    f"({td_log.meta['cpu_ms_per_step']:.1f} ms/step with its evaluations)"
)
viz.curves({k: [log] for k, log in sac.items()}, title="This notebook: SAC, SAC with a model, TD-MPC (one seed)")

# %% [markdown]
# Where does it go, and does its critic know what it gets? The figure draws its greedy episodes and, in
# red, every step in its own data where the reward jumped by more than 1. The reward pays the shrinkage
# of the shortest way round the cup, and that way keeps a clearance from the cup. The clearance is wider
# than the robot's radius, so a robot grazing the cup counts as inside its pocket, and the length jumps.
# The print sets the critic's value of the start state, for the policy's action, against the discounted
# return that the planner's episodes really got.

# %%
probe = wm.tdmpc_probe(td_agent, td_log, n_episodes=N_EVAL)
viz.stall_figure(probe["trajectories"], probe["success"], probe["spike_xy"], title="TD-MPC's greedy episodes").show()
print(
    f"greedy episodes at the goal: {probe['success'].mean():.0%}; ending within 5 cm of a top corner of the cup: "
    f"{probe['end_near_corner']:.0%}; steps in its data with |reward| > 1: {probe['spike_share']:.2%}\n"
    f"critic's value of the start {probe['predicted_value'].mean():.1f} vs the discounted return the episodes "
    f"got {probe['realised_return'].mean():.1f}"
)

# %%
bench_name, bench = bench_part("latent")
if bench is not None:
    for task, t in bench["targets"]["latent"].items():
        learned, cost = t["learns_in_5_minutes"], t["cost_ratio"]
        print(
            f"{bench_name}, {task}, seeds {bench['seeds']}: TD-MPC's final success {learned['final_success']:.0%} "
            f"(SAC, same steps: {t['sac_final_success']:.0%}); first evaluation at 90% after "
            f"{learned['steps_to_90']} env steps, about {learned['train_seconds_to_90']} s of training; "
            f"training cost per env step {cost['value']:.1f}x SAC's"
        )
        runs = {
            name: [(r["curve_steps"], r["curve_success"]) for r in bench["latent"]["per_seed"][f"{key}/{task}"]]
            for key, name in (("tdmpc", "TD-MPC"), ("sac", "SAC"))
        }
        viz.curves(runs, title=f"Benchmark, {task}: TD-MPC vs SAC, same env steps (mean and range over seeds)").show()
print(f"this notebook's compute so far: {time.perf_counter() - START:.0f} s wall")

# %% [markdown]
# What the numbers say: this notebook's run is short (SAC's budget, its first steps random), the
# benchmark's three seeds run longer; both are printed above. The agent costs several times SAC's CPU per
# step, because it updates all its networks over $H$ imagined steps and plans with hundreds of imagined
# sequences every step. On InvertedPendulum, whose reward is smooth, every seed of the benchmark first
# reaches the bar within a few minutes of training and ends there. On TwoRoutes no seed kept the task. In
# our full runs the greedy episodes ended at a top corner of the cup, where the red marks gather, and the
# critic valued the start above what the episodes got; check the printed share and values for your run.
# A smooth latent model blurs the reward's jump into a slope, and the planner and the critic climb it.
# This is model exploitation, which MBPO avoids by trusting its model only a step or two from real data.
# TD-MPC2 answers with discrete regression of rewards and values (each target spread over two
# neighbouring bins of a fixed grid, "two-hot", and fitted by cross-entropy), larger latents, more
# updates and millions of steps, none of which fits five minutes on two cores.

# %% [markdown]
# ## Summary
# * A frame is cheap to render with one plain offscreen context and dear with a multisampled one; the
#   agent's problem is not the cost but the *state*: a few pixels of robot in a static scene.
# * VIP learns, from videos alone, an embedding whose distance to a goal frame falls along an episode and
#   whose change is a dense reward; the autoencoder reconstructs the scene and is not asked to order frames
#   in time. The probe and the correlation above say how much each encodes the robot's position and progress.
# * Frozen, a latent can stand in for the state of an SB3 agent; how close it comes to the true state, and
#   how far pixels from scratch get in the same budget, is measured above (seeds in the benchmark).
# * An ensemble of probabilistic MLPs trained on the agent's own data, with short branched rollouts, lets
#   SAC learn from imagined transitions; compare its env steps and its CPU per step with SAC's above.
#   Long open-loop rollouts drift: keep them short and start them from real states.
# * A TD-MPC-style latent model plans in a space it learned, without ever rebuilding an observation. It
#   costs several times SAC's CPU per step, and a planner climbs whatever its model gets wrong: on
#   TwoRoutes, the reward's jump at the cup's corners.
#
# ## Exercises
# 1. **05.vip_loss**, **05.vip_reward**, **05.disagreement**: the checked cells above.
# 2. **Rollout length.** Rerun section 7 with `wm.MBPOSettings(model=lk.world_models.MBPOConfig(rollout_length=5))`.
#    Does SAC learn faster or slower? Relate it to the compounding-error slider.
# 3. **Real ratio.** Set `real_ratio=1.0` (the model's data is never used) and compare with the
#    benchmark's "same updates, no model" runs: how much of any speed-up is the model, how much the extra updates?
# 4. **A reward from a goal picture.** Wrap the pixel env in `lk.world_models.VIPReward(env, reps["vip"], goal)`
#    and train PPO on the VIP latent with VIP's reward only. Does it reach the goal? Where does it fail?
# 5. **Plan or not.** Rerun section 9 with `config=lk.world_models.TDMPCConfig(plan=False)`: the
#    policy alone acts. Compare CPU per step and success with planning; then try `horizon=5`.
# 6. **Open question.** The autoencoder's reconstructions look right; why can its latent still be a worse
#    state for control than VIP's? (Hint: look at what the loss pays for.)
#
# ## Read next
# * Ma et al. 2022, *VIP: Towards Universal Visual Reward and Representation via Value-Implicit
#   Pre-Training*, [arXiv:2210.00030](https://arxiv.org/abs/2210.00030); code: facebookresearch/vip.
# * Nair et al. 2022, *R3M: A Universal Visual Representation for Robot Manipulation*,
#   [arXiv:2203.12601](https://arxiv.org/abs/2203.12601); code: facebookresearch/r3m.
# * Janner et al. 2019, *When to Trust Your Model: Model-Based Policy Optimization*,
#   [arXiv:1906.08253](https://arxiv.org/abs/1906.08253); code: jannerm/mbpo.
# * Chua et al. 2018, *Deep RL in a Handful of Trials using Probabilistic Dynamics Models* (PETS),
#   [arXiv:1805.12114](https://arxiv.org/abs/1805.12114).
# * Hafner et al. 2023, *Mastering Diverse Domains through World Models* (DreamerV3),
#   [arXiv:2301.04104](https://arxiv.org/abs/2301.04104); code: danijar/dreamerv3.
# * Hansen et al. 2024, *TD-MPC2: Scalable, Robust World Models for Continuous Control*,
#   [arXiv:2310.16828](https://arxiv.org/abs/2310.16828); code: nicklashansen/tdmpc2.
# * Wu et al. 2022, *DayDreamer: World Models for Physical Robot Learning*,
#   [arXiv:2206.14108](https://arxiv.org/abs/2206.14108); code: danijar/daydreamer.
# * The review this course follows: Moroncelli et al. 2024, [arXiv:2410.16411](https://arxiv.org/abs/2410.16411).
