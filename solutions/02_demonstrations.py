# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Solutions · 02 Demonstrations
#
# Each code cell replaces the exercise cell with the same id (`# EXERCISE 02.x` -> `# SOLUTION 02.x`);
# `python -m labkit run-notebooks --solutions` runs the notebook with all of them.

# %%
# SOLUTION 02.mse_action
x, y = shipped.observations[:, 0], shipped.observations[:, 1]
inside = (x >= SPLIT_X[0]) & (x <= SPLIT_X[1]) & (y >= SPLIT_Y[0]) & (y <= SPLIT_Y[1])
mse_action = shipped.actions[inside].mean(axis=0)  # the minimiser of mean |a_i - a|^2 is the mean of the a_i
lk.check("02.mse_action", mse_action)

# %% [markdown]
# Setting the gradient of $\frac{1}{M}\sum_i \|a_i - \hat a\|^2$ to zero gives
# $\hat a = \frac{1}{M}\sum_i a_i$: the sample version of $\mathbb{E}[a \mid s]$ over the box. It points
# up, slightly off vertical (the check prints the angle): the approach dominates the box, and the
# sideways pushes of the two routes cancel. No seeds involved (the shipped file is fixed); instant.

# %%
# SOLUTION 02.both_routes
n = 3 if SMOKE else 50
left = lk.collect(lk.experts.TwoRoutesExpert(route="left"), "labkit/TwoRoutes-v0", n, seed=1000, expert_name="left",
                  progress=False)
right = lk.collect(lk.experts.TwoRoutesExpert(route="right"), "labkit/TwoRoutes-v0", n, seed=2000,
                   expert_name="right", progress=False)
both = left.concat(right)
print(both.summary()["route_counts"])
lk.check("02.both_routes", both)

# %% [markdown]
# Every episode succeeds by the route it was told, so the counts are exactly `n` and `n` whatever the
# seeds; the split-box actions then hold both lobes of the polar histogram. Use different seeds for
# the two halves, or the two sets start from the same states (harmless here, but a duplicated start
# distribution is a common accident). About a second for `n = 50` on 2 cores.
#
# **Exercise 3 (open question).** Success stays at or near the top up to moderate noise and drops
# only at the largest setting (the table above prints the rates; they move by an episode or two with
# the seed): the expert is a feedback controller, so it corrects its own noise. The lobes widen and
# merge (noise alone turns some of the approach actions sideways, so the sideways share grows a
# little), and the mean keeps pointing up, into the cup.
# Noise is useful for learning because it puts the expert in states slightly off its ideal path and
# records how it recovers: exactly the states a cloned policy reaches after its own small mistakes
# (the covariate shift DAgger addresses). Too much noise teaches the noise itself. The slider data
# take a couple of seconds to record.
#
# **Exercise 4 (open question).** The diffusion policy needs the scripted data: it can only keep
# modes that are in the data, and the PPO data has one. An MSE (or Gaussian) policy is *better off*
# with the PPO data, because a unimodal dataset has no modes to average: its $\mathbb{E}[a \mid s]$
# is a good action. That is why RL-generated demonstrations are easy to clone, and why the rest of the
# kit cares about multimodal human-like data. Instant (a thought experiment; notebook 03 measures it).
