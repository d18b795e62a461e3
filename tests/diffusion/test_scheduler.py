"""labkit.diffusion.scheduler: DDPM/DDIM against closed forms (noising, oracle denoisers, posteriors).

The denoising chain as Gaussian steps is tests/diffusion/test_chain.py; networks are tests/models/.
"""

from __future__ import annotations

import math

import pytest
import torch

from labkit.diffusion import DDIMScheduler, DDPMScheduler

SCHEDULERS = [DDPMScheduler, DDIMScheduler]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- schedulers


@pytest.mark.parametrize("schedule", ["squaredcos_cap_v2", "linear"])
def test_add_noise_endpoints(schedule):
    sched = DDPMScheduler(num_train_timesteps=100, beta_schedule=schedule)
    x0 = torch.rand(64, 8, 2) * 2 - 1
    noise = torch.randn(64, 8, 2, generator=gen())
    near_clean = sched.add_noise(x0, noise, torch.zeros(64, dtype=torch.long))
    assert (near_clean - x0).abs().mean() < 0.03  # t = 0 is almost the identity
    near_noise = sched.add_noise(x0, noise, torch.full((64,), 99))
    assert sched.alphas_cumprod[-1] < 0.01  # both schedules end in (almost) pure noise
    assert (near_noise - noise).abs().max() < 0.15
    # per-sample timesteps broadcast over the trailing dims
    mixed = sched.add_noise(x0, noise, torch.tensor([0, 99] * 32))
    assert torch.allclose(mixed[0], near_clean[0]) and torch.allclose(mixed[1], near_noise[1])


def test_set_timesteps_descending_and_strided():
    sched = DDIMScheduler(num_train_timesteps=100)
    sched.set_timesteps(10)
    assert sched.timesteps.dtype == torch.long
    assert sched.timesteps.tolist() == [99, 89, 79, 69, 59, 49, 39, 29, 19, 9]
    sched.set_timesteps(100)
    assert sched.timesteps.tolist() == list(range(99, -1, -1))
    with pytest.raises(ValueError, match="num_inference_steps"):
        sched.set_timesteps(101)


def _oracle_eps(x_t: torch.Tensor, t: int, x0: torch.Tensor, sched) -> torch.Tensor:
    """The noise that turns x0 into x_t at timestep t (a perfect model for a single data point)."""
    a = sched.alpha_bar(t)
    return (x_t - math.sqrt(a) * x0) / math.sqrt(1 - a)


@pytest.mark.parametrize("cls", SCHEDULERS)
@pytest.mark.parametrize("steps", [100, 10, 3])
def test_oracle_model_recovers_data(cls, steps):
    sched = cls(num_train_timesteps=100)
    sched.set_timesteps(steps)
    x0 = torch.rand(16, 4, 2, generator=gen(1)) * 1.8 - 0.9
    x = torch.randn(16, 4, 2, generator=gen(2))
    g = gen(3)
    for t in sched.timesteps.tolist():
        x = sched.step(_oracle_eps(x, t, x0, sched), t, x, generator=g).prev_sample
    assert torch.allclose(x, x0, atol=1e-5)


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_optimal_denoiser_reproduces_gaussian_data(cls):
    """Data x0 ~ N(mu, s^2): the exact E[eps | x_t] is known, so sampling must give back N(mu, s^2)
    up to the discretisation error, which shrinks with the number of steps (DDPM needs more)."""
    mu, s = 0.3, 0.2
    T = 1000 if cls is DDPMScheduler else 100
    sched = cls(num_train_timesteps=T, clip_sample=False)
    sched.set_timesteps(T)
    x = torch.randn(20_000, 1, 1, generator=gen(4), dtype=torch.float64)
    g = gen(5)
    for t in sched.timesteps.tolist():
        a = sched.alpha_bar(t)
        eps = math.sqrt(1 - a) * (x - math.sqrt(a) * mu) / (a * s**2 + 1 - a)  # E[eps | x_t]
        x = sched.step(eps, t, x, generator=g).prev_sample
    assert abs(x.mean().item() - mu) < 0.01
    assert abs(x.std().item() - s) < 0.01


def test_ddpm_full_steps_matches_textbook_posterior():
    sched = DDPMScheduler(num_train_timesteps=100, clip_sample=False)
    t = 50
    x_t, eps = torch.randn(4, 3, generator=gen(6)), torch.randn(4, 3, generator=gen(7))
    out = sched.step(eps, t, x_t, noise=torch.zeros(4, 3))
    beta, alpha, a_t = sched.betas[t].item(), sched.alphas[t].item(), sched.alpha_bar(t)
    mean = (x_t - beta / math.sqrt(1 - a_t) * eps) / math.sqrt(alpha)  # Ho et al. eq. 11
    var = (1 - sched.alpha_bar(t - 1)) / (1 - a_t) * beta
    assert torch.allclose(out.mean, mean.float(), atol=1e-5)
    assert torch.allclose(out.std, torch.full((4, 3), math.sqrt(var)), atol=1e-7)


@pytest.mark.parametrize("cls,eta", [(DDPMScheduler, 0.0), (DDIMScheduler, 1.0), (DDIMScheduler, 0.5)])
def test_step_mean_std_are_the_sampling_gaussian(cls, eta):
    sched = cls(num_train_timesteps=100)
    sched.set_timesteps(10)
    t = sched.timesteps[3].item()
    x_t, out_model = torch.randn(1, 2, generator=gen(8)), torch.randn(1, 2, generator=gen(9))
    z = torch.randn(1, 2, generator=gen(10))
    out = sched.step(out_model, t, x_t, noise=z, eta=eta)
    assert out.std.shape == out.mean.shape == x_t.shape
    assert (out.std > 0).all()
    assert torch.equal(out.prev_sample, out.mean + out.std * z)
    # many draws: the empirical moments match (mean, std)
    n = 20_000
    batch = sched.step(out_model.expand(n, 2), t, x_t.expand(n, 2), generator=gen(12), eta=eta)
    draws = batch.prev_sample  # (n, 2): every row has the same x_t, so the same Gaussian
    assert torch.allclose(draws.mean(0), out.mean[0], atol=0.05 * out.std.max().item())
    assert torch.allclose(draws.std(0), out.std[0], rtol=0.03)


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_last_step_is_deterministic(cls):
    sched = cls(num_train_timesteps=100)
    sched.set_timesteps(10)
    x, m = torch.randn(2, 3), torch.randn(2, 3)
    out = sched.step(m, 9, x, generator=gen(0), eta=1.0)
    assert torch.equal(out.std, torch.zeros(2, 3))
    assert torch.equal(out.prev_sample, out.mean)
    assert torch.equal(out.prev_sample, out.pred_original_sample)


def test_ddim_eta0_is_deterministic_and_ignores_generator():
    sched = DDIMScheduler(num_train_timesteps=100)
    sched.set_timesteps(10)
    x, m = torch.randn(2, 3), torch.randn(2, 3)
    a = sched.step(m, 59, x, generator=gen(0)).prev_sample
    b = sched.step(m, 59, x, generator=gen(1)).prev_sample
    assert torch.equal(a, b)


def test_sample_prediction_type_and_clipping():
    sched = DDIMScheduler(num_train_timesteps=100, prediction_type="sample")
    sched.set_timesteps(5)
    out = sched.step(torch.full((1, 2), 3.0), 99, torch.zeros(1, 2))
    assert torch.equal(out.pred_original_sample, torch.ones(1, 2))  # clipped to [-1, 1]
    with pytest.raises(ValueError, match="prediction_type"):
        DDPMScheduler(prediction_type="v_prediction")
    with pytest.raises(ValueError, match="not in the current schedule"):
        sched.step(torch.zeros(1, 2), 50, torch.zeros(1, 2))
