"""labkit.finetune: denoising-chain log-probs, PPO pieces, IQL, IDQL, Diffusion-QL, DPPO, mixed data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.distributions import Normal

from labkit.diffusion import DiffusionPolicy, DiffusionPolicyConfig, GaussianBCConfig, GaussianBCPolicy
from labkit.finetune import (
    ActionChunkWrapper,
    DiffusionPPOActor,
    DiffusionQLConfig,
    GaussianPPOActor,
    IDQLPolicy,
    IQLConfig,
    IQLCritic,
    compute_gae,
    ddpm_scheduler,
    denoise,
    expectile_loss,
    ppo_clip_loss,
    step_log_probs,
    train_diffusion_ql,
    train_iql,
    transitions_from_episodes,
)

torch.set_num_threads(1)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def tiny_diffusion(obs_dim=3, action_dim=2, horizon=2, n_action_steps=2, seed=0) -> DiffusionPolicy:
    torch.manual_seed(seed)
    cfg = DiffusionPolicyConfig(obs_dim=obs_dim, action_dim=action_dim, n_obs_steps=1, horizon=horizon,
                                n_action_steps=n_action_steps, num_train_timesteps=20, num_inference_steps=5,
                                mlp_hidden_dim=32, mlp_n_layers=2, time_embed_dim=8)
    policy = DiffusionPolicy(cfg)
    policy.fit_normalizers(torch.randn(50, obs_dim), torch.rand(50, action_dim) * 2 - 1)
    return policy


# ---------------------------------------------------------------- the denoising chain


def test_chain_log_probs_match_torch_normal():
    policy = tiny_diffusion()
    sched = ddpm_scheduler(policy, 5)
    obs = torch.randn(4, 1, 3)
    cond = policy.encode_obs(obs)
    min_std = 0.1
    x0, chain, logp = denoise(policy, cond, sched, min_std=min_std, record_last=5, generator=gen(1))
    assert chain.shape == (4, 6, 2, 2) and logp.shape == (4, 5)
    assert torch.equal(chain[:, -1], x0)
    # Direct computation: the scheduler's mean and std, then torch.distributions.Normal.
    expected = []
    for j, t in enumerate(sched.timesteps.tolist()):
        x = chain[:, j]
        out = sched.step(policy.denoiser(x, torch.full((4,), t), cond), t, x, noise=torch.zeros_like(x))
        dist = Normal(out.mean, out.std.clamp(min=min_std))
        expected.append(dist.log_prob(chain[:, j + 1]).sum(dim=(1, 2)))
    expected = torch.stack(expected, dim=1).detach()  # (4, 5)
    assert torch.isfinite(logp).all()
    torch.testing.assert_close(logp, expected, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(step_log_probs(policy, cond, sched, chain, min_std).detach(), expected,
                               rtol=1e-5, atol=1e-4)
    # The last DDPM step is deterministic without the clip: its std is 0 before clipping.
    out = sched.step(torch.zeros(1, 2, 2), sched.timesteps[-1].item(), torch.zeros(1, 2, 2))
    assert float(out.std.max()) == 0.0


def test_chain_records_only_the_fine_tuned_steps_and_gradients_flow():
    policy = tiny_diffusion()
    sched = ddpm_scheduler(policy, 5)
    cond = policy.encode_obs(torch.randn(3, 1, 3))
    _, chain, logp = denoise(policy, cond, sched, min_std=0.05, record_last=2, generator=gen(0))
    assert chain.shape == (3, 3, 2, 2) and logp.shape == (3, 2)
    x0, _, _ = denoise(policy, cond, sched, grad=True, generator=gen(0))
    x0.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in policy.denoiser.parameters())


# ---------------------------------------------------------------- PPO pieces


def test_ppo_update_lowers_clipped_surrogate_on_a_fixed_batch():
    policy = tiny_diffusion()
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


def test_gaussian_actor_log_prob_and_clip():
    torch.manual_seed(0)
    policy = GaussianBCPolicy(GaussianBCConfig(obs_dim=3, action_dim=2, n_obs_steps=1, horizon=1, n_action_steps=1,
                                               hidden_dim=16, n_layers=1))
    policy.fit_normalizers(torch.randn(20, 3), torch.rand(20, 2) * 2 - 1)
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


def test_action_chunk_wrapper_sums_rewards_and_stops_at_the_end():
    from stable_baselines3.common.env_checker import check_env

    from labkit.envs import make

    env = ActionChunkWrapper(make("labkit/TwoRoutes-v0", max_episode_steps=6), n_obs_steps=2, n_action_steps=4)
    check_env(env, warn=False)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (16,) and np.allclose(obs[:8], obs[8:])  # the first observation, repeated
    _, r, term, trunc, info = env.step(np.tile([0.0, 1.0], 4).astype(np.float32))
    assert info["chunk_steps"] == 4 and not (term or trunc)
    _, _, term, trunc, info = env.step(np.zeros(8, np.float32))
    assert info["chunk_steps"] == 2 and trunc  # the time limit cut the chunk


# ---------------------------------------------------------------- offline RL


def test_expectile_loss_finds_the_expectile():
    # Two-point distribution {0, 1} with equal weights: the tau-expectile is tau.
    data = torch.tensor([0.0, 1.0]).repeat(50)
    for tau in (0.5, 0.8, 0.95):
        v = torch.zeros((), requires_grad=True)
        opt = torch.optim.LBFGS([v], lr=1.0, max_iter=100)

        def closure():
            opt.zero_grad()
            loss = expectile_loss(data - v, tau)
            loss.backward()
            return loss

        opt.step(closure)
        assert abs(v.item() - tau) < 1e-3, (tau, v.item())


def _toy_episodes():
    """A one-step bandit written as episodes: action +1 earns 1, action -1 earns 0."""
    from labkit.data import EpisodeDataset

    rng = np.random.default_rng(0)
    n = 400
    obs = rng.normal(size=(n, 3)).astype(np.float32)
    act = np.where(rng.random((n, 1)) < 0.5, -1.0, 1.0) * np.ones((1, 2))
    act = (act + rng.normal(0, 0.05, size=act.shape)).astype(np.float32)
    rew = (act[:, 0] > 0).astype(np.float32)
    return EpisodeDataset(obs, act, rew, np.ones(n, bool), np.zeros(n, bool), np.arange(1, n + 1),
                          metadata={"env_id": "toy", "expert": "coin", "seed": 0, "created_with": "test"})


def test_transitions_and_iql_prefer_the_rewarded_action():
    ds = _toy_episodes()
    tr = transitions_from_episodes(ds)
    assert len(tr) == 400 and tr.dones.all()
    critic = IQLCritic(3, 2, IQLConfig(hidden_dim=32, batch_size=64, lr=3e-3, target_tau=0.05))
    log = train_iql(critic, ds, iterations=300, progress=False)
    assert log.iterations_done == 300 and np.isfinite(log.losses["q_loss"]).all()
    obs = torch.randn(16, 3)
    good, bad = critic.q_value(obs, torch.ones(16, 2)), critic.q_value(obs, -torch.ones(16, 2))
    assert (good > bad + 0.5).all()
    # V with expectile 0.8 lies between the mean (0.5) and the best action's value (1).
    assert 0.55 < critic.v(obs).mean().item() < 1.0

    # IDQL: candidates from a behaviour policy, the critic picks the rewarded one.
    behaviour = tiny_diffusion(horizon=1, n_action_steps=1)

    class Chooser(torch.nn.Module):  # prefers large first coordinates
        def q_value(self, o, a):
            return a[:, 0]

    idql = IDQLPolicy(behaviour, Chooser(), n_samples=16, selection="argmax")
    out = idql.predict_action(torch.randn(4, 1, 3), generator=gen(0))
    assert out.shape == (4, 1, 2)
    cand = behaviour.sample_actions(torch.zeros(64, 1, 3), generator=gen(1))[:, 0, 0]
    assert out[:, 0, 0].min() > cand.median()  # best of 16 beats a typical draw
    soft = IDQLPolicy(behaviour, critic, n_samples=8, selection="softmax", temperature=0.1)
    assert soft.predict_action(torch.randn(2, 1, 3), generator=gen(0)).shape == (2, 1, 2)
    with pytest.raises(ValueError, match="selection"):
        IDQLPolicy(behaviour, critic, selection="best")


def test_diffusion_ql_runs_and_keeps_weights():
    ds = _toy_episodes()
    policy = tiny_diffusion(horizon=1, n_action_steps=1)
    q, log = train_diffusion_ql(policy, ds, DiffusionQLConfig(num_inference_steps=3, batch_size=32, hidden_dim=32),
                                iterations=20, progress=False)
    assert log.iterations_done == 20 and not log.interrupted
    assert np.isfinite(log.losses["bc"]).all() and np.isfinite(log.losses["q_term"]).all()
    assert policy.config.num_inference_steps == 3
    assert policy.predict_action(torch.randn(2, 1, 3), generator=gen(0)).shape == (2, 1, 2)
    assert q.min_q(torch.randn(2, 3), torch.zeros(2, 2)).shape == (2,)


def test_diffusion_ql_with_a_frozen_iql_critic_leaves_the_critic_alone():
    ds = _toy_episodes()
    critic = IQLCritic(3, 2, IQLConfig(hidden_dim=16, batch_size=32))
    train_iql(critic, ds, iterations=20, progress=False)
    before = [p.detach().clone() for p in critic.parameters()]
    policy = tiny_diffusion(horizon=1, n_action_steps=1)
    q, log = train_diffusion_ql(policy, ds, DiffusionQLConfig(num_inference_steps=3, batch_size=32), iterations=5,
                                critic=critic, progress=False)
    assert q is critic.q_target and log.iterations_done == 5
    assert all(torch.equal(a, b) for a, b in zip(before, critic.parameters()))
    assert policy.config.sampler == "ddpm" and np.isfinite(log.losses["q_term"]).all()


# ---------------------------------------------------------------- shipped data


def test_shipped_mixed_dataset_has_three_qualities():
    from labkit.datasets import load_demos

    ds = load_demos("two_routes_mixed")
    quality = np.asarray(ds.episode_fields["quality"])
    success = np.asarray(ds.episode_fields["success"])
    assert set(quality.tolist()) == {"expert", "noisy", "failing"}
    assert success[quality == "expert"].mean() == 1.0
    assert success[quality == "failing"].mean() == 0.0
    assert 0.5 < success[quality == "noisy"].mean() < 1.0
    assert len(ds.rewards) == ds.n_steps and np.isfinite(ds.rewards).all()


def test_failing_episodes_reach_the_split_like_the_expert_and_scores_normalise():
    from labkit.datasets import load_demos
    from labkit.finetune import normalized_return, quality_returns, split_observations

    ds = load_demos("two_routes_mixed")
    band = (-0.27, -0.22)  # just before the split: both still head for the split point
    expert, failing = split_observations(ds, "expert", band), split_observations(ds, "failing", band)
    assert len(expert) > 50 and len(failing) > 50
    # Same place, same speed on the way to the split: only what happens there differs.
    assert abs(expert[:, 3].mean() - failing[:, 3].mean()) < 0.1, (expert[:, 3].mean(), failing[:, 3].mean())
    ref = quality_returns(ds)
    assert ref["expert"]["mean_return"] > ref["noisy"]["mean_return"] > ref["failing"]["mean_return"]
    assert normalized_return(ref["expert"]["mean_return"], ds) == pytest.approx(1.0)
    assert normalized_return(ref["failing"]["mean_return"], ds) == pytest.approx(0.0)


# ---------------------------------------------------------------- end to end


@pytest.mark.slow
def test_dppo_raises_success_of_an_under_trained_policy():
    """The kit's under-trained diffusion policy (~45%) gets clearly better with 16k env steps of DPPO.

    An env-step budget, not a time budget, so a busy machine makes the test slower, not weaker.
    """
    from labkit.datasets import load_demos
    from labkit.evaluate import evaluate
    from labkit.finetune import DPPO_ACTOR, dppo_config, finetune_ppo, pretrain_diffusion

    env_id = "labkit/TwoRoutes-v0"
    policy = pretrain_diffusion(load_demos("two_routes_demos"), iterations=200, seed=0, progress=False)
    actor = DiffusionPPOActor(policy, **DPPO_ACTOR)
    before = evaluate(actor, env_id, 40, seed=100, progress=False).success_rate
    result = finetune_ppo(actor, env_id, dppo_config(total_env_steps=16_000, seed=0), progress=False)
    after = evaluate(actor, env_id, 40, seed=100, progress=False).success_rate
    assert result.history and result.env_steps >= 16_000 and not result.interrupted
    assert before <= 0.6 and after > before + 0.2, (before, after, result.history[-1])
