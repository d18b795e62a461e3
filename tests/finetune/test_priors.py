"""labkit.finetune (policy-agnostic): residual RL, noise-space steering (DSRL) and sample-and-select on stock SB3.

All on the shipped TwoRoutes prior (read-only). The runner they share is tests/policies/test_runner.py; the
end-to-end adaptation to the blocked world is tests/experiments/test_priors.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.vec_env import DummyVecEnv

import labkit as lk
from labkit.envs import make
from labkit.finetune import NoiseSpaceVecEnv, SampleSelectSAC, make_noise_space_env, make_residual_env, prior_runner
from labkit.policies import ChunkRunner, PolicyMismatchError
from labkit.rollout import evaluate

ENV = "labkit/TwoRoutes-v0"


# ---------------------------------------------------------------- spaces and bounds


def test_residual_spaces_and_executed_bounds(shipped_prior):
    venv = make_residual_env(ENV, shipped_prior, n_envs=2, scale=0.3)
    assert venv.observation_space.shape == (10,) and venv.action_space.shape == (2,)
    assert (venv.action_space.low == -1).all() and (venv.action_space.high == 1).all()
    np.testing.assert_array_equal(venv.half_range, [1.0, 1.0])  # [-1, 1] tasks: scale means what it did before
    obs = venv.reset()
    assert obs.shape == (2, 10) and np.array_equal(obs[:, 8:], venv.prior_action)
    sent = []
    venv.venv.step_async = lambda a: sent.append(a) or type(venv.venv).step_async(venv.venv, a)
    venv.step(np.full((2, 2), 5.0))  # out of range: clipped to 1, scaled by 0.3, then clipped to the env's box
    assert np.abs(sent[0]).max() <= 1.0
    np.testing.assert_allclose(venv.residual_history()[0], np.linalg.norm([0.3, 0.3]), rtol=1e-6)
    with pytest.raises(ValueError, match="scale must be a finite number > 0"):
        make_residual_env(ENV, shipped_prior, scale=0.0)


def test_noise_space_spaces_and_chunk_wrapper(shipped_prior):
    prior = shipped_prior
    venv = make_noise_space_env(ENV, prior, n_envs=2, bound=2.0)
    H, A = prior.config.horizon, prior.config.action_dim
    assert venv.action_space.shape == (H * A,) and venv.action_space.high.max() == 2.0
    assert venv.observation_space.shape == (8,)
    venv.reset()
    _, _, _, infos = venv.step(np.full((2, H * A), 9.0))  # clipped to the bound
    assert np.abs(venv.steered_noise()).max() == 2.0
    assert infos[0]["chunk_steps"] == prior.config.n_action_steps and infos[0]["chunk_obs"].shape == (4, 8)


def test_noise_space_executed_chunk_can_be_shorter(shipped_prior):
    """New: make_noise_space_env(n_action_steps=k) runs the first k actions of each chunk per decision."""
    venv = make_noise_space_env(ENV, shipped_prior, n_envs=1, n_action_steps=1)
    assert venv.runner.n_action_steps == 1 and venv.venv.action_space.shape == (2,)
    venv.reset()
    _, _, _, infos = venv.step(np.zeros((1, 16), np.float32))
    assert infos[0]["chunk_steps"] == 1
    with pytest.raises(ValueError, match=r"n_action_steps must be in \[1, 4\]"):
        make_noise_space_env(ENV, shipped_prior, n_action_steps=5)


# ---------------------------------------------------------------- exactness


def test_zero_residual_reproduces_the_prior_exactly(shipped_prior, unroll):
    seed = 3
    ref = evaluate(shipped_prior, ENV, 1, seed=seed, batch_size=1, generator_seed=seed, progress=False).trajectories[0]
    venv = make_residual_env(ENV, shipped_prior, n_envs=1, seed=seed)
    got = unroll(venv, lambda o: np.zeros((1, 2), np.float32), 40)
    np.testing.assert_array_equal(got, ref[: len(got)])


def test_evaluate_in_the_wrapper_counts_each_env_once(shipped_prior):
    venv = make_residual_env(ENV, shipped_prior, n_envs=2, seed=0)
    res = evaluate(lambda o: np.zeros((len(o), 2), np.float32), venv)  # was evaluate_vec(..., n_episodes=3)
    assert len(res.successes) == 2 and 0.0 <= res.success_rate <= 1.0
    assert np.isfinite(res.returns).all() and res.env_steps >= res.lengths.sum()


def test_noise_space_with_the_priors_own_noise_reproduces_its_samples(shipped_prior, unroll):
    prior = shipped_prior
    seed, H, A = 5, prior.config.horizon, prior.config.action_dim
    ref = evaluate(prior, ENV, 1, seed=seed, batch_size=1, generator_seed=seed, progress=False).trajectories[0]
    venv = make_noise_space_env(ENV, prior, n_envs=1, seed=seed, bound=10.0)  # wide: no clipping
    g = torch.Generator().manual_seed(seed)  # the draws DDIM would make itself: x_T ~ N(0, I)
    got = unroll(venv, lambda o: torch.randn((1, H, A), generator=g).reshape(1, -1).numpy(), 10)
    np.testing.assert_array_equal(got, ref[: len(got)])


def test_ddim_mapping_is_a_function_of_the_noise(shipped_prior):
    prior = shipped_prior
    runner = ChunkRunner(prior, 3, sampler="ddim")
    hist = np.repeat(make(ENV, seed=0).reset(seed=0)[0][None, None], 2, axis=1).repeat(3, axis=0)  # (3, 2, 8)
    noise = torch.randn(3, prior.config.horizon, prior.config.action_dim, generator=torch.Generator().manual_seed(0))
    a = runner.plan(hist, noise=noise)
    torch.randn(100, generator=runner.generator)  # the generator's state must not matter
    np.testing.assert_array_equal(a, runner.plan(hist, noise=noise))
    assert not np.allclose(a, runner.plan(hist, noise=-noise))


def test_prior_runner_is_aligned_and_takes_sampler_options(shipped_prior, tiny_policy):
    runner = prior_runner(shipped_prior, 2, num_inference_steps=5)
    assert runner.align and runner.predict_kwargs == {"sampler": "ddim", "num_inference_steps": 5}
    assert not prior_runner(shipped_prior, 2, align=False).align
    with pytest.raises(ValueError, match="apply to a DiffusionPolicy prior"):
        prior_runner(tiny_policy("gaussian", 8, 2), 2, sampler="ddim")


# ---------------------------------------------------------------- validation at wrap time


def _untrained(tiny_policy, obs_dim=8, action_dim=2, env_id=None):
    p = tiny_policy("diffusion", obs_dim, action_dim)
    p.config.env_id = env_id  # policy.env_id is read-only: the env id lives in the config
    return p


def test_env_id_is_a_read_only_view_of_the_config(tiny_policy):
    p = _untrained(tiny_policy, env_id=ENV)
    assert p.env_id == ENV
    with pytest.raises(AttributeError):
        p.env_id = "labkit/PushBlock-v0"


@pytest.mark.parametrize("make_env", [make_residual_env, make_noise_space_env])
def test_mismatches_fail_at_wrap_time(make_env, shipped_prior, tiny_policy):
    with pytest.raises(PolicyMismatchError, match="The policy was trained for .*check_env_id=False"):
        make_env("labkit/TwoRoutesShifted-v0", shipped_prior)
    make_env("labkit/TwoRoutesShifted-v0", shipped_prior, check_env_id=False)  # on purpose: fine
    with pytest.raises(PolicyMismatchError, match="The policy expects observations of size 5"):
        make_env(ENV, _untrained(tiny_policy, obs_dim=5))
    with pytest.raises(PolicyMismatchError, match="The policy outputs actions of size 3"):
        make_env(ENV, _untrained(tiny_policy, action_dim=3))
    with pytest.raises(ValueError, match="chunk policy"):
        make_env(ENV, torch.nn.Linear(8, 2))


def test_noise_space_needs_chunked_envs_and_deterministic_ddim(shipped_prior, tiny_policy):
    with pytest.raises(PolicyMismatchError, match="ActionChunkWrapper"):
        NoiseSpaceVecEnv(DummyVecEnv([lambda: make(ENV)]), shipped_prior)
    stochastic = _untrained(tiny_policy)
    stochastic.config.ddim_eta = 0.5
    with pytest.raises(PolicyMismatchError, match="deterministic DDIM"):
        make_noise_space_env(ENV, stochastic)


def test_select_validates_prior(tiny_policy):
    with pytest.raises(PolicyMismatchError, match="actions of size 3"):
        SampleSelectSAC("MlpPolicy", make(ENV), prior=_untrained(tiny_policy, action_dim=3), buffer_size=1_000)
    with pytest.raises(ValueError, match="needs prior"):
        SampleSelectSAC("MlpPolicy", make(ENV), buffer_size=1_000).learn(10)


# ---------------------------------------------------------------- inside stock SB3


def test_residual_with_ppo_and_sac(shipped_prior):
    venv = make_residual_env(ENV, shipped_prior, n_envs=4)
    PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=2, seed=0).learn(256)
    assert venv.residual_history().shape[1] == 4 and len(venv.residual_history()) >= 64
    venv = make_residual_env(ENV, shipped_prior, n_envs=1)
    SAC("MlpPolicy", venv, learning_starts=100, batch_size=64, buffer_size=1_000, seed=0).learn(200)
    assert venv.runner.n_calls < 200  # chunks: about one call per n_action_steps steps


def test_noise_space_with_ppo_and_sac(shipped_prior):
    venv = make_noise_space_env(ENV, shipped_prior, n_envs=2)
    PPO("MlpPolicy", venv, n_steps=32, batch_size=64, n_epochs=2, seed=0).learn(64)
    assert venv.steered_noise().shape[1] == shipped_prior.config.horizon * shipped_prior.config.action_dim
    venv = make_noise_space_env(ENV, shipped_prior, n_envs=1)
    SAC("MlpPolicy", venv, learning_starts=50, batch_size=64, gamma=0.96, buffer_size=1_000, seed=0).learn(100)
    assert len(venv.steered_noise()) >= 100


def test_sample_select_sac_learns_predicts_and_evaluates(shipped_prior):
    model = SampleSelectSAC(
        "MlpPolicy",
        make(ENV),
        prior=shipped_prior,
        n_candidates=4,
        learning_starts=100,
        batch_size=64,
        buffer_size=1_000,
        seed=0,
    )
    model.learn(200)
    assert model.replay_buffer.size() == 200
    obs = make(ENV, seed=1).reset(seed=1)[0]
    action, _ = model.predict(obs, deterministic=True)
    assert action.shape == (2,) and np.abs(action).max() <= 1.0
    res = lk.evaluate(model, ENV, 2, seed=0, max_steps=10, progress=False)  # predict() with episode_start
    assert (res.lengths == 10).all()


# ---------------------------------------------------------------- moving the noise by hand


def test_noise_shift_rollouts_share_start_states_and_noise(shipped_prior):
    from labkit import viz
    from labkit.finetune import ShiftedNoiseAgent, noise_shift_rollouts

    env = make_noise_space_env(ENV, shipped_prior, 1)
    z0, _ = ShiftedNoiseAgent(env, 0.0, seed=3).predict(np.zeros((2, 8)))
    z1, _ = ShiftedNoiseAgent(env, 0.5, slice(0, None, 2), seed=3).predict(np.zeros((2, 8)))
    np.testing.assert_allclose(z1[:, 0::2] - z0[:, 0::2], 0.5, rtol=1e-5)  # the same z, shifted on x only
    np.testing.assert_array_equal(z1[:, 1::2], z0[:, 1::2])
    res = noise_shift_rollouts(shipped_prior, ENV, [-1.0, 0.0], n_episodes=2)
    assert sorted(res) == [-1.0, 0.0] and all(len(r.trajectories) == 2 for r in res.values())
    np.testing.assert_array_equal(res[-1.0].trajectories[0][0], res[0.0].trajectories[0][0])  # same start
    assert not np.array_equal(res[-1.0].trajectories[0][-1], res[0.0].trajectories[0][-1])  # another path
    fig = viz.noise_shift_figure(res, blocked="right")
    assert len(fig.layout.sliders[0].steps) == 2 and fig.layout.sliders[0].active == 1  # starts at shift 0
    assert sum(fig.layout.sliders[0].steps[0].args[0]["visible"]) == 2 and len(fig.layout.shapes) == 6
    with pytest.raises(ValueError, match="results is empty"):
        viz.noise_shift_figure({})
