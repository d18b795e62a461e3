"""Tests for labkit.priors: residual RL, noise-space steering (DSRL) and sample-and-select on stock SB3."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO, SAC

from labkit.diffusion import DiffusionPolicy, DiffusionPolicyConfig
from labkit.envs import make
from labkit.evaluate import evaluate
from labkit.priors import (
    ActionChunkWrapper,
    PriorMismatchError,
    PriorRunner,
    SampleSelectSAC,
    evaluate_vec,
    make_noise_space_env,
    make_residual_env,
    train_prior,
)

ENV = "labkit/TwoRoutes-v0"


@pytest.fixture(scope="module")
def prior() -> DiffusionPolicy:
    torch.set_num_threads(1)
    return train_prior("two_routes_demos", ENV, iterations=100, seed=0)


def test_train_prior_sets_env_id_and_fast_sampler(prior):
    assert prior.env_id == ENV and not prior.training
    assert prior.config.sampler == "ddim" and prior.config.num_inference_steps == 10


# ---------------------------------------------------------------- spaces and bounds


def test_residual_spaces_and_executed_bounds(prior):
    venv = make_residual_env(ENV, prior, n_envs=2, scale=0.3)
    assert venv.observation_space.shape == (10,) and venv.action_space.shape == (2,)
    assert (venv.action_space.low == -1).all() and (venv.action_space.high == 1).all()
    obs = venv.reset()
    assert obs.shape == (2, 10) and np.array_equal(obs[:, 8:], venv.prior_action)
    sent = []
    venv.venv.step_async = lambda a: sent.append(a) or type(venv.venv).step_async(venv.venv, a)
    venv.step(np.full((2, 2), 5.0))  # out of range: clipped to 1, scaled by 0.3, then clipped to the env's box
    assert np.abs(sent[0]).max() <= 1.0
    np.testing.assert_allclose(venv.residual_history()[0], np.linalg.norm([0.3, 0.3]), rtol=1e-6)


def test_noise_space_spaces_and_chunk_wrapper(prior):
    venv = make_noise_space_env(ENV, prior, n_envs=2, bound=2.0)
    H, A = prior.config.horizon, prior.config.action_dim
    assert venv.action_space.shape == (H * A,) and venv.action_space.high.max() == 2.0
    assert venv.observation_space.shape == (8,)
    venv.reset()
    _, _, _, infos = venv.step(np.full((2, H * A), 9.0))  # clipped to the bound
    assert np.abs(venv.steered_noise()).max() == 2.0
    assert infos[0]["chunk_steps"] == prior.config.n_action_steps and infos[0]["chunk_obs"].shape == (4, 8)


def test_chunk_wrapper_passes_env_checkers():
    from gymnasium.utils.env_checker import check_env as gym_check
    from stable_baselines3.common.env_checker import check_env as sb3_check

    env = ActionChunkWrapper(make(ENV).unwrapped, n_action_steps=4)
    assert env.action_space.shape == (8,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # infinite observation bounds
        gym_check(env, skip_render_check=True)
    sb3_check(ActionChunkWrapper(make(ENV), n_action_steps=4), warn=False)


# ---------------------------------------------------------------- exactness


def _rollout(venv, act, steps):
    obs, seen = venv.reset(), []
    seen.append(obs[0, :8].copy())
    for _ in range(steps):
        obs, _, dones, infos = venv.step(act(obs))
        chunk = infos[0].get("chunk_obs")
        seen.extend([o.copy() for o in chunk] if chunk is not None else [(infos[0]["terminal_observation"] if dones[0] else obs[0])[:8].copy()])
        if dones[0]:
            break
    return np.stack(seen)


def test_zero_residual_reproduces_the_prior_exactly(prior):
    seed = 3
    ref = evaluate(prior, ENV, 1, seed=seed, batch_size=1, generator_seed=seed, progress=False).trajectories[0]
    venv = make_residual_env(ENV, prior, n_envs=1, seed=seed)
    got = _rollout(venv, lambda o: np.zeros((1, 2), np.float32), 40)
    np.testing.assert_array_equal(got, ref[: len(got)])


def test_evaluate_vec_counts_episodes_and_success(prior):
    venv = make_residual_env(ENV, prior, n_envs=2, seed=0)
    res = evaluate_vec(lambda o: np.zeros((len(o), 2), np.float32), venv, n_episodes=3)
    assert set(res) == {"success_rate", "mean_return"} and 0.0 <= res["success_rate"] <= 1.0
    assert np.isfinite(res["mean_return"])


def test_noise_space_with_the_priors_own_noise_reproduces_its_samples(prior):
    seed, H, A = 5, prior.config.horizon, prior.config.action_dim
    ref = evaluate(prior, ENV, 1, seed=seed, batch_size=1, generator_seed=seed, progress=False).trajectories[0]
    venv = make_noise_space_env(ENV, prior, n_envs=1, seed=seed, bound=10.0)  # wide: no clipping
    g = torch.Generator().manual_seed(seed)  # the draws DDIM would make itself: x_T ~ N(0, I)
    got = _rollout(venv, lambda o: torch.randn((1, H, A), generator=g).reshape(1, -1).numpy(), 10)
    np.testing.assert_array_equal(got, ref[: len(got)])


def test_ddim_mapping_is_a_function_of_the_noise(prior):
    runner = PriorRunner(prior, 3, sampler="ddim")
    hist = np.repeat(make(ENV, seed=0).reset(seed=0)[0][None, None], 2, axis=1).repeat(3, axis=0)  # (3, 2, 8)
    noise = torch.randn(3, prior.config.horizon, prior.config.action_dim, generator=torch.Generator().manual_seed(0))
    a = runner.sample(hist, noise=noise)
    torch.randn(100, generator=runner.generator)  # the generator's state must not matter
    np.testing.assert_array_equal(a, runner.sample(hist, noise=noise))
    assert not np.allclose(a, runner.sample(hist, noise=-noise))


# ---------------------------------------------------------------- validation at wrap time


def _untrained(obs_dim=8, action_dim=2, env_id=None):
    p = DiffusionPolicy(DiffusionPolicyConfig(obs_dim=obs_dim, action_dim=action_dim))
    p.env_id = env_id
    return p


@pytest.mark.parametrize("make_env", [make_residual_env, make_noise_space_env])
def test_mismatches_fail_at_wrap_time(make_env, prior):
    with pytest.raises(PriorMismatchError, match="check_env_id=False"):
        make_env("labkit/TwoRoutesShifted-v0", prior)
    make_env("labkit/TwoRoutesShifted-v0", prior, check_env_id=False)  # on purpose: fine
    with pytest.raises(PriorMismatchError, match="observations of size 5"):
        make_env(ENV, _untrained(obs_dim=5))
    with pytest.raises(PriorMismatchError, match="actions of size 3"):
        make_env(ENV, _untrained(action_dim=3))
    with pytest.raises(ValueError, match="ChunkPolicy"):
        make_env(ENV, torch.nn.Linear(8, 2))


def test_noise_space_needs_chunked_envs(prior):
    from stable_baselines3.common.vec_env import DummyVecEnv

    from labkit.priors import NoiseSpaceVecEnv

    with pytest.raises(PriorMismatchError, match="ActionChunkWrapper"):
        NoiseSpaceVecEnv(DummyVecEnv([lambda: make(ENV)]), prior)


def test_select_validates_prior(prior):
    with pytest.raises(PriorMismatchError, match="actions of size 3"):
        SampleSelectSAC("MlpPolicy", make(ENV), prior=_untrained(action_dim=3))
    with pytest.raises(ValueError, match="needs prior"):
        SampleSelectSAC("MlpPolicy", make(ENV)).learn(10)


# ---------------------------------------------------------------- inside stock SB3


def test_residual_with_ppo_and_sac(prior):
    venv = make_residual_env(ENV, prior, n_envs=4)
    PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=2, seed=0).learn(256)
    assert venv.residual_history().shape[1] == 4 and len(venv.residual_history()) >= 64
    venv = make_residual_env(ENV, prior, n_envs=1)
    SAC("MlpPolicy", venv, learning_starts=100, batch_size=64, seed=0).learn(200)
    assert venv.runner.n_calls < 200  # chunks: about one call per n_action_steps steps


def test_noise_space_with_ppo_and_sac(prior):
    venv = make_noise_space_env(ENV, prior, n_envs=2)
    PPO("MlpPolicy", venv, n_steps=32, batch_size=64, n_epochs=2, seed=0).learn(64)
    assert venv.steered_noise().shape[1] == prior.config.horizon * prior.config.action_dim
    venv = make_noise_space_env(ENV, prior, n_envs=1)
    SAC("MlpPolicy", venv, learning_starts=50, batch_size=64, gamma=0.96, seed=0).learn(100)
    assert len(venv.steered_noise()) >= 100


def test_sample_select_sac_learns_and_predicts(prior):
    model = SampleSelectSAC("MlpPolicy", make(ENV), prior=prior, n_candidates=4, learning_starts=100, batch_size=64, seed=0)
    model.learn(200)
    assert model.replay_buffer.size() == 200
    obs = make(ENV, seed=1).reset(seed=1)[0]
    action, _ = model.predict(obs, deterministic=True)
    assert action.shape == (2,) and np.abs(action).max() <= 1.0


# ---------------------------------------------------------------- end to end


@pytest.mark.slow
@pytest.mark.parametrize("method", ["residual", "dsrl"])
def test_ppo_on_the_prior_adapts_it_to_the_blocked_world(method):
    """The shipped TwoRoutes prior takes the closed right route ~half the time; PPO on it learns not to."""
    from labkit.priors.compare import TASKS, train_with_prior

    torch.set_num_threads(1)
    task = TASKS["blocked"]
    run = train_with_prior(method, task.env_id, task.load_prior(), 14_000, seed=0, eval_every=7_000,
                           n_eval_episodes=20, progress=False, **task.kwargs(method))
    start, end = run.success_rate[0], run.success_rate[-1]
    assert start <= 0.6, run.success_rate  # the prior alone: the right route is closed
    assert end >= start + 0.3, run.success_rate  # seen: residual 0.50 -> 1.0, DSRL 0.45 -> 0.95


def test_runner_keeps_envs_in_step_after_a_reset(prior):
    """An env that restarts mid-chunk runs a shortened first chunk, so all envs plan in one call again."""
    obs = np.repeat(make(ENV, seed=0).reset(seed=0)[0][None], 3, axis=0)  # (3, 8)
    Ta = prior.config.n_action_steps
    for align, calls in [(True, 3), (False, 4)]:
        runner = PriorRunner(prior, 3, seed=0, align=align)
        runner.reset(obs)
        runner.next_action()  # one call for all three envs
        runner.observe(obs)
        runner.reset(obs, np.array([1]))  # env 1 starts a new episode after one step
        for _ in range(Ta + 1):  # env 1 plans at once; the others when their chunks run out
            runner.next_action()
            runner.observe(obs)
        assert runner.n_calls == calls, (align, runner.n_calls)
    aligned = PriorRunner(prior, 3, seed=0)
    aligned.reset(obs)
    aligned.next_action()
    aligned.reset(obs, np.array([1]))
    aligned.next_action()
    assert len(set(aligned.cursor.tolist())) == 1  # every queue now runs out at the same step
