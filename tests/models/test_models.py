"""labkit.models: denoiser shapes and conditioning, the normaliser, EMA weights, Polyak updates, critics."""

from __future__ import annotations

import pytest
import torch

from labkit.models import EMA, MLPDenoiser, Normalizer, TwinQ, UNet1DDenoiser, ValueNet, polyak_update

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


def test_polyak_update_moves_target_towards_source():
    source, target = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        source.weight.fill_(1.0)
        target.weight.fill_(0.0)
    polyak_update(target, source, tau=0.25)
    assert torch.allclose(target.weight, torch.full_like(target.weight, 0.25))


def test_critics_shapes():
    q = TwinQ(3, 2, hidden_dim=16, n_layers=1)
    obs, act = torch.randn(5, 3), torch.randn(5, 2)
    q1, q2 = q(obs, act)
    assert q1.shape == q2.shape == (5,) and torch.equal(q.min_q(obs, act), torch.minimum(q1, q2))
    assert ValueNet(3, hidden_dim=16, n_layers=1)(obs).shape == (5,)
