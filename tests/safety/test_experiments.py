"""labkit.experiments.safety at tiny budgets: the runs the notebook and the benchmark share return what they promise."""

import json
from dataclasses import replace

import numpy as np
import pytest

from labkit.experiments import safety as ex
from labkit.safety import Hazards


def test_puddles_lie_on_the_inner_lanes_and_the_start_is_safe():
    assert isinstance(ex.PUDDLES, Hazards) and len(ex.PUDDLES.disks) == 2
    assert ex.PUDDLES.cost(np.array([0.0, -0.35])) == 0.0  # the task's start
    assert ex.PUDDLES.cost(np.array([0.16, -0.04])) == 1.0  # beside the cup, where the prior drives


def test_compare_constraints_rows(shipped_prior):
    res = ex.compare_constraints(shipped_prior, n_episodes=2, timing_calls=1, progress=False)
    assert [r["method"] for r in res["rows"]] == list(ex.METHODS)
    for r in res["rows"]:
        assert 0 <= r["violation_rate"] <= 1 and 0 <= r["success"] <= 1 and r["ms_cpu"] >= 0
    assert next(r for r in res["rows"] if r["method"] == "none")["distortion"] == 0.0
    assert len(res["trajectories"]["guidance"]) == 2


def test_safe_rl_and_elicit_at_a_tiny_budget(shipped_prior):
    preset = replace(ex.PRIOR_PRESET, steps=512, n_envs=2, batch_size=128, eval_episodes=3)
    run = ex.train_safe_rl(0.1, preset, prior=shipped_prior, progress=False)
    h, final = run["history"], run["final"]
    assert h["steps"] and len(h["lambda"]) == len(h["steps"]) and final["lambda"] >= 0
    assert {"cost", "success", "violation_rate", "return"} <= set(final)
    costs, succ = ex.start_rollout(run["model"], preset, np.array([[0.3, -0.3], [-0.3, -0.3]]), prior=shipped_prior)
    assert costs.shape == (2,) and succ.dtype == bool
    found = ex.elicit_starts(run["model"], preset, prior=shipped_prior, config=ex.ElicitConfig(n_per_round=3, rounds=1))
    assert found.starts.shape == (3, 2) and len(found.worst) == 3


def test_forgetting_curves_at_a_tiny_budget():
    p = ex.ForgettingPreset(steps=512, eval_every=512, eval_episodes=2, pretrain_epochs=1, n_envs=2)
    run = ex.finetune_and_track("bc", p, progress=False)
    assert run["reg"] == "bc" and len(run["steps"]) == len(run["old"]) == len(run["new"]) == 2
    assert run["steps"][0] == 0 and all(0 <= v <= 1 for v in run["old"] + run["new"])


def test_latency_rows_time_the_samplers(shipped_prior):
    rows = ex.latency_rows(shipped_prior, calls=1)
    assert [r["policy"] for r in rows][:3] == ["DDPM-100", "DDIM-10", "DDIM-2"]
    assert all(r["ms_cpu"] >= 0 and r["delay_steps"] >= 0 and r["budget_ms"] == 50.0 for r in rows)


@pytest.mark.slow
def test_every_sweep_trial_returns_json_at_a_tiny_budget():
    """End to end (the benchmark's four trials, tiny budgets): < 60 s on an idle 2-core machine."""
    out = {
        "constraints": ex.run_constraints(0, n_episodes=2, timing_calls=1),
        "saferl": ex.run_saferl(0, cost_limit=0.1, steps=1_024),
        "forgetting": ex.run_forgetting(0, reg=None, steps=512, eval_every=512, pretrain_epochs=1, eval_episodes=2),
        "latency": ex.run_latency(0, iterations=20, delays=(0, 2), n_episodes=2),
    }
    json.dumps(out)  # JSON-friendly, as labkit.sweep stores it
    assert set(out["constraints"]["methods"]) == set(ex.METHODS)
    assert out["saferl"]["cost_limit"] == 0.1 and out["saferl"]["history"]["lambda"]
    assert out["forgetting"]["old_before"] == out["forgetting"]["old"][0]
    assert set(out["latency"]["success"]) == {"naive@0", "naive@2", "rtc@0", "rtc@2"}


def test_describe_targets_and_format_rows():
    results = {
        "targets": {
            "latency": {"pass": True, "rtc_success": 0.9, "delay": 4},
            "forgetting": {"pass": False, "bc": {"kept_share": {"mean": 0.75, "n": 2}}},
            "saferl": {"pass": True, "summary": "within the limit"},
        }
    }
    assert ex.describe_targets(results) == [
        "[x] latency: rtc_success 0.900",
        "[ ] forgetting: bc.kept_share 0.750",
        "[x] saferl: within the limit",
    ]
    text = ex.format_rows([{"m": "none", "x": 0.5}, {"m": "guidance", "x": 1.0}], ["m", "x"])
    assert text.splitlines() == ["       m      x", "    none  0.500", "guidance  1.000"]
