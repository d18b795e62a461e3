# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Solutions · 04 Rewards from generative models
# Each `# SOLUTION` cell replaces the matching `# EXERCISE` cell of `notebooks/04_generative_rewards.py`.

# %%
# SOLUTION 04.kl_weight
import math


def kl_weight(a_t: float, a_s: float) -> float:
    beta_ts = 1.0 - a_t / a_s
    var = (1.0 - a_s) / (1.0 - a_t) * beta_ts
    if var <= 0:  # the last step (s = -1) is deterministic: it adds nothing to the bound
        return 0.0
    c0 = math.sqrt(a_s) * beta_ts / (1.0 - a_t)
    return c0**2 / (2.0 * var)


lk.check("04.kl_weight", kl_weight)

# %% [markdown]
# What to expect: the check compares with the weights the diffusion reward itself uses on its 10-step
# DDPM schedule; it is exact (no randomness), and instant. The weights grow towards small noise levels: a
# disagreement between the final sample and the model's guess costs most where the model was supposed
# to be nearly done.

# %%
# SOLUTION 04.goal_projection
import numpy as np


def vlm_reward(x: np.ndarray, g: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    d = g - b
    P = alpha * np.outer(d, d) / (d @ d) + (1.0 - alpha) * np.eye(len(d))
    return 1.0 - np.sum(((x - g) @ P) ** 2, axis=-1) / 2.0


lk.check("04.goal_projection", vlm_reward)

# %% [markdown]
# What to expect: exact, instant (random unit vectors, three values of alpha). With `alpha = 0` the reward
# is the cosine `x @ g`; with `alpha = 1` only the component of `x - g` along `d` counts, so two images that
# differ only in directions orthogonal to `d` (e.g. left versus right of the cup, when goal and baseline
# both say nothing about sides) get the same reward.

# %%
# SOLUTION 04.shaping
def shaped(phi: np.ndarray, gamma: float, terminated: bool) -> np.ndarray:
    phi = np.asarray(phi, dtype=float).copy()
    if terminated:
        phi[-1] = 0.0  # the absorbing state after the end has potential 0
    return gamma * phi[1:] - phi[:-1]


lk.check("04.shaping", shaped)

# %% [markdown]
# What to expect: exact, instant. The check also verifies the telescoping sum: the discounted shaped return
# equals `gamma**T * phi[T] - phi[0]` (and `-phi[0]` for a terminated episode), which is why the shaping
# cannot change which policy is best. Forgetting the terminal case (keeping `phi[T]`) fails the check: an
# agent would then be paid `gamma * phi[T]` for ending, i.e. the learned reward again decides whether
# finishing is worth it.
#
# **Open question (a): why a frame skip?** With `stride=1` the model predicts the next position one control step
# ahead. Over one control step the change of position is dominated by the current velocity and by PPO's
# exploration noise (an initial policy std of 1 on actions in [-1, 1]), so the model's confidence says
# little about *where* the robot is on the demonstrations' path; the reward map is flat and noisy, and in
# our runs PPO found no success in the budget. Over five steps the expert's direction of travel dominates
# and the noise averages out; the map then separates the two corridors of the demonstrations from the
# pocket of the cup. (`lk.experiments.rewards.run_reward` with a modified `REWARDS` entry reproduces this; a few CPU
# minutes per seed.)
#
# **Open question (b): captions that go round the cup.** Captions that name progress along a route
# ("the robot has passed the cup on the left", "the robot is beside the cup") and a goal prompt about
# passing the cup would make the landscape follow the routes. But then the captions encode the path-length
# structure that the engineer's dense reward encodes: the "language" has become a hand-written reward.
# This is the honest limit of a self-trained VLM; VLM-RMs' point is that a large pretrained CLIP brings
# such knowledge without anyone writing it down, and that is what we cannot reproduce offline on a CPU.
