"""labkit.pretrain (B1, offline): the expectile loss, IQL critics, IDQL, Diffusion-QL on a one-step bandit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.data import EpisodeDataset, transitions_from_episodes
from labkit.pretrain import (
    DiffusionQLConfig,
    IDQLPolicy,
    IQLConfig,
    IQLCritic,
    expectile_loss,
    train_diffusion_ql,
    train_iql,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def bandit() -> EpisodeDataset:
    """A one-step bandit written as episodes: action +1 earns 1, action -1 earns 0."""
    rng = np.random.default_rng(0)
    n = 400
    obs = rng.normal(size=(n, 3)).astype(np.float32)
    act = np.where(rng.random((n, 1)) < 0.5, -1.0, 1.0) * np.ones((1, 2))
    act = (act + rng.normal(0, 0.05, size=act.shape)).astype(np.float32)
    rew = (act[:, 0] > 0).astype(np.float32)
    return EpisodeDataset(
        obs,
        act,
        rew,
        np.ones(n, bool),
        np.zeros(n, bool),
        np.arange(1, n + 1),
        metadata={"env_id": "toy", "expert": "coin", "seed": 0, "created_with": "test"},
    )


@pytest.fixture
def one_step_policy(tiny_policy):
    """To = H = Ta = 1 (preset "offline"), DDPM with 5 of 20 timesteps: Diffusion-QL's short chain."""
    return tiny_policy(
        "diffusion", preset="offline", num_train_timesteps=20, num_inference_steps=5, time_embed_dim=8, sampler="ddpm"
    )


def test_expectile_loss_finds_the_expectile():
    # Two-point distribution {0, 1} with equal weights: the tau-expectile is tau.
    data = torch.tensor([0.0, 1.0]).repeat(50)
    for tau in (0.5, 0.8, 0.95):
        v = torch.zeros((), requires_grad=True)
        opt = torch.optim.LBFGS([v], lr=1.0, max_iter=100)

        def closure(opt=opt, v=v, tau=tau):
            opt.zero_grad()
            loss = expectile_loss(data - v, tau)
            loss.backward()
            return loss

        opt.step(closure)
        assert abs(v.item() - tau) < 1e-3, (tau, v.item())


def test_transitions_and_iql_prefer_the_rewarded_action(bandit, one_step_policy):
    tr = transitions_from_episodes(bandit)
    assert len(tr) == 400 and tr.dones.all()
    critic = IQLCritic(3, 2, IQLConfig(hidden_dim=32, batch_size=64, lr=3e-3, target_tau=0.05))
    log = train_iql(critic, bandit, iterations=300, progress=False)
    assert log.iterations_done == 300 and np.isfinite(log.losses["q_loss"]).all()
    obs = torch.randn(16, 3)
    good, bad = critic.q_value(obs, torch.ones(16, 2)), critic.q_value(obs, -torch.ones(16, 2))
    assert (good > bad + 0.5).all()
    # V with expectile 0.8 lies between the mean (0.5) and the best action's value (1).
    assert 0.55 < critic.v(obs).mean().item() < 1.0

    # IDQL: candidates from a behaviour policy, the critic picks the rewarded one.
    behaviour = one_step_policy

    class Chooser(torch.nn.Module):  # prefers large first coordinates
        def q_value(self, o, a):
            return a[:, 0]

    idql = IDQLPolicy(behaviour, Chooser(), n_samples=16, selection="argmax")
    out = idql.predict_action(torch.randn(4, 1, 3), generator=gen(0))
    assert out.shape == (4, 1, 2)
    cand = behaviour.sample_actions(torch.zeros(64, 1, 3), generator=gen(1))[:, 0, 0]
    assert out[:, 0, 0].min() > cand.median()  # best of 16 beats a typical draw
    chunks, scores = idql.propose(torch.zeros(3, 1, 3), generator=gen(2))  # cached candidates and their Q
    assert chunks.shape == (3, 16, 1, 2) and scores.shape == (3, 16)
    torch.testing.assert_close(scores, chunks[:, :, 0, 0])
    chosen = idql.sample_actions(torch.zeros(3, 1, 3), generator=gen(2))  # the same draws, then argmax
    torch.testing.assert_close(chosen, chunks[torch.arange(3), scores.argmax(1)])
    soft = IDQLPolicy(behaviour, critic, n_samples=8, selection="softmax", temperature=0.1)
    assert soft.predict_action(torch.randn(2, 1, 3), generator=gen(0)).shape == (2, 1, 2)
    with pytest.raises(ValueError, match="selection"):
        IDQLPolicy(behaviour, critic, selection="best")


def test_idql_runs_in_evaluate_like_any_chunk_policy(tiny_policy):
    import labkit as lk

    behaviour = tiny_policy("diffusion", 8, 2, preset="offline")
    critic = IQLCritic(8, 2, IQLConfig(hidden_dim=16))
    res = lk.evaluate(
        IDQLPolicy(behaviour, critic, n_samples=4), "labkit/TwoRoutes-v0", 2, seed=0, max_steps=10, progress=False
    )
    assert (res.lengths == 10).all()


def test_diffusion_ql_runs_and_keeps_weights(bandit, one_step_policy):
    policy = one_step_policy
    q, log = train_diffusion_ql(
        policy,
        bandit,
        DiffusionQLConfig(num_inference_steps=3, batch_size=32, hidden_dim=32),
        iterations=20,
        progress=False,
    )
    assert log.iterations_done == 20 and not log.interrupted
    assert np.isfinite(log.losses["bc"]).all() and np.isfinite(log.losses["q_term"]).all()
    assert policy.config.num_inference_steps == 3
    assert policy.predict_action(torch.randn(2, 1, 3), generator=gen(0)).shape == (2, 1, 2)
    assert q.min_q(torch.randn(2, 3), torch.zeros(2, 2)).shape == (2,)


def test_diffusion_ql_with_a_frozen_iql_critic_leaves_the_critic_alone(bandit, one_step_policy):
    critic = IQLCritic(3, 2, IQLConfig(hidden_dim=16, batch_size=32))
    train_iql(critic, bandit, iterations=20, progress=False)
    before = [p.detach().clone() for p in critic.parameters()]
    policy = one_step_policy
    q, log = train_diffusion_ql(
        policy,
        bandit,
        DiffusionQLConfig(num_inference_steps=3, batch_size=32),
        iterations=5,
        critic=critic,
        progress=False,
    )
    assert q is critic.q_target and log.iterations_done == 5
    assert all(torch.equal(a, b) for a, b in zip(before, critic.parameters(), strict=True))
    assert policy.config.sampler == "ddpm" and np.isfinite(log.losses["q_term"]).all()


def test_diffusion_ql_from_bc_with_an_iql_critic_finds_the_bandits_best_action(bandit, one_step_policy):
    """The suite's recipe: BC first (half the samples take the unrewarded action -1), then the Q term
    of a frozen IQL critic with a small weight moves the samples onto the rewarded mode, +1."""
    torch.manual_seed(0)
    critic = IQLCritic(3, 2, IQLConfig(hidden_dim=32, batch_size=64, lr=3e-3, target_tau=0.05))
    train_iql(critic, bandit, iterations=300, progress=False)
    policy = one_step_policy
    cfg = DiffusionQLConfig(alpha=0.0, num_inference_steps=5, batch_size=64, actor_lr=1e-3)
    train_diffusion_ql(policy, bandit, cfg, iterations=300, critic=critic, progress=False)  # alpha 0: BC

    def rewarded_share() -> float:
        a = policy.predict_action(torch.randn(256, 1, 3), generator=gen(1))[:, 0]  # (256, A)
        return (a[:, 0] > 0).float().mean().item()

    assert 0.25 < rewarded_share() < 0.75  # BC copies both modes
    cfg.alpha = 0.3
    q, log = train_diffusion_ql(
        policy, bandit, cfg, iterations=300, fit_normalizers=False, critic=critic, progress=False
    )
    assert q is critic.q_target and (np.asarray(log.losses["critic"]) == 0).all()
    assert rewarded_share() > 0.8  # most samples on the rewarded mode
