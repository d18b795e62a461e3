# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Solutions · 12 · Policy safety and the open challenges
#
# Each `# SOLUTION` cell replaces the notebook's `# EXERCISE` cell of the same name (check line
# included); `python -m labkit run-notebooks --solutions` applies them. They use the notebook's imports
# (`lk`, `np`, `ex`).

# %% [markdown]
# ## 12.project_point
# The nearest point outside a disk is on the ray from its centre through the point. A point exactly at
# the centre has no ray: any direction is as near; pick one. Expect the check to pass at once; it
# compares with `Hazards.project_point` on fifty random points (no training: instant).

# %%
# SOLUTION 12.project_point
def project_point(p, center, radius, margin):
    """p (2,), center (2,) -> the nearest point at distance >= radius + margin from center."""
    p, c = np.asarray(p, float), np.asarray(center, float)
    offset = p - c
    dist = float(np.hypot(*offset))
    if dist >= radius + margin:
        return p
    direction = offset / dist if dist > 1e-9 else np.array([1.0, 0.0])
    return c + (radius + margin) * direction


lk.check("12.project_point", project_point)

# %% [markdown]
# ## 12.lagrange_step
# Projected gradient ascent: the Lagrangian `J_r - lam (J_c - d)` decreases in `lam` when the
# constraint holds, so `lam` goes *up* by `lambda_lr * (J_c - d)` when the cost is over the limit and
# down otherwise, never below 0 (and, in the kit, never above `lambda_max`). The check replays thirty
# random cases against `LagrangeMultiplier.update`; it runs instantly.

# %%
# SOLUTION 12.lagrange_step
def lagrange_step(lam, mean_cost, cost_limit, lambda_lr, lambda_max):
    """The new lambda after one rollout whose episodes cost `mean_cost` on average."""
    return float(np.clip(lam + lambda_lr * (mean_cost - cost_limit), 0.0, lambda_max))


lk.check("12.lagrange_step", lagrange_step)

# %% [markdown]
# ## 12.frozen_prefix
# Index `j` of the new chunk (planned at time `t`) and index `j + s` of the previous one (planned at
# `t - s`) are the same control step. During the `d` steps of inference the robot runs the previous
# chunk's indices `s .. s + d - 1`, so those are the new chunk's first `d` actions. (With an
# observation history `To > 1` both indices shift by `To - 1`, the chunk's "now".) The check tries four
# `(s, d)` pairs; instant.

# %%
# SOLUTION 12.frozen_prefix
def frozen_prefix(previous, s, d):
    """previous (H, A) -> the (d, A) actions the new chunk must start with."""
    return np.asarray(previous)[s : s + d]


lk.check("12.frozen_prefix", frozen_prefix)

# %% [markdown]
# ## Open question: why does kickstarting protect the old task less than BC?
# Both pull the policy towards the pre-trained one with the same KL; they differ in *where*. The BC
# term averages it over the pre-training data, which includes the right lane (the old task's states).
# Kickstarting averages it over the states of the current rollouts, and fine-tuning on
# TwoRoutesBlocked never drives up the right lane again: there, nothing holds the policy, and the
# network drifts as it learns the new task elsewhere (Wołczyk et al.'s *state coverage gap*). Across
# seeds expect kickstarting's old-task success to end between plain fine-tuning's and BC's, and to vary
# more; `benchmarks/results/safety.json` (the full run), part `forgetting`, has the three-seed numbers.
#
# ## Open question: elicit, then constrain
# Train again with the elicited unsafe starts mixed into the start distribution (half of the training
# episodes start from one of them), then elicit again. The cell below takes about as long as one
# Lagrangian run of the notebook. Expect the unsafe share of uniform starts to fall, and the cost at the
# usual start to stay near the limit; how much it falls varies with the seed (a few thousand more
# steps help). This is SafeVLA's loop in miniature: elicit -> constrain -> assure.

# %%
pool = elicited.starts[elicited.costs > 0]
run2 = ex.train_safe_rl(COST_LIMIT, preset, seed=SEED, prior=prior, start_pool=pool)
elicited2 = ex.elicit_starts(run2["model"], preset, prior=prior, config=el_cfg)
print(f"unsafe share of uniform starts: {elicited.uniform_unsafe_share:.0%} -> {elicited2.uniform_unsafe_share:.0%}; "
      f"cost at the usual start: {runs['lagrangian']['final']['cost']:.2f} -> {run2['final']['cost']:.2f}")
