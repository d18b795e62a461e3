# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Solutions · 00 The map, and a working set-up
#
# Each code cell replaces the exercise cell with the same id (`# EXERCISE 00.x` -> `# SOLUTION 00.x`);
# `python -m labkit run-notebooks --solutions` runs the notebook with all of them.

# %%
# SOLUTION 00.sizes
sizes = (env.observation_space.shape[0], env.action_space.shape[0])  # (8, 2)
lk.check("00.sizes", sizes)

# %% [markdown]
# The observation holds the robot's position and velocity, and the goal and the obstacle relative to
# the robot (two numbers each); the action is a desired velocity in the plane. Instant; no seeds involved.

# %%
# SOLUTION 00.shorter_route
shorter = "left"  # the cup moved right, so its left edge is nearer the centre line
lk.check("00.shorter_route", shorter)

# %% [markdown]
# **Exercise 3 (open question).** A policy must *choose* a route at the split, but nothing it observes
# says which: the demonstrations hold two equally good actions for the same state. A model of the
# demonstrations that averages them (a Gaussian, a mean-squared-error regression) predicts the mean of
# the two, straight up into the cup; a generative model that represents both modes (a diffusion policy)
# samples one of them. Notebook 02 shows the average failing, notebook 03 the diffusion policy keeping
# both routes.
