# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Solutions · 09 Transformer policies trained offline
#
# Each cell below replaces the exercise cell of the same name in `notebooks/09_decision_transformer.py`
# (run the notebook's set-up cell first). The checks compute the expected values from the kit itself.

# %%
# SOLUTION 09.returns_to_go
def my_returns_to_go(rewards: np.ndarray) -> np.ndarray:
    """Return-to-go of ONE episode: R_t = r_t + r_{t+1} + ... + r_{T-1}, shape (T,)."""
    return np.cumsum(np.asarray(rewards, dtype=np.float64)[::-1])[::-1]


lk.check("09.returns_to_go", my_returns_to_go)

# %% [markdown]
# A reversed cumulative sum. Deterministic (no seeds involved); the check compares three episodes of
# `two_routes_mixed` (an expert, a noisy and a failing one) with `returns_to_go`; it runs in well under
# a second. A common mistake is the forward `np.cumsum(rewards)`: that is the return *collected so far*,
# which the rollout subtracts from the target.

# %%
# SOLUTION 09.qt_targets
def my_targets(q_s, q_next_first, rewards, dones, gamma):
    """Per-dimension targets (B, d) from q_s (B, d, n): target-net Q at s with the data's cells fed in,
    q_next_first (B, n): Q'_1(s', .), rewards (B,), dones (B,). No Monte-Carlo bound."""
    inner = q_s[:, 1:].max(dim=-1).values  # (B, d-1): y_i = max over the NEXT dimension's cells
    last = rewards + gamma * (1.0 - dones) * q_next_first.max(dim=-1).values  # (B,)
    return torch.cat([inner, last[:, None]], dim=1)  # (B, d)


lk.check("09.qt_targets", my_targets)

# %% [markdown]
# Inside a time step there is no reward and no discount: choosing dimension i is worth the best
# continuation over dimension i + 1. Only the last dimension closes the time step with the reward and
# the discounted value of the next state's first dimension. The check uses random tensors (a fixed
# generator) and compares with `per_dimension_targets`; instant.

# %%
# SOLUTION 09.stitched_return
def my_stitched_return(data, suffix_episode: int) -> float:
    """Return of failing-episode[:h] + suffix, computed from the data's rewards only (no simulator)."""
    seeds = np.asarray(data.episode_fields["reset_seed"])
    quality = np.asarray(data.episode_fields["quality"])
    failing = int(np.flatnonzero((quality == "failing") & (seeds == seeds[suffix_episode]))[0])
    fail, suf = data.episode(failing), data.episode(suffix_episode)
    h = int(np.flatnonzero(np.all(np.asarray(fail["observations"]) == np.asarray(suf["observations"])[0], axis=1))[0])
    return float(np.sum(np.asarray(fail["rewards"], np.float64)[:h]) + np.sum(np.asarray(suf["rewards"], np.float64)))


lk.check("09.stitched_return", my_stitched_return)

# %% [markdown]
# The join is exact: the suffix's first observation *is* the failing episode's observation at step h
# (same seed, same actions so far, deterministic physics), so the sum of the two reward pieces equals
# what `stitched_replay` measures in MuJoCo (to float rounding). The stitched return is about the
# experts' return, far above every single episode in the stitching data. The check re-simulates two
# suffixes (a second or two of CPU).
#
# ## Open questions
# 1. **MSE head.** `run_dt(mixed, action_head="mse")`: at the split the data's high-return actions are
#    "left" and "right" in equal parts; their mean is "straight up", into the pocket: the same failure as
#    Gaussian BC in notebook 03. The categorical head puts its mass on both cells and its argmax picks one.
#    (How often it still succeeds depends on the seed: small asymmetries break the tie.)
# 2. **More than the experts' return on the stitching data.** The first return token is then even further
#    from anything the data shows at the start (only failing episodes start there, with returns below
#    zero), but after the hand-over the return-to-go left over is what decides which suffix the model
#    copies. Whether the larger request helps is an empirical question that changes with the seed: compare
#    the rows "DT (R=12)" and "DT (R=20)" of the stitching data in `benchmarks/results/offline_sequence.json`
#    (per seed in `per_seed`) before you answer.
# 3. **No conservative term.** Cells that the data never took at the split keep whatever the network
#    extrapolates; the greedy argmax can land on one of them (an action nobody tried), and success
#    usually drops. Compare `action_value_figure(QTCritic(qt), ...)` with and without it.
