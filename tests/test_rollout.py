"""labkit.rollout: evaluate, record, collect, find_start, measure_latency, for every kind of actor.

Experts get their own ``np.random.default_rng(seed + k)`` per episode, so an episode replays alone,
whatever the batch; SB3 models are evaluated deterministically by default; SB3 agents trained in a
labkit prior wrapper (residual RL, DSRL) are deployed on the plain env by ``evaluate(agent, env_id)``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

import labkit as lk
from labkit.envs import SB3Expert, TwoRoutesExpert, make
from labkit.finetune import make_noise_space_env, make_residual_env
from labkit.rollout import find_start, measure_latency

ENV = "labkit/TwoRoutes-v0"


# ---------------------------------------------------------------- collect


def test_collected_dataset_shapes_and_metadata(point_line_demos, point_line):
    ds = point_line_demos
    assert len(ds) == 8
    assert ds.observations.shape == (ds.n_steps, 2) and ds.observations.dtype == np.float32
    assert ds.actions.shape == (ds.n_steps, 1) and ds.actions.dtype == np.float32
    assert ds.episode_ends.dtype == np.int64 and ds.episode_ends[-1] == ds.n_steps
    assert ds.episode_fields["success"].dtype == bool
    assert ds.episode_fields["final_observation"].shape == (8, 2)
    assert ds.episode_fields["reset_seed"].tolist() == list(range(8))
    md = ds.metadata
    assert (md["env_id"], md["expert"], md["seed"], md["version"]) == (
        point_line.env_id,
        "route-expert",
        0,
        lk.data.FORMAT_VERSION,
    )
    assert (md["obs_dim"], md["action_dim"], md["n_episodes"], md["created_with"]) == (2, 1, 8, point_line.command)


def test_collect_records_observation_before_action_and_is_reproducible(point_line_demos, point_line):
    env = point_line.Env()
    first_obs, _ = env.reset(seed=3)
    ep = point_line_demos.episode(3)
    np.testing.assert_array_equal(ep["observations"][0], first_obs)
    # replaying the recorded actions reproduces the next observations and the final one
    for t, action in enumerate(ep["actions"]):
        obs, reward, terminated, truncated, info = env.step(action)
        assert reward == pytest.approx(ep["rewards"][t])
        if t + 1 < len(ep["actions"]):
            np.testing.assert_allclose(ep["observations"][t + 1], obs)
    np.testing.assert_allclose(ep["final_observation"], obs)
    assert ep["success"] == info["is_success"] and ep["route"] == info["route"]
    assert bool(ep["terminations"][-1]) == ep["success"]
    assert point_line.collect().content_hash == point_line_demos.content_hash  # same seed, same data
    # per-episode rngs: episode 3 collected alone (seed 3) is episode 3 of the batch
    alone = point_line.collect(n_episodes=1, seed=3)
    np.testing.assert_array_equal(alone.actions, ep["actions"])


def test_success_and_routes_are_consistent(point_line_demos):
    collected = point_line_demos
    s = collected.summary()
    assert s["episodes"] == 8 and s["steps"] == collected.n_steps
    assert sum(s["route_counts"].values()) == 8
    success = collected.episode_fields["success"]
    routes = collected.episode_fields["route"]
    assert set(routes[success]) <= {"left", "right"} and set(routes[~success]) <= {"none"}
    assert s["success_rate"] == pytest.approx(success.mean())
    assert 0 < success.sum() < 8, "the fake expert should both succeed and time out in 8 episodes"
    assert s["route_counts"].get("none", 0) == (~success).sum()


def test_sb3_expert_collects_any_gymnasium_task():
    env = gym.make("Pendulum-v1")
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=16, seed=0, device="cpu")
    expert = SB3Expert(model)
    ds = lk.collect(expert, env, 2, 5, expert_name=expert.name, created_with="test", progress=False, max_steps=6)
    assert ds.metadata["env_id"] == "Pendulum-v1" and ds.metadata["expert"] == "sb3:PPO"
    assert ds.n_steps == 12 and ds.truncations[ds.episode_ends - 1].all()
    assert ds.episode_fields["success"].tolist() == [False, False]
    assert ds.episode_fields["route"].tolist() == ["none", "none"]
    predicted, _ = model.predict(ds.observations[3], deterministic=True)
    np.testing.assert_allclose(ds.actions[3], predicted, rtol=1e-6)
    with pytest.raises(TypeError, match="SB3Expert needs an SB3 model"):
        SB3Expert(object())


def test_collect_makes_a_dataset_of_the_shared_tiny_demos(tiny_demos):
    assert len(tiny_demos) == 6 and tiny_demos.metadata["env_id"] == ENV
    assert tiny_demos.summary()["success_rate"] == 1.0 and set(tiny_demos.episode_fields["route"]) == {"left", "right"}


# ---------------------------------------------------------------- evaluate


def test_evaluate_records_frames_routes_and_is_seeded():
    a = lk.evaluate(TwoRoutesExpert(), ENV, 6, seed=5, record_episodes=2, batch_size=3, progress=False)
    b = lk.evaluate(TwoRoutesExpert(), ENV, 6, seed=5, batch_size=2, progress=False)
    assert len(a.frames) == 2 and a.frames[0][0].shape == (240, 240, 3)
    assert len(a.frames[0]) == a.lengths[0] + 1
    np.testing.assert_array_equal(a.successes, b.successes)
    assert set(a.routes) <= {"left", "right", "none"}
    assert a.trajectories[0].shape == (a.lengths[0] + 1, 8)
    with pytest.raises(TypeError, match="Cannot run a int"):
        lk.evaluate(42, ENV, 1, progress=False)


def test_expert_episodes_replay_alone_whatever_the_batch():
    """New in the layout: episode k of an expert uses default_rng(seed + k), not one shared stream."""
    batched = lk.evaluate(TwoRoutesExpert(), ENV, 6, seed=5, batch_size=3, progress=False)
    for k in (0, 4):
        alone = lk.evaluate(TwoRoutesExpert(), ENV, 1, seed=5 + k, progress=False)
        np.testing.assert_array_equal(alone.trajectories[0], batched.trajectories[k])


def test_summary_has_routes_only_for_tasks_with_routes():
    two_routes = lk.evaluate(TwoRoutesExpert(), ENV, 2, seed=0, progress=False)
    assert two_routes.has_routes and {"route_counts", "route_share"} <= set(two_routes.summary())
    idle = lk.evaluate(
        lambda obs, rng: np.zeros(2, np.float32), "labkit/PushBlock-v0", 1, seed=0, max_steps=5, progress=False
    )
    assert not idle.has_routes and set(idle.summary()) == {"episodes", "success_rate", "mean_return", "mean_length"}


def test_success_function_replaces_is_success():
    res = lk.evaluate(
        lambda obs, rng: np.zeros(2, np.float32),
        ENV,
        3,
        seed=0,
        max_steps=4,
        progress=False,
        success=lambda ep: ep.length == 4 and ep.truncated,
    )
    assert res.successes.all() and (res.lengths == 4).all()


def test_evaluate_refuses_a_policy_for_another_task(tiny_policy):
    with pytest.raises(ValueError, match="observations of size 8 but labkit/PushBlock-v0 gives 13"):
        lk.evaluate(tiny_policy("gaussian", 8, 2), "labkit/PushBlock-v0", 1, progress=False)
    with pytest.raises(ValueError, match="kind must be"):
        lk.make_policy("vae", 8, 2)


def test_sb3_models_are_evaluated_deterministically_by_default():
    model = PPO("MlpPolicy", make(ENV), n_steps=64, batch_size=64, seed=0, device="cpu")
    flags = []
    predict = model.predict

    def spy(obs, *args, deterministic=False, **kwargs):
        flags.append(deterministic)
        return predict(obs, *args, deterministic=deterministic, **kwargs)

    model.predict = spy
    default = lk.evaluate(model, ENV, 2, seed=0, max_steps=20, progress=False)
    assert flags and all(flags)
    explicit = lk.evaluate(model, ENV, 2, seed=0, max_steps=20, progress=False, deterministic=True)
    sampled = lk.evaluate(model, ENV, 2, seed=0, max_steps=20, progress=False, deterministic=False)
    np.testing.assert_array_equal(np.concatenate(default.trajectories), np.concatenate(explicit.trajectories))
    assert not np.array_equal(np.concatenate(default.trajectories), np.concatenate(sampled.trajectories))


# ---------------------------------------------------------------- SB3 agents trained in a prior wrapper


@pytest.fixture(scope="module")
def wrapped_agents(shipped_prior):
    """PPO agents trained 256 env-side steps in the residual and the DSRL wrapper of the shipped prior."""
    residual = PPO(
        "MlpPolicy",
        make_residual_env(ENV, shipped_prior, n_envs=2, seed=0),
        n_steps=64,
        batch_size=64,
        n_epochs=1,
        seed=0,
        device="cpu",
    ).learn(256)
    dsrl = PPO(
        "MlpPolicy",
        make_noise_space_env(ENV, shipped_prior, n_envs=2, seed=0),
        n_steps=32,
        batch_size=64,
        n_epochs=1,
        seed=0,
        device="cpu",
    ).learn(128)
    return {"residual": residual, "dsrl": dsrl}


@pytest.mark.parametrize("method", ["residual", "dsrl"])
def test_evaluate_deploys_an_agent_trained_in_a_prior_wrapper(wrapped_agents, shipped_prior, method, unroll):
    agent = wrapped_agents[method]
    res = lk.evaluate(agent, ENV, 4, seed=0, batch_size=2, progress=False)  # the plain env id
    assert len(res.successes) == 4 and 0.0 <= res.success_rate <= 1.0
    assert res.trajectories[0].shape[1] == 8  # plain observations, not the wrapper's
    # Exactly what the agent does in its own wrapper (same env seed, same prior draws), deterministic.
    seed = 3
    ref = lk.evaluate(agent, ENV, 1, seed=seed, progress=False).trajectories[0]
    make_env = make_residual_env if method == "residual" else make_noise_space_env
    venv = make_env(ENV, shipped_prior, n_envs=1, seed=seed)
    got = unroll(venv, lambda o: agent.predict(o, deterministic=True)[0], 40)
    np.testing.assert_array_equal(got, ref[: len(got)])
    frames, success = lk.record(agent, ENV, seed=seed)
    assert len(frames) == len(ref) and isinstance(success, bool)


# ---------------------------------------------------------------- record, find_start, latency


def test_record_and_find_start_replay_one_episode():
    seed = find_start(TwoRoutesExpert(), ENV, success=True, seeds=range(3))
    assert seed == 0
    frames, success = lk.record(TwoRoutesExpert(), ENV, seed=seed)
    length = lk.evaluate(TwoRoutesExpert(), ENV, 1, seed=seed, progress=False).lengths[0]
    assert success and len(frames) == length + 1 and frames[0].shape == (240, 240, 3) and frames[0].dtype == np.uint8
    straight = lk.envs.StraightUpPolicy()  # drives into the cup: never succeeds
    assert find_start(straight, ENV, success=True, seeds=range(2)) is None
    assert find_start(straight, ENV, success=False, seeds=range(2)) == 0


def test_measure_latency_is_positive(tiny_policy):
    policy = tiny_policy("diffusion", 8, 2)
    assert measure_latency(policy, 8, calls=3, warmup=1) > 0
    with pytest.raises(ValueError, match="calls must be an integer"):
        measure_latency(policy, 8, calls=0)
