"""labkit.viz: every builder returns a plotly Figure (never shows it); one palette; small inline videos."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from labkit import stats as lk_stats
from labkit import viz
from labkit.rollout import EvalResult
from labkit.train import TrainLog
from labkit.viz.curves import iqm_band
from labkit.viz.palette import METHOD_COLORS


def test_one_colour_per_method_whatever_the_label():
    assert viz.color_of("residual PPO on the prior") == viz.color_of("residual PPO (SB3)") == "#d62728"
    assert viz.color_of("DSRL: PPO in the prior's noise space") == viz.color_of("dsrl seed 3")
    assert viz.color_of("Gaussian PPO") != viz.color_of("Gaussian BC")  # the more specific keyword wins
    assert viz.color_of("Diffusion-QL") != viz.color_of("diffusion BC")
    assert viz.color_of("my new method") == viz.color_of("My New Method")  # unknown names: a stable hashed colour
    assert len({key for key, _ in METHOD_COLORS}) == len(METHOD_COLORS)


def test_curves_band_from_pairs_histories_and_train_logs():
    fig = viz.curves({"PPO": [([0, 10, 20], [0, 1, 2]), ([0, 10, 20], [0, 3, 4])]})  # was learning_curves
    assert isinstance(fig, go.Figure)
    band, mean = fig.data
    assert band.fill == "toself"
    np.testing.assert_allclose(mean.y, [0, 2, 3])
    assert mean.line.color == viz.color_of("PPO") and "2 seeds" in mean.name
    logs = []
    for offset in (0.0, 0.2):
        log = TrainLog()
        for steps in (0, 100, 200):
            log.record(env_steps=steps, success_rate=steps / 400 + offset)
        logs.append(log)
    history = [{"env_steps": 0, "success_rate": 0.0}, {"env_steps": 200, "success_rate": float("nan")}]
    fig = viz.curves({"DSRL": logs, "scratch": [history]}, band="std")  # NaN points are skipped
    dsrl_band, dsrl_mean, scratch = fig.data
    np.testing.assert_allclose(dsrl_mean.y, [0.1, 0.35, 0.6])
    assert list(scratch.x) == [0] and "1 seed)" in scratch.name
    assert len(viz.curves({"DSRL": logs}, band="none").data) == 1
    with pytest.raises(ValueError, match="band must be"):
        viz.curves({"x": logs}, band="iqr")


def test_curves_iqm_band_is_a_bootstrap_ci_around_the_iqm():
    rng = np.random.default_rng(0)
    ys = rng.random((5, 4))  # 5 seeds, 4 evaluations
    fig = viz.curves({"DSRL": [([0, 1, 2, 3], y) for y in ys]}, band="iqm")
    band, line = fig.data
    np.testing.assert_allclose(line.y, [lk_stats.iqm(col) for col in ys.T])
    lo, hi = np.asarray(band.y[4:][::-1]), np.asarray(band.y[:4])  # the band runs along the top, back along the bottom
    assert np.all(lo <= line.y) and np.all(line.y <= hi) and "IQM" in line.name
    np.testing.assert_allclose([lo[0], hi[0]], lk_stats.bootstrap_ci(ys[:, 0], lk_stats.iqm))
    centre, low, high = iqm_band(np.ones((3, 2)))
    np.testing.assert_array_equal(centre, low)
    np.testing.assert_array_equal(centre, high)
    with pytest.raises(ValueError, match="n_seeds, n_points"):
        iqm_band(np.zeros(3))


def test_curves_slider_shows_one_setting_at_a_time():
    runs = {"1": {"DPPO": [([0, 10], [0, 1]), ([0, 10], [0, 0.5])]}, "10": {"DPPO": [([0, 10], [0, 0.2])]}}
    fig = viz.curves_slider(runs, prefix="steps = ")
    assert len(fig.data) == 3  # band + mean for "1", one mean for "10"
    assert [t.visible for t in fig.data] == [True, True, False]
    (slider,) = fig.layout.sliders
    assert [s.label for s in slider.steps] == ["1", "10"]
    assert slider.steps[1].args[0]["visible"] == [False, False, True]
    with pytest.raises(ValueError, match="settings is empty"):
        viz.curves_slider({})


def test_trajectories_routes_and_crossings():
    trajs = [np.random.rand(10, 8), np.random.rand(12, 8)]
    fig = viz.trajectories_figure(trajs, ["left", "right"])
    assert len(fig.data) == 2 and len(fig.layout.shapes) == 5  # walls, three cup boxes, goal
    assert len(viz.two_routes_shapes()) == 5
    with pytest.raises(ValueError, match="one label per trajectory"):
        viz.trajectories_figure(trajs, ["left"])
    assert isinstance(viz.route_bar({"a": {"left": 1, "right": 2}}), go.Figure)
    up = np.stack([np.zeros(5), np.linspace(-0.3, 0.1, 5)], 1)  # crosses y = -0.12 at x = 0
    never = np.stack([np.zeros(5), np.full(5, -0.4)], 1)
    fig = viz.crossing_histogram({"into the cup": [up, never]})
    assert list(fig.data[0].x) == [0.0] and "1 never reach it" in fig.data[0].name


def test_video_encodes_and_rejects_bad_frames():
    frames = np.random.randint(0, 255, (8, 64, 64, 3), dtype=np.uint8)
    data = viz.encode_mp4(frames)
    assert len(data) > 100 and data[4:8] == b"ftyp"
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        viz.encode_mp4(np.zeros((8, 64, 64)))


def test_finetune_figures_build():
    fig = viz.residual_magnitude_figure({"seed 0": np.abs(np.random.default_rng(0).normal(size=(50, 4)))})
    assert len(fig.data) == 2
    fig = viz.steered_noise_figure(np.random.default_rng(0).normal(size=(40, 16)), bound=2.0)
    assert len(fig.data) == 2 * 17 + 1 and len(fig.layout.updatemenus[0].buttons) == 17
    with pytest.raises(ValueError, match="noise must be"):
        viz.steered_noise_figure(np.zeros(5))


def test_final_error_figure_counts_failures():
    rng = np.random.default_rng(0)
    trajectories = [rng.normal(0, 0.05, size=(5, 13)) for _ in range(3)]
    res = EvalResult(
        successes=np.array([True, False, False]),
        returns=np.zeros(3),
        lengths=np.full(3, 4),
        routes=np.full(3, "none"),
        trajectories=trajectories,
        frames=[],
    )
    fig = viz.final_error_figure({"prior": res}, tolerance=0.025)
    assert len(fig.data) == 1 and len(fig.data[0].x) == int((~res.successes).sum()) == 2
    np.testing.assert_allclose(fig.data[0].x, [100 * np.linalg.norm(t[-1][10:12]) for t in trajectories[1:]])


def test_action_figures_and_the_denoising_explorer():
    class Critic:
        def q_value(self, obs, actions):
            return -actions.pow(2).sum(1)

    clouds = {"diffusion BC": np.zeros((5, 2)), "IDQL": np.ones((5, 2)) * 0.5}
    fig = viz.action_value_figure(Critic(), np.zeros(8), clouds, grid=11)
    assert fig.data[0].type == "heatmap" and np.asarray(fig.data[0].z).shape == (11, 11)
    assert [d.marker.color for d in fig.data[1:]] == [viz.color_of("diffusion BC"), viz.color_of("IDQL")]
    assert len(viz.action_cloud_figure(clouds).data) == 2
    paths = viz.chunks_to_paths(np.ones((3, 4, 2)) * 2.0, np.zeros(2))  # clipped to 1: 0.025 m per step
    assert paths.shape == (3, 5, 2) and paths[0, -1].tolist() == pytest.approx([0.1, 0.1])
    chain = torch.randn(4, 3, 8, 2).numpy()  # (K + 1, N, H, 2)
    fig = viz.denoising_explorer(chain, np.zeros(2))
    assert len(fig.frames) == 4 and len(fig.layout.sliders[0].steps) == 4
    with pytest.raises(ValueError, match=r"chain must be \(K \+ 1, N, H, 2\)"):
        viz.denoising_explorer(chain[0], np.zeros(2))


def test_idql_temperature_figure_reselects_cached_candidates():
    class Critic:
        def q_value(self, obs, actions):
            return actions[:, 0]

    rng = np.random.default_rng(0)
    cand = rng.uniform(-1, 1, (30, 8, 2))  # (M, N, 2)
    values = cand[:, :, 0]  # Q = action x: argmax picks the rightmost candidate of each row
    fig = viz.idql_temperature_figure(cand, values, (0.1, 10.0), critic=Critic(), obs=np.zeros(8), grid=9)
    assert fig.data[0].type == "heatmap" and len(fig.layout.sliders[0].steps) == 3  # two temperatures + argmax
    chosen = [np.asarray(d.x) for d in fig.data[2:]]
    np.testing.assert_allclose(chosen[-1], cand[:, :, 0].max(1))  # argmax
    assert chosen[0].mean() > chosen[1].mean()  # colder picks higher Q than hotter
    assert [s.label for s in fig.layout.sliders[0].steps] == ["0.1", "10", "argmax"]
    shown = viz.idql_temperature_figure(cand, values, (0.1, 10.0), active=1)
    assert [d.visible for d in shown.data[1:]] == [False, True, False] and shown.layout.sliders[0].active == 1
    with pytest.raises(ValueError, match=r"candidates must be \(M, N, 2\)"):
        viz.idql_temperature_figure(cand[0], values)


def test_action_direction_figure_one_histogram_and_mean_per_group_with_a_slider():
    left, right = np.full(10, 180.0), np.zeros(10)
    fig = viz.action_direction_figure({"both": np.concatenate([left, right + 90.0]), "right": right})
    assert isinstance(fig, go.Figure) and len(fig.data) == 4  # a histogram and a mean line per group
    assert [t.visible for t in fig.data] == [True, True, False, False]
    assert fig.data[1].theta[0] == pytest.approx(135.0)  # the circular mean of 180 and 90 degrees
    assert [s.label for s in fig.layout.sliders[0].steps] == ["both", "right"]
    assert not viz.action_direction_figure({"one": right}).layout.sliders  # one group: no slider
    with pytest.raises(ValueError):
        viz.action_direction_figure({})
