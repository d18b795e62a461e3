"""labkit.finetune.dppo and .ppo: the PPO pieces (clipped surrogate, GAE) and the DPPO / Gaussian actors.

The end-to-end DPPO run (notebook 10's claim) is tests/experiments/test_dppo.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.distributions import Normal

import labkit as lk
from labkit.finetune import (
    DiffusionPPOActor,
    GaussianPPOActor,
    PPOConfig,
    compute_gae,
    finetune_ppo,
    make_chunk_vec_env,
    ppo_clip_loss,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def policy(chain_policy):
    return chain_policy


def test_ppo_update_lowers_clipped_surrogate_on_a_fixed_batch(policy):
    actor = DiffusionPPOActor(policy, num_inference_steps=5, ft_denoising_steps=3, min_std=0.1)
    obs = torch.randn(32, 1, 3)
    _, chain, logp_old = actor.act(obs, gen(0))
    adv = torch.randn(32, 1)
    opt = torch.optim.Adam(actor.actor_parameters(), lr=1e-3)

    def loss_now():
        return ppo_clip_loss(actor.log_prob(obs, chain), logp_old, adv, clip_range=0.2)

    first, stats = loss_now()
    assert abs(stats["approx_kl"]) < 1e-6  # same weights: ratio 1
    torch.testing.assert_close(first, -adv.mean().expand(()), rtol=1e-4, atol=1e-5)
    for _ in range(5):
        loss, _ = loss_now()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss_now()[0].item() < first.item() - 1e-3


def test_diffusion_actor_acts_like_a_chunk_policy(policy):
    actor = DiffusionPPOActor(policy, num_inference_steps=5, ft_denoising_steps=2)
    actions = actor.predict_action(torch.randn(3, 1, 3), generator=gen(0))
    assert actions.shape == (3, 2, 2) and actor.config is policy.config and actor.n_log_probs == 2
    with pytest.raises(ValueError, match="ft_denoising_steps must be in"):
        DiffusionPPOActor(policy, num_inference_steps=5, ft_denoising_steps=6)
    with pytest.raises(ValueError, match="min_std must be > 0"):
        DiffusionPPOActor(policy, min_std=0.0)


def test_gaussian_actor_log_prob_and_clip(tiny_policy):
    policy = tiny_policy("gaussian", preset="offline", hidden_dim=16, n_layers=1)  # To = H = Ta = 1
    actor = GaussianPPOActor(policy)
    obs = torch.randn(5, 1, 3)
    actions, x, logp = actor.act(obs, gen(0))
    assert actions.shape == (5, 1, 2) and logp.shape == (5, 1)
    mean, std = policy.distribution_params(obs)
    torch.testing.assert_close(logp[:, 0], Normal(mean, std).log_prob(x).sum(dim=(1, 2)).detach())
    # A ratio far outside the clip range gets no gradient from the clipped side.
    new = (logp + 1.0).requires_grad_(True)
    loss, stats = ppo_clip_loss(new, logp, torch.ones(5, 1), clip_range=0.2)
    loss.backward()
    assert stats["clip_frac"] == 1.0 and new.grad.abs().sum() == 0


def test_gae_matches_hand_computation():
    rewards = np.array([[1.0], [1.0], [1.0]])
    values = np.array([[0.5], [0.5], [0.5]])
    dones = np.array([[0.0], [1.0], [0.0]])
    adv, ret = compute_gae(rewards, values, dones, np.array([2.0]), gamma=0.9, lam=0.8)
    d2 = 1 + 0.9 * 2.0 - 0.5
    d1 = 1 - 0.5  # episode ends at step 1: no bootstrap
    d0 = 1 + 0.9 * 0.5 - 0.5
    np.testing.assert_allclose(adv[:, 0], [d0 + 0.9 * 0.8 * d1, d1, d2])
    np.testing.assert_allclose(ret, adv + values)


def test_gae_matches_stable_baselines3_rollout_buffer():
    from gymnasium import spaces
    from stable_baselines3.common.buffers import RolloutBuffer

    rng = np.random.default_rng(0)
    S, E, gamma, lam = 9, 3, 0.97, 0.9
    rewards, values = rng.normal(size=(S, E)).astype(np.float32), rng.normal(size=(S, E)).astype(np.float32)
    dones = (rng.random((S, E)) < 0.2).astype(np.float32)
    last = rng.normal(size=E).astype(np.float32)
    adv, _ = compute_gae(rewards, values, dones, last, gamma, lam)
    # SB3 stores "episode_starts" (the obs at t begins an episode), i.e. our dones shifted by one step.
    buf = RolloutBuffer(S, spaces.Box(-1, 1, (1,)), spaces.Box(-1, 1, (1,)), gamma=gamma, gae_lambda=lam, n_envs=E)
    starts = np.vstack([np.zeros((1, E)), dones[:-1]])
    for t in range(S):
        buf.add(np.zeros((E, 1)), np.zeros((E, 1)), rewards[t], starts[t], torch.as_tensor(values[t]), torch.zeros(E))
    buf.compute_returns_and_advantage(torch.as_tensor(last), dones[-1])
    np.testing.assert_allclose(adv, buf.advantages, rtol=1e-5, atol=1e-5)


def test_dppo_actor_step_distributions_give_its_log_probs(chain_policy):
    actor = DiffusionPPOActor(chain_policy, num_inference_steps=5, ft_denoising_steps=3, min_std=0.1)
    obs = torch.randn(4, 1, 3)
    _, chain, logp = actor.act(obs, torch.Generator().manual_seed(0))
    means, stds = actor.step_distributions(obs, chain)
    assert means.shape == stds.shape == (4, 3, *chain.shape[2:])
    direct = torch.distributions.Normal(means, stds).log_prob(chain[:, 1:]).flatten(2).sum(2)  # (4, 3)
    torch.testing.assert_close(direct, logp, rtol=1e-5, atol=1e-4)


def test_ppo_config_validation_and_chunk_vec_env():
    with pytest.raises(ValueError, match="logprob_mode"):
        PPOConfig(logprob_mode="sum")
    with pytest.raises(ValueError, match="clip_range"):
        PPOConfig(clip_range=1.5)
    venv = make_chunk_vec_env("labkit/TwoRoutes-v0", n_envs=2, n_action_steps=4, seed=0)
    assert venv.num_envs == 2 and venv.action_space.shape == (8,) and venv.reset().shape == (2, 8)
    venv.close()


def test_finetune_ppo_returns_a_train_log_with_rows_and_the_value_net(tiny_policy):
    policy = tiny_policy("diffusion", 8, 2, preset="dppo", num_inference_steps=3)
    actor = DiffusionPPOActor(policy, num_inference_steps=3, ft_denoising_steps=2)
    log = finetune_ppo(
        actor,
        "labkit/TwoRoutes-v0",
        PPOConfig(n_envs=2, n_steps=4, n_epochs=1, minibatch_size=8, total_env_steps=64, seed=0),
        progress=False,
    )
    assert isinstance(log, lk.TrainLog) and not log.interrupted and log.env_steps >= 64
    assert log.iterations_done == len(log.history) >= 2
    row = log.history[-1]
    assert {
        "iteration",
        "env_steps",
        "seconds",
        "success_rate",
        "mean_return",
        "policy_loss",
        "value_loss",
        "approx_kl",
        "clip_frac",
    } <= set(row)
    assert isinstance(log.extras["value"], torch.nn.Module) and not actor.training
    xs, _ = log.curve("policy_loss")
    assert xs == [r["env_steps"] for r in log.history]
