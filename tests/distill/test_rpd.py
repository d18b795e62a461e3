"""The RPD PPO subclass: it trains, its distillation loss falls, its weight decays, one teacher call per rollout."""

import numpy as np
import pytest
import torch
from stable_baselines3.common.env_util import make_vec_env

import labkit as lk
from labkit.distill import RPDPPO, ChunkTeacher, cosine_decay


def fixed_teacher(obs: torch.Tensor) -> torch.Tensor:
    """A teacher with an easy answer: drive up and to the left, whatever the state."""
    return torch.tensor([-0.6, 0.8]).expand(len(obs), -1)


def test_rpd_trains_and_its_distillation_loss_falls():
    venv = make_vec_env(lambda: lk.make("labkit/TwoRoutes-v0"), n_envs=2, seed=0)
    model = RPDPPO(
        "MlpPolicy",
        venv,
        teacher=fixed_teacher,
        distill_weight=1.0,
        anneal_steps=10_000,
        n_steps=64,
        batch_size=64,
        n_epochs=4,
        learning_rate=1e-3,
        seed=0,
    )
    lk.learn(model, 640)  # 5 updates of 128 env steps
    steps, losses = model.distill_log.curve("distill_loss")
    _, weights = model.distill_log.curve("weight")
    assert len(losses) == 5 and steps == sorted(steps)
    assert losses[-1] < 0.5 * losses[0], losses
    assert weights[0] > weights[-1] > 0
    obs = torch.as_tensor(venv.reset(), dtype=torch.float32)
    mean = model.policy.get_distribution(obs).distribution.mean
    assert torch.allclose(mean, fixed_teacher(obs), atol=0.35)  # the student's mean moved to the teacher


def test_distillation_stops_after_the_anneal():
    venv = make_vec_env(lambda: lk.make("labkit/TwoRoutes-v0"), n_envs=2, seed=0)
    calls = []

    def counting_teacher(obs):
        calls.append(len(obs))
        return fixed_teacher(obs)

    model = RPDPPO("MlpPolicy", venv, teacher=counting_teacher, anneal_steps=128, n_steps=64, batch_size=64, n_epochs=1)
    model.learn(384)
    assert calls == [128]  # queried once per rollout (the whole buffer), and only while lambda > 0
    assert cosine_decay(0, 2.0, 100) == 2.0 and cosine_decay(50, 2.0, 100) == pytest.approx(1.0)
    assert cosine_decay(100, 2.0, 100) == 0.0 and cosine_decay(500, 2.0, 100) == 0.0


def test_chunk_teacher_and_bad_arguments():
    class Chunky:  # a chunk policy stand-in: returns the obs' first two entries as a 3-step chunk
        class config:  # noqa: N801
            n_obs_steps = 2

        def predict_action(self, hist, generator=None):
            assert hist.shape[1:] == (2, 10)
            return hist[:, -1:, :2].repeat(1, 3, 1)  # (N, 3, 2)

    teacher = ChunkTeacher(Chunky(), condition=np.array([1.0, 0.0]))
    out = teacher(torch.tensor([[0.3, -2.0] + [0.0] * 6]))
    assert torch.allclose(out, torch.tensor([[0.3, -1.0]]))  # clipped to the action range
    obs = torch.tensor([[0.3, -0.2] + [0.0] * 6, [-0.5, 0.1] + [0.0] * 6])
    assert torch.allclose(ChunkTeacher(Chunky(), condition=np.zeros(2), n_samples=4)(obs), obs[:, :2])
    venv = make_vec_env(lambda: lk.make("labkit/TwoRoutes-v0"), n_envs=1, seed=0)
    with pytest.raises(ValueError, match="target_kl"):
        RPDPPO("MlpPolicy", venv, teacher=fixed_teacher, target_kl=0.01)
    with pytest.raises(ValueError, match="n_samples"):
        ChunkTeacher(Chunky(), n_samples=0)
