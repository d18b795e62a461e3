"""The pixel env (both checkers), the encoders' shapes, VIP on a toy video, the representation's checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import labkit as lk
from labkit.envs import PixelObservation
from labkit.experiments import world_models as wm
from labkit.world_models import (
    AutoencoderConfig,
    ConvDecoder,
    ConvEncoder,
    EncoderConfig,
    FrameDataset,
    LatentObservation,
    Representation,
    RepresentationMismatchError,
    RepresentationSpec,
    VIPConfig,
    VIPReward,
    train_autoencoder,
    train_vip,
    vip_loss,
)


@pytest.mark.parametrize("size", [16, 64])
def test_encoder_decoder_shapes(size):
    cfg = EncoderConfig(image_size=size, latent_dim=7)
    frames = torch.randint(0, 256, (5, 3, size, size), dtype=torch.uint8)  # (B, 3, S, S)
    with torch.no_grad():
        z = ConvEncoder(cfg)(frames)
        out = ConvDecoder(cfg)(z)
    assert z.shape == (5, 7)
    assert out.shape == (5, 3, size, size) and float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_encoder_rejects_bad_input():
    with pytest.raises(ValueError, match="multiple of 16"):
        EncoderConfig(image_size=60)
    with pytest.raises(ValueError, match=r"\(B, 3, 64, 64\)"):
        ConvEncoder(EncoderConfig())(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))


def test_pixel_env_passes_both_checkers():
    env = PixelObservation(lk.make("labkit/TwoRoutes-v0"), size=64)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version.*")  # a wrapper, on purpose
        gym_check_env(env, skip_render_check=True)
    sb3_check_env(env, warn=True)
    frame, info = env.reset(seed=0)
    assert frame.shape == (3, 64, 64) and frame.dtype == np.uint8 and info["state"].shape == (8,)
    env.close()


def test_registered_pixel_id_hands_out_frames_of_two_routes():
    env = lk.make("labkit/TwoRoutesPixels-v0")
    frame, info = env.reset(seed=0)
    assert frame.shape == (3, 64, 64) and info["state"].shape == (8,)
    assert env.get_wrapper_attr("task_id") == "labkit/TwoRoutes-v0"
    env.close()


def test_pixel_env_frames_show_the_robot_where_it_is():
    env = PixelObservation(lk.make("labkit/TwoRoutes-v0"), size=64)
    env.reset(seed=0)
    left, right = env.frames_at(np.array([[-0.3, -0.3], [0.3, -0.3]]))
    blue = lambda f: (f[2].astype(int) - f[0].astype(int)) > 80  # (S, S) robot pixels
    assert blue(left).any() and blue(right).any()
    assert np.argwhere(blue(left))[:, 1].mean() < 32 < np.argwhere(blue(right))[:, 1].mean()  # column = x
    with pytest.raises(ValueError, match="camera"):
        PixelObservation(lk.make("labkit/TwoRoutes-v0"), camera="side")
    env.close()


def _toy_video(n_episodes=16, length=12, size=16, seed=0) -> FrameDataset:
    """A bright 4x4 square sliding left to right across a dark 16x16 frame, with a little pixel noise."""
    rng = np.random.default_rng(seed)
    frames = np.zeros((n_episodes * length, 3, size, size), np.uint8)
    for e in range(n_episodes):
        for t in range(length):
            x = int(round(t * (size - 4) / (length - 1)))
            img = rng.integers(0, 20, (3, size, size))
            img[:, 6:10, x : x + 4] = 255
            frames[e * length + t] = img
    states = np.tile(np.arange(length, dtype=np.float32), n_episodes)[:, None]  # (N, 1)
    return FrameDataset(frames, states, np.arange(1, n_episodes + 1) * length, "toy", "toy")


def _towards_goal(rep, data) -> float:
    """Correlation between the distance to the episode's last frame and the steps left."""
    ep = data.frames[data.episode(0)]
    d = rep.distance(ep, ep[-1])
    return float(np.corrcoef(d, np.arange(len(ep))[::-1])[0, 1])


def test_vip_distance_decreases_towards_goal_after_training():
    data = _toy_video()
    untrained = train_vip(data, VIPConfig(latent_dim=4, iterations=0), progress=False)
    trained = train_vip(data, VIPConfig(latent_dim=4, iterations=300, lr=1e-3), progress=False)
    assert np.mean(trained.losses[-30:]) < np.mean(trained.losses[:30])
    assert trained.log.iterations_done == 300 and trained.log.seconds > 0
    ep = data.frames[data.episode(0)]
    d = trained.distance(ep, ep[-1])
    assert _towards_goal(trained, data) > 0.9 > _towards_goal(untrained, data)
    assert np.all(np.diff(d[:-1]) < 0.05 * d[0])  # (almost) monotone towards the goal


def test_autoencoder_loss_falls_on_the_toy_video():
    rep = train_autoencoder(_toy_video(), AutoencoderConfig(latent_dim=4, iterations=150), progress=False)
    assert np.mean(rep.losses[-20:]) < np.mean(rep.losses[:20])
    assert rep.spec.kind == "autoencoder" and "decoder" in rep.extras


def test_vip_loss_matches_its_definition():
    e0, eg, et, et1 = (torch.randn(10, 3) for _ in range(4))
    d = lambda a: torch.linalg.norm(a - eg, dim=-1)
    expected = 0.02 * d(e0).mean() + torch.log(torch.exp(1.0 + 0.98 * d(et1) - d(et)).mean())
    assert torch.allclose(vip_loss(e0, eg, et, et1, gamma=0.98), expected, atol=1e-5)


def test_vip_sampler_stays_inside_episodes():
    data = _toy_video(n_episodes=5, length=7)
    idx = data.sample_vip(np.random.default_rng(0), 2_000)  # (B, 4): start, goal, t, t + 1
    ep = np.searchsorted(data.episode_ends, idx, side="right")
    assert np.all(ep == ep[:, :1])
    start, goal, t, t1 = idx.T
    assert np.all(start < goal) and np.all(start <= t) and np.all(t < goal) and np.all(t1 == t + 1)


def _tiny_rep(env_id="labkit/TwoRoutes-v0", size=64) -> Representation:
    return Representation(
        ConvEncoder(EncoderConfig(image_size=size, latent_dim=4)), RepresentationSpec("vip", env_id, size)
    )


def test_representation_refuses_other_task_or_size(tmp_path):
    rep = _tiny_rep()
    with pytest.raises(RepresentationMismatchError, match="64x64 frames, not 32x32"):
        LatentObservation(PixelObservation(lk.make("labkit/TwoRoutes-v0"), size=32), rep)
    with pytest.raises(RepresentationMismatchError, match="TwoRoutesShifted"):
        LatentObservation(PixelObservation(lk.make("labkit/TwoRoutesShifted-v0"), size=64), rep)
    with pytest.raises(ValueError, match="PixelObservation"):
        LatentObservation(lk.make("labkit/TwoRoutes-v0"), rep)
    loaded = Representation.load(rep.save(tmp_path / "rep.pt"))
    frames = np.zeros((2, 3, 64, 64), np.uint8)
    assert np.allclose(loaded.encode(frames), rep.encode(frames)) and loaded.spec == rep.spec


def test_latent_env_and_vip_reward_wrappers():
    rep = _tiny_rep()
    env = LatentObservation(lk.make("labkit/TwoRoutesPixels-v0"), rep)  # the registered id names TwoRoutes
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4,) and obs.dtype == np.float32
    renv = VIPReward(PixelObservation(lk.make("labkit/TwoRoutes-v0"), size=64), rep, wm.goal_frame(64))
    renv.reset(seed=0)
    _, r, *_, info = renv.step(np.zeros(2, np.float32))
    assert np.isfinite(r) and "true_reward" in info and info["vip_distance"] >= 0
