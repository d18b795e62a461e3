# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Solutions · 05 Representations and world models
# Each `# SOLUTION` cell replaces the notebook's `# EXERCISE` cell of the same name (check line included).


# %%
# SOLUTION 05.vip_loss
def my_vip_loss(e0, eg, et, et1, gamma=0.98):
    """VIP's loss from embeddings (B, d) of the clip start, goal, o_t and o_t+1 (reward -1 per step)."""

    def value(e):  # V(o; g) = -||phi(o) - phi(g)||, shape (B,)
        return -torch.linalg.norm(e - eg, dim=-1)

    reward = -1.0
    first = (1.0 - gamma) * (-value(e0)).mean()
    second = torch.log(torch.exp(-(reward + gamma * value(et1) - value(et))).mean())
    return first + second


lk.check("05.vip_loss", my_vip_loss)

# %% [markdown]
# **What to expect.** The check compares with `labkit.world_models.vip_loss` on random embeddings for two
# values of gamma; it runs in well under a second on 2 cores, the same on every seed. A common slip is the
# sign inside the exponential: the term is `exp(-(r + gamma V' - V))`, i.e. `exp(1 + gamma d' - d)` with
# `d = -V`. The library adds `1e-8` inside the log for safety; that changes nothing at the check's tolerance.


# %%
# SOLUTION 05.vip_reward
def my_vip_reward(rep, episode_frames, goal_frame):
    """VIP's reward d(o_t, g) - d(o_t+1, g) for each transition of one episode: (T + 1 frames) -> (T,)."""
    d = rep.distance(episode_frames, goal_frame)  # (T + 1,)
    return d[:-1] - d[1:]


lk.check("05.vip_reward", my_vip_reward)

# %% [markdown]
# **What to expect.** Instant, on any seed. Summed over an episode the rewards telescope to
# `d(o_0, g) - d(o_T, g)`: VIP's return only depends on where the episode starts and ends, which is why it is
# a well-behaved shaping term (a potential-based one, with the potential `-d`).


# %%
# SOLUTION 05.disagreement
def my_disagreement(ensemble, obs, act):
    """Per row, the std over members of the predicted mean next state, in standardised units, averaged over dims."""
    mean, _ = ensemble.predict_all(obs, act)  # (K, B, D + 1): change of state, then reward
    d = ensemble.obs_dim
    delta = mean[:, :, :d] / ensemble.out_std[:d]  # (K, B, D) standardised
    return delta.std(dim=0).mean(dim=-1).numpy()  # (B,)


lk.check("05.disagreement", my_disagreement)

# %% [markdown]
# **What to expect.** Instant. On the map of section 8, the spread is small along the paths SAC drove and
# large in corners it never visited: the members were fitted to the same data and extrapolate differently
# away from it. MBPO does not use this number; uncertainty-aware variants (MOPO, MOReL) subtract it from the
# imagined reward.

# %% [markdown]
# ## Open exercises
# **2. Rollout length.** In the prototype's single-seed runs (5,000 env steps each, one to two CPU minutes
# per run on 2 cores), SAC with a model did *worse* on TwoRoutes with `rollout_length=3` or `5` than with
# one step: the imagined paths leave the data, the reward model's errors (the bonus at the goal is a jump the
# MLP smooths) compound, and the critic learns from them. The slider of section 8 shows the same drift.
#
# **3. Real ratio.** `real_ratio=1.0` with three updates per step is SAC with a higher update-to-data
# ratio; compare it with the benchmark's `sac_same_updates` runs. Whatever gap remains between those and
# MBPO-style SAC is the model's contribution at this budget; the benchmark JSON has the per-seed numbers.
# In the prototype's runs the extra updates alone explained most of the speed-up on TwoRoutes.
#
# **4. A reward from a goal picture.** `VIPReward` replaces the task's reward by `d(o, g) - d(o', g)`. The
# robot is pulled towards frames that *look* closer to the goal in embedding; where the embedding is
# accurate that is the way round the cup (the distance was learned from demos that go round it), where it
# is not (places no video visited) the agent can settle in a spot the embedding wrongly thinks is close.
#
# **5. Plan or not.** The training cell prints where TD-MPC's CPU goes: updating the five networks, and
# planning (hundreds of imagined sequences through the latent dynamics, several refits, every env step).
# With `plan=False` the planning share all but vanishes and the agent is a latent-model actor-critic: its
# policy, trained to climb the critic, acts alone. What you lose is the look-ahead: the planner can
# reject a sequence whose imagined reward or predicted episode end is bad even where the policy has not
# caught up yet (on InvertedPendulum the termination head matters most: a plan that drops the pole ends
# early in imagination and scores low). `horizon=5` doubles the imagined steps of both the planner and
# the losses, so each env step costs more; on TwoRoutes' reward jumps a longer imagination gives the
# model more room to be wrong.
#
# **6. Open question.** The autoencoder's loss is a sum over pixels: the static floor, walls, cup and
# goal are most of them, and the robot is a handful. Once the background is reconstructed the remaining
# error is tiny whether or not the robot's position is encoded precisely, so the gradient that would make
# it precise is tiny too. VIP's loss is *only* about what changes between frames and in which order,
# which here is the robot's position along the routes.
