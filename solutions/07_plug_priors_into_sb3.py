# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Solutions · 07 Plug a diffusion prior into Stable-Baselines3

# %%
# SOLUTION 07.noise_to_chunk
def noise_to_chunk(prior, history, w, bound):
    """DSRL's action map: noise w (B, H*A) and observation histories (B, To, obs_dim) -> executed actions (B, Ta, A).

    Clip w to the box, reshape it to the prior's x_T (B, H, A) and let the frozen prior decode it
    (prior.predict_action(history_tensor, noise=x_T) runs its DDIM sampler from that x_T).
    """
    H, A = prior.config.horizon, prior.config.action_dim
    x_T = torch.as_tensor(np.clip(w, -bound, bound), dtype=torch.float32).reshape(len(w), H, A)  # (B, H, A)
    with torch.no_grad():
        return prior.predict_action(torch.as_tensor(history, dtype=torch.float32), noise=x_T).numpy()  # (B, Ta, A)


lk.check("07.noise_to_chunk", noise_to_chunk)

# %% [markdown]
# The clip matters: PPO's Gaussian samples beyond the box, and `NoiseSpaceVecEnv` clips before it
# decodes (SB3 also clips actions to the action space, so both agree). With $\eta = 0$ the DDIM sampler
# draws nothing else, so the map is deterministic: the same $w$ and history give the same chunk. No
# seeds involved; instant.

# %%
# SOLUTION 07.residual_action
def residual_action(prior_action, residual, scale, low, high):
    """The executed action (n, A) from the prior's action p_t (n, A) and the agent's residual r_t (n, A).

    scale: the kit's residual scale, a fraction of the action box's half-range (high - low) / 2;
    low, high: (A,) the action box. The residual counts only within [-1, 1].
    """
    half_range = (np.asarray(high) - np.asarray(low)) / 2  # (A,)
    return np.clip(prior_action + scale * half_range * np.clip(residual, -1.0, 1.0), low, high)


lk.check("07.residual_action", residual_action)

# %% [markdown]
# On labkit's tasks the box is $[-1, 1]$, so $h = 1$ and `scale` is the largest correction per axis;
# on a box of another size, `scale` keeps that meaning as a fraction of the range. Instant.

# %%
# SOLUTION 07.select_candidate
def select_candidate(critic, obs, candidates):
    """Sample-and-select's pick: obs (n, obs_dim), candidates (n, N, A) in SAC's scaled units -> chosen (n, A).

    critic(obs_t, act_t) is SB3's twin critic: two tensors (n*N, 1) for obs_t (n*N, obs_dim), act_t (n*N, A).
    """
    n, N, A = candidates.shape
    obs_t = torch.as_tensor(np.repeat(obs, N, axis=0), dtype=torch.float32)  # (n*N, obs_dim), row i repeated N times
    act_t = torch.as_tensor(candidates.reshape(n * N, A), dtype=torch.float32)  # (n*N, A), the same order
    with torch.no_grad():
        q1, q2 = critic(obs_t, act_t)  # (n*N, 1) each
    q = torch.minimum(q1, q2).reshape(n, N)  # pessimistic, as SAC's own target
    return candidates[np.arange(n), q.argmax(dim=1).numpy()]  # (n, A)


lk.check("07.select_candidate", select_candidate)

# %% [markdown]
# `np.repeat` (each row N times, consecutively) and `reshape(n * N, A)` must agree on the order, or
# every candidate is scored against another state's observation. The minimum of the twin critics is
# what SAC uses against over-estimation; an argmax over candidates is exactly where over-estimation
# bites. A couple of seconds (building the SAC agent of the check).
#
# **Open question 1 (the residual's leash).** With `scale=0.3` a correction is at most that much per
# axis on top of the prior. It can still change the route in principle (the route is decided below the
# cup, and after a sideways push there the prior carries the robot round), but the push has to beat
# the prior's own action, which heads right about half the time, and PPO finds it slowly: in a check
# run of two seeds at the notebook's budget both improved on the prior and neither reached the
# threshold, where the task's `scale=1.0` reached it in both. A larger scale lets the agent override the
# prior where it is wrong, but also lets early random corrections destroy the prior's good behaviour
# (the dips of section 3): the trade-off between reach and safety. Expect the small scale to be the
# more stable and the slower across seeds. One to two minutes per seed on 2 cores (residual PPO is the
# slowest of the three methods per env step).
#
# **Open question 2 (DSRL's box).** With `bound=1.0` the box clips about a third of the agent's noise
# (print `(np.abs(noise) >= bound - 1e-6).mean()`): the agent presses against the box, its $x_T$ is
# narrower than $\mathcal{N}(0, 1)$ and piles up at the corners, and it learns more slowly (in a check run
# both seeds still reached the threshold, later than with the default). With `bound=3.0` almost nothing
# is clipped and the histogram looks like the default's: the agent's Gaussian starts as
# $\mathcal{N}(0, 1)$ and, on this task, never needs to go far, so a wide box costs nothing here; it
# would matter on a task where the agent pushes hard, since $x_T$ beyond a few standard deviations is
# input the prior never saw (the large shifts of section 2 show what such noise does). So the bound is
# a safety rail: $[-2, 2]$ holds what the prior saw in training while leaving the agent room. About
# half a minute per run.
#
# **Open question 3 (shaping).** With the dense reward (progress along the shortest path round the
# cup) PPO from scratch learns the open left route in every seed of a check run, and *faster* than the
# prior-based agents on the sparse task, because the reward itself points the way. A prior is worth
# most when the reward is sparse and exploration is the bottleneck; with a good shaped reward it mostly
# saves the work of designing one (and a shaped reward can mislead, as notebook 01's distance reward
# did). Register the task with `gymnasium.register("my/TwoRoutesBlockedDense-v0",
# entry_point="labkit.envs.two_routes:TwoRoutesEnv", max_episode_steps=100, kwargs={"blocked": "right",
# "reward": "dense"})` and pass that id to `train_with_prior("scratch", ...)`. About half a minute per
# seed.
#
# **Open question 4 (a better PushBlock prior).** Training on the successful demonstrations only, for
# longer, gives a prior whose failures are nearer misses (the failure histogram moves left) and whose
# success rate is somewhat higher. Residual PPO then has a better chance, since small corrections can
# fix near misses, but at the notebook's budget expect only modest gains over the new prior, within a
# few standard errors: PushBlock needs far more samples than a CPU laptop gives in minutes. Training
# the prior takes a few minutes, each RL run about a minute.
#
# **Open question 5 (how many seeds).** Doubling the seeds narrows the bootstrap bands, roughly with
# the square root of the number of seeds, but not evenly: PPO from scratch stays wide because its
# outcomes are all-or-nothing, while DSRL and residual PPO stay narrow. Their ranking at this small
# budget may flip from one set of seeds to the next; that is what overlapping bands warned of. With
# `out="runs/nb07"` only the new trials run: a few minutes for five more seeds per method in full mode.
