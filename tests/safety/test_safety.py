"""Unit tests of labkit.safety (seconds each): feasibility, the cost wrapper, the multiplier, the delay runner."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

import labkit as lk
from labkit.envs.two_routes import TwoRoutesEnv
from labkit.safety import (
    ConstrainedPolicy,
    ConstraintConfig,
    DelayConfig,
    Disk,
    ElicitConfig,
    HazardCostWrapper,
    Hazards,
    LagrangeConfig,
    LagrangeMultiplier,
    LagrangianCallback,
    elicit_unsafe_starts,
    is_feasible,
    prefix_weights,
    project_actions,
    run_delayed,
    sample_constrained,
    shifted_target,
)

HZ = Hazards([Disk(-0.16, -0.04, 0.09), Disk(0.16, -0.04, 0.09)])
ENV_ID = "labkit/TwoRoutes-v0"


@pytest.fixture(scope="module")
def chunk_policy(tiny_policy):
    """An untrained diffusion policy on TwoRoutes' sizes (To = 1, H = 8, Ta = 4): poor samples, which the
    feasibility tests want; the delay runner only needs chunks."""
    return tiny_policy("diffusion", obs_dim=8, action_dim=2, n_obs_steps=1)


# ---------------------------------------------------------------------------- hazards and projection
def test_hazard_cost_and_signed_distance():
    assert HZ.cost(np.array([0.16, -0.04])) == 1.0
    assert HZ.cost(np.array([0.0, -0.35])) == 0.0
    np.testing.assert_allclose(HZ.signed_distance(np.array([0.16 + 0.19, -0.04])), 0.10, atol=1e-12)
    with pytest.raises(ValueError, match="radius > 0"):
        Disk(0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="non-empty"):
        Hazards([])


def test_cost_wrapper_reports_entering_and_counts_steps():
    env = HazardCostWrapper(TwoRoutesEnv(start=(0.30, -0.04), start_noise=(0.0, 0.0)), HZ)
    env.reset(seed=0)
    costs = []
    for _ in range(20):  # drive left, into the right-hand puddle
        _, _, _, _, info = env.step(np.array([-1.0, 0.0]))
        costs.append(info["cost"])
        assert info["cost"] == HZ.cost(env.unwrapped.position)
    assert sum(costs) > 0 and info["episode_cost"] == sum(costs)
    frame = HazardCostWrapper(lk.make(ENV_ID, render_mode="rgb_array"), HZ)
    frame.reset(seed=0)
    assert frame.render().shape == (240, 240, 3)


def test_entry_cost_counts_entries_not_steps():
    env = HazardCostWrapper(TwoRoutesEnv(start=(0.30, -0.04), start_noise=(0.0, 0.0)), HZ, cost="entry")
    env.reset(seed=0)
    costs = [env.step(np.array([-1.0, 0.0]))[4]["cost"] for _ in range(8)]  # drive into the puddle and stay
    assert sum(costs) == 1.0 and costs.index(1.0) > 0
    with pytest.raises(ValueError, match="'inside' or 'entry'"):
        HazardCostWrapper(TwoRoutesEnv(), HZ, cost="sometimes")


def test_projection_keeps_every_waypoint_feasible():
    rng = np.random.default_rng(0)
    starts = rng.uniform([-0.45, -0.45], [0.45, 0.3], size=(400, 2))
    starts = starts[HZ.signed_distance(starts) >= 0.03]  # feasible starts (outside the grown disks)
    actions = rng.uniform(-1.5, 1.5, size=(len(starts), 7, 2))
    projected = project_actions(actions, starts, HZ, margin=0.03)
    assert is_feasible(projected, starts, HZ, margin=0.03).all()
    assert np.all(np.abs(projected) <= 1.5)
    already = is_feasible(actions, starts, HZ, margin=0.03)
    assert 0 < already.sum() < len(already)  # both kinds are tested
    np.testing.assert_array_equal(projected[already], actions[already])  # feasible chunks are left alone


def test_project_point_is_the_nearest_feasible_point():
    disk = Hazards([Disk(0.0, 0.0, 0.1)])
    np.testing.assert_allclose(disk.project_point(np.array([0.05, 0.0]), margin=0.02), [0.12, 0.0])
    np.testing.assert_array_equal(disk.project_point(np.array([0.3, 0.1])), [0.3, 0.1])


def test_constrained_sampling_projection_methods_are_feasible(chunk_policy):
    env = TwoRoutesEnv()
    env.reset(seed=0)
    positions = [(x, -0.2) for x in np.linspace(-0.3, 0.3, 16)]
    obs = torch.as_tensor(np.stack([env.observation_at(p, (0.0, 0.2)) for p in positions]))[:, None]  # (16, 1, 8)
    start = obs[:, -1, :2].numpy()
    gen = torch.Generator().manual_seed(0)
    for method in ("project_every", "project_final"):
        chunk = sample_constrained(chunk_policy, obs, HZ, ConstraintConfig(method=method, margin=0.03), generator=gen)
        assert is_feasible(chunk.numpy(), start, HZ, margin=0.03 - 1e-6).all(), method
    free = sample_constrained(
        chunk_policy, obs, HZ, ConstraintConfig(method="none"), generator=torch.Generator().manual_seed(1)
    )
    ref = chunk_policy.sample_actions(obs, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(free, ref)  # "none" is the policy's own sampler
    pol = ConstrainedPolicy(chunk_policy, HZ, ConstraintConfig(method="guidance"))
    assert pol.predict_action(obs, generator=gen).shape == (16, 4, 2)
    with pytest.raises(ValueError, match="method must be one of"):
        ConstraintConfig(method="hope")


def test_a_constrained_policy_runs_in_evaluate(chunk_policy):
    pol = ConstrainedPolicy(chunk_policy, HZ, ConstraintConfig(method="project_final"))
    res = lk.evaluate(pol, ENV_ID, 2, max_steps=12, progress=False)
    assert len(res.trajectories) == 2 and res.lengths.max() <= 12


# ---------------------------------------------------------------------------- Lagrange multiplier
def test_multiplier_rises_above_the_limit_and_falls_below():
    lam = LagrangeMultiplier(LagrangeConfig(cost_limit=2.0, lambda_lr=0.1, lambda_init=1.0))
    values = [lam.value]
    for cost in [5.0, 5.0, 3.0]:
        values.append(lam.update(cost))
    assert values[1] > values[0] and values[2] > values[1] and values[3] > values[2]
    for cost in [0.0, 1.0]:
        before = lam.value
        assert lam.update(cost) < before
    for _ in range(100):
        lam.update(0.0)
    assert lam.value == 0.0  # projected onto lambda >= 0
    np.testing.assert_allclose(lam.shape(np.array([1.0]), np.array([1.0])), [1.0])
    lam.value = 1.0
    np.testing.assert_allclose(lam.shape(np.array([1.0, 1.0]), np.array([0.0, 1.0])), [0.5, 0.0])
    with pytest.raises(ValueError, match="cost_limit >= 0"):
        LagrangeConfig(cost_limit=-1.0)


class _CostlyEnv(gym.Env):
    """Reward 1 and cost 1 at every step, episodes of 10 steps."""

    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (2,), np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(2, np.float32), 1.0, False, self.t >= 10, {"cost": 1.0}


def test_lagrangian_callback_shapes_rewards_in_the_rollout_buffer():
    seen = []

    class Spy(LagrangianCallback):  # look at the buffer right after SB3 stored a rollout
        def _on_rollout_end(self):
            seen.append((self.lam, self.model.rollout_buffer.rewards.copy()))
            super()._on_rollout_end()

    cb = Spy(LagrangeConfig(cost_limit=4.0, lambda_lr=0.1, lambda_init=1.0))
    model = PPO(
        "MlpPolicy",
        DummyVecEnv([_CostlyEnv, _CostlyEnv]),
        n_steps=20,
        batch_size=40,
        n_epochs=1,
        gamma=0.0,
        seed=0,
        device="cpu",
    )
    model.learn(120, callback=cb)
    lam0, rewards0 = seen[0]
    np.testing.assert_allclose(rewards0, (1.0 - lam0) / (1.0 + lam0), rtol=1e-6)  # r' = (r - lambda c) / (1 + lambda)
    lams = cb.history["lambda"]
    assert cb.history["episode_cost"][0] == 10.0 and all(b > a for a, b in zip([1.0] + lams, lams))  # 10 > 4: rises


# ---------------------------------------------------------------------------- delay runner
def test_prefix_weights_and_shifted_target():
    np.testing.assert_allclose(prefix_weights(2, 6, 10, "linear"), [1, 1, 0.8, 0.6, 0.4, 0.2, 0, 0, 0, 0])
    np.testing.assert_array_equal(prefix_weights(3, 4, 8, "hard"), [1, 1, 1, 0, 0, 0, 0, 0])
    previous = np.arange(16.0).reshape(1, 8, 2)  # (B, H, A)
    target = shifted_target(previous, 1, 3)
    np.testing.assert_array_equal(target[0, 1:5], previous[0, 4:8])
    assert not target[0, 0].any() and not target[0, 5:].any()


@pytest.mark.parametrize("method", ["naive", "rtc"])
@pytest.mark.parametrize("delay", [1, 3])
def test_delay_runner_executes_the_previous_chunk_during_inference(chunk_policy, method, delay):
    s = 4
    cfg = DelayConfig(delay=delay, execute_horizon=s, method=method)
    res = run_delayed(chunk_policy, lambda: lk.make(ENV_ID), 3, cfg, seed=0, max_steps=30)
    for ep in range(3):
        executed, planned = res.executed[ep], dict(res.planned[ep])
        for t in range(len(executed)):
            launch = (t // s) * s  # the inference running at t started here
            if t < s:
                source, origin = planned[0], 0  # the first chunk, planned before the robot moved
            elif t - launch < delay:
                source, origin = planned[launch - s], launch - s  # still the previous chunk
            else:
                source, origin = planned[launch], launch  # the new chunk took over
            np.testing.assert_array_equal(executed[t], source[t - origin])  # To = 1: chunk index 0 is "now"


def test_rtc_new_chunk_follows_the_frozen_prefix(chunk_policy):
    def prefix_gap(cfg):
        r = run_delayed(chunk_policy, lambda: lk.make(ENV_ID), 4, cfg, seed=0, max_steps=24)
        gaps = []
        for ep in range(4):
            plans = dict(r.planned[ep])
            for t in sorted(plans)[1:]:
                gaps.append(np.abs(plans[t][:3] - plans[t - 4][4:7]).mean())
        return float(np.mean(gaps))

    rtc = prefix_gap(DelayConfig(delay=3, execute_horizon=4, method="rtc", jacobian=True))
    assert rtc < 0.5 * prefix_gap(DelayConfig(delay=3, execute_horizon=4))


def test_delay_config_rejects_a_delay_the_chunk_cannot_cover(chunk_policy):
    with pytest.raises(ValueError, match="previous chunk must cover"):
        run_delayed(chunk_policy, lambda: lk.make(ENV_ID), 1, DelayConfig(delay=5, execute_horizon=5), max_steps=5)
    with pytest.raises(ValueError):
        DelayConfig(delay=3, execute_horizon=2)


# ---------------------------------------------------------------------------- elicit
def test_elicit_finds_the_costly_region_of_a_toy_rollout():
    def rollout(starts):  # cost only in the right half
        return (starts[:, 0] > 0.2).astype(float), np.ones(len(starts), bool)

    res = elicit_unsafe_starts(rollout, ElicitConfig(n_per_round=32, rounds=3, seed=0))
    assert res.starts.shape == (96, 2) and 0.1 < res.uniform_unsafe_share < 0.5
    assert res.costs[res.rounds == 2].mean() > res.costs[res.rounds == 0].mean()
    assert all(x > 0.2 for x, _, _ in res.worst)
    with pytest.raises(ValueError, match="low must be below high"):
        ElicitConfig(low=(0.5, 0.0), high=(0.4, 0.1))
