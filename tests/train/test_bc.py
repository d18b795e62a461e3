"""labkit.train.bc: behaviour_cloning, a preset policy fitted to demonstrations in one call."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import labkit as lk
from labkit.train import TrainLog, behaviour_cloning


def test_prior_preset_sets_env_id_and_the_fast_sampler(tiny_demos, tmp_path):
    """What train_prior(demos, env_id, iterations) did: now behaviour_cloning(..., preset="prior")."""
    path = tmp_path / "prior.pt"
    prior, log = behaviour_cloning(
        "diffusion",
        tiny_demos,
        iterations=20,
        preset="prior",
        seed=0,
        progress=False,
        mlp_hidden_dim=32,
        checkpoint_path=path,
    )
    assert prior.env_id == "labkit/TwoRoutes-v0" and not prior.training
    assert prior.config.sampler == "ddim" and prior.config.num_inference_steps == 10
    assert (prior.config.n_obs_steps, prior.config.horizon, prior.config.n_action_steps) == (2, 8, 4)
    assert isinstance(log, TrainLog) and log.iterations_done == 20 and len(log.loss) == 20
    assert log.meta["preset"] == "prior" and log.meta["env_id"] == "labkit/TwoRoutes-v0"
    loaded = lk.load(path, env_id="labkit/TwoRoutes-v0")  # the checkpoint carries the env id
    obs = torch.zeros(2, 2, 8)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(loaded.predict_action(obs, generator=g()), prior.predict_action(obs, generator=g()))


def test_same_seed_same_policy_and_action_range(tiny_demos):
    kw = dict(
        iterations=5, preset="offline", seed=1, progress=False, hidden_dim=16, n_layers=1, action_range=(-1.0, 1.0)
    )
    a, _ = behaviour_cloning("gaussian", tiny_demos, **kw)
    b, _ = behaviour_cloning("gaussian", tiny_demos, **kw)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    low, high = a.action_range()  # the env's bounds, not the demonstrations' min and max
    np.testing.assert_allclose(low, -1.0, atol=1e-5)
    np.testing.assert_allclose(high, 1.0, atol=1e-5)


def test_bad_arguments(tiny_demos):
    with pytest.raises(TypeError, match="demos must be an EpisodeDataset"):
        behaviour_cloning("diffusion", np.zeros((3, 8)), iterations=1)
    with pytest.raises(ValueError, match="kind must be one of"):
        behaviour_cloning("vae", tiny_demos, iterations=1, progress=False)
    with pytest.raises(ValueError, match="action_range must be one of"):
        behaviour_cloning("gaussian", tiny_demos, iterations=1, action_range="env", progress=False)
    with pytest.raises(ValueError, match="iterations must be an integer >= 1"):
        behaviour_cloning("gaussian", tiny_demos, iterations=0, progress=False)
