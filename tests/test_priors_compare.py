"""The shipped PushBlock prior and labkit.priors.compare (notebook 07, benchmarks/priors_sample_efficiency.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.datasets import load_shipped_prior
from labkit.evaluate import evaluate
from labkit.priors.compare import (
    METHODS,
    first_episodes,
    make_method_env,
    record_episode,
    steps_to_reach,
    train_with_prior,
)

ENV = "labkit/PushBlock-v0"


@pytest.fixture(scope="module")
def prior():
    torch.set_num_threads(1)
    return load_shipped_prior("push_block_prior")


def test_shipped_prior_is_for_push_block_and_succeeds_sometimes(prior):
    assert prior.env_id == ENV and not prior.training
    assert (prior.config.obs_dim, prior.config.action_dim) == (13, 2)
    assert prior.config.sampler == "ddim" and prior.config.ddim_eta == 0  # DSRL needs deterministic DDIM
    res = evaluate(prior, ENV, 8, seed=16, batch_size=8, progress=False)  # 4/8 when made; ~23% over 100
    assert 0 < res.success_rate < 1


@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_trains_and_records_env_steps(prior, method):
    run = train_with_prior(method, ENV, prior, 160, seed=0, n_envs=2, eval_every=80, n_eval_episodes=2,
                           progress=False, ppo_kwargs={"n_steps": 32, "batch_size": 32, "n_epochs": 1})
    assert run.steps[0] == 0 and run.steps[-1] >= 160 and len(run.steps) >= 3
    assert all(0.0 <= s <= 1.0 for s in run.success_rate) and len(run.seconds) == len(run.steps)
    if method == "dsrl":  # one agent step = one chunk of Ta env steps
        assert run.model.num_timesteps * prior.config.n_action_steps >= run.steps[-1] - 2 * prior.config.n_action_steps
        assert run.train_env.steered_noise().shape[1] == prior.config.horizon * prior.config.action_dim
    if method == "residual":
        assert run.train_env.residual_history().shape[1] == 2
    assert set(run.summary()) >= {"start_success", "best_success", "steps_to_threshold", "train_seconds"}


def test_first_episodes_counts_each_env_once(prior):
    venv = make_method_env("residual", ENV, prior, 3, seed=0)
    res = first_episodes(lambda o: np.zeros((len(o), 2), np.float32), venv, seed=5)
    assert res["success_rate"] in (0.0, 1 / 3, 2 / 3, 1.0) and res["env_steps"] >= 3


def test_record_episode_gives_full_rate_frames(prior):
    frames, _ = record_episode(lambda o: np.zeros((1, 2), np.float32), "residual", ENV, prior, seed=16)
    assert len(frames) >= 2 and frames[0].shape == (240, 240, 3) and frames[0].dtype == np.uint8
    chunked, _ = record_episode(lambda o: np.zeros((1, 16), np.float32), "dsrl", ENV, prior, seed=16)
    assert len(chunked) >= 2 * prior.config.n_action_steps  # every env step, not one frame per chunk


def test_steps_to_reach_and_bad_method(prior):
    assert steps_to_reach([0, 10, 20], [0.1, 0.95, 0.5], 0.9) == 10
    assert steps_to_reach([0, 10], [0.1, 0.2], 0.9) is None
    with pytest.raises(ValueError, match="method must be one of"):
        make_method_env("nope", ENV, prior, 1)
    with pytest.raises(ValueError, match="needs a prior"):
        make_method_env("residual", ENV, None, 1)


def test_figures_build(prior):
    from labkit.viz.priors import residual_magnitude_figure, steered_noise_figure

    fig = residual_magnitude_figure({"seed 0": np.abs(np.random.default_rng(0).normal(size=(50, 4)))})
    assert len(fig.data) == 2
    fig = steered_noise_figure(np.random.default_rng(0).normal(size=(40, 16)), bound=2.0)
    assert len(fig.data) == 2 * 17 + 1 and len(fig.layout.updatemenus[0].buttons) == 17
    with pytest.raises(ValueError, match="noise must be"):
        steered_noise_figure(np.zeros(5))


def test_tasks_give_train_with_prior_its_settings():
    from labkit.priors.compare import PPO_DEFAULTS, TASKS

    blocked = TASKS["blocked"]
    kw = blocked.kwargs("residual")
    assert kw["scale"] == 1.0 and kw["check_env_id"] is False and "scale" not in kw["ppo_kwargs"]
    assert TASKS["pushblock"].kwargs("dsrl") == {"ppo_kwargs": {}, "check_env_id": True}
    assert set(PPO_DEFAULTS) == set(METHODS)
    with pytest.raises(ValueError, match="method must be one of"):
        blocked.kwargs("bc")
    two_routes = blocked.load_prior()
    assert two_routes.env_id == "labkit/TwoRoutes-v0"  # trained before the world changed
    res = evaluate(two_routes, blocked.env_id, 8, seed=0, batch_size=8, progress=False)
    assert set(res.route_counts) <= {"left"} and res.success_rate < 1  # the right route is closed


def test_find_start_returns_a_seed_with_the_wanted_outcome(prior):
    zero = lambda o: np.zeros((len(o), 2), np.float32)  # noqa: E731  the prior alone
    from labkit.priors.compare import find_start

    seed = find_start(zero, "residual", ENV, prior, success=False, seeds=range(3))
    assert seed is not None and not record_episode(zero, "residual", ENV, prior, seed=seed)[1]
    assert find_start(zero, "residual", ENV, prior, success=True, seeds=range(0)) is None


def test_final_error_figure_counts_failures(prior):
    from labkit.viz.priors import final_error_figure

    res = evaluate(prior, ENV, 3, seed=0, batch_size=3, progress=False)
    fig = final_error_figure({"prior": res}, tolerance=0.025)
    assert len(fig.data) == 1 and len(fig.data[0].x) == int((~res.successes).sum())
