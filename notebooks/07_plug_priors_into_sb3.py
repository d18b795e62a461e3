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
# # 07 · Plug a diffusion prior into Stable-Baselines3: residual RL, DSRL and sample-and-select
#
# **Place on the map:** B2 *RL fine-tuning, policy-agnostic methods*: the diffusion policy stays
# frozen and a stock SB3 agent learns *around* it, either by correcting its actions (residual RL), by
# choosing the noise it starts from (DSRL) or by picking among its proposals (sample-and-select). Also
# A, "generative models as plug-and-play priors": nothing here retrains the generative model.
#
# **Goals.** (1) Meet a prior that is good but not good enough: a diffusion policy trained on
# TwoRoutes demonstrations, in a world that has changed since (one route is now closed). (2) See that
# the prior's *initial noise* chooses its behaviour, by steering it by hand. (3) Write the three
# interfaces yourself: the residual action, DSRL's noise-to-chunk map, sample-and-select's pick.
# (4) Train PPO from scratch, residual PPO on the prior and DSRL (PPO in the prior's noise space) on the
# same task and compare success against *environment steps*. (5) Look inside: how large the learned
# corrections are, where the DSRL agent moves the noise. (6) A harder case, PushBlock, where a few CPU
# minutes are not enough, and why. (7) Compare methods across seeds honestly: interquartile means with
# bootstrap confidence intervals.
#
# **Prerequisites.** Notebook 01 (SB3 PPO and SAC, the clipped objective, learning curves) and notebook
# 03 (diffusion policy, action chunks, DDPM/DDIM, the TwoRoutes task).
#
# **Time.** About 75 minutes to read, run and do the checkable exercises (the open questions at the end
# need longer runs); the first code cell prints the measured compute time. The priors are shipped, only
# the RL agents train here. `LABKIT_SMOKE=1` runs everything with tiny budgets (the numbers then mean
# nothing).

# %%
from collections import Counter

import numpy as np
import plotly.express as px
import torch

import labkit as lk
from labkit import viz
from labkit.experiments.priors import METHODS, TASKS, run_method, train_with_prior
from labkit.finetune import SampleSelectSAC, make_residual_env, noise_shift_rollouts
from labkit.policies import PolicyMismatchError

SMOKE = lk.smoke_mode()
print(lk.course.compute_time("07_plug_priors_into_sb3"))
TASK = TASKS["blocked"]  # env, shipped prior and the settings of each method
SEEDS = [0] if SMOKE else [0, 1]
ENV_STEPS = 600 if SMOKE else 24_000  # per run, in environment steps
EVAL_EVERY = 300 if SMOKE else 3_000
EVAL_EPISODES = 4 if SMOKE else 20
PRIOR_EPISODES = 6 if SMOKE else 100
print(f"smoke mode: {SMOKE}; torch threads: {torch.get_num_threads()}")
print(TASK.env_id, "-", TASK.description)

# %% [markdown]
# ## Key equations
# Write $o_t$ for the observation, $p_t$ for the frozen prior's action (`prior_action`) and $\pi_\theta$
# for the SB3 agent's policy, trained by PPO's clipped objective (notebook 01) to maximise the expected
# return $\mathbb{E}\big[\sum_t \gamma^t r_t\big]$ *of whatever its action means*. The three methods
# differ only in what that action is.
#
# **Residual RL** (Silver et al., 2018; ResiP, Ankile et al., 2024): the agent sees $[o_t, p_t]$ and
# outputs a correction $\rho_t \sim \pi_\theta(\cdot \mid o_t, p_t)$ (`residual`); the executed action is
#
# $$a_t = \mathrm{clip}\Big(p_t + \beta\, h \odot \mathrm{clip}(\rho_t, -1, 1),\ l,\ u\Big), \qquad h = \tfrac{u - l}{2},$$
#
# with $\beta$ = `scale` a fraction of the action box's half-range $h$ (`half_range`), $l, u$ its bounds
# (`low`, `high`). A zero residual replays the prior.
#
# **DSRL** (Wagenmaker et al., 2025): at decision $k$ (env step $t = k T_a$) the agent's action is the
# prior's initial noise, $w_k \sim \pi_\theta(\cdot \mid o_t)$, $w_k \in [-b, b]^{H \cdot A}$ ($b$ = `bound`),
# and the frozen prior decodes it deterministically (DDIM, $\eta = 0$) into the next $T_a$ actions:
#
# $$(a_t, \dots, a_{t + T_a - 1}) = \mathrm{denoise}_\phi\big(x_T = \mathrm{clip}(w_k, -b, b),\ o_{t - T_o + 1 : t}\big),
# \qquad \max_\theta\ \mathbb{E}\Big[\sum_k \gamma^{T_a k} R_k\Big],\ R_k = \sum_{j < T_a} r_{k T_a + j}.$$
#
# One agent step is one chunk (its discount is $\gamma^{T_a}$), and $\pi_\theta = \mathcal{N}(0, I)$ is
# exactly the prior's own sampling. In the code, $w_k$ is the agent's action, `NoiseSpaceVecEnv.noise_from`
# makes it $x_T$ of shape `(n, H, A)`, and $H, A, T_o, T_a$ are the prior's `horizon`, `action_dim`,
# `n_obs_steps`, `n_action_steps`. The paper's agent is SAC; the wrapper takes any SB3 agent, and here it
# is PPO, as for the other two methods, so that only the meaning of the action differs.
#
# **Sample-and-select** (the online cousin of IDQL, notebook 08): draw $N$ actions $a^1 \dots a^N$ from
# the prior (plus one from SAC's actor) and execute the one SAC's twin critics rate highest,
#
# $$a_t = \arg\max_{a \in \{a^1, \dots, a^N, a^\pi\}}\ \min\big(Q_{\phi_1}(s_t, a),\ Q_{\phi_2}(s_t, a)\big).$$

# %% [markdown]
# ## 1. A prior in a world that changed
# `two_routes_prior` ships in `data/` (hash in `data/README.md`). It was made by
# `python -m labkit make-data two_routes_prior`: a `DiffusionPolicy` (MLP denoiser, DDIM) trained on
# `two_routes_demos`, the scripted expert's episodes that go round the cup on the left or on the right,
# about half and half (notebooks 02-03). It uses the **`prior` preset**, not 03's `chunked`: half the
# chunk and a narrower net, so that the prior is cheap enough to run inside an RL loop and a DSRL
# decision (one executed chunk) is short enough to react (the next cell prints both presets).
#
# Now the world changes: in `labkit/TwoRoutesBlocked-v0` an orange barrier closes the right-hand
# route. The observation is the same as before; **nothing in it shows the barrier**, so the prior keeps
# choosing right about half the time, and then it is stuck. The reward is also the kind a real task
# often has: **1 on success, 0 otherwise** (no shaping that points the way).

# %%
prior = lk.load("two_routes_prior")
print("prior:", lk.data.SHIPPED["two_routes_prior"].description)
for name in ("prior", "chunked"):
    print(f"preset {name!r}: {lk.PRESETS[name].horizons} - {lk.PRESETS[name].why}")
cfg = prior.config
assert (cfg.n_obs_steps, cfg.horizon, cfg.n_action_steps) == tuple(lk.PRESETS["prior"].horizons.values())
print(f"the shipped prior: To = {cfg.n_obs_steps}, H = {cfg.horizon}, Ta = {cfg.n_action_steps}, "
      f"{cfg.sampler.upper()} with {cfg.num_inference_steps} steps, eta = {cfg.ddim_eta}")
scene = lk.make(TASK.env_id, render_mode="rgb_array")
scene.reset(seed=0)
px.imshow(scene.render(), title="TwoRoutesBlocked: start (blue), goal (green), cup (red), barrier (orange)"
          ).update_layout(height=380, width=380).show()  # (240, 240, 3) top view, as in notebook 00
prior_open = lk.evaluate(prior, "labkit/TwoRoutes-v0", PRIOR_EPISODES, seed=0, progress=False)
prior_eval = lk.evaluate(prior, TASK.env_id, PRIOR_EPISODES, seed=0, progress=False)
for name, res in [("TwoRoutes (open)", prior_open), ("TwoRoutesBlocked", prior_eval)]:
    # route per episode: "left"/"right" once past the cup, "none" if it never got past (stuck)
    print(f"prior on {name:17s}: {res.success_rate:.0%} success; routes of all episodes {dict(Counter(res.routes.tolist()))}")

# %% [markdown]
# Plugging a prior into an env it was not trained for is caught **at wrap time**, with one line that
# says what to do. Here the mismatch is the point, so we say so with `check_env_id=False` (the task's
# settings pass it for us).

# %%
try:
    make_residual_env(TASK.env_id, prior)
except PolicyMismatchError as err:
    print("PolicyMismatchError:", err)
make_residual_env(TASK.env_id, prior, check_env_id=False).close()  # on purpose: fine

# %% [markdown]
# ## 2. The noise picks the route: steer it by hand
# With DDIM and $\eta = 0$ the prior is a *function* of its initial noise: the same $x_T$ and the same
# observations give the same chunk. Which route an episode takes is therefore decided by the noise.
# Before training anything, shift the noise by hand: every chunk's $x_T = z + \delta$ on the
# x-velocity coordinates (even indices), with the same draws $z$ and the same start states for every
# $\delta$ (`noise_shift_rollouts`). **Move the slider**: $\delta = 0$ is the prior itself; which shifts
# send it left, round the open side? What happens when the shift is large, and why would a *constant*
# shift be a blunt tool compared with noise that depends on the state, which is what DSRL learns?

# %%
SHIFTS = [-0.5, 0.0, 0.5] if SMOKE else [-1.5, -1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0]
by_shift = noise_shift_rollouts(prior, TASK.env_id, SHIFTS, n_episodes=4 if SMOKE else 20, check_env_id=False)
best_shift = max(by_shift, key=lambda d: by_shift[d].success_rate)
print(f"prior alone (shift 0): {by_shift[0.0].success_rate:.0%} success; "
      f"best shift {best_shift:+g}: {by_shift[best_shift].success_rate:.0%}")
viz.noise_shift_figure(by_shift, blocked="right")

# %% [markdown]
# DSRL turns this by-hand search into RL: a PPO agent chooses the whole $x_T$, per decision and per
# state, within $[-b, b]^{H \cdot A}$. Write the map from its action to what the robot executes.

# %%
# EXERCISE 07.noise_to_chunk
def noise_to_chunk(prior, history, w, bound):
    """DSRL's action map: noise w (B, H*A) and observation histories (B, To, obs_dim) -> executed actions (B, Ta, A).

    Clip w to the box, reshape it to the prior's x_T (B, H, A) and let the frozen prior decode it
    (prior.predict_action(history_tensor, noise=x_T) runs its DDIM sampler from that x_T).
    """
    raise NotImplementedError  # your code here


lk.check("07.noise_to_chunk", noise_to_chunk)

# %% [markdown]
# ## 3. Three agents, one task, one budget
# All three are stock SB3 `PPO("MlpPolicy", ...)` on 8 vectorised envs; only the env they act in
# differs (`labkit.experiments.priors.make_method_env`):
#
# ```
# from scratch:  obs o_t ---------------------------------> PPO --> a_t                 (A numbers)
# residual:      [o_t, prior action p_t] ----------------> PPO --> r_t;  a_t = clip(p_t + scale * h * r_t)
# DSRL:          o_t -> PPO --> noise w_t in [-b, b]^(H*A) -> prior DDIM(x_T = w_t) -> Ta actions
# ```
#
# * A **zero residual** replays the prior, so the residual agent starts where the prior is. Its
#   Gaussian starts narrow (a small `log_std_init`, printed below).
# * A **DSRL** agent step executes a whole chunk (its discount is $\gamma^{T_a}$), and every chunk it
#   can produce is one the prior can produce: it searches *within* the demonstrated behaviour. Its PPO
#   policy starts as a Gaussian with mean 0 and standard deviation 1, which is *exactly* the prior's
#   own sampling, $x_T \sim \mathcal{N}(0, I)$.
# * The PPO settings of each method are in `TASK.settings` (short rollouts, so that the rare rewards
#   are used soon); they were picked by a small search, as the comment above `TASKS` says; PPO from
#   scratch gets the same rollouts and batch size as residual PPO.
#
# First write the residual composition with the kit's convention for `scale`.

# %%
for method in METHODS:
    print(f"{METHODS[method]:40s} {TASK.kwargs(method)}")

# %%
# EXERCISE 07.residual_action
def residual_action(prior_action, residual, scale, low, high):
    """The executed action (n, A) from the prior's action p_t (n, A) and the agent's residual r_t (n, A).

    scale: the kit's residual scale, a fraction of the action box's half-range (high - low) / 2;
    low, high: (A,) the action box. The residual counts only within [-1, 1].
    """
    raise NotImplementedError  # your code here


lk.check("07.residual_action", residual_action)

# %% [markdown]
# Success is measured every few thousand **environment** steps (a DSRL step counts as the $T_a$ it
# executes) on the same start states with the same prior draws. Scratch and residual agents are
# evaluated with their mean action (a zero mean residual is the prior); the DSRL agent with its
# stochastic policy, because its mean, $x_T = 0$, is a single input the prior was never trained on alone
# (`labkit.experiments.priors.EVAL_DETERMINISTIC`). The next cell is the expensive one.

# %%
runs = {method: [train_with_prior(method, TASK.env_id, prior, ENV_STEPS, seed=s, eval_every=EVAL_EVERY,
                                  n_eval_episodes=EVAL_EPISODES, **TASK.kwargs(method)) for s in SEEDS]
        for method in METHODS}
for method, rs in runs.items():
    for model, log in rs:
        s = log.summary()
        print(f"{METHODS[method]:40s} seed {s['seed']}: success {s['start_success']:.0%} -> {s['final_success']:.0%} "
              f"(90% first at {s['steps_to_threshold'] or 'never'}) in {s['env_steps']:,} env steps, "
              f"{s['train_seconds']:.0f} s of training")

# %%
fig = viz.curves({METHODS[m]: [log for _, log in rs] for m, rs in runs.items()},
                 title="TwoRoutesBlocked: success against environment steps (mean and range over seeds)",
                 y_title=f"success rate ({EVAL_EPISODES} fixed start states)")
fig.add_hline(y=prior_eval.success_rate, line=dict(dash="dot", color="#555"),
              annotation_text=f"prior alone (sampled, {PRIOR_EPISODES} episodes)")
fig.add_hline(y=0.9, line=dict(dash="dash", color="#999"), annotation_text="90%", annotation_position="bottom right")
fig.update_yaxes(range=[-0.02, 1.02])
fig

# %% [markdown]
# **Reading the curves** (full mode; your numbers will differ, and the benchmark printed below has
# more seeds and a longer budget).
#
# * **PPO from scratch** sees reward 0 in every episode until one of them happens to reach the goal;
#   then it learns quickly. *When* that happens is luck: some benchmark seeds find the goal early,
#   others never do within the budget.
# * **Both prior-based agents have reward from the first rollout**: every episode in which the prior
#   takes the left route is a success. That head start *is* the prior's contribution: it explores
#   along demonstrated behaviour. The residual agent's first point is the prior's own success on
#   these start states; the DSRL agent's is its initial $\mathcal{N}(0, I)$ policy sampled once per
#   state, a noisier estimate of the same thing (the next cell prints the standard error).
# * **DSRL** only has to learn *which* noise makes the prior take the left route, a decision the prior
#   makes in its first chunks (section 2 did it by hand).
# * **Residual PPO** can *dip* before it climbs: early corrections push the robot off the prior's paths
#   before PPO learns the correction that matters, a push to the left below the cup, after which the
#   prior itself carries the robot round. (A DSRL curve that falls below its first point means less:
#   that first point is the noisy estimate just described.)
#
# `python benchmarks/priors_sample_efficiency.py` (README "Measured results") measured the env steps
# to the threshold per seed, with the same code; the next cell prints them from its results file.

# %%
bench = lk.course.benchmark_result("priors_sample_efficiency_blocked")
p0 = float(np.mean([log.history[0]["success_rate"] for _, log in runs["dsrl"]]))
print(f"standard error of a {p0:.0%} success rate over {EVAL_EPISODES} episodes: "
      f"{np.sqrt(p0 * (1 - p0) / EVAL_EPISODES):.0%} (points)")
print(f"benchmark: {bench['seeds']} seeds, {bench['env_steps_per_run']:,} env steps per run, "
      f"threshold {bench['threshold']:.0%}, {bench['eval_episodes']} evaluation episodes")
for method, label in METHODS.items():
    mine = [r for r in bench["runs"] if r["method"] == method]
    steps = [r["steps_to_threshold"] for r in mine]
    dipped = sum(min(r["success"][1:]) < r["start_success"] - 0.2 for r in mine)
    print(f"  {label:40s} steps to {bench['threshold']:.0%} per seed: {['never' if s is None else f'{s:,}' for s in steps]}; "
          f"reached by {sum(s is not None for s in steps)}/{len(mine)}; "
          f"fell well below their start on the way: {dipped}/{len(mine)}")
print("benchmark verdict:", bench["targets"]["sample_note"])

# %% [markdown]
# Read the per-seed numbers, not only the means: the prior's main gift here is *reliability*. A lucky
# scratch run is not much slower; an unlucky one never starts. The last section, *Across seeds*,
# comes back to this with intervals over seeds.
#
# ## 4. Inside the residual agent: how big are its corrections?
# `ResidualVecEnv.residual_history()` holds $\lVert \beta h \rho_t \rVert$ for every step of every training
# env. PPO starts with a narrow Gaussian and changes it as it learns; a correction that grows means the
# agent wants to leave the prior's behaviour somewhere, one that shrinks means it trusts the prior.

# %%
viz.residual_magnitude_figure({f"seed {log.meta['seed']}": model.get_env().residual_history()
                               for model, log in runs["residual"]})

# %%
print("PPO log std per action axis at the end:", [np.round(model.policy.log_std.detach().numpy(), 2).tolist()
                                                  for model, _ in runs["residual"]])
probe = lk.make("labkit/TwoRoutes-v0").unwrapped
below_cup = probe.observation_at((0.0, -0.25), (0.0, 0.3))  # (8,) on the centre line, below the cup
agent = runs["residual"][0][0]
pushes = []
for label, p_action in [("prior goes left", [-0.8, 0.5]), ("prior goes right", [0.8, 0.5])]:
    residual, _ = agent.predict(np.concatenate([below_cup, p_action]).astype(np.float32), deterministic=True)
    pushes.append(residual)
    print(f"below the cup, {label:16s}: mean residual {np.round(residual, 2)}")
print("both corrections push left (x < 0):", all(r[0] < 0 for r in pushes))

# %% [markdown]
# The last lines ask the trained residual agent what it adds below the cup, for a prior action that
# heads left and one that heads right. A well-trained agent (full mode) pushes left in both cases:
# rather than a correction tailored to the prior's action, it learned a push to the left below the
# cup, after which the prior itself carries the robot round on the left. Probe other positions with
# `probe.observation_at(...)` to see where it intervenes.

# %% [markdown]
# ## 5. Inside the DSRL agent: where does it move the noise?
# The prior was trained to denoise $x_T \sim \mathcal{N}(0, I)$. The DSRL agent chooses $x_T$ itself,
# within $[-b, b]$. The histogram compares its choices early and late in training with the
# $\mathcal{N}(0, 1)$ density; **the dropdown** shows one of the $H \cdot A$ coordinates at a time
# (coordinate $2k$ is the x velocity of the $k$-th action of the chunk, $2k + 1$ its y velocity). A
# distribution that moves away from $\mathcal{N}(0, 1)$ means the agent has found *which* of the prior's
# behaviours pays; compare it with the shift that worked by hand in section 2.

# %%
dsrl_env = runs["dsrl"][0][0].get_env()
noise = dsrl_env.steered_noise()
print(f"{len(noise)} steered noise vectors of size {noise.shape[1]}; "
      f"mean {noise.mean():+.2f}, std {noise.std():.2f} (N(0, 1): 0, 1); "
      f"share at the bounds: {(np.abs(noise) >= dsrl_env.bound - 1e-6).mean():.1%}")
late = noise[-len(noise) // 5:]
print("late in training, mean of the x-velocity noise coordinates:", np.round(late[:, 0::2].mean(axis=0), 2))
print("late in training, mean of the y-velocity noise coordinates:", np.round(late[:, 1::2].mean(axis=0), 2))
print(f"x-velocity coordinates whose late mean is below 0: {(late[:, 0::2].mean(axis=0) < 0).sum()} of {noise.shape[1] // 2}")
viz.steered_noise_figure(noise, bound=dsrl_env.bound)

# %% [markdown]
# Look at the x-velocity coordinates (even indices) late in training. In a full run most of their
# means move below 0 while the overall spread stays close to $\mathcal{N}(0, 1)$'s: negative noise in x
# decodes, through the frozen DDIM sampler, to chunks that head left. The agent has learned to ask the
# prior for its left-hand behaviour, and nothing else about the prior changed.

# %% [markdown]
# ## 6. Before and after
# One start state on which the prior alone takes the closed route: the prior alone (zero residual),
# the residual agent (its mean correction) and the DSRL agent (sampling its policy, as it is evaluated).

# %%
video_seed = lk.rollout.find_start(prior, TASK.env_id, success=False)
if video_seed is None:
    video_seed = 0
    print("the prior succeeded from every start state tried; showing start state 0 anyway")
before, ok_before = lk.record(prior, TASK.env_id, seed=video_seed)
after, ok_after = lk.record(runs["residual"][0][0], TASK.env_id, seed=video_seed)  # the agent on its prior
dsrl_after, ok_dsrl = lk.record(runs["dsrl"][0][0], TASK.env_id, seed=video_seed, deterministic=False)
for name, ok, frames in [("prior alone", ok_before, before), ("residual agent", ok_after, after),
                         ("DSRL agent", ok_dsrl, dsrl_after)]:
    print(f"{name:15s}: {'success' if ok else 'no success'} in {len(frames) - 1} steps")
viz.show_videos({"before: prior alone": before, "after: prior + residual PPO": after, "after: DSRL": dsrl_after}, width=220)

# %% [markdown]
# ## 7. A harder case: PushBlock
# Not every gap closes in minutes. `labkit/PushBlock-v0`: a disk pusher must push a sliding square
# block into a target pose (within a few centimetres and a fraction of a radian) in a fixed number of
# steps. Observation `(13,)`: pusher position and velocity, block pose, block-to-target offset and
# angle error; action `(2,)`: the pusher's desired velocity. Contact makes it hard: the pusher must
# get behind the block and push off-centre to turn it.
#
# `push_block_prior` (`python -m labkit make-data push_block_prior`): the same kind of prior, trained on
# `push_block_demos`: episodes of the scripted `PushBlockExpert`, **failures kept** (the expert
# misjudges the target a little in every episode, and sometimes misses). The imitation is worse than
# the demonstrator (the next cell prints both).

# %%
PUSH = "labkit/PushBlock-v0"
push_prior = lk.load("push_block_prior")
demos = lk.load("push_block_demos")
print(demos)
push_eval = lk.evaluate(push_prior, PUSH, PRIOR_EPISODES, seed=0, progress=False)
print(f"demonstrations: {demos.summary()['success_rate']:.0%} success; "
      f"prior alone: {push_eval.success_rate:.0%} over {PRIOR_EPISODES} episodes")

# %% [markdown]
# How does the prior fail? The last observation of each episode holds the block's remaining offset
# from the target (`obs[10:12]`). Compare the prior's failures with the expert's (the legend gives the
# median distance of each):

# %%
expert_eval = lk.evaluate(lk.experts.PushBlockExpert(), PUSH, PRIOR_EPISODES, seed=0, progress=False)
print(f"expert: {expert_eval.success_rate:.0%} success; prior: {push_eval.success_rate:.0%} success")
viz.final_error_figure({"expert": expert_eval, "prior": push_eval}, tolerance=0.025,
                       title="PushBlock: where failed episodes leave the block")

# %% [markdown]
# The expert's failures are near misses (its aim is off). Many of the prior's failures are *gross*:
# the block ends many times the tolerance away, pushed off course or left behind when the pusher loses
# contact.
#
# `python benchmarks/priors_sample_efficiency.py --task pushblock` runs the same three methods here
# (the `PPO_DEFAULTS` settings); the next cell prints what it measured. None came near the threshold.
# Try a longer budget (`--steps 150000`) or a better prior (open question 4).

# %%
push_bench = lk.course.benchmark_result("priors_sample_efficiency_pushblock")
print(f"benchmark: {push_bench['seeds']} seeds, {push_bench['env_steps_per_run']:,} env steps per run")
for method, label in METHODS.items():
    mine = [r for r in push_bench["runs"] if r["method"] == method]
    print(f"  {label:40s} start {np.mean([r['start_success'] for r in mine]):.0%} -> final "
          f"{np.mean([r['final_success'] for r in mine]):.0%} (best {np.mean([r['best_success'] for r in mine]):.0%}); "
          f"per seed final {[format(r['final_success'], '.0%') for r in mine]}")
p = push_eval.success_rate
print(f"standard error of a {p:.0%} success rate over {push_bench['eval_episodes']} episodes: "
      f"{np.sqrt(p * (1 - p) / push_bench['eval_episodes']):.0%} (points)")

# %% [markdown]
# **What limits it.** (1) The prior's failures are mostly gross, and a small residual cannot rescue a
# block pushed far off course; DSRL can only choose among the behaviours the prior already has.
# (2) PPO is on-policy and sample-hungry: the benchmark's budget is a few hundred PushBlock episodes,
# and each success needs the block within the position *and* the angle tolerance at the same time, a
# precision problem rather than the single decision of TwoRoutesBlocked. Published residual and DSRL
# results on such tasks use thousands of parallel simulated envs or off-policy learners with many
# updates per step, and millions of steps. (3) Differences smaller than the standard error printed
# above are within noise.

# %% [markdown]
# ## 8. Sample-and-select: the prior proposes, SAC's critic picks
# `SampleSelectSAC` is stock SAC with one method replaced: to act, it draws $N$ actions from the
# prior (plus one from its own actor) and executes the one its critic rates highest. The critic learns
# from those transitions with SAC's usual loss. It needs no wrapper, but SAC updates after every step
# and the prior runs at every step (no chunks), so it is much slower per env step than PPO (the next
# cell prints both rates from `benchmarks/priors_throughput.py`): here only a short run on PushBlock
# (dense reward) to see the mechanics.

# %%
SELECT_STEPS = 60 if SMOKE else 1_000
select = SampleSelectSAC("MlpPolicy", lk.make(PUSH), prior=push_prior, n_candidates=8, buffer_size=SELECT_STEPS,
                         learning_starts=min(200, SELECT_STEPS // 2), batch_size=128, seed=0)
select.learn(SELECT_STEPS)
select_eval = lk.evaluate(select, PUSH, 4 if SMOKE else 20, seed=10_000, deterministic=True, progress=False, batch_size=1)
print(f"sample-and-select after {SELECT_STEPS} steps: {select_eval.success_rate:.0%} success over "
      f"{len(select_eval.successes)} episodes (prior alone: {push_eval.success_rate:.0%})")
rates = lk.course.benchmark_result("priors_throughput")["steps_per_second"]
print(f"env steps per second (benchmark): PPO {rates['ppo_plain']:.0f}, residual PPO {rates['ppo_residual']:.0f}, "
      f"SAC {rates['sac_plain']:.0f}, sample-and-select SAC {rates['sac_select']:.0f}")

# %% [markdown]
# With so few steps the critic has seen only a handful of episodes, and its greedy choice among the
# prior's candidates is no better than sampling the prior, and can be *worse* (compare the two
# success rates above): an argmax
# over a barely trained Q picks the candidates whose value it overestimates most. Selection pays only
# once the critic is trained on much more data (IDQL trains it offline on the whole dataset first;
# notebook 08). Write the pick yourself: score every candidate with both critics, keep the best by the
# pessimistic minimum.

# %%
# EXERCISE 07.select_candidate
def select_candidate(critic, obs, candidates):
    """Sample-and-select's pick: obs (n, obs_dim), candidates (n, N, A) in SAC's scaled units -> chosen (n, A).

    critic(obs_t, act_t) is SB3's twin critic: two tensors (n*N, 1) for obs_t (n*N, obs_dim), act_t (n*N, A).
    """
    raise NotImplementedError  # your code here


lk.check("07.select_candidate", select_candidate)

# %% [markdown]
# ## 9. What the prior costs
# The prior in the loop costs one batched denoising call per chunk, for all 8 envs at once.
# `ChunkRunner(align=True)` keeps the envs' chunks in step so that the call is shared; the next cell
# prints the calls per vec-env step with and without it (`benchmarks/prior_calls.py`) and the
# throughput of each method against the same PPO without the prior.

# %%
for row in lk.course.benchmark_result("prior_calls")["rows"]:
    print(f"{row['task']:9s} align={row['align']!s:5s}: {row['calls per vec step']:.2f} prior calls per vec-env step, "
          f"{row['ms per vec step']:.1f} ms per vec-env step")
for method, label in METHODS.items():
    rate, plain = bench["throughput"][method]["env_steps_per_s"], bench["throughput_plain_same_settings"][method]["env_steps_per_s"]
    print(f"{label:40s} {rate:,.0f} env steps/s, {rate / plain:.2f} x the same PPO without the prior")

# %% [markdown]
# ## Across seeds
# One run per method says little: above, a lucky scratch seed and an unlucky one differ by the whole
# budget. The kit's sweeps (`labkit.sweep`) run a ready-made experiment over settings x seeds, here
# `labkit.experiments.priors.run_method`, the very trial `benchmarks/priors_sample_efficiency.py`
# runs. The same call spreads the trials over a local process pool (`backend="process"`) or a Ray
# cluster (`backend="ray"`) with the same numbers, because every trial's seed is part of the trial.
#
# **Why intervals.** With a handful of seeds, a mean can be carried by one lucky or unlucky run, and on
# a sparse reward the outcomes are nearly all-or-nothing, so "half" may describe no run at all. The
# interquartile mean (IQM: the mean of the middle half of the runs) is robust to one outlier, and a
# bootstrap confidence interval says how far it might move with other seeds (Agarwal et al., 2021).
# Two methods whose bands overlap have not been told apart; say so rather than ranking them. The band
# below is the IQM's bootstrap interval at every evaluation (its level is in the title).

# %%
SWEEP_SEEDS = 3 if SMOKE else 5
SWEEP_BUDGET, SWEEP_EVAL_EVERY, SWEEP_EPISODES = (400, 200, 2) if SMOKE else (12_000, 2_000, 10)
sweep = lk.sweep.run(run_method, lk.sweep.grid(method=list(METHODS), budget=[SWEEP_BUDGET],
                                               eval_every=[SWEEP_EVAL_EVERY], n_eval_episodes=[SWEEP_EPISODES]),
                     seeds=SWEEP_SEEDS, progress=not SMOKE)
assert not sweep.failed, sweep.failed[:1]
for row in sweep.summary("final_success", by=["method"]):
    print(f"{METHODS[row['method']]:40s} final success over {row['n']} seeds: IQM {row['iqm']:.0%} "
          f"[{row['iqm_ci'][0]:.0%}, {row['iqm_ci'][1]:.0%}], min {row['min']:.0%}, max {row['max']:.0%}")
viz.curves({METHODS[m]: [(r["steps"], r["success"]) for r in recs] for (m,), recs in sweep.groups(["method"]).items()},
           band="iqm", title=f"TwoRoutesBlocked, {SWEEP_SEEDS} seeds: IQM and 95% bootstrap CI",
           y_title=f"success rate ({SWEEP_EPISODES} start states)")

# %% [markdown]
# The benchmark ran the same trials with more seeds and a longer budget; the same figure from its
# results file:

# %%
viz.curves({METHODS[m]: [(r["steps"], r["success"]) for r in bench["runs"] if r["method"] == m] for m in METHODS},
           band="iqm", title=f"Benchmark: {bench['seeds']} seeds, IQM and 95% bootstrap CI",
           y_title=f"success rate ({bench['eval_episodes']} start states)")

# %% [markdown]
# Where the bands of DSRL and residual PPO overlap, the benchmark cannot rank them; where PPO from
# scratch's band spans the whole range, its seeds disagree: the prior's advantage is that its band is
# narrow. With so few seeds the intervals are wide; more seeds narrow them (open question 5).

# %% [markdown]
# ## Summary
# * A frozen diffusion prior plugs into *stock* SB3 through a vec-env wrapper: residual RL
#   (`ResidualVecEnv`: the agent sees the prior's action and outputs a bounded correction,
#   $a = \mathrm{clip}(p + \beta h \rho)$) or DSRL (`NoiseSpaceVecEnv`: the agent outputs the prior's
#   initial noise, one chunk per step, $a = \mathrm{denoise}(w, s)$). Sample-and-select
#   (`SampleSelectSAC`) needs no wrapper: $a = \arg\max_i \min(Q_1, Q_2)(s, a^i)$. The agent's code does
#   not change; compare runs in environment steps, not agent steps.
# * With DDIM the prior is a function of its noise: the noise chooses the behaviour, which is why a
#   DSRL agent can adapt the prior without touching its weights.
# * Where the prior's behaviour *contains* the solution (TwoRoutesBlocked: the left route), the prior
#   turns a sparse-reward search into a short, reliable adaptation: both agents start with reward in
#   hand, while PPO from scratch depends on luck to find the goal at all.
# * Where it does not (PushBlock: precise pushing the prior rarely does), neither agent closed the gap
#   in the budget of a CPU laptop.
# * Measure before you claim: fixed evaluation states, several seeds, IQM with bootstrap intervals;
#   overlapping bands mean "not told apart".
#
# ## Exercises
# Checkable (each `lk.check` cell above says "not yet" until it is right):
#
# 1. *(10 minutes)* `07.noise_to_chunk` (section 2): DSRL's action map from noise to executed chunk;
#    the check compares it with what `NoiseSpaceVecEnv` executes for the same action.
# 2. *(10 minutes)* `07.residual_action` (section 3): the residual composition with the kit's scale
#    convention; the check compares it with `ResidualVecEnv.execute` on an action box that is not
#    $[-1, 1]$, where the half-range matters.
# 3. *(15 minutes)* `07.select_candidate` (section 8): sample-and-select's pick with SAC's twin critics;
#    the check compares it with the pick `SampleSelectSAC` makes (`labkit.policies.select_by_value`).
#
# Open questions (worked answers in `solutions/07_plug_priors_into_sb3.py`):
#
# 1. **The residual's leash.** Train residual PPO with a small `scale` instead of the task's
#    (`train_with_prior("residual", TASK.env_id, prior, ENV_STEPS, **{**TASK.kwargs("residual"), "scale": 0.3})`).
#    Does it still reach the threshold? Can a small correction still change the route? Why is a larger
#    scale a trade-off?
# 2. **DSRL's box.** Train DSRL with `bound=1.0` and `bound=3.0`. Compare the steered-noise histogram
#    with the one above: which bound keeps the prior on inputs it was trained on?
# 3. **Shaping.** Make the blocked task with its dense reward (`lk.make(TASK.env_id, reward="dense")`, or
#    register your own id) and train PPO from scratch: how many steps does it need now? What does that
#    say about when a prior is worth having?
# 4. **A better PushBlock prior.** Train one on the successful demonstrations only, for longer
#    (`lk.behaviour_cloning("diffusion", demos.filter(demos.episode_fields["success"]), preset="prior", iterations=8_000)`)
#    and evaluate it. Are its failures nearer misses? Does residual PPO or DSRL
#    (`train_with_prior(..., PUSH, better_prior, 50_000)`) now improve on it?
# 5. **How many seeds?** Rerun the sweep of *Across seeds* with twice the seeds (`out="runs/nb07"` keeps
#    finished trials, so a rerun only adds the new ones). How much narrower do the bands get? Does the
#    ranking of DSRL and residual PPO change?

# %%
assert all(len(log.history) >= 2 and log.history[-1]["env_steps"] >= ENV_STEPS for rs in runs.values() for _, log in rs), \
    "every run is evaluated at least twice and uses its whole budget of environment steps"
assert all(r["env_steps"] >= SWEEP_BUDGET for r in sweep.ok), "every sweep trial used its budget"

# %% [markdown]
# ## Read next
# * Silver et al., *Residual Policy Learning*, [arXiv:1812.06298](https://arxiv.org/abs/1812.06298): the
#   residual on a fixed controller.
# * Ankile et al., *From Imitation to Refinement: Residual RL for Precise Assembly* (ResiP),
#   [arXiv:2407.16677](https://arxiv.org/abs/2407.16677); code:
#   [ankile/robust-rearrangement](https://github.com/ankile/robust-rearrangement).
# * Wagenmaker et al., *Steering Your Diffusion Policy with Latent Space Reinforcement Learning* (DSRL),
#   [arXiv:2506.15799](https://arxiv.org/abs/2506.15799); code: [ajwagen/dsrl](https://github.com/ajwagen/dsrl).
# * Yuan et al., *Policy Decorator: Model-Agnostic Online Refinement for Large Policy Model*,
#   [arXiv:2412.13630](https://arxiv.org/abs/2412.13630): a bounded residual with controlled exploration.
# * Hansen-Estruch et al., *IDQL*, [arXiv:2304.10573](https://arxiv.org/abs/2304.10573): sample-and-select
#   from a diffusion behaviour policy (notebook 08).
# * Agarwal et al., *Deep RL at the Edge of the Statistical Precipice*,
#   [arXiv:2108.13264](https://arxiv.org/abs/2108.13264): IQM and bootstrap intervals (`rliable`).
