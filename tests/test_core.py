"""Rendering backend, doctor, seeding, evaluation, viz, SB3 monitor, taxonomy, checks."""

import os
import subprocess
import sys
import warnings

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from labkit.seeding import seed_everything, torch_generator


def test_backend_chosen_before_mujoco():
    import labkit  # noqa: F401

    assert os.environ.get("MUJOCO_GL") in ("egl", "osmesa", "glfw")


def test_doctor_passes_here():
    out = subprocess.run([sys.executable, "-m", "labkit", "doctor"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "MUJOCO_GL" in out.stdout and "render             ok" in out.stdout


def test_broken_backend_gives_one_clear_message():
    env = dict(os.environ, MUJOCO_GL="osmesa", PYOPENGL_PLATFORM="osmesa")
    code = "from labkit.render import check_rendering; check_rendering()"
    if subprocess.run([sys.executable, "-c", code], env=env, capture_output=True).returncode == 0:
        pytest.skip("OSMesa works on this machine, so it cannot stand in for a broken backend")
    out = subprocess.run([sys.executable, "-m", "labkit", "doctor"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "PROBLEM" in out.stderr and ("libosmesa6" in out.stderr or "MUJOCO_GL=egl works on this machine" in out.stderr)


def test_seed_everything_reproduces_torch_numpy_python():
    import random

    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    seed_everything(7)
    a = draw()
    seed_everything(7)
    assert draw() == a
    g1, g2 = torch_generator(3), torch_generator(3)
    assert torch.equal(torch.randn(5, generator=g1), torch.randn(5, generator=g2))
    with pytest.raises(ValueError, match="non-negative"):
        seed_everything(-1)


def test_learning_curves_band_and_trajectories():
    from labkit.viz import learning_curves, route_bar, trajectories_figure

    fig = learning_curves({"PPO": [([0, 10, 20], [0, 1, 2]), ([0, 10, 20], [0, 3, 4])]})
    assert isinstance(fig, go.Figure)
    band, mean = fig.data
    assert band.fill == "toself"
    np.testing.assert_allclose(mean.y, [0, 2, 3])
    trajs = [np.random.rand(10, 8), np.random.rand(12, 8)]
    fig = trajectories_figure(trajs, ["left", "right"])
    assert len(fig.data) == 2 and len(fig.layout.shapes) == 5  # walls, three cup boxes, goal
    with pytest.raises(ValueError, match="one label per trajectory"):
        trajectories_figure(trajs, ["left"])
    assert isinstance(route_bar({"a": {"left": 1, "right": 2}}), go.Figure)


def test_video_encodes_and_rejects_bad_frames():
    from labkit.viz.video import encode_mp4

    frames = np.random.randint(0, 255, (8, 64, 64, 3), dtype=np.uint8)
    data = encode_mp4(frames)
    assert len(data) > 100 and data[4:8] == b"ftyp"
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        encode_mp4(np.zeros((8, 64, 64)))


def test_evaluate_records_frames_routes_and_is_seeded():
    from labkit.envs.experts import TwoRoutesExpert
    from labkit.evaluate import evaluate

    a = evaluate(TwoRoutesExpert(), "labkit/TwoRoutes-v0", 6, seed=5, record_episodes=2, batch_size=3, progress=False)
    b = evaluate(TwoRoutesExpert(), "labkit/TwoRoutes-v0", 6, seed=5, batch_size=2, progress=False)
    assert len(a.frames) == 2 and a.frames[0][0].shape == (240, 240, 3)
    assert len(a.frames[0]) == a.lengths[0] + 1
    np.testing.assert_array_equal(a.successes, b.successes)
    assert set(a.routes) <= {"left", "right", "none"}
    assert a.trajectories[0].shape == (a.lengths[0] + 1, 8)
    with pytest.raises(TypeError, match="Cannot evaluate"):
        evaluate(42, "labkit/TwoRoutes-v0", 1, progress=False)


def test_training_monitor_records_and_interrupt_keeps_model():
    from stable_baselines3 import PPO

    from labkit.callbacks import TrainingMonitor, learn
    from labkit.envs import make

    model = PPO("MlpPolicy", make("labkit/TwoRoutes-v0"), n_steps=64, batch_size=64, n_epochs=1, seed=0)
    mon = TrainingMonitor(eval_env="labkit/TwoRoutes-v0", eval_every=64, n_eval_episodes=2, progress=False)
    learn(model, 192, mon)
    assert mon.history["steps"][0] == 0 and mon.history["steps"][-1] == model.num_timesteps
    assert len(mon.history["success_rate"]) == len(mon.history["steps"]) >= 3

    class Interrupt(TrainingMonitor):
        def _on_step(self):
            if self.num_timesteps >= 128:
                raise KeyboardInterrupt
            return super()._on_step()

    before = [p.detach().clone() for p in model.policy.parameters()]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learn(model, 1000, Interrupt(progress=False), reset_num_timesteps=True)
    assert any("interrupted" in str(w.message) for w in caught)
    assert 128 <= model.num_timesteps < 1000
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters()))


def test_taxonomy_covers_curriculum_and_links_existing_notebooks():
    from labkit.taxonomy import LEAVES, NOTEBOOKS, leaf_table, notebook_available, taxonomy_figure

    assert {leaf.notebook for leaf in LEAVES} | {"00_map_and_setup", "01_rl_with_sb3", "02_demonstrations"} == set(NOTEBOOKS)
    assert notebook_available("00_map_and_setup")
    table = leaf_table()
    assert table.count("\n") == len(LEAVES) + 1
    fig = taxonomy_figure()
    assert fig.data[0].type == "sunburst" and len(fig.data[0].ids) > len(LEAVES)


def test_checks_report_right_and_wrong(capsys):
    from labkit.checks import check_close, check_env_spaces

    assert check_env_spaces("labkit/TwoRoutes-v0", 8, 2)
    assert not check_env_spaces("labkit/TwoRoutes-v0", 6, 2)
    assert not check_close(1.0, 2.0, "x")
    assert "\u274c" in capsys.readouterr().out


def test_evaluate_refuses_a_policy_for_another_task():
    from labkit.evaluate import evaluate
    from labkit.recipes import make_policy

    with pytest.raises(ValueError, match="observations of size 8.*labkit/PushBlock-v0 has 13"):
        evaluate(make_policy("gaussian", 8, 2), "labkit/PushBlock-v0", 1, progress=False)
    with pytest.raises(ValueError, match="kind must be"):
        make_policy("vae", 8, 2)


def test_with_sampling_pins_options_and_observation_at_places_the_robot():
    from labkit.envs import make
    from labkit.evaluate import with_sampling
    from labkit.recipes import make_policy

    env = make("labkit/TwoRoutes-v0", seed=0).unwrapped
    obs = env.observation_at([0.0, -0.2], velocity=[0.0, 0.3])
    np.testing.assert_allclose(obs[:4], [0.0, -0.2, 0.0, 0.3], atol=1e-6)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        env.observation_at([0.0, -0.2, 0.0])
    policy = make_policy("diffusion", 8, 2)
    policy.fit_normalizers(torch.randn(50, 8), torch.rand(50, 2) * 2 - 1)
    hist = torch.as_tensor(np.stack([obs, obs]))[None]  # (1, To, 8)
    pinned = with_sampling(policy, sampler="ddim", num_inference_steps=3)
    a = pinned.predict_action(hist, generator=torch.Generator().manual_seed(0))
    b = policy.predict_action(hist, generator=torch.Generator().manual_seed(0), sampler="ddim", num_inference_steps=3)
    assert torch.equal(a, b) and pinned.config is policy.config
    with pytest.raises(TypeError, match="predict_action"):
        with_sampling(object())
