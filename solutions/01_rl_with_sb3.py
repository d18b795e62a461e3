# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Solutions · 01 Reinforcement learning with Stable-Baselines3

# %%
# SOLUTION 01.discounted_return
import numpy as np


def discounted_return(rewards, gamma):
    """G_t for every step t of one episode: (T,) rewards -> (T,) returns."""
    returns = np.zeros(len(rewards))
    future = 0.0
    for t in reversed(range(len(rewards))):  # backwards: G_t = r_t + gamma * G_{t+1}
        future = rewards[t] + gamma * future
        returns[t] = future
    return returns


lk.check("01.discounted_return", discounted_return)

# %% [markdown]
# The loop runs backwards because $G_t$ needs $G_{t+1}$. No seeds involved; instant.

# %%
# SOLUTION 01.clipped_objective
def clipped_objective(ratio, advantage, eps):
    """min(r A, clip(r, 1 - eps, 1 + eps) A) for arrays of ratios and advantages."""
    return np.minimum(ratio * advantage, np.clip(ratio, 1 - eps, 1 + eps) * advantage)


lk.check("01.clipped_objective", clipped_objective)

# %% [markdown]
# For a positive advantage the objective stops growing at $\rho = 1 + \epsilon$; for a negative one it
# stops falling at $\rho = 1 - \epsilon$. Instant.
#
# **Exercise 3 (open question).** A wrapper such as
#
# ```python
# class DistanceReward(gym.Wrapper):
#     def reset(self, **kw):
#         obs, info = self.env.reset(**kw)
#         self.prev = info["distance"]
#         return obs, info
#     def step(self, a):
#         obs, r, term, trunc, info = self.env.step(a)
#         r, self.prev = 10 * (self.prev - info["distance"]), info["distance"]
#         return obs, r, term, trunc, info
# ```
#
# trained as in section 1 (`make_vec_env(lambda: DistanceReward(lk.make("labkit/TwoRoutes-v0")), ...)`)
# drives the agents straight up into the cup's pocket, the nearest point to the goal in straight-line
# distance: a local optimum that the path-length reward of the task removes. Expect every seed to stall
# there within the same budget; about a minute of compute per seed on 2 cores.
#
# **Exercise 4 (open question).** An agent that learnt the left route usually still succeeds when the
# cup moves right (its route got shorter); one that learnt the right route now meets the cup's wall
# sooner and often fails or needs longer. Which seed fails depends on which route it committed to in
# training, which is the point of notebook 01's last section. Instant (evaluation only).
