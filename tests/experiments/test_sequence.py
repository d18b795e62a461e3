"""Notebook 09's ready-made runs and checks: references, exercise checks, the return-conditioned rollout, a trial."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import labkit as lk
from labkit.course.checks import EXERCISES
from labkit.experiments.sequence import (
    SEQUENCE_METHODS,
    QTCritic,
    decision_attention,
    normalised,
    references,
    run_dt,
    run_qt,
    run_sequence,
)
from labkit.pretrain import ReturnConditioned, evaluate_return_conditioned, returns_to_go


def _verdict(name, answer) -> bool:
    out = EXERCISES[name].verify(answer)
    return bool(out[0] if isinstance(out, tuple) else out)


def test_normalisation_anchors():
    ref = references()
    assert normalised(ref["failing"]) == pytest.approx(0.0) and normalised(ref["expert"]) == pytest.approx(1.0)
    assert ref["best_episode"] > ref["expert"]


def test_exercise_checks_tell_right_from_wrong():
    assert not _verdict("09.returns_to_go", lambda r: np.cumsum(r))  # forward sum: the classic mistake
    assert _verdict("09.returns_to_go", lambda r: returns_to_go(r, np.array([len(r)])))

    def targets(q_s, q_next, r, done, gamma):
        inner = q_s[:, 1:].amax(-1)
        return torch.cat([inner, (r + gamma * (1 - done) * q_next.amax(-1))[:, None]], 1)

    assert _verdict("09.qt_targets", targets)
    assert not _verdict("09.qt_targets", lambda q_s, q_next, r, d, g: torch.zeros(5, 3))


def test_stub_reports_not_yet(capsys):
    def stub(*args):
        raise NotImplementedError

    for name in ("09.returns_to_go", "09.qt_targets", "09.stitched_return"):
        lk.check(name, stub)
        lk.check(name, None)
    assert capsys.readouterr().out.count("not yet") == 6


def test_rollout_attention_and_critic_of_barely_trained_models(tiny_demos):
    dt, log = run_dt(tiny_demos, iterations=3, progress=False, context=4, n_layer=1, n_embd=16)
    assert log.iterations_done == 3 and len(log.loss) == 3
    ev = evaluate_return_conditioned(ReturnConditioned(dt, 12.0), "labkit/TwoRoutes-v0", 2, progress=False)
    assert len(ev.returns) == 2 and ev.trajectories[0].shape[1] == 8 and ev.env_steps == int(ev.lengths.sum())
    weights, k = decision_attention(dt, tiny_demos, 0, 6, target=12.0)
    assert k == 4 and weights.shape == (1, 12) and np.allclose(weights.sum(1), 1.0, atol=1e-5)
    qt, _ = run_qt(tiny_demos, iterations=3, progress=False, n_layer=1, n_embd=16, n_bins=5)
    assert lk.evaluate(qt, "labkit/TwoRoutes-v0", 2, progress=False).returns.shape == (2,)
    q = QTCritic(qt).q_value(torch.zeros(3, 8), torch.zeros(3, 2))
    assert q.shape == (3,)


@pytest.mark.slow
def test_benchmark_trial_end_to_end():
    """Every row of the benchmark's table, on the stitching data, at tiny budgets."""
    out = run_sequence(
        0, "stitch", dt_iterations=10, qt_iterations=10, bc_iterations=10, iql_iterations=10, dql_iterations=2,
        episodes=2, sweep=(0.0, 12.0),
    )  # fmt: skip
    for m in SEQUENCE_METHODS:
        assert 0.0 <= out[f"{m}/success"] <= 1.0 and out[f"{m}/train s"] >= 0.0
    assert [r["target"] for r in out["sweep"]] == [0.0, 12.0]
