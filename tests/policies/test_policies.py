"""labkit.policies: configs, the diffusion and Gaussian policies, check_fits, with_sampling, presets.

The runner is tests/policies/test_runner.py, propose-and-select tests/policies/test_select.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.policies import (
    KINDS,
    POLICY_CLASSES,
    PRESETS,
    DiffusionPolicy,
    DiffusionPolicyConfig,
    GaussianBCConfig,
    GaussianBCPolicy,
    PolicyMismatchError,
    check_fits,
    describe_presets,
    make_policy,
    with_sampling,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def small_diffusion(tiny_policy):
    """To = 2, H = 8, Ta = 4; a 32-wide MLP denoiser; 10 inference steps."""
    return lambda **kw: tiny_policy("diffusion", **kw)


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
def test_policy_shapes_loss_and_chain(small_diffusion, denoiser):
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
def test_sampling_is_reproducible(small_diffusion, sampler):
    policy = small_diffusion()
    obs = torch.randn(3, 2, 3)
    a = policy.sample_actions(obs, generator=gen(7), sampler=sampler)
    b = policy.sample_actions(obs, generator=gen(7), sampler=sampler)
    c = policy.sample_actions(obs, generator=gen(8), sampler=sampler)
    assert torch.equal(a, b) and not torch.equal(a, c)
    all_noise = torch.randn(11, 3, 8, 2, generator=gen(9))  # x_T + one z per step
    once, again = (policy.sample_actions(obs, noise=all_noise, sampler=sampler) for _ in range(2))
    assert torch.equal(once, again)


def test_fixed_initial_noise_ddim_deterministic_and_ddpm_asks_for_generator(small_diffusion):
    policy = small_diffusion()
    obs, x_T = torch.randn(3, 2, 3), torch.randn(3, 8, 2)
    a = policy.sample_actions(obs, noise=x_T, sampler="ddim")
    assert torch.equal(a, policy.sample_actions(obs, noise=x_T, sampler="ddim"))
    with pytest.raises(ValueError, match="generator"):
        policy.sample_actions(obs, noise=x_T, sampler="ddpm")
    with pytest.raises(ValueError, match="noise must have shape"):
        policy.sample_actions(obs, noise=torch.randn(3, 8))


def test_predict_action_is_the_executable_window(small_diffusion):
    policy = small_diffusion(n_obs_steps=3, horizon=8, n_action_steps=5)
    obs = torch.randn(2, 3, 3)
    chunk = policy.sample_actions(obs, generator=gen(1))
    assert torch.equal(policy.predict_action(obs, generator=gen(1)), chunk[:, 2:7])


def test_gaussian_policy_interface(tiny_policy):
    policy = tiny_policy("gaussian", state_dependent_std=True)
    obs, actions = torch.randn(4, 2, 3), torch.randn(4, 8, 2)
    assert torch.isfinite(policy.compute_loss({"obs": obs, "actions": actions}))
    a = policy.sample_actions(obs, generator=gen(3))
    assert a.shape == (4, 8, 2) and torch.equal(a, policy.sample_actions(obs, generator=gen(3)))
    mean = policy.sample_actions(obs, deterministic=True)
    assert torch.equal(mean, policy.sample_actions(obs, noise=torch.zeros(4, 8, 2)))
    assert policy.predict_action(obs, deterministic=True).shape == (4, 4, 2)


def test_config_dict_round_trip(small_diffusion):
    policy = small_diffusion(denoiser="unet", unet_channels=(16, 32))
    d = policy.config_dict()
    assert d["unet_channels"] == [16, 32]
    clone = DiffusionPolicy.from_config(d)
    assert clone.config == policy.config
    with pytest.raises(ValueError, match="Unknown"):
        DiffusionPolicy.from_config({**d, "bogus": 1})


@pytest.mark.parametrize("kind", KINDS)
def test_nan_observation_is_a_clear_error(tiny_policy, kind):
    policy = tiny_policy(kind)
    obs = torch.randn(2, 2, 3)
    obs[1, 0, 2] = float("nan")
    with pytest.raises(ValueError, match="obs contains NaN or inf"):
        policy.predict_action(obs, generator=gen())
    obs[1, 0, 2] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf"):
        policy.compute_loss({"obs": obs, "actions": torch.zeros(2, 8, 2)})


def test_action_bounds_set_what_the_policy_can_produce(tiny_policy):
    policy = tiny_policy("diffusion", fit=False)
    policy.fit_normalizers(torch.randn(20, 3), torch.rand(20, 2) * 0.2, action_bounds=([-3.0, -1.0], [3.0, 1.0]))
    low, high = policy.action_range()
    np.testing.assert_allclose(low, [-3.0, -1.0], atol=1e-5)
    np.testing.assert_allclose(high, [3.0, 1.0], atol=1e-5)
    with pytest.raises(ValueError, match="high > low"):
        policy.fit_normalizers(torch.randn(20, 3), torch.rand(20, 2), action_bounds=(1.0, 1.0))


def test_with_sampling_pins_options(tiny_policy):
    policy = tiny_policy("diffusion", 8, 2)
    hist = torch.randn(1, 2, 8)  # (1, To, 8)
    pinned = with_sampling(policy, sampler="ddim", num_inference_steps=3)
    a = pinned.predict_action(hist, generator=gen(0))
    b = policy.predict_action(hist, generator=gen(0), sampler="ddim", num_inference_steps=3)
    assert torch.equal(a, b) and pinned.config is policy.config
    with pytest.raises(TypeError, match="predict_action"):
        with_sampling(object())


def test_check_fits_says_what_does_not_fit(tiny_policy):
    policy = tiny_policy("gaussian", 8, 2, env_id="labkit/TwoRoutes-v0")
    assert check_fits(policy, "labkit/TwoRoutes-v0", 8, 2) is policy
    with pytest.raises(PolicyMismatchError, match="^The policy was trained for 'labkit/TwoRoutes-v0' but the env is"):
        check_fits(policy, "labkit/PushBlock-v0", 8, 2)
    assert check_fits(policy, "labkit/PushBlock-v0", 8, 2, check_env_id=False) is policy
    with pytest.raises(PolicyMismatchError, match="^The policy expects observations of size 8 but labkit/X gives 13"):
        check_fits(policy, "labkit/X", 13, 2, check_env_id=False)
    with pytest.raises(PolicyMismatchError, match="^The policy outputs actions of size 2 but the env takes 1"):
        check_fits(policy, None, 8, 1)
    with pytest.raises(PolicyMismatchError, match="Expected a labkit chunk policy"):
        check_fits(torch.nn.Linear(8, 2), None, 8, 2)
    assert issubclass(PolicyMismatchError, ValueError)


def test_presets_and_make_policy():
    assert set(POLICY_CLASSES) == {"diffusion", "gaussian", "consistency"}
    assert POLICY_CLASSES["diffusion"] is DiffusionPolicy
    assert {"chunked", "prior", "offline", "dppo", "feedback"} <= set(PRESETS)
    for name, preset in PRESETS.items():
        policy = make_policy("gaussian", 8, 2, preset=name, hidden_dim=8, n_layers=1)
        cfg = policy.config
        assert (cfg.n_obs_steps, cfg.horizon, cfg.n_action_steps) == tuple(preset.horizons.values()), name
        assert preset.why
    chunked = make_policy("diffusion", 8, 2, env_id="labkit/TwoRoutes-v0", mlp_hidden_dim=16)
    cfg = chunked.config
    assert (cfg.n_obs_steps, cfg.horizon, cfg.n_action_steps, cfg.sampler) == (2, 16, 8, "ddim")
    assert chunked.env_id == "labkit/TwoRoutes-v0" and cfg.mlp_hidden_dim == 16
    assert make_policy("diffusion", 8, 2, preset="dppo", mlp_hidden_dim=16).config.sampler == "ddpm"
    assert isinstance(make_policy("gaussian", 8, 2, hidden_dim=8), GaussianBCPolicy)
    with pytest.raises(ValueError, match="preset must be one of"):
        make_policy("diffusion", 8, 2, preset="fast")
    table = describe_presets()
    assert table.count("\n") == len(PRESETS) + 1 and "`feedback`" in table
