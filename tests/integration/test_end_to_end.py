"""A short end-to-end run: shipped demonstrations -> diffusion policy -> success well above chance."""

import numpy as np
import pytest

import labkit as lk
from labkit.rollout import evaluate
from labkit.train import behaviour_cloning


@pytest.mark.slow
def test_short_diffusion_training_beats_chance():
    demos = lk.load("two_routes_demos")
    policy, result = behaviour_cloning("diffusion", demos, iterations=600, seed=0, progress=False, mlp_hidden_dim=128)
    assert result.iterations_done == 600 and result.loss[-1] < result.loss[0]
    trained = evaluate(policy, "labkit/TwoRoutes-v0", 10, seed=0, progress=False)
    rng = np.random.default_rng(0)
    chance = evaluate(
        lambda obs, _: rng.uniform(-1, 1, 2).astype(np.float32), "labkit/TwoRoutes-v0", 10, seed=0, progress=False
    )
    assert chance.success_rate == 0.0
    assert trained.success_rate >= 0.2, trained.summary()
