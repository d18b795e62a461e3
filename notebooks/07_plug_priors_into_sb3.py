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
# # 07 · Plug a diffusion prior into Stable-Baselines3: residual RL and DSRL
#
# **Place on the map:** B2 *RL fine-tuning, policy-agnostic methods*: the diffusion policy stays
# frozen and a stock SB3 agent learns *around* it, either by correcting its actions (residual RL) or
# by choosing the noise it starts from (DSRL). Also A, "generative models as plug-and-play priors":
# nothing here retrains the generative model.
#
# **Goals.** (1) Meet a prior that is good but not good enough: a diffusion policy trained on
# TwoRoutes demonstrations, in a world that has changed since (one route is now closed). (2) Train
# PPO from scratch, residual PPO on the prior and DSRL (PPO in the prior's noise space) on the same
# task and compare success against *environment steps*, mean and band over seeds. (3) Look inside: how
# large the learned corrections are, and where the DSRL agent moves the noise compared with the
# N(0, 1) the prior was trained with. (4) Watch the prior and the trained agents. (5) A harder case,
# PushBlock, where a few CPU minutes are not enough, and why. (6) Sample-and-select, where SAC's critic
# picks among the prior's proposals.
#
# **Prerequisites.** Notebook 01 (SB3 PPO, learning curves) and notebook 03 (diffusion policy, action
# chunks, DDPM/DDIM, the TwoRoutes task).
#
# **Time.** About 2-3 minutes on a 2-core laptop (no GPU); the priors are shipped, only the RL agents
# train here. `LABKIT_SMOKE=1` runs everything in seconds with tiny budgets (the numbers then mean
# nothing).

# %%
from collections import Counter

import numpy as np
import plotly.express as px
import torch

import labkit as lk
from labkit import viz
from labkit.experiments.priors import METHODS, TASKS, train_with_prior
from labkit.finetune import SampleSelectSAC, make_residual_env
from labkit.policies import PolicyMismatchError

SMOKE = lk.smoke_mode()
TASK = TASKS["blocked"]  # env, shipped prior and the settings of each method
SEEDS = [0] if SMOKE else [0, 1]
ENV_STEPS = 600 if SMOKE else 24_000  # per run, in environment steps
EVAL_EVERY = 300 if SMOKE else 3_000
EVAL_EPISODES = 4 if SMOKE else 20
PRIOR_EPISODES = 6 if SMOKE else 100
print(f"smoke mode: {SMOKE}; torch threads: {torch.get_num_threads()}")
print(TASK.env_id, "-", TASK.description)

# %% [markdown]
# ## 1. A prior in a world that changed
# `two_routes_prior` ships in `data/` (hash in `data/README.md`). It was made by
# `python -m labkit make-data two_routes_prior`: a `DiffusionPolicy` (MLP denoiser, observation
# history To = 2, chunks of H = 8 actions of which Ta = 4 are executed, DDIM with 10 steps) trained for
# 3,000 iterations (~45 s on one CPU thread) on `two_routes_demos`, the scripted expert's 200 episodes
# that go round the cup on the left or on the right, about half and half (notebooks 02-03).
#
# Now the world changes: in `labkit/TwoRoutesBlocked-v0` an orange barrier closes the right-hand
# route. The observation is the same 8 numbers as before; **nothing in it shows the barrier**, so the
# prior keeps choosing right about half the time, and then it is stuck. The reward is also the kind a
# real task often has: **1 on success, 0 otherwise** (no shaping that points the way).

# %%
prior = lk.load("two_routes_prior")
print("prior:", lk.data.SHIPPED["two_routes_prior"].description)
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
# ## 2. Three agents, one task, one budget
# All three are stock SB3 `PPO("MlpPolicy", ...)` on 8 vectorised envs; only the env they act in
# differs (`labkit.experiments.priors.make_method_env`):
#
# ```
# from scratch:  obs o_t ---------------------------------> PPO --> a_t                    (2 numbers)
# residual:      [o_t, prior action p_t] ----------------> PPO --> r_t;  a_t = clip(p_t + 1.0 r_t)
# DSRL:          o_t -> PPO --> noise w_t in [-2, 2]^(H*A) -> prior DDIM(x_T = w_t) -> Ta = 4 actions
# ```
#
# * A **zero residual** replays the prior, so the residual agent starts where the prior is. Its
#   Gaussian starts narrow (log std = -1.5, corrections of ~0.2 per axis).
# * A **DSRL** agent step executes a whole chunk (4 env steps; its discount is 0.99^4 = 0.96), and
#   every chunk it can produce is one the prior can produce: it searches *within* the demonstrated
#   behaviour. Its PPO policy starts as a Gaussian with mean 0 and standard deviation 1, which is
#   *exactly* the prior's own sampling, x_T ~ N(0, I).
# * The PPO settings of each method are in `TASK.settings` (short rollouts, `n_steps` 32, so that the
#   rare rewards are used soon); they were picked by a small search, as the comment above `TASKS` says; PPO from scratch gets the same rollouts
#   and batch size as residual PPO.
#
# Success is measured every few thousand **environment** steps (a DSRL step counts as the 4 it
# executes) on the same 20 start states (4 in smoke mode) with the same prior draws. Scratch and residual agents are
# evaluated with their mean action (a zero mean residual is the prior); the DSRL agent with its
# stochastic policy, because its mean, x_T = 0, is a single input the prior was never trained on alone
# (`labkit.experiments.priors.EVAL_DETERMINISTIC`). The next cell is the expensive one (1-2 minutes).

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
# **Reading the curves** (full mode; your numbers will differ a little, and the benchmark below has
# five seeds and a longer budget).
#
# * **PPO from scratch** sees reward 0 in every episode until one of them happens to reach the goal;
#   then it learns quickly. *When* that happens is luck: in the benchmark, two of five
#   seeds found the goal and reached 90% by 14,000 env steps; three never found it in 100,000.
# * **Both prior-based agents have reward from the first rollout**: every episode in which the prior
#   takes the left route is a success. That head start *is* the prior's contribution: it explores
#   along demonstrated behaviour. The residual agent's first point is the prior's own success on
#   these 20 states; the DSRL agent's is its initial N(0, I) policy sampled once per state, a noisier
#   estimate of the same thing (with 20 episodes, a success rate of ~45% has a standard error of ~11
#   points).
# * **DSRL** only has to learn *which* noise makes the prior take the left route, a decision the prior
#   makes in its first chunks; in the benchmark it was the fastest.
# * **Residual PPO** can *dip* before it climbs (two of five benchmark seeds fell to 0% for a while):
#   early corrections push the robot off the prior's paths before PPO learns the correction that
#   matters, a push to the left below the cup, after which the prior itself carries the robot round.
#
# `python benchmarks/priors_sample_efficiency.py` (5 seeds, 100,000 env steps per run; README
# "Measured results") measured env steps to 90% success, per seed: **DSRL** 12,079, 6,054, 6,030,
# 10,055, 12,088 (mean 9,261); **residual PPO** 8,000, 20,000, 8,000, 10,000, 38,000 (mean 16,800);
# **PPO from scratch** 14,000, 14,000 and three times never (mean at least 65,600, counting "never" as
# the budget). By that mean DSRL needs at most a fifth of the steps of PPO from scratch (ratio
# <= 0.14) and residual PPO about a quarter (<= 0.26), but read the per-seed numbers: the prior's
# main gift here is *reliability*.
# A lucky scratch run is not much slower; an unlucky one never starts.

# %% [markdown]
# ## 3. Inside the residual agent: how big are its corrections?
# `ResidualVecEnv.residual_history()` holds |1.0 r_t| for every step of every training env. PPO starts
# with a narrow Gaussian and changes it as it learns; a correction that grows means the agent wants to
# leave the prior's behaviour somewhere, one that shrinks means it trusts the prior.

# %%
viz.residual_magnitude_figure({f"seed {log.meta['seed']}": model.get_env().residual_history()
                               for model, log in runs["residual"]})

# %%
print("PPO log std per action axis at the end:", [np.round(model.policy.log_std.detach().numpy(), 2).tolist()
                                                  for model, _ in runs["residual"]])
probe = lk.make("labkit/TwoRoutes-v0").unwrapped
below_cup = probe.observation_at((0.0, -0.25), (0.0, 0.3))  # (8,) on the centre line, below the cup
agent = runs["residual"][0][0]
for label, p_action in [("prior goes left", [-0.8, 0.5]), ("prior goes right", [0.8, 0.5])]:
    residual, _ = agent.predict(np.concatenate([below_cup, p_action]).astype(np.float32), deterministic=True)
    print(f"below the cup, {label:16s}: mean residual {np.round(residual, 2)}")

# %% [markdown]
# The last lines ask the trained residual agent what it adds below the cup, for a prior action that
# heads left and one that heads right. In our full run both corrections pointed left and up (x about
# -0.9 and -0.2, y about +0.7 and +0.5): rather than a correction tailored to the prior's action, the
# agent learned a push to the left below the cup, after which the prior itself carries the robot round
# on the left. Probe other positions with `probe.observation_at(...)` to see where it intervenes.

# %% [markdown]
# ## 4. Inside the DSRL agent: where does it move the noise?
# The prior was trained to denoise x_T ~ N(0, I). The DSRL agent chooses x_T itself, within [-2, 2].
# The histogram compares its choices early and late in training with the N(0, 1) density; the dropdown
# shows one of the H * A = 16 coordinates at a time (coordinate 2k is the x velocity of the k-th
# action of the chunk, 2k + 1 its y velocity). A distribution that moves away from N(0, 1) means the
# agent has found *which* of the prior's behaviours pays.

# %%
dsrl_env = runs["dsrl"][0][0].get_env()
noise = dsrl_env.steered_noise()
print(f"{len(noise)} steered noise vectors of size {noise.shape[1]}; "
      f"mean {noise.mean():+.2f}, std {noise.std():.2f} (N(0, 1): 0, 1); "
      f"share at the bounds: {(np.abs(noise) >= dsrl_env.bound - 1e-6).mean():.1%}")
late = noise[-len(noise) // 5:]
print("late in training, mean of the x-velocity noise coordinates:", np.round(late[:, 0::2].mean(axis=0), 2))
print("late in training, mean of the y-velocity noise coordinates:", np.round(late[:, 1::2].mean(axis=0), 2))
viz.steered_noise_figure(noise, bound=dsrl_env.bound)

# %% [markdown]
# Look at the x-velocity coordinates (even indices) late in training: in our full run most of their
# means moved below 0 (down to about -0.5), while the overall spread stayed close to N(0, 1)'s.
# Negative noise in x decodes, through the frozen DDIM sampler, to chunks that head left: the agent
# has learned to ask the prior for its left-hand behaviour, and nothing else about the prior changed.

# %% [markdown]
# ## 5. Before and after
# One start state on which the prior alone takes the closed route: the prior alone (zero residual),
# the residual agent (its mean correction) and the DSRL agent (sampling its policy, as it is evaluated).

# %%
video_seed = lk.rollout.find_start(prior, TASK.env_id, success=False)
if video_seed is None:
    video_seed = 0
    print("the prior succeeded from the first 20 start states; showing start state 0 anyway")
before, ok_before = lk.record(prior, TASK.env_id, seed=video_seed)
after, ok_after = lk.record(runs["residual"][0][0], TASK.env_id, seed=video_seed)  # the agent on its prior
dsrl_after, ok_dsrl = lk.record(runs["dsrl"][0][0], TASK.env_id, seed=video_seed, deterministic=False)
for name, ok, frames in [("prior alone", ok_before, before), ("residual agent", ok_after, after),
                         ("DSRL agent", ok_dsrl, dsrl_after)]:
    print(f"{name:15s}: {'success' if ok else 'no success'} in {len(frames) - 1} steps")
viz.show_videos({"before: prior alone": before, "after: prior + residual PPO": after, "after: DSRL": dsrl_after}, width=220)

# %% [markdown]
# ## 6. A harder case: PushBlock
# Not every gap closes in minutes. `labkit/PushBlock-v0`: a disk pusher must push a sliding square
# block into a target pose (within 2.5 cm and 0.25 rad) in 200 steps at 20 Hz. Observation `(13,)`:
# pusher position and velocity, block pose, block-to-target offset and angle error; action `(2,)`:
# the pusher's desired velocity. Contact makes it hard: the pusher must get behind the block and push
# off-centre to turn it.
#
# `push_block_prior` (`python -m labkit make-data push_block_prior`): the same kind of prior, trained
# for 3,000 iterations (~75 s) on `push_block_demos`: 200 episodes of the scripted `PushBlockExpert`,
# **failures kept** (the expert misjudges the target a little in every episode and succeeds ~75% of the
# time). The imitation is worse than the demonstrator.

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
# from the target (`obs[10:12]`). Compare the prior's failures with the expert's:

# %%
expert_eval = lk.evaluate(lk.experts.PushBlockExpert(), PUSH, PRIOR_EPISODES, seed=0, progress=False)
print(f"expert: {expert_eval.success_rate:.0%} success; prior: {push_eval.success_rate:.0%} success")
viz.final_error_figure({"expert": expert_eval, "prior": push_eval}, tolerance=0.025,
                   title="PushBlock: where failed episodes leave the block")

# %% [markdown]
# The expert's failures are near misses (a few cm: its aim is off). Many of the prior's failures are
# *gross*: the block ends 10-30 cm away, pushed off course or left behind when the pusher loses
# contact.
#
# `python benchmarks/priors_sample_efficiency.py --task pushblock` runs the same three methods here
# (3 seeds, 50,000 env steps each, the `PPO_DEFAULTS` settings: residual scale 0.3). In our run PPO
# from scratch stayed at 0% throughout; residual PPO went from 28% to 25% (best 30%); DSRL from 20% to
# 33% (best 35%; all three seeds ended 10-20 points above their start, the only hint of progress).
# None came near 90%. Try a longer budget (`--steps 150000`) or a better prior (exercise 4).
#
# **What limits it.** (1) The prior's failures are mostly gross, and a small residual cannot rescue a
# block pushed 20 cm off course; DSRL can only choose among the behaviours the prior already has.
# (2) PPO is on-policy and sample-hungry: 50,000 env steps are 250 PushBlock episodes, and each
# success needs the block within 2.5 cm *and* 0.25 rad at the same time, a precision problem rather
# than the single decision of TwoRoutesBlocked. Published residual and DSRL results on such tasks use
# thousands of parallel simulated envs or off-policy learners with many updates per step, and millions
# of steps. (3) Runs that differ by 10 points on 20 evaluation episodes are within noise: the standard
# error of a 25% success rate over 20 episodes is ~10 points.

# %% [markdown]
# ## 7. Sample-and-select: the prior proposes, SAC's critic picks
# `SampleSelectSAC` is stock SAC with one method replaced: to act, it draws N = 8 actions from the
# prior (plus one from its own actor) and executes the one its critic Q(s, a) rates highest. The
# critic learns from those transitions with SAC's usual loss. It needs no wrapper, but SAC updates
# after every step and the prior runs at every step (no chunks), so it is ~10x slower per env step
# than PPO: here only a short run on PushBlock (dense reward) to see the mechanics.

# %%
SELECT_STEPS = 60 if SMOKE else 1_000
select = SampleSelectSAC("MlpPolicy", lk.make(PUSH), prior=push_prior, n_candidates=8,
                         learning_starts=min(200, SELECT_STEPS // 2), batch_size=128, seed=0)
select.learn(SELECT_STEPS)
select_eval = lk.evaluate(select, PUSH, 4 if SMOKE else 20, seed=10_000, deterministic=True, progress=False, batch_size=1)
print(f"sample-and-select after {SELECT_STEPS} steps: {select_eval.success_rate:.0%} success over "
      f"{len(select_eval.successes)} episodes (prior alone: {push_eval.success_rate:.0%})")

# %% [markdown]
# After 1,000 steps the critic has seen ~5 episodes. In our run its greedy choice among the prior's
# candidates was *worse* than sampling the prior (5% vs 23%): an argmax over a barely trained Q picks
# the candidates whose value it overestimates most. Selection pays only once the critic is trained on
# much more data (IDQL trains it offline on the whole dataset first; notebook 08).

# %% [markdown]
# ## Summary
# * A frozen diffusion prior plugs into *stock* SB3 through a vec-env wrapper: residual RL
#   (`ResidualVecEnv`: the agent sees the prior's action and outputs a bounded correction) or DSRL
#   (`NoiseSpaceVecEnv`: the agent outputs the prior's initial noise, one chunk per step). The agent's
#   code does not change; compare runs in environment steps, not agent steps.
# * Where the prior's behaviour *contains* the solution (TwoRoutesBlocked: the left route), the prior
#   turns a sparse-reward search into a short, reliable adaptation: both agents start with reward in
#   hand and, in the benchmark, every seed reached 90% (DSRL fastest), while PPO from scratch depended
#   on luck to find the goal at all.
# * Where it does not (PushBlock: precise pushing the prior rarely does), neither agent closed the gap
#   in the budget of a CPU laptop. Measure before you claim: bands over seeds and fixed evaluation
#   states keep noise from looking like learning.
# * The prior in the loop costs one batched denoising call per chunk (~4 ms for 10 DDIM steps, for all
#   8 envs at once). `ChunkRunner` (align=True) keeps the envs' chunks in step so that the call is shared: about one
#   call per 3 env steps rather than nearly one per step when episodes end at different times
#   (`benchmarks/prior_calls.py`).
#   Throughput against the same PPO without the prior is in the benchmark (README "Measured results").
# * Sample-and-select needs no wrapper but runs the prior every step and SAC's updates every step: the
#   slowest of the three per env step.
#
# ## Exercises
# 1. **The residual's leash.** Train residual PPO with `scale=0.3` instead of 1.0
#    (`train_with_prior("residual", TASK.env_id, prior, ENV_STEPS, **{**TASK.kwargs("residual"), "scale": 0.3})`).
#    Does it still reach 90%? Can a small correction still change the route? Why is a larger scale a
#    trade-off?
# 2. **DSRL's box.** Train DSRL with `bound=1.0` and `bound=3.0`. Compare the steered-noise histogram
#    with the one above: which bound keeps the prior on inputs it was trained on?
# 3. **Shaping.** Make the blocked task with its dense reward (`lk.make(TASK.env_id, reward="dense")`, or
#    register your own id) and train PPO from scratch: how many steps does it need now? What does that
#    say about when a prior is worth having?
# 4. **A better PushBlock prior.** Train one on the successful demonstrations only, for longer
#    (`lk.behaviour_cloning("diffusion", demos.filter(demos.episode_fields["success"]), preset="prior", iterations=8_000)`)
#    and evaluate it. Are its failures nearer misses? Does residual PPO or DSRL
#    (`train_with_prior(..., PUSH, better_prior, 50_000)`) now improve on it?

# %%
lk.course.check_true(all(len(log.history) >= 2 and log.history[-1]["env_steps"] >= ENV_STEPS
                         for rs in runs.values() for _, log in rs),
           "every run was evaluated at least twice and used its whole budget of environment steps")
start = np.mean([log.history[0]["success_rate"] for _, log in runs["residual"]])
lk.course.check_true(abs(start - prior_eval.success_rate) <= 0.35,
           f"the residual agent starts near the prior ({start:.0%} vs {prior_eval.success_rate:.0%})",
           "a zero residual replays the prior: the first evaluation should be the prior's success, up to noise")
