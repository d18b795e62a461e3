"""The whole loop on a gymnasium MuJoCo task that is not labkit's: InvertedPendulum-v5, actions in [-3, 3].

expert -> demonstrations -> diffusion prior -> residual PPO / DSRL / DPPO / IDQL -> evaluate, save, load.
Nothing here assumes labkit's tasks: success is defined by the caller (balanced for the whole episode),
actions are not in [-1, 1], and the observation has no route.
"""

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

import labkit as lk
from labkit.finetune import DiffusionPPOActor, PPOConfig, finetune_ppo, make_noise_space_env, make_residual_env
from labkit.pretrain import IDQLPolicy, IQLConfig, IQLCritic, train_iql

ENV = "InvertedPendulum-v5"
MAX_STEPS = 200  # keep evaluation short: a balanced pendulum would run 1000 steps


class PDExpert:
    """A hand-tuned PD controller on the pole angle (balances for the whole episode), with a little noise."""

    def reset(self, rng: np.random.Generator) -> None:
        pass

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x, angle, x_dot, angle_dot = obs
        u = 1.0 * x + 20.0 * angle + 1.0 * x_dot + 3.0 * angle_dot + rng.normal(0.0, 0.1)
        return np.clip([u], -3.0, 3.0).astype(np.float32)


def balanced(ep: lk.rollout.Episode) -> bool:
    return ep.length >= MAX_STEPS


@pytest.fixture(scope="module")
def demos():
    return lk.collect(
        PDExpert(), ENV, 3, seed=0, expert_name="PD", success=balanced, max_steps=MAX_STEPS, progress=False
    )


@pytest.fixture(scope="module")
def prior(demos):
    env = lk.make(ENV)
    policy, log = lk.behaviour_cloning(
        "diffusion",
        demos,
        preset="feedback",
        iterations=150,
        progress=False,
        action_range=(env.action_space.low, env.action_space.high),
    )
    assert log.iterations_done == 150 and policy.env_id == ENV
    return policy


def test_user_defined_success_and_no_routes(demos):
    summary = demos.summary()
    assert summary["success_rate"] == 1.0  # the expert balances; info["is_success"] does not exist here
    assert "route_counts" not in summary
    res = lk.evaluate(PDExpert(), ENV, 2, max_steps=MAX_STEPS, success=balanced, progress=False)
    assert res.success_rate == 1.0 and "route_counts" not in res.summary()


def test_prior_acts_in_the_env_range_and_round_trips(prior, tmp_path):
    low, high = prior.action_range()
    assert np.allclose(low, -3.0) and np.allclose(high, 3.0)  # the normaliser maps the env's range, not the data's
    path = lk.save(prior, tmp_path / "pendulum.pt")
    loaded = lk.load(path, env_id=ENV)
    obs = torch.zeros(4, prior.config.n_obs_steps, 4)
    a = prior.predict_action(obs, generator=torch.Generator().manual_seed(0))
    b = loaded.predict_action(obs, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    res = lk.evaluate(prior, ENV, 2, max_steps=MAX_STEPS, success=balanced, progress=False)
    assert np.all(res.lengths >= 1)


@pytest.mark.slow
def test_residual_and_dsrl_agents_train_and_evaluate_on_the_plain_env(prior):
    residual_env = make_residual_env(ENV, prior, 2, scale=0.1)
    assert residual_env.half_range[0] == pytest.approx(3.0)  # scale is a fraction of the half-range
    residual = PPO("MlpPolicy", residual_env, n_steps=32, batch_size=32, seed=0).learn(64)
    dsrl_env = make_noise_space_env(ENV, prior, 2, n_action_steps=1)
    assert dsrl_env.runner.n_action_steps == 1  # a decision every step: feedback control
    dsrl = PPO("MlpPolicy", dsrl_env, n_steps=32, batch_size=32, seed=0).learn(64)
    for agent in (residual, dsrl):
        res = lk.evaluate(agent, ENV, 2, max_steps=50, success=balanced, progress=False)
        assert len(res.returns) == 2 and np.all(np.isfinite(res.returns))


@pytest.mark.slow
def test_dppo_and_idql_run(demos):
    policy, _ = lk.behaviour_cloning("diffusion", demos, preset="dppo", iterations=50, progress=False)
    actor = DiffusionPPOActor(policy, num_inference_steps=5, ft_denoising_steps=2)
    log = finetune_ppo(
        actor,
        ENV,
        PPOConfig(n_envs=2, n_steps=8, total_env_steps=128),
        progress=False,
        success=lambda info: info["episode"]["l"] >= MAX_STEPS,
    )
    assert log.env_steps >= 128 and log.history and "success_rate" in log.history[-1]
    behaviour, _ = lk.behaviour_cloning("diffusion", demos, preset="offline", iterations=50, progress=False)
    critic = IQLCritic(4, 1, IQLConfig(hidden_dim=32))
    train_iql(critic, demos, iterations=20, progress=False)
    idql = IDQLPolicy(behaviour, critic, n_samples=4)
    res = lk.evaluate(idql, ENV, 2, max_steps=20, progress=False)
    assert len(res.returns) == 2
