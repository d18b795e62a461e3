"""Diffuser / Decision Diffuser: trajectory shapes, exact inpainting, guidance, CFG, checkpoints, plan execution."""

import numpy as np
import pytest
import torch

import labkit as lk
from labkit.planning import (
    DecisionDiffuser,
    Diffuser,
    DiffuserConfig,
    Plan,
    TrajectoryValue,
    ValueConfig,
    ValueGuide,
    condition_vector,
    fit,
    load_planner,
    plan_route,
    rollout_plans,
    route_shares,
    save_planner,
    trajectory_windows,
)


def tiny(horizon=8, seed=0, **kw):
    torch.manual_seed(seed)  # the initial weights: the same model whatever ran before
    cfg = DiffuserConfig(horizon=horizon, hidden_dim=32, n_layers=1, num_train_timesteps=10, num_inference_steps=10)
    m = Diffuser(DiffuserConfig(**{**cfg.__dict__, **kw}))
    g = torch.Generator().manual_seed(0)
    m.fit_normalizer(torch.rand(16, horizon, 4, generator=g) - 0.5, torch.rand(16, horizon, 2, generator=g) * 2 - 1)
    return m


def tiny_dd():
    torch.manual_seed(0)
    dd = DecisionDiffuser(horizon=8, hidden_dim=32, inverse_hidden_dim=16, n_layers=1, num_train_timesteps=10,
                          num_inference_steps=10)  # fmt: skip
    dd.diffuser.fit_normalizer(torch.rand(8, 8, 4, generator=torch.Generator().manual_seed(0)))
    return dd


def test_windows_shapes_and_padding(tiny_demos):
    w = trajectory_windows(tiny_demos, horizon=64)
    L = tiny_demos.episode_lengths
    assert len(w) == int(L.sum()) and w.states.shape == (len(w), 64, 4) and w.actions.shape == (len(w), 64, 2)
    first = w.subset(w.start == 0)  # the window that starts each episode
    for e in range(len(L)):
        tail = first.states[e, L[e] + 1 :]
        assert np.allclose(tail[:, 2:], 0.0) and np.allclose(tail[:, :2], tail[0, :2])  # at rest at the goal
        assert np.allclose(first.actions[e, L[e] :], 0.0)
        assert first.valid[e, : L[e]].all() and not first.valid[e, L[e] :].any()


def test_window_returns_are_discounted_sums(tiny_demos):
    w = trajectory_windows(tiny_demos, horizon=16, discount=0.5)
    r = np.asarray(tiny_demos.rewards)
    assert np.isclose(w.returns[0], sum(0.5**k * r[k] for k in range(16)), atol=1e-4)
    with pytest.raises(ValueError, match="horizon must be >= 2"):
        trajectory_windows(tiny_demos, horizon=1)


def test_sample_shapes_and_chain():
    p = tiny().sample(3, generator=torch.Generator().manual_seed(0), return_chain=True)
    assert p.states.shape == (3, 8, 4) and p.actions.shape == (3, 8, 2) and p.chain.shape == (11, 3, 8, 6)


def test_inpainting_holds_the_fixed_states_exactly():
    m = tiny()
    s0, goal = torch.tensor([0.0, -0.35, 0.0, 0.0]), torch.tensor([0.0, 0.35, 0.0, 0.0])
    p = m.sample(5, {0: s0, -1: goal}, generator=torch.Generator().manual_seed(1), return_chain=True)
    assert torch.allclose(p.states[:, 0], s0.expand(5, 4), atol=1e-6)
    assert torch.allclose(p.states[:, -1], goal.expand(5, 4), atol=1e-6)
    n0 = m.normalize_state(s0)
    assert all(torch.equal(x[:, 0, :4], n0.expand(5, 4)) for x in p.chain)  # at every denoising iterate


def test_training_loss_decreases():
    m = tiny()
    g = torch.Generator().manual_seed(0)
    x0 = m.encode(torch.rand(64, 8, 4, generator=g) - 0.5, torch.rand(64, 8, 2, generator=g) * 2 - 1)
    log = fit(m, m.compute_loss, [x0], 150, batch_size=32, lr=3e-3, progress=False)
    losses = log.losses["loss"]
    assert log.iterations_done == 150 and np.mean(losses[-20:]) < np.mean(losses[:20])
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        fit(m, m.compute_loss, [x0], 1, lr_schedule="step", progress=False)


class _Echo(torch.nn.Module):
    def forward(self, x, t, cond):
        return x


def left_guide(x, t):
    """J = -mean x-coordinate: a higher value further left."""
    x = x.detach().requires_grad_(True)
    y = -x[..., 0].mean(dim=1)
    (g,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), g


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_guidance_moves_plans_towards_higher_value(seed):
    m = tiny(seed=seed)
    m.net = _Echo()  # predicts x0 = x_t: whatever moves the plans off the noise is the guidance
    known = {0: torch.zeros(4)}
    base = m.sample(16, known, guide=left_guide, scale=0.0, generator=torch.Generator().manual_seed(2))
    guided = m.sample(16, known, guide=left_guide, scale=50.0, generator=torch.Generator().manual_seed(2))
    assert guided.values.shape == (16,) and guided.values.mean() > base.values.mean()
    assert guided.states[..., 0].mean() < base.states[..., 0].mean()


def test_t_stopgrad_above_every_timestep_disables_guidance():
    m = tiny()
    a = m.sample(4, generator=torch.Generator().manual_seed(3))
    b = m.sample(4, guide=left_guide, scale=5.0, t_stopgrad=99, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(a.states, b.states)


def test_value_guide_gradient_shape_and_standardisation():
    v = TrajectoryValue(ValueConfig(horizon=8, transition_dim=6, hidden_dim=16, n_layers=1, num_train_timesteps=10))
    v.fit_returns(torch.tensor([1.0, 3.0]))
    y, g = ValueGuide(v)(torch.randn(2, 8, 6), 5)
    assert y.shape == (2,) and g.shape == (2, 8, 6) and float(v.ret_mean) == 2.0


def test_decision_diffuser_cfg_and_composition_shapes():
    dd = tiny_dd()
    obs = torch.zeros(3, 8)
    p = dd.plan(obs, [({"route": "left"}, 1.5), ({"speed": "slow"}, 1.5)], generator=torch.Generator().manual_seed(0))
    assert p.states.shape == (3, 8, 4) and p.actions.shape == (3, 7, 2) and p.actions.abs().max() <= 1.0
    assert torch.allclose(p.states[:, 0], obs[:, :4], atol=1e-6)
    assert condition_vector(route="right", speed="slow").tolist() == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="route must be one of"):
        condition_vector(route="up")


def test_cfg_with_weight_zero_equals_unconditional():
    dd = tiny_dd()
    a = dd.plan(torch.zeros(2, 8), [], generator=torch.Generator().manual_seed(4))
    b = dd.plan(torch.zeros(2, 8), [({"route": "left"}, 0.0)], generator=torch.Generator().manual_seed(4))
    assert torch.allclose(a.states, b.states, atol=1e-5)


def test_planner_checkpoint_round_trip_is_exact(tmp_path):
    m, dd = tiny(), tiny_dd()
    path = save_planner(tmp_path / "p.pt", {"diffuser": m, "dd": dd}, {"note": "test"})
    models, meta = load_planner(path)
    assert meta == {"note": "test"}
    a = m.sample(2, generator=torch.Generator().manual_seed(5))
    b = models["diffuser"].sample(2, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a.states, b.states)
    x, y = (d.plan(torch.zeros(1, 8), generator=torch.Generator().manual_seed(6)).states for d in (dd, models["dd"]))
    assert torch.equal(x, y)
    with pytest.raises(FileNotFoundError, match="make-data"):
        load_planner(tmp_path / "missing.pt", hint="remake it with: python -m labkit make-data x")


def test_plan_route_and_shares():
    ys = np.linspace(-0.35, 0.35, 20)
    left, right, through = (np.stack([np.full(20, x), ys], 1) for x in (-0.3, 0.3, 0.0))
    assert [plan_route(p) for p in (left, right, through)] == ["left", "right", "through"]
    assert route_shares(np.stack([left, left, right, through]))["left"] == 0.5


def test_rollout_plans_tracks_a_handmade_plan():
    way = np.array([[0, -0.35], [-0.3, -0.2], [-0.3, 0.15], [0, 0.35]])
    t = np.linspace(0, 3, 64)
    xy = np.stack([np.interp(t, range(4), way[:, 0]), np.interp(t, range(4), way[:, 1])], 1)  # (64, 2)
    states = np.concatenate([xy, np.gradient(xy, axis=0) / 0.05], 1).astype(np.float32)  # (64, 4)

    def planner(obs):
        return Plan(torch.as_tensor(states).expand(len(obs), -1, -1), torch.zeros(len(obs), 64, 2))

    r = rollout_plans(lambda: lk.make("labkit/TwoRoutes-v0"), planner, 2, mode="track", seed=0)
    assert r.result.success_rate == 1.0 and set(r.result.routes) == {"left"} and r.n_plans == 1
    with pytest.raises(ValueError, match="inverse_dynamics"):
        rollout_plans(lambda: lk.make("labkit/TwoRoutes-v0"), planner, 1, mode="inverse")


def test_value_guidance_on_the_shipped_model_raises_the_value_and_turns_plans_left():
    from labkit.experiments import planning_diffusion as XD

    model, value, _ = XD.load_diffuser()
    sweep = XD.guidance_sweep(model, value, scales=(0.0, 3.0), t_stopgrads=(0,), n_plans=32)
    plain, guided = sweep[(0.0, 0)], sweep[(3.0, 0)]
    assert guided["value"] > plain["value"] and guided["routes"]["left"] > plain["routes"]["left"]
