"""labkit.experiments.priors (notebook 07, benchmarks/priors_sample_efficiency.py) and the shipped PushBlock prior."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3 import PPO

import labkit as lk
from labkit.experiments.priors import (
    EVAL_DETERMINISTIC,
    METHODS,
    PPO_DEFAULTS,
    TASKS,
    make_method_env,
    train_with_prior,
)
from labkit.rollout import evaluate, find_start

ENV = "labkit/PushBlock-v0"


def test_shipped_prior_is_for_push_block_and_succeeds_sometimes(push_prior):
    prior = push_prior
    assert prior.env_id == ENV and not prior.training
    assert (prior.config.obs_dim, prior.config.action_dim) == (13, 2)
    assert prior.config.sampler == "ddim" and prior.config.ddim_eta == 0  # DSRL needs deterministic DDIM
    res = evaluate(prior, ENV, 8, seed=16, batch_size=8, progress=False)  # 23% over 100 episodes
    assert 0 < res.success_rate < 1


@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_trains_and_records_env_steps(push_prior, method):
    prior = push_prior
    model, log = train_with_prior(
        method,
        ENV,
        prior,
        160,
        seed=0,
        n_envs=2,
        eval_every=80,
        n_eval_episodes=2,
        progress=False,
        ppo_kwargs={"n_steps": 32, "batch_size": 32, "n_epochs": 1},
    )
    steps, success = log.curve("success_rate")
    assert steps[0] == 0 and steps[-1] >= 160 and len(steps) >= 3
    assert all(0.0 <= s <= 1.0 for s in success) and all("seconds" in row for row in log.history)
    assert log.meta == {"method": method, "seed": 0} and not log.interrupted
    train_env = model.get_env()
    if method == "dsrl":  # one agent step = one chunk of Ta env steps
        assert model.num_timesteps * prior.config.n_action_steps >= steps[-1] - 2 * prior.config.n_action_steps
        assert train_env.steered_noise().shape[1] == prior.config.horizon * prior.config.action_dim
    if method == "residual":
        assert train_env.residual_history().shape[1] == 2
    assert set(log.summary()) >= {"start_success", "best_success", "steps_to_threshold", "train_seconds"}
    res = lk.evaluate(model, ENV, 1, seed=0, max_steps=8, progress=False)  # deployed on the plain env
    assert res.trajectories[0].shape == (9, 13)


def test_evaluating_in_a_vec_env_counts_each_env_once(push_prior):
    venv = make_method_env("residual", ENV, push_prior, 3, seed=0)
    res = lk.evaluate(lambda o: np.zeros((len(o), 2), np.float32), venv, seed=5)  # was first_episodes(...)
    assert len(res.successes) == 3 and res.success_rate in (0.0, 1 / 3, 2 / 3, 1.0) and res.env_steps >= 3


def test_recorded_frames_are_full_rate_for_chunked_agents(push_prior):
    """An agent that decides once per chunk (DSRL) is filmed at every env step, not once per chunk."""
    for method in ("residual", "dsrl"):
        agent = PPO("MlpPolicy", make_method_env(method, ENV, push_prior, 1, seed=0), n_steps=32, batch_size=32, seed=0)
        frames, success = lk.record(agent, ENV, seed=16, max_steps=12)
        assert len(frames) == 13 and frames[0].shape == (240, 240, 3) and frames[0].dtype == np.uint8
        assert len(frames) > 2 * push_prior.config.n_action_steps and not success


def test_bad_method_or_missing_prior(push_prior):
    with pytest.raises(ValueError, match="method must be one of"):
        make_method_env("nope", ENV, push_prior, 1)
    with pytest.raises(ValueError, match="needs a prior"):
        make_method_env("residual", ENV, None, 1)
    assert make_method_env("scratch", ENV, None, 2).num_envs == 2


def test_tasks_give_train_with_prior_its_settings(shipped_prior):
    blocked = TASKS["blocked"]
    kw = blocked.kwargs("residual")
    assert kw["scale"] == 1.0 and kw["check_env_id"] is False and "scale" not in kw["ppo_kwargs"]
    assert TASKS["pushblock"].kwargs("dsrl") == {"ppo_kwargs": {}, "check_env_id": True}
    assert set(PPO_DEFAULTS) == set(METHODS) == set(EVAL_DETERMINISTIC)
    assert EVAL_DETERMINISTIC["dsrl"] is False  # DSRL's stochastic policy is the prior's own x_T ~ N(0, I)
    with pytest.raises(ValueError, match="method must be one of"):
        blocked.kwargs("bc")
    assert blocked.prior == "two_routes_prior"  # blocked.load_prior() is lk.load of it: the shipped_prior fixture
    two_routes = shipped_prior
    assert two_routes.env_id == "labkit/TwoRoutes-v0"  # trained before the world changed
    res = evaluate(two_routes, blocked.env_id, 8, seed=0, batch_size=8, progress=False)
    assert set(res.route_counts) <= {"left"} and res.success_rate < 1  # the right route is closed


def test_find_start_returns_a_seed_with_the_wanted_outcome(push_prior):
    seed = find_start(push_prior, ENV, success=False, seeds=range(3))
    assert seed is not None and not evaluate(push_prior, ENV, 1, seed=seed, progress=False).successes[0]
    assert find_start(push_prior, ENV, success=True, seeds=range(0)) is None


@pytest.mark.slow
@pytest.mark.parametrize("method", ["residual", "dsrl"])
def test_ppo_on_the_prior_adapts_it_to_the_blocked_world(method):
    """The shipped TwoRoutes prior takes the closed right route ~half the time; PPO on it learns not to."""
    task = TASKS["blocked"]
    _, log = train_with_prior(
        method,
        task.env_id,
        task.load_prior(),
        14_000,
        seed=0,
        eval_every=7_000,
        n_eval_episodes=20,
        progress=False,
        **task.kwargs(method),
    )
    _, success = log.curve("success_rate")
    start, end = success[0], success[-1]
    assert start <= 0.6, success  # the prior alone: the right route is closed
    assert end >= start + 0.3, success  # seen: residual 0.50 -> 1.0, DSRL 0.45 -> 0.95
