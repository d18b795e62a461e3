"""Unit tests for labkit.diffusion: schedulers, denoisers, normaliser, EMA, policies."""

from __future__ import annotations

import math

import pytest
import torch

from labkit.diffusion import (
    EMA,
    DDIMScheduler,
    DDPMScheduler,
    DiffusionPolicy,
    DiffusionPolicyConfig,
    GaussianBCConfig,
    GaussianBCPolicy,
    MLPDenoiser,
    Normalizer,
    UNet1DDenoiser,
)

SCHEDULERS = [DDPMScheduler, DDIMScheduler]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from intra-op threads, and threads thrash on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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


# ---------------------------------------------------------------- denoisers


def test_denoiser_shapes_and_conditioning():
    B, H, A, C = 5, 8, 3, 7
    x, t, c = torch.randn(B, H, A), torch.randint(0, 100, (B,)), torch.randn(B, C)
    for net in (MLPDenoiser(A, H, C, hidden_dim=32, n_layers=2), UNet1DDenoiser(A, C, channels=(16, 32))):
        y = net(x, t, c)
        assert y.shape == (B, H, A)
        assert not torch.allclose(y, net(x, t, c + 1.0))  # cond matters
        assert not torch.allclose(y, net(x, t + 1, c))  # timestep matters


def test_unet_three_levels_and_bad_horizon():
    net = UNet1DDenoiser(2, 4, channels=(16, 32, 64))
    assert net(torch.randn(3, 16, 2), torch.zeros(3, dtype=torch.long), torch.randn(3, 4)).shape == (3, 16, 2)
    with pytest.raises(ValueError, match="divisible"):
        net(torch.randn(3, 6, 2), torch.zeros(3, dtype=torch.long), torch.randn(3, 4))


# ---------------------------------------------------------------- normaliser and EMA


@pytest.mark.parametrize("mode", ["minmax", "gaussian"])
def test_normalizer_round_trip_and_constant_dims(mode):
    data = torch.randn(500, 3) * torch.tensor([5.0, 0.1, 0.0]) + torch.tensor([10.0, -2.0, 4.0])
    norm = Normalizer(3, mode=mode).fit(data)
    z = norm.normalize(data)
    assert torch.isfinite(z).all()
    if mode == "minmax":
        assert torch.allclose(z[:, :2].min(0).values, torch.full((2,), -1.0), atol=1e-5)
        assert torch.allclose(z[:, :2].max(0).values, torch.full((2,), 1.0), atol=1e-5)
    else:
        assert torch.allclose(z[:, :2].mean(0), torch.zeros(2), atol=1e-4)
    assert torch.equal(z[:, 2], torch.zeros(500))  # constant dim -> 0
    assert torch.allclose(norm.unnormalize(z), data, atol=1e-4)
    assert set(norm.state_dict()) == {"center", "scale", "fitted"}


def test_normalizer_refuses_before_fit():
    with pytest.raises(RuntimeError, match="fit_normalizers"):
        Normalizer(2).normalize(torch.zeros(1, 2))


def test_ema_tracks_and_swaps():
    model = torch.nn.Linear(2, 1)
    ema = EMA(model, decay=0.9, warmup=False)
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update()
    assert torch.allclose(ema.shadow[0], start + 0.1)
    trained = model.weight.detach().clone()
    with ema.average_parameters(model):
        assert torch.allclose(model.weight, start + 0.1)
    assert torch.equal(model.weight, trained)
    ema.copy_to(model)
    assert torch.allclose(model.weight, start + 0.1)


# ---------------------------------------------------------------- policies


def small_diffusion(**kw) -> DiffusionPolicy:
    cfg = dict(obs_dim=3, action_dim=2, mlp_hidden_dim=32, num_inference_steps=10)
    cfg.update(kw)
    policy = DiffusionPolicy(DiffusionPolicyConfig(**cfg))
    policy.fit_normalizers(torch.randn(100, 3), torch.rand(100, 2) * 4 - 2)
    return policy.eval()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(n_action_steps=9), "n_action_steps"),
        (dict(n_obs_steps=0), "n_obs_steps"),
        (dict(horizon=4, n_obs_steps=2, n_action_steps=4), "horizon"),
        (dict(denoiser="transformer"), "denoiser"),
        (dict(sampler="euler"), "sampler"),
        (dict(num_inference_steps=101), "num_inference_steps"),
        (dict(denoiser="unet", horizon=7, n_action_steps=2), "divisible"),
        (dict(obs_dim=0), "obs_dim"),
    ],
)
def test_config_validation(kwargs, match):
    base = dict(obs_dim=3, action_dim=2)
    base.update(kwargs)
    with pytest.raises(ValueError, match=match) as info:
        DiffusionPolicyConfig(**base)
    assert "Got" in str(info.value)
    with pytest.raises(ValueError, match="log_std_min"):
        GaussianBCConfig(obs_dim=3, action_dim=2, log_std_min=1.0, log_std_max=0.0)


@pytest.mark.parametrize("denoiser", ["mlp", "unet"])
def test_policy_shapes_loss_and_chain(denoiser):
    policy = small_diffusion(denoiser=denoiser, unet_channels=(16, 32))
    obs, actions = torch.randn(4, 2, 3), torch.rand(4, 8, 2)
    loss = policy.compute_loss({"obs": obs, "actions": actions})
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert policy.sample_actions(obs, generator=gen()).shape == (4, 8, 2)
    act, chain = policy.sample_actions(obs, generator=gen(), num_inference_steps=5, sampler="ddim", return_chain=True)
    assert chain.shape == (6, 4, 8, 2)
    assert torch.allclose(policy.normalizer_act.unnormalize(chain[-1]), act)
    assert policy.predict_action(obs, generator=gen()).shape == (4, 4, 2)
    with pytest.raises(ValueError, match="n_obs_steps=2"):
        policy.sample_actions(torch.randn(4, 3, 3))


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_sampling_is_reproducible(sampler):
    policy = small_diffusion()
    obs = torch.randn(3, 2, 3)
    a = policy.sample_actions(obs, generator=gen(7), sampler=sampler)
    b = policy.sample_actions(obs, generator=gen(7), sampler=sampler)
    c = policy.sample_actions(obs, generator=gen(8), sampler=sampler)
    assert torch.equal(a, b) and not torch.equal(a, c)
    all_noise = torch.randn(11, 3, 8, 2, generator=gen(9))  # x_T + one z per step
    assert torch.equal(policy.sample_actions(obs, noise=all_noise, sampler=sampler), policy.sample_actions(obs, noise=all_noise, sampler=sampler))


def test_fixed_initial_noise_ddim_deterministic_and_ddpm_asks_for_generator():
    policy = small_diffusion()
    obs, x_T = torch.randn(3, 2, 3), torch.randn(3, 8, 2)
    a = policy.sample_actions(obs, noise=x_T, sampler="ddim")
    assert torch.equal(a, policy.sample_actions(obs, noise=x_T, sampler="ddim"))
    with pytest.raises(ValueError, match="generator"):
        policy.sample_actions(obs, noise=x_T, sampler="ddpm")
    with pytest.raises(ValueError, match="noise must have shape"):
        policy.sample_actions(obs, noise=torch.randn(3, 8))


def test_predict_action_is_the_executable_window():
    policy = small_diffusion(n_obs_steps=3, horizon=8, n_action_steps=5)
    obs = torch.randn(2, 3, 3)
    chunk = policy.sample_actions(obs, generator=gen(1))
    assert torch.equal(policy.predict_action(obs, generator=gen(1)), chunk[:, 2:7])


def test_gaussian_policy_interface():
    policy = GaussianBCPolicy(GaussianBCConfig(obs_dim=3, action_dim=2, hidden_dim=32, state_dependent_std=True))
    policy.fit_normalizers(torch.randn(50, 3), torch.randn(50, 2))
    obs, actions = torch.randn(4, 2, 3), torch.randn(4, 8, 2)
    assert torch.isfinite(policy.compute_loss({"obs": obs, "actions": actions}))
    a = policy.sample_actions(obs, generator=gen(3))
    assert a.shape == (4, 8, 2) and torch.equal(a, policy.sample_actions(obs, generator=gen(3)))
    mean = policy.sample_actions(obs, deterministic=True)
    assert torch.equal(mean, policy.sample_actions(obs, noise=torch.zeros(4, 8, 2)))
    assert policy.predict_action(obs, deterministic=True).shape == (4, 4, 2)


def test_config_dict_round_trip():
    policy = small_diffusion(denoiser="unet", unet_channels=(16, 32))
    d = policy.config_dict()
    assert d["unet_channels"] == [16, 32]
    clone = DiffusionPolicy.from_config(d)
    assert clone.config == policy.config
    with pytest.raises(ValueError, match="Unknown"):
        DiffusionPolicy.from_config({**d, "bogus": 1})
