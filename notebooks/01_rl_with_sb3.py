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
# # 01 · Reinforcement learning with Stable-Baselines3
#
# **Place on the map:** Foundations, *RL with SB3*: the "RL" half of every method in the kit. Later
# notebooks plug generative models into exactly these agents (A) or train generative policies with
# these algorithms (B).
#
# **Goals.** (1) Train PPO (on-policy) and SAC (off-policy) on MuJoCo tasks with a live progress bar.
# (2) Read learning curves with a band across seeds. (3) Watch the trained agent. (4) Notice what RL
# alone gives you on a task with two good solutions.
#
# **Prerequisites.** Notebook 00 (the set-up check and the `labkit/TwoRoutes-v0` task); what a policy,
# a return and a discount are.
#
# **Time.** About 40 minutes to read, run and do the exercises; the first code cell prints the measured
# compute time (SAC is the slow part: it updates its networks after every step).
#
# **Key equations.** An agent's *return* from step t is the discounted sum of the rewards that follow,
#
# $$G_t = \sum_{k \ge 0} \gamma^k r_{t+k} = r_t + \gamma G_{t+1},$$
#
# and RL maximises its expectation. **PPO** (Schulman et al., 2017) improves a stochastic policy
# $\pi_\theta$ on batches it just collected, through the probability ratio
# $\rho_t = \pi_\theta(a_t|s_t) / \pi_{\theta_\text{old}}(a_t|s_t)$ and an advantage estimate $A_t$
# (how much better $a_t$ was than usual; SB3 uses GAE, see notebook 10), clipped so that one batch
# cannot move the policy far:
#
# $$L^\text{CLIP}(\theta) = \mathbb{E}_t\big[\min(\rho_t A_t,\ \text{clip}(\rho_t, 1-\epsilon, 1+\epsilon) A_t)\big].$$
#
# (`clip_range` is $\epsilon$ in SB3.) **SAC** (Haarnoja et al., 2018) is off-policy: it learns two
# critics $Q_{\phi_1}, Q_{\phi_2}$ by temporal differences on a replay buffer and an actor that
# maximises value *plus entropy*, so it keeps exploring:
#
# $$\max_\pi\ \mathbb{E}_{s \sim \mathcal{D},\, a \sim \pi}\big[\min_i Q_{\phi_i}(s, a) - \alpha \log \pi(a|s)\big].$$
#
# (A critic $Q(s, a)$ predicts the return after taking $a$ in $s$; $\alpha$ is tuned automatically.)

# %%
import numpy as np
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.env_util import make_vec_env

import labkit as lk  # also sets torch to one thread: small MLPs run fastest so, and a core stays for MuJoCo
from labkit import viz

SMOKE = lk.smoke_mode()
print(lk.course.compute_time("01_rl_with_sb3"))
PPO_STEPS = 2_048 if SMOKE else 40_000
SEEDS = [0, 1] if SMOKE else [0, 1, 2]
EVAL_EVERY = 1_024 if SMOKE else 4_000
print(f"smoke={SMOKE}: PPO {PPO_STEPS} steps x {len(SEEDS)} seeds")

# %% [markdown]
# ## 1. PPO on `labkit/TwoRoutes-v0`
# PPO collects a batch of steps from several environments in parallel (`make_vec_env`), then takes a
# few epochs of clipped policy-gradient steps on it. The reward is *progress* along the shortest way
# round the cup to the goal (`10 x` the decrease in that length; either side counts the same) plus a
# bonus on arrival. Had it been plain distance to the goal, driving into the cup's pocket would pay,
# and PPO gets stuck there: try it in the open question at the end. `TrainingMonitor` shows the bar
# and evaluates the greedy policy every few thousand steps (success rate and return).
#
# First, what the clip does. Move the slider: where the curve is flat, the gradient is zero, so PPO
# stops pushing an action's probability once the ratio has left $[1-\epsilon, 1+\epsilon]$ in the
# direction its advantage asks for. A smaller $\epsilon$ means smaller, safer policy steps.

# %%
viz.ppo_clip_figure()

# %%
ppo_runs, ppo_models = [], []
for seed in SEEDS:
    lk.seed_everything(seed)
    venv = make_vec_env(lambda: lk.make("labkit/TwoRoutes-v0"), n_envs=4, seed=seed)
    model = PPO("MlpPolicy", venv, n_steps=256, batch_size=256, n_epochs=5, learning_rate=1e-3,
                gamma=0.98, seed=seed, verbose=0)
    monitor = lk.TrainingMonitor(eval_env="labkit/TwoRoutes-v0", eval_every=EVAL_EVERY, n_eval_episodes=10)
    lk.learn(model, PPO_STEPS, monitor)  # Ctrl-C / the stop button keeps what was learned
    ppo_runs.append(monitor.log)
    ppo_models.append(model)

# %%
print("PPO env steps per second of training:", [round(log.env_steps / log.seconds) for log in ppo_runs])
viz.curves({"PPO": ppo_runs}, title="PPO on TwoRoutes: success rate (mean and range over seeds)", y_title="success rate")

# %%
viz.curves({"PPO": ppo_runs}, y="mean_return", title="PPO on TwoRoutes: evaluation return", y_title="return")

# %% [markdown]
# ### Watch the agent, and look at *where* it goes
# Each seed's agent, three episodes each, drawn in the plane and coloured by the route it took.

# %%
results = [lk.evaluate(m, "labkit/TwoRoutes-v0", n_episodes=10, seed=100, deterministic=True,
                    record_episodes=1, progress=False) for m in ppo_models]
for seed, res in zip(SEEDS, results):
    print(f"seed {seed}: success {res.success_rate:.0%}, successful routes {res.route_counts}")
viz.trajectories_figure([t for r in results for t in r.trajectories],
                    [f"seed {s}: {route}" for s, r in zip(SEEDS, results) for route in r.routes],
                    title="PPO agents' paths (one colour per seed and route)")

# %%
viz.show_videos({f"PPO seed {s}": r.frames[0] for s, r in zip(SEEDS, results)}, fps=20)

# %% [markdown]
# ## 2. SAC on a robot arm: `Reacher-v5`
# SAC is off-policy: it stores every transition in a replay buffer and updates an actor and two critics
# after each environment step, with an entropy bonus that keeps it exploring. It is far more
# sample-efficient than PPO but much slower per step on a CPU (the next cell prints both rates). We
# give it gymnasium's `Reacher-v5`: a two-joint MuJoCo arm must put its fingertip on a random target
# (return = minus the distance, summed over the episode, minus a small control cost: it rises towards
# zero as the arm learns to reach).

# %%
SAC_STEPS = 400 if SMOKE else 5_000
sac_runs = []
for seed in SEEDS[:2]:
    lk.seed_everything(seed)
    sac = SAC("MlpPolicy", lk.make("Reacher-v5"), learning_starts=200 if SMOKE else 500, learning_rate=1e-3,
              gamma=0.95, policy_kwargs=dict(net_arch=[64, 64]), seed=seed, verbose=0)
    monitor = lk.TrainingMonitor(eval_env="Reacher-v5", eval_every=200 if SMOKE else 1_000,
                              n_eval_episodes=3 if SMOKE else 10)
    lk.learn(sac, SAC_STEPS, monitor)
    sac_runs.append(monitor.log)

print("SAC env steps per second of training:", [round(log.env_steps / log.seconds) for log in sac_runs],
      "| PPO:", [round(log.env_steps / log.seconds) for log in ppo_runs])
viz.curves({"SAC": sac_runs}, y="mean_return", title="SAC on Reacher-v5: evaluation return (mean and range over seeds)",
           y_title="return")

# %%
reacher = lk.evaluate(sac, lambda: lk.make("Reacher-v5", render_mode="rgb_array", width=240, height=240),
                   n_episodes=2, seed=7, deterministic=True, record_episodes=2, progress=False)
print("returns:", np.round(reacher.returns, 1))
viz.show_videos({f"SAC on Reacher, episode {k}": reacher.frames[k] for k in range(2)}, fps=25)

# %% [markdown]
# ## 3. What RL alone gives you, and what the rest of the kit adds
# Look back at the plane: each PPO agent found **one** route and uses it every time. That is what
# reward maximisation does: any optimal behaviour will do, and a Gaussian policy represents one.
# People, and scripted experts, use *both* routes. The rest of the kit is about the meeting of the
# two worlds:
#
# * **02-03** record demonstrations and fit a *generative* policy (diffusion) that keeps both modes,
#   where a Gaussian behaviour-cloning policy averages them or collapses onto one;
# * **07** plugs that generative prior into these same SB3 agents (residual RL, noise-space steering);
# * **08 and 10** use RL to train and fine-tune the generative policy itself.
#
# ## Summary
# * PPO learns TwoRoutes in tens of thousands of steps; SAC learns Reacher in a few thousand, but each
#   of its steps costs much more (the rates are printed above). Bands over seeds show how much a single
#   run can mislead.
# * `TrainingMonitor` + `lk.learn` give progress, evaluation history and interrupt-safe training.
# * An RL agent commits to one of several equally good solutions.
#
# ## Exercises
# 1. *(10 minutes)* Write `discounted_return(rewards, gamma)`: the return $G_t$ of every step of an
#    episode, as an array the length of `rewards`. The check compares it with the kit's GAE at
#    $\lambda = 1$ and a zero value function, which is the same thing.
# 2. *(10 minutes)* Write PPO's per-sample objective `clipped_objective(ratio, advantage, eps)`
#    (arrays in, an array out): the quantity inside the expectation of $L^\text{CLIP}$. The check
#    compares it with `labkit.finetune.ppo_clip_loss`.
# 3. *(open question, 10 minutes of compute)* Reward design matters. Write a `gymnasium.Wrapper` whose
#    `step` replaces the reward by `10 * (previous info["distance"] - info["distance"])` (plain
#    distance to the goal) and train PPO on it as above. Where do the agents end up?
# 4. *(open question)* Run the evaluation on `labkit/TwoRoutesShifted-v0` with the agents trained
#    above. Do they generalise to a moved obstacle? Which seeds fail, and why might that depend on
#    their route?

# %%
# EXERCISE 01.discounted_return
import numpy as np


def discounted_return(rewards, gamma):
    """G_t for every step t of one episode: (T,) rewards -> (T,) returns."""
    raise NotImplementedError  # your code here


lk.check("01.discounted_return", discounted_return)

# %%
# EXERCISE 01.clipped_objective
def clipped_objective(ratio, advantage, eps):
    """min(r A, clip(r, 1 - eps, 1 + eps) A) for arrays of ratios and advantages."""
    raise NotImplementedError  # your code here


lk.check("01.clipped_objective", clipped_objective)

# %%
shifted = [lk.evaluate(m, "labkit/TwoRoutesShifted-v0", n_episodes=5, seed=0, deterministic=True, progress=False)
           for m in ppo_models]
for seed, r in zip(SEEDS, shifted):
    print(f"seed {seed}: shifted-task success {r.success_rate:.0%} via {r.route_counts}")
print("every PPO run was evaluated during training:", all(len(log.history) >= 2 for log in ppo_runs))

# %% [markdown]
# ## Read next
# * Schulman et al., *Proximal Policy Optimization Algorithms*, [arXiv:1707.06347](https://arxiv.org/abs/1707.06347).
# * Haarnoja et al., *Soft Actor-Critic*, [arXiv:1801.01290](https://arxiv.org/abs/1801.01290).
# * OpenAI's *Spinning Up* ([spinningup.openai.com](https://spinningup.openai.com)): the derivations,
#   and the SB3 documentation ([stable-baselines3.readthedocs.io](https://stable-baselines3.readthedocs.io)).
# * Henderson et al., *Deep RL that Matters*, [arXiv:1709.06560](https://arxiv.org/abs/1709.06560):
#   why seeds and bands matter.
