"""labkit.sb3: TrainingMonitor (env steps incl. chunks, budget, periodic evaluation into a TrainLog) and learn."""

from __future__ import annotations

import warnings

import pytest
import torch
from stable_baselines3 import PPO

from labkit.envs import make
from labkit.finetune import make_noise_space_env, make_residual_env
from labkit.sb3 import TrainingMonitor, learn
from labkit.train import TrainLog

ENV = "labkit/TwoRoutes-v0"


def _ppo(env, n_steps=64):
    return PPO("MlpPolicy", env, n_steps=n_steps, batch_size=n_steps, n_epochs=1, seed=0, device="cpu")


def test_training_monitor_records_and_interrupt_keeps_model():
    model = _ppo(make(ENV))
    mon = TrainingMonitor(eval_env=ENV, eval_every=64, n_eval_episodes=2, progress=False)
    learn(model, 192, mon)
    assert isinstance(mon.log, TrainLog) and not mon.log.interrupted
    steps, success = mon.log.curve("success_rate")
    assert steps[0] == 0 and steps[-1] == model.num_timesteps == mon.env_steps == mon.log.env_steps
    assert len(success) == len(steps) >= 3
    assert all(set(row) == {"env_steps", "success_rate", "mean_return", "seconds"} for row in mon.log.history)
    assert [r["seconds"] for r in mon.log.history] == sorted(r["seconds"] for r in mon.log.history)

    class Interrupt(TrainingMonitor):
        def _on_step(self):
            if self.num_timesteps >= 128:
                raise KeyboardInterrupt
            return super()._on_step()

    before = [p.detach().clone() for p in model.policy.parameters()]
    interrupted = Interrupt(progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learn(model, 1000, interrupted, reset_num_timesteps=True)
    assert any("PPO training interrupted" in str(w.message) for w in caught)
    assert 128 <= model.num_timesteps < 1000 and interrupted.log.interrupted
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters(), strict=True))


def test_env_steps_count_every_executed_action_of_a_chunk(shipped_prior):
    """A DSRL agent step executes a chunk of Ta env steps: the monitor counts Ta (from info["chunk_steps"])."""
    venv = make_noise_space_env(ENV, shipped_prior, n_envs=2, seed=0)
    model = _ppo(venv, n_steps=32)
    mon = TrainingMonitor(progress=False)  # no evaluation: counting only
    learn(model, 64, mon)
    Ta = shipped_prior.config.n_action_steps
    assert model.num_timesteps == 64 and mon.log.history == []
    assert model.num_timesteps < mon.env_steps <= Ta * model.num_timesteps
    assert mon.env_steps > (Ta - 1) * model.num_timesteps  # only chunks cut by an episode end run shorter


def test_total_env_steps_budget_stops_training():
    model = _ppo(make(ENV), n_steps=32)
    mon = TrainingMonitor(total_env_steps=100, progress=False)
    learn(model, 10_000, mon)
    assert mon.env_steps == 100 and model.num_timesteps == 100  # one env: one env step per agent step
    with pytest.raises(ValueError, match="total_env_steps must be an integer >= 1"):
        TrainingMonitor(total_env_steps=0)


def test_evaluates_in_a_vec_env_of_the_agents_own_kind(shipped_prior):
    """eval_env may be the wrapped VecEnv the agent trains in: each env's first episode, reseeded every time."""
    model = _ppo(make_residual_env(ENV, shipped_prior, n_envs=2, seed=0))
    eval_env = make_residual_env(ENV, shipped_prior, n_envs=2, seed=10_000)
    mon = TrainingMonitor(eval_env=eval_env, eval_every=10_000, progress=False, deterministic=True)
    learn(model, 64, mon)
    rows = mon.log.history
    assert [r["env_steps"] for r in rows] == [0, model.num_timesteps]  # at the start and at the end (one rollout)
    assert all(r["success_rate"] in (0.0, 0.5, 1.0) for r in rows)
