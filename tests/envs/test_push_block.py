"""labkit/PushBlock-v0: spaces, rendering, success signal, the imperfect expert.

Both env checkers, same-seed reproducibility and the non-finite-action check run for every labkit task in
tests/envs/test_envs.py.
"""

import numpy as np
import pytest

from labkit.envs import make
from labkit.envs.experts import PushBlockExpert
from labkit.envs.push_block import wrap_angle
from labkit.rollout import evaluate

ENV_ID = "labkit/PushBlock-v0"


def test_spaces_and_registration():
    env = make(ENV_ID)
    assert env.spec.max_episode_steps == 200
    assert env.observation_space.shape == (13,) and env.action_space.shape == (2,)
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and info["is_success"] is False
    assert {"position_error", "angle_error"} <= set(info)


def test_render_shows_block_pusher_and_target():
    env = make(ENV_ID, render_mode="rgb_array", seed=0)
    frame = env.render()
    assert frame.shape == (240, 240, 3) and frame.dtype == np.uint8
    assert frame.std() > 10
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    assert ((r > 200) & (g > 100) & (g < 170) & (b < 100)).sum() > 50  # orange block
    assert ((b > 150) & (r < 100)).sum() > 10  # blue pusher
    assert ((g > 150) & (r < 150) & (b < 150)).sum() > 50  # green target


def test_wrong_action_shape_is_a_clear_error():
    env = make(ENV_ID, seed=0)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        env.unwrapped.step(np.zeros(3))


def test_block_at_target_is_success_and_terminates():
    env = make(ENV_ID, seed=0).unwrapped
    qpos = env.data.qpos.copy()
    qpos[env._block_q] = [*env.target, env.target_angle + np.pi / 2 + 0.1]  # a quarter turn is the same pose
    env.set_state(qpos, np.zeros(env.model.nv))
    _, reward, terminated, _, info = env.step(np.zeros(2))
    assert terminated and info["is_success"] and reward > 4
    assert info["angle_error"] == pytest.approx(0.1, abs=0.02)
    assert wrap_angle(np.pi / 2 + 0.3) == pytest.approx(0.3)


def test_block_stops_when_not_pushed():
    env = make(ENV_ID, seed=0).unwrapped
    env.data.qvel[env._block_q] = [0.3, 0.0, 1.0]  # flick it
    for _ in range(10):  # 0.5 s
        env.step(np.zeros(2))
    assert np.abs(env.data.qvel[env._block_q]).max() < 1e-3


def test_expert_is_good_but_imperfect_and_doing_nothing_fails():
    res = evaluate(PushBlockExpert(), ENV_ID, n_episodes=30, seed=0, progress=False)
    assert 0.4 <= res.success_rate < 1.0
    idle = evaluate(lambda obs, rng: np.zeros(2, np.float32), ENV_ID, n_episodes=5, seed=0, progress=False)
    assert idle.success_rate == 0.0
