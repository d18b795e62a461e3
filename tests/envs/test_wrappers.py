"""labkit.envs.wrappers: a chunk of actions as one step; frames recorded per episode."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from labkit.envs import ActionChunkWrapper, FrameRecorder, make

ENV = "labkit/TwoRoutes-v0"


def test_action_chunk_wrapper_sums_rewards_and_stops_at_the_end():
    from stable_baselines3.common.env_checker import check_env

    # The observation history option (n_obs_steps) is gone: histories live in labkit.policies.ChunkRunner.
    env = ActionChunkWrapper(make(ENV, max_episode_steps=6), n_action_steps=4)
    check_env(env, warn=False)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (8,) and env.action_space.shape == (8,)
    chunk = np.tile([0.0, 1.0], 4).astype(np.float32)
    plain = make(ENV, max_episode_steps=6)
    plain.reset(seed=0)
    rewards = [plain.step(chunk[:2])[1] for _ in range(4)]
    last, r, term, trunc, info = env.step(chunk)
    assert info["chunk_steps"] == 4 and not (term or trunc)
    assert r == pytest.approx(sum(rewards)) and info["chunk_obs"].shape == (4, 8)
    np.testing.assert_array_equal(info["chunk_obs"][-1], last)
    _, _, term, trunc, info = env.step(np.zeros(8, np.float32))
    assert info["chunk_steps"] == 2 and trunc  # the time limit cut the chunk


def test_chunk_wrapper_passes_env_checkers_and_refuses_bad_sizes():
    from gymnasium.utils.env_checker import check_env as gym_check
    from stable_baselines3.common.env_checker import check_env as sb3_check

    env = ActionChunkWrapper(make(ENV).unwrapped, n_action_steps=4)
    assert env.action_space.shape == (8,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # infinite observation bounds
        gym_check(env, skip_render_check=True)
    sb3_check(ActionChunkWrapper(make(ENV), n_action_steps=4), warn=False)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="integer n_action_steps >= 1"):
            ActionChunkWrapper(make(ENV), n_action_steps=bad)


def test_frame_recorder_keeps_one_list_per_episode():
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        FrameRecorder(make(ENV))
    env = FrameRecorder(make(ENV, render_mode="rgb_array", max_episode_steps=3))
    for _ in range(2):
        env.reset(seed=0)
        done = False
        while not done:
            *_, term, trunc, _ = env.step(np.zeros(2, np.float32))
            done = term or trunc
    env.reset(seed=1)  # closes the second episode
    assert [len(e) for e in env.episodes] == [4, 4] and env.episodes[0][0].shape == (240, 240, 3)
    assert len(env.frames) == 1
