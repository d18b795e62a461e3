"""The dynamics ensemble, the mixed replay buffer, SAC with a model, the exercise checks; one slow end-to-end."""

from __future__ import annotations

import numpy as np
import pytest

import labkit as lk
from labkit.course.checks import EXERCISES
from labkit.experiments import world_models as wm
from labkit.world_models import (
    EnsembleConfig,
    MBPOConfig,
    MixedReplayBuffer,
    ProbabilisticEnsemble,
    open_loop,
    vip_loss,
)


def _random_transitions(n=1_500, seed=0):
    env = lk.make("labkit/TwoRoutes-v0")
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    rows = []
    for _ in range(n):
        a = rng.uniform(-1, 1, 2).astype(np.float32)
        nxt, r, term, trunc, _ = env.step(a)
        rows.append((obs, a, nxt, r))
        obs = env.reset()[0] if term or trunc else nxt
    return [np.asarray(v, np.float32) for v in zip(*rows)]  # obs (N, 8), act (N, 2), next (N, 8), reward (N,)


def test_ensemble_error_falls_with_training():
    obs, act, nxt, rew = _random_transitions()
    ens = ProbabilisticEnsemble(8, 2, EnsembleConfig(n_members=3, n_elites=2), seed=0)
    ens.set_normalizer(obs, act, np.c_[nxt - obs, rew])
    before = ens.member_mse(obs[-300:], act[-300:], nxt[-300:], rew[-300:])
    out = ens.fit(obs[:-300], act[:-300], nxt[:-300], rew[:-300], steps=300)
    after = ens.member_mse(obs[-300:], act[-300:], nxt[-300:], rew[-300:])
    assert np.all(after < 0.2 * before), (before, after)
    assert len(out["elites"]) == 2
    nxt_hat, r_hat, spread = ens.step(obs[:5], act[:5])
    assert nxt_hat.shape == (5, 8) and r_hat.shape == (5,) and spread.shape == (5,)
    real, pred = open_loop(ens, obs[:21], act[:20], starts=[0, 10], horizon=10)
    assert real.shape == (2, 11, 8) and pred.shape == (2, 3, 11, 8) and np.allclose(pred[:, :, 0], real[:, None, 0])


def test_ensemble_config_is_validated():
    with pytest.raises(ValueError, match="n_elites"):
        EnsembleConfig(n_members=2, n_elites=3)
    with pytest.raises(ValueError, match="rollout_length"):
        MBPOConfig(rollout_length=0)
    with pytest.raises(ValueError, match="real_ratio"):
        wm.MBPOSettings(real_ratio=1.5)


def test_two_routes_reward_function_matches_the_env():
    obs, act, nxt, rew = _random_transitions(n=400, seed=1)
    assert np.allclose(wm.two_routes_reward(obs, act, nxt), rew, atol=1e-4)


def test_mixed_buffer_mixes_real_and_imagined():
    env = lk.make("labkit/TwoRoutes-v0")
    buf = MixedReplayBuffer(100, env.observation_space, env.action_space, device="cpu", real_ratio=0.25, model_size=50)
    for _ in range(10):
        buf.add(np.zeros((1, 8)), np.zeros((1, 8)), np.zeros((1, 2)), np.zeros(1), np.zeros(1), [{}])
    assert buf.sample(8).observations.shape == (8, 8)  # no imagined data yet: all real
    buf.add_imagined(np.ones((60, 8)), np.ones((60, 2)), np.ones((60, 8)), np.ones(60), np.zeros(60))
    batch = buf.sample(16)
    assert batch.observations.shape == (16, 8) and float(batch.observations[:, 0].sum()) == 12.0  # 4 real, 12 imagined
    assert buf.m_count == 50


def test_unknown_task_and_kind_are_clear_errors():
    with pytest.raises(ValueError, match="task must be one of"):
        wm.run_sac("cartpole", 10)
    with pytest.raises(ValueError, match="needs the trained representation"):
        wm.agent_env("vip")


def _stub(*args, **kwargs):
    raise NotImplementedError


def test_exercise_checks_fail_stubs_and_pass_reference_answers():
    for name in ("05.vip_loss", "05.vip_reward", "05.disagreement"):
        with pytest.raises(NotImplementedError):
            EXERCISES[name].verify(_stub)
    assert EXERCISES["05.vip_loss"].verify(vip_loss)[0]
    assert not EXERCISES["05.vip_loss"].verify(lambda *e, gamma: 0.0)[0]
    d = lambda rep, f, g: rep.distance(f, g)[:-1] - rep.distance(f, g)[1:]
    assert EXERCISES["05.vip_reward"].verify(d)[0]
    assert not EXERCISES["05.vip_reward"].verify(lambda rep, f, g: -d(rep, f, g))[0]
    assert EXERCISES["05.disagreement"].verify(lambda ens, o, a: ens.step(o, a, sample=False)[2])[0]


@pytest.mark.slow
def test_end_to_end_frames_vip_ppo_and_sac_with_a_model():
    """Demo frames -> VIP -> PPO on the frozen latent, and SAC with a model: a few hundred steps each."""
    frames = wm.demo_frames(max_episodes=2, progress=False)
    rep = wm.train_representations(frames, iterations=10, progress=False, kinds=("vip",))["vip"]
    _, log = wm.run_ppo("vip", 256, rep=rep, eval_every=256, n_eval_episodes=1, progress=False)
    assert log.env_steps >= 256 and log.meta["method"] == "vip"
    settings = wm.MBPOSettings(
        real_ratio=0.5,
        gradient_steps=2,
        model=MBPOConfig(warmup_steps=100, train_every=100, fit_steps=20, rollout_every=10, rollout_starts=32),
        ensemble=EnsembleConfig(n_members=3, n_elites=2, hidden=32, layers=2),
    )
    model, log = wm.run_sac("two_routes", 300, seed=0, mbpo=settings, eval_every=300, n_eval_episodes=2, progress=False)
    assert log.meta["env_steps"] == 300 and log.extras["imagined"] > 0 and len(log.extras["history"]["steps"]) >= 2
    assert model.replay_buffer.m_count > 0 and np.isfinite(log.extras["history"]["holdout_mse"][-1])
    row = wm.summary(log)
    assert row["curve_steps"][-1] == 300 and "ensemble" not in row
