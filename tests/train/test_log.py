"""labkit.train.log: TrainLog, what every trainer returns (losses, history rows, curve, summary)."""

from __future__ import annotations

import json

import pytest

from labkit.train import TrainLog, steps_to_reach


def _rl_log() -> TrainLog:
    log = TrainLog(meta={"method": "dsrl", "seed": 0}, seconds=12.345)
    for steps, success, ret in [(0, 0.1, 1.0), (1000, 0.5, 2.0), (2000, 0.95, 3.0), (3000, 0.9, 2.5)]:
        log.record(env_steps=steps, success_rate=success, mean_return=ret)
    log.record(env_steps=3500, note="no success here")  # rows without the column are skipped
    return log


def test_steps_to_reach():
    assert steps_to_reach([0, 10, 20], [0.1, 0.95, 0.5], 0.9) == 10
    assert steps_to_reach([0, 10], [0.1, 0.2], 0.9) is None
    assert steps_to_reach([], [], 0.5) is None


def test_losses_and_the_main_loss():
    log = TrainLog()
    assert log.loss == [] and log.curve() == ([], [])
    log.add(v_loss=1.0, q_loss=2.0)
    log.add(v_loss=0.5, q_loss=1.0)
    assert log.losses == {"v_loss": [1.0, 0.5], "q_loss": [2.0, 1.0]}
    assert log.loss == [1.0, 0.5]  # no "loss": the first one recorded
    log.add(loss=3)
    assert log.loss == [3.0] and isinstance(log.loss[0], float)


def test_curve_is_what_viz_curves_takes():
    log = _rl_log()
    assert log.curve("success_rate") == ([0, 1000, 2000, 3000], [0.1, 0.5, 0.95, 0.9])
    assert log.curve("mean_return", x="success_rate")[1] == [1.0, 2.0, 3.0, 2.5]
    with pytest.raises(KeyError, match="history has no 'value_loss' against 'env_steps'; its keys are"):
        log.curve("value_loss")


def test_summary_is_json_friendly():
    s = _rl_log().summary(threshold=0.9)
    assert s == {
        "method": "dsrl",
        "seed": 0,
        "start_success": 0.1,
        "final_success": 0.9,
        "best_success": 0.95,
        "steps_to_threshold": 2000,
        "env_steps": 3000,
        "train_seconds": 12.35,
    }
    json.dumps(s)
    assert _rl_log().summary(threshold=0.99)["steps_to_threshold"] is None
    r = _rl_log().summary("mean_return", threshold=2.5)
    assert (r["start_mean_return"], r["best_mean_return"], r["steps_to_threshold"]) == (1.0, 3.0, 2000)
    offline = TrainLog(meta={"kind": "diffusion"}, seconds=1.0)
    offline.add(loss=0.3)
    assert offline.summary() == {"kind": "diffusion", "train_seconds": 1.0}  # no history: only the time
