"""labkit's tasks: both env checkers, seeding, rendering, the success/route signals, clear errors.

Registration with gymnasium (``import labkit``, ``labkit:`` ids, subprocesses, Jupyter) is
tests/envs/test_registry.py; PushBlock's own tests are tests/envs/test_push_block.py.
"""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import labkit.envs
from labkit.envs import LABKIT_ENVS, AverageOfExperts, StraightUpPolicy, TwoRoutesEnv, UnknownEnvError, make
from labkit.envs.experts import TwoRoutesExpert
from labkit.rollout import evaluate

IDS = list(LABKIT_ENVS)


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_and_sb3_checkers(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unbounded Box warning is expected for positions
        gym_check_env(make(env_id, render_mode="rgb_array").unwrapped, skip_render_check=False)
        sb3_check_env(make(env_id).unwrapped, warn=False)


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_rollout(env_id):
    def rollout(seed):
        env = make(env_id)
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        out = [obs]
        for _ in range(30):
            obs, *_ = env.step(env.action_space.sample())
            out.append(obs)
        return np.stack(out)

    np.testing.assert_array_equal(rollout(3), rollout(3))
    assert not np.array_equal(rollout(3), rollout(4))


def test_render_rgb_array_shows_the_scene():
    env = make("labkit/TwoRoutes-v0", render_mode="rgb_array", seed=0)
    frame = env.render()
    assert frame.shape == (240, 240, 3) and frame.dtype == np.uint8
    # Not blank: the obstacle (red) and the floor (light) are both visible.
    assert frame.std() > 10
    assert ((frame[..., 0] > 150) & (frame[..., 1] < 120)).sum() > 100


def test_unknown_env_id_lists_labkit_ids():
    with pytest.raises(UnknownEnvError) as err:
        make("labkit/TwoRoute-v0")
    msg = str(err.value)
    assert "labkit/TwoRoutes-v0" in msg and "Did you mean" in msg


def test_registered_with_gymnasium():
    env = gym.make("labkit/TwoRoutes-v0")
    assert env.spec.max_episode_steps == 100
    assert labkit.envs.make("InvertedPendulum-v5").observation_space.shape == (4,)


def test_wrong_action_shape_is_a_clear_error():
    env = make("labkit/TwoRoutes-v0", seed=0)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        env.unwrapped.step(np.zeros(3))


@pytest.mark.parametrize("env_id", ["labkit/TwoRoutes-v0", "labkit/PushBlock-v0"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_action_is_refused_before_mujoco(env_id, bad, tmp_path, monkeypatch):
    """NaN/inf actions raise one ValueError; MuJoCo never sees them, so no MUJOCO_LOG.TXT in the cwd."""
    monkeypatch.chdir(tmp_path)
    env = make(env_id, seed=0).unwrapped
    qpos = env.data.qpos.copy()
    with pytest.raises(ValueError, match="non-finite action") as err:
        env.step(np.array([bad, 0.0]))
    assert "\n" not in str(err.value)
    np.testing.assert_array_equal(env.data.qpos, qpos)  # nothing was simulated
    env.step(np.array([5.0, -5.0]))  # out of range is clipped (motor limits), not refused
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists() and list(tmp_path.iterdir()) == []


def test_observation_at_places_the_robot():
    env = make("labkit/TwoRoutes-v0", seed=0).unwrapped
    obs = env.observation_at([0.0, -0.2], velocity=[0.0, 0.3])
    np.testing.assert_allclose(obs[:4], [0.0, -0.2, 0.0, 0.3], atol=1e-6)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        env.observation_at([0.0, -0.2, 0.0])


def test_expert_succeeds_by_both_routes_and_straight_line_fails():
    res = evaluate(TwoRoutesExpert(), "labkit/TwoRoutes-v0", n_episodes=40, seed=0, progress=False)
    assert res.success_rate >= 0.95
    counts = res.route_counts
    assert counts.get("left", 0) >= 10 and counts.get("right", 0) >= 10
    # The "average" of the two routes - straight up - runs into the obstacle.
    straight = evaluate(
        lambda obs, rng: np.array([0.0, 1.0], np.float32), "labkit/TwoRoutes-v0", n_episodes=5, seed=0, progress=False
    )
    assert straight.success_rate == 0.0
    # StraightUpPolicy (notebook 08's failing data) goes the expert's way to the split, then up: it fails too.
    assert evaluate(StraightUpPolicy(), "labkit/TwoRoutes-v0", n_episodes=3, seed=0, progress=False).success_rate == 0.0


def test_shifted_variant_moves_the_obstacle():
    a = make("labkit/TwoRoutes-v0").unwrapped
    b = make("labkit/TwoRoutesShifted-v0").unwrapped
    assert b.obstacle[0] > a.obstacle[0]
    obs_a, _ = a.reset(seed=0)
    obs_b, _ = b.reset(seed=0)
    assert obs_b[6] > obs_a[6]  # obstacle - x, seen in the observation


def test_blocked_variant_closes_the_right_route_and_pays_only_success():
    # The observation is unchanged: nothing tells the blocked world from the open one.
    a = make("labkit/TwoRoutes-v0").unwrapped
    b = make("labkit/TwoRoutesBlocked-v0").unwrapped
    np.testing.assert_array_equal(a.reset(seed=3)[0], b.reset(seed=3)[0])
    right = evaluate(TwoRoutesExpert(route="right"), "labkit/TwoRoutesBlocked-v0", n_episodes=4, seed=0, progress=False)
    left = evaluate(TwoRoutesExpert(route="left"), "labkit/TwoRoutesBlocked-v0", n_episodes=4, seed=0, progress=False)
    assert right.success_rate == 0.0 and left.success_rate == 1.0
    assert set(right.returns) == {0.0} and set(left.returns) == {1.0}  # sparse: 1 on success, nothing else
    assert right.lengths.min() == 100  # stuck under the barrier until the time limit
    # The open TwoRoutes still lets the right-hand expert through.
    assert (
        evaluate(
            TwoRoutesExpert(route="right"), "labkit/TwoRoutes-v0", n_episodes=2, seed=0, progress=False
        ).success_rate
        == 1.0
    )


def test_blocked_dense_reward_counts_only_the_open_route():
    from labkit.envs.two_routes import TwoRoutesEnv

    open_env, blocked = TwoRoutesEnv(), TwoRoutesEnv(blocked="right")
    beside_right, beside_left = np.array([0.3, -0.05]), np.array([-0.3, -0.05])
    assert open_env.path_length(beside_right) == pytest.approx(open_env.path_length(beside_left))
    assert blocked.path_length(beside_left) == pytest.approx(open_env.path_length(beside_left))
    assert blocked.path_length(beside_right) > blocked.path_length(beside_left) + 0.3  # back round the bottom
    # No jumps where the cases meet on the blocked side (beside / below the cup), the open side unchanged.
    bottom = -0.11 - 0.03
    for a, b in [((0.18, bottom + 1e-6), (0.18, bottom - 1e-6)), ((0.19 - 1e-6, -0.3), (0.19 + 1e-6, -0.3))]:
        assert blocked.path_length(np.array(a)) == pytest.approx(blocked.path_length(np.array(b)), abs=1e-4)
    for p in [(-0.3, -0.3), (-0.3, 0.0), (0.0, -0.3), (0.3, 0.3)]:
        assert blocked.path_length(np.array(p)) == pytest.approx(open_env.path_length(np.array(p)))
    with pytest.raises(ValueError, match="blocked must be"):
        TwoRoutesEnv(blocked="up")
    with pytest.raises(ValueError, match="reward must be"):
        TwoRoutesEnv(reward="shaped")


def test_average_of_two_good_experts_fails():
    avg = AverageOfExperts(TwoRoutesExpert(route="left"), TwoRoutesExpert(route="right"))
    assert evaluate(avg, "labkit/TwoRoutes-v0", n_episodes=4, seed=0, progress=False).success_rate == 0.0
    with pytest.raises(ValueError, match="at least two"):
        AverageOfExperts(TwoRoutesExpert())


@pytest.mark.parametrize("side", ["left", "right"])
def test_the_barrier_blocks_its_side_and_the_other_stays_open(side):
    """Under MuJoCo 4 a geom moved at run time keeps its compiled bounding box: the left barrier needs care."""
    sign = -1.0 if side == "left" else 1.0
    for blocked, passes in ((side, False), (None, True)):
        env = TwoRoutesEnv(blocked=blocked)
        env.reset(seed=0)
        env.observation_at((sign * 0.3, -0.2))  # below the gap beside the cup on that side
        for _ in range(60):
            obs, *_ = env.step(np.array([0.0, 1.0]))
        assert (obs[1] > 0.1) == passes, (blocked, obs[1])
