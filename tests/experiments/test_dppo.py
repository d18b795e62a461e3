"""labkit.experiments.dppo (notebook 10): DPPO lifts an under-trained diffusion policy."""

from __future__ import annotations

import pytest

import labkit as lk
from labkit.experiments.dppo import DPPO_ACTOR, dppo_config, pretrain_diffusion, pretrain_gaussian
from labkit.finetune import DiffusionPPOActor, finetune_ppo
from labkit.rollout import evaluate


def test_pretrained_policies_use_the_dppo_preset(tiny_demos):
    for make in (pretrain_diffusion, pretrain_gaussian):
        policy = make(tiny_demos, iterations=2, n_episodes=3, progress=False)
        cfg = policy.config
        assert (cfg.n_obs_steps, cfg.horizon, cfg.n_action_steps) == (1, 4, 4) and policy.env_id == tiny_demos.metadata[
            "env_id"
        ]
    assert policy.kind == "gaussian"
    assert dppo_config(total_env_steps=10).total_env_steps == 10 and dppo_config().n_envs == 8


@pytest.mark.slow
def test_dppo_raises_success_of_an_under_trained_policy():
    """The kit's under-trained diffusion policy (~50%) gets clearly better with the benchmark's 24k env steps.

    An env-step budget, not a time budget, so a busy machine makes the test slower, not weaker. Two
    seeds, judged on their mean: one seed's end point moves with the floating-point details of the
    machine (measured: seed 0 at 16k steps ended below where it started on one machine, above on another).
    """
    env_id = "labkit/TwoRoutes-v0"
    gains = []
    for seed in (0, 1):
        policy = pretrain_diffusion(lk.load("two_routes_demos"), iterations=200, seed=seed, progress=False)
        actor = DiffusionPPOActor(policy, **DPPO_ACTOR)
        before = evaluate(actor, env_id, 40, seed=100, progress=False).success_rate
        log = finetune_ppo(actor, env_id, dppo_config(total_env_steps=24_000, seed=seed), progress=False)
        after = evaluate(actor, env_id, 40, seed=100, progress=False).success_rate
        assert log.history and log.env_steps >= 24_000 and not log.interrupted
        assert before <= 0.6 and after >= before, (seed, before, after, log.history[-1])
        gains.append(after - before)
    assert sum(gains) / len(gains) > 0.2, gains


def test_run_dppo_is_a_sweep_trial_with_json_metrics():
    import json

    from labkit.experiments.dppo import run_dppo

    rec = run_dppo(0, total_env_steps=128, max_seconds=10, episodes=1, pretrain_iterations=2)
    assert {"before", "after", "env_steps", "train_seconds", "steps_to_90", "seconds_to_90"} <= set(rec)
    assert 0.0 <= rec["after"] <= 1.0 and rec["env_steps"] >= 128
    json.dumps(rec)  # a sweep stores it as JSON
