"""Sweeps: identical results on every backend, failures recorded, resume skips finished trials; honest stats."""

import json
import os

import numpy as np
import pytest
from scipy import stats as sstats

import labkit as lk
from labkit.sweep import example_trial, grid, run


def test_grid_is_the_cartesian_product_and_refuses_bad_axes():
    assert grid(a=[1, 2], b=["x"]) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
    with pytest.raises(ValueError, match="non-empty list"):
        grid(a=[])
    with pytest.raises(ValueError, match="backend must be one of"):
        run(example_trial, backend="slurm")


def test_sequential_and_process_pool_give_identical_records():
    settings = grid(x=[0.0, 1.0])
    a = run(example_trial, settings, seeds=3, progress=False)
    b = run(example_trial, settings, seeds=3, backend="process", workers=2, progress=False)
    strip = lambda recs: [{k: v for k, v in r.items() if k != "seconds"} for r in recs]  # noqa: E731
    assert strip(a.records) == strip(b.records)
    assert [r["seed"] for r in a.records] == [0, 1, 2, 0, 1, 2]


def test_ray_backend_gives_the_same_records():
    if os.environ.get("CI") != "true":
        pytest.importorskip("ray", reason='install the extra: pip install "labkit[ray]"')
    ray = pytest.importorskip("ray")  # in CI, .ci/run installs the extra, so this must import
    settings = grid(x=[0.0, 2.0])
    a = run(example_trial, settings, seeds=2, progress=False)
    try:
        b = run(example_trial, settings, seeds=2, backend="ray", workers=2, progress=False)
    finally:
        ray.shutdown()
    strip = lambda recs: [{k: v for k, v in r.items() if k != "seconds"} for r in recs]  # noqa: E731
    assert strip(a.records) == strip(b.records)


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    res = run(example_trial, [{"x": 1.0}, {"x": 2.0, "fail": True}], seeds=2, out=tmp_path, progress=False)
    assert len(res.ok) == 2 and len(res.failed) == 2
    assert all("fails on purpose" in r["error"] for r in res.failed)


def test_resume_skips_finished_trials(tmp_path):
    settings = grid(x=[0.0, 1.0])
    first = run(example_trial, settings[:1], seeds=2, out=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.json"))) == 2
    marker = json.loads(next(tmp_path.glob("*.json")).read_text())
    marker["value"] = 123.0  # a finished trial is read back, not run again
    (tmp_path / f"{marker['key']}.json").write_text(json.dumps(marker))
    again = run(example_trial, settings, seeds=2, out=tmp_path, progress=False)
    assert len(again.records) == 4 and 123.0 in [r["value"] for r in again.records]
    assert [r["key"] for r in again.records[:2]] == [r["key"] for r in first.records]


def test_summary_figure_and_save(tmp_path):
    res = run(example_trial, grid(x=[0.0, 1.0, 2.0]), seeds=4, progress=False)
    rows = res.summary("value", by=["x"])
    assert [r["n"] for r in rows] == [4, 4, 4]
    assert rows[2]["iqm_ci"][0] <= rows[2]["iqm"] <= rows[2]["iqm_ci"][1]
    fig = res.figure("value", x="x")
    assert len(fig.data) == 2  # band + line
    path = res.save(tmp_path / "sweep.json")
    assert len(json.loads(path.read_text())) == 12


def test_iqm_and_bootstrap_match_scipy():
    x = np.array([0.1, 0.5, 0.52, 0.55, 0.6, 0.61, 0.9, 3.0])
    assert lk.stats.iqm(x) == pytest.approx(sstats.trim_mean(x, 0.25))
    ours = lk.stats.bootstrap_ci(x, np.mean, seed=3)
    ref = sstats.bootstrap(
        (x,), np.mean, confidence_level=0.95, n_resamples=2_000, method="BCa", rng=np.random.default_rng(3)
    ).confidence_interval
    assert ours == pytest.approx((ref.low, ref.high), rel=1e-6)
    assert lk.stats.bootstrap_ci([0.7]) == (0.7, 0.7)
    # the IQM's CI is computed vectorised (fast); any other statistic one resample at a time: the same numbers
    assert lk.stats.bootstrap_ci(x, lk.stats.iqm) == pytest.approx(lk.stats.bootstrap_ci(x, lambda v: lk.stats.iqm(v)))
    s = lk.stats.summarize([1.0, 1.0, np.nan])
    assert s["n"] == 2 and s["mean_ci"] == (1.0, 1.0)
