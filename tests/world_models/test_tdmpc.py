"""The TD-MPC-style latent world model: shapes, windows, its losses fall, the planner, the training loop, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import labkit as lk
from labkit.world_models.tdmpc import TDMPCAgent, TDMPCConfig, WindowReplay, simnorm, train_tdmpc

SMALL = dict(latent_dim=16, hidden=32, batch_size=32, samples=32, policy_samples=4, elites=8, iterations=2)


def _filled_replay(n=600, horizon=3, seed=0):
    env = lk.make("labkit/TwoRoutes-v0")
    rng = np.random.default_rng(seed)
    replay = WindowReplay(8, 2, horizon, capacity=n)
    obs, _ = env.reset(seed=seed)
    episode = 0
    for _ in range(n):
        a = rng.uniform(-1, 1, 2).astype(np.float32)
        nxt, r, term, trunc, _ = env.step(a)
        replay.add(obs, a, float(r), nxt, bool(term), episode)
        obs = nxt
        if term or trunc:
            obs, episode = env.reset()[0], episode + 1
    env.close()
    return replay


def test_simnorm_makes_each_group_a_distribution():
    z = simnorm(torch.randn(5, 32))
    groups = z.reshape(5, 4, 8)
    assert z.shape == (5, 32) and torch.all(groups >= 0) and torch.allclose(groups.sum(-1), torch.ones(5, 4))


def test_windows_are_masked_where_they_leave_their_episode():
    replay = WindowReplay(1, 1, horizon=3, capacity=20)
    for i in range(10):  # two episodes: steps 0-4 (the last terminal) and 5-9 (still running)
        replay.add(np.array([i]), np.zeros(1), float(i), np.array([i + 1]), i == 4, episode=i // 5)
    batch = replay.sample(500, np.random.default_rng(0))
    assert batch["actions"].shape == (500, 3, 1) and batch["next_obs"].shape == (500, 3, 1)
    start, r, valid = batch["obs"][:, 0], batch["rewards"], batch["valid"].astype(bool)
    assert set(start.astype(int)) == set(range(10))  # every step can start a window, terminal ones too
    end = np.where(start < 5, 4, 9)  # the last step of each window's episode
    assert np.array_equal(valid, start[:, None] + np.arange(3) <= end[:, None])
    assert np.all(r[valid] == (start[:, None] + np.arange(3))[valid])  # valid steps are consecutive
    assert np.all(r[~valid] == np.broadcast_to(end[:, None], r.shape)[~valid])  # the rest repeat the last one
    assert np.all(batch["terminated"][valid] == (r[valid] == 4))
    with pytest.raises(ValueError, match="larger capacity"):
        for _ in range(11):
            replay.add(np.zeros(1), np.zeros(1), 0.0, np.zeros(1), False, episode=3)
    with pytest.raises(ValueError, match="empty"):
        WindowReplay(1, 1, 3).sample(2, np.random.default_rng(0))


def test_model_losses_fall_when_it_trains_on_real_windows():
    torch.manual_seed(0)
    replay = _filled_replay()
    agent = TDMPCAgent(8, 2, TDMPCConfig(**SMALL), device="cpu")
    rng = np.random.default_rng(0)
    held_out = replay.sample(256, np.random.default_rng(1))
    first = agent.update(held_out)
    for _ in range(300):
        agent.update(replay.sample(32, rng))
    # measured on a fixed batch, after a zero-learning-rate step (the losses are computed before the step)
    for group in (*agent.model_optim.param_groups, *agent.policy_optim.param_groups):
        group["lr"] = 0.0
    last = agent.update(held_out)
    assert last["consistency"] < 0.5 * first["consistency"], (first, last)
    assert last["reward"] < first["reward"], (first, last)


def test_planner_and_predict_follow_sb3_shapes_and_prefer_high_imagined_return():
    agent = TDMPCAgent(8, 2, TDMPCConfig(**{**SMALL, "iterations": 4}, temperature=10.0), device="cpu")
    agent.predicted_reward = lambda z, a: a[:, 0]  # a made-up reward model: pushing right pays; critics are 0
    obs = np.zeros((3, 8), np.float32)
    actions, state = agent.predict(obs)
    assert actions.shape == (3, 2) and state is None and np.all(np.abs(actions) <= 1)
    assert np.all(actions[:, 0] > 0.5), actions
    single, _ = agent.predict(obs[0], deterministic=False)
    assert single.shape == (2,)
    with pytest.raises(ValueError, match=r"\(8,\) or \(B, 8\)"):
        agent.predict(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        agent.predict(np.full(8, np.nan))


def test_planner_avoids_what_its_termination_head_says_ends_the_episode():
    agent = TDMPCAgent(8, 2, TDMPCConfig(**{**SMALL, "iterations": 4}, temperature=10.0), device="cpu")
    agent.predicted_reward = lambda z, a: torch.ones(len(a))  # +1 per step alive (InvertedPendulum-like)
    agent.termination_logit = lambda z, a: 10.0 * a[:, 0]  # pushing right ends the episode
    actions, _ = agent.predict(np.zeros((3, 8), np.float32))
    assert np.all(actions[:, 0] < -0.3), actions


def test_training_loop_runs_evaluates_and_is_seeded():
    config = TDMPCConfig(**SMALL, seed_steps=100)
    agent, log = train_tdmpc(
        "labkit/TwoRoutes-v0", 250, config, seed=0, eval_every=125, n_eval_episodes=2, progress=False
    )
    assert log.env_steps == 250 and [r["env_steps"] for r in log.history] == [125, 250]
    assert log.iterations_done == 100 + 150 and len(log.losses["termination"]) == 250
    assert {"success_rate", "mean_return"} <= set(log.history[-1])
    res = lk.evaluate(agent, "labkit/TwoRoutes-v0", 2, progress=False)
    assert len(res.returns) == 2
    _, again = train_tdmpc(
        "labkit/TwoRoutes-v0", 250, config, seed=0, eval_every=125, n_eval_episodes=2, progress=False
    )
    assert again.losses["value"] == log.losses["value"]


def test_policy_only_agent_and_clear_errors():
    _, log = train_tdmpc(
        "labkit/TwoRoutes-v0",
        120,
        TDMPCConfig(**SMALL, seed_steps=50, plan=False),
        eval_every=120,
        n_eval_episodes=1,
        progress=False,
    )
    assert log.meta["method"] == "TD-MPC (policy only)" and log.env_steps == 120
    with pytest.raises(ValueError, match="multiple of 8"):
        TDMPCConfig(latent_dim=12)
    with pytest.raises(ValueError, match="elites"):
        TDMPCConfig(samples=4, policy_samples=0, elites=8)
    with pytest.raises(lk.envs.UnknownEnvError):
        train_tdmpc("labkit/TwoRoute-v0", 10)
    with pytest.raises(ValueError, match="built for"):
        train_tdmpc("labkit/TwoRoutes-v0", 10, agent=TDMPCAgent(4, 2, TDMPCConfig(**SMALL), device="cpu"))


def test_bad_inputs_say_what_to_do_and_the_stall_figure_draws():
    replay = WindowReplay(8, 2, 3, capacity=4)
    with pytest.raises(ValueError, match=r"observations must be \(8,\)"):
        replay.add(np.zeros(5), np.zeros(2), 0.0, np.zeros(5), False, 0)
    with pytest.raises(ValueError, match=r"actions must be \(2,\)"):
        replay.add(np.zeros(8), np.zeros(3), 0.0, np.zeros(8), False, 0)
    from labkit.experiments import world_models as wm
    from labkit.train.log import TrainLog

    with pytest.raises(ValueError, match="run_tdmpc"):
        wm.tdmpc_probe(TDMPCAgent(8, 2, TDMPCConfig(**SMALL), device="cpu"), TrainLog())
    fig = lk.viz.stall_figure([np.zeros((3, 8)), np.ones((2, 8))], [True, False], np.zeros((4, 2)))
    assert len(fig.data) == 3
