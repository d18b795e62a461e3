"""labkit.diffusion.chain: the denoising chain as Gaussian steps, its log-probabilities and gradients."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Normal

from labkit.diffusion import denoise, gaussian_log_prob, step_distributions, step_log_probs


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def policy(chain_policy):
    return chain_policy


def test_chain_log_probs_match_torch_normal(policy):
    sched = policy.make_scheduler("ddpm", 5)
    obs = torch.randn(4, 1, 3)
    cond = policy.encode_obs(obs)
    min_std = 0.1
    x0, chain, logp = denoise(policy.denoiser, cond, sched, (4, 2, 2), min_std=min_std, record_last=5, generator=gen(1))
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
    torch.testing.assert_close(
        step_log_probs(policy.denoiser, cond, sched, chain, min_std).detach(), expected, rtol=1e-5, atol=1e-4
    )
    means, stds = step_distributions(policy.denoiser, cond, sched, chain, min_std)  # (4, 5, 2, 2) each
    assert means.shape == stds.shape == (4, 5, 2, 2) and float(stds.min()) >= min_std
    torch.testing.assert_close(
        Normal(means, stds).log_prob(chain[:, 1:]).sum(dim=(2, 3)).detach(), expected, rtol=1e-5, atol=1e-4
    )
    # The last DDPM step is deterministic without the clip: its std is 0 before clipping.
    out = sched.step(torch.zeros(1, 2, 2), sched.timesteps[-1].item(), torch.zeros(1, 2, 2))
    assert float(out.std.max()) == 0.0


def test_chain_records_only_the_fine_tuned_steps_and_gradients_flow(policy):
    sched = policy.make_scheduler("ddpm", 5)
    cond = policy.encode_obs(torch.randn(3, 1, 3))
    _, chain, logp = denoise(policy.denoiser, cond, sched, (3, 2, 2), min_std=0.05, record_last=2, generator=gen(0))
    assert chain.shape == (3, 3, 2, 2) and logp.shape == (3, 2)
    x0, none_chain, none_logp = denoise(policy.denoiser, cond, sched, (3, 2, 2), grad=True, generator=gen(0))
    assert none_chain is None and none_logp is None
    x0.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in policy.denoiser.parameters())
    with pytest.raises(ValueError, match="record_last must be in"):
        denoise(policy.denoiser, cond, sched, (3, 2, 2), record_last=6)


def test_fixed_initial_noise_and_gaussian_log_prob(policy):
    sched = policy.make_scheduler("ddpm", 5)
    cond = policy.encode_obs(torch.randn(2, 1, 3))
    x_T = torch.randn(2, 2, 2, generator=gen(3))
    a, _, _ = denoise(policy.denoiser, cond, sched, (2, 2, 2), x_T=x_T, generator=gen(4))
    b, _, _ = denoise(policy.denoiser, cond, sched, (2, 2, 2), x_T=x_T, generator=gen(4))
    assert torch.equal(a, b)
    x, mean, std = torch.randn(2, 3), torch.zeros(2, 3), torch.full((2, 3), 0.5)
    torch.testing.assert_close(gaussian_log_prob(x, mean, std), Normal(mean, std).log_prob(x).sum(1))
