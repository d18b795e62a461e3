"""labkit/TwoRoutesSkills-v0 (both env checkers run over every id in tests/envs/test_envs.py): the barrier
closes its route on either side, the shaped return is exact, skills chain without a physics reset."""

import numpy as np
import pytest

from labkit.envs.two_routes_skills import MARKS, SKILLS, TwoRoutesSkillsEnv


@pytest.mark.parametrize("side", ["left", "right"])
def test_barrier_blocks_its_route_and_only_its_route(side):
    sign = -1.0 if side == "left" else 1.0
    for barrier, blocked in ((side, True), ("none", False), ({"left": "right", "right": "left"}[side], False)):
        env = TwoRoutesSkillsEnv(budget=40)
        env.reset(seed=0, options={"barrier": barrier, "skill": SKILLS[side == "right"], "start": (sign * 0.3, -0.2)})
        for _ in range(40):
            _, _, term, _, info = env.step(np.array([0.0, 1.0], np.float32))
            if term:
                break
        assert info["is_success"] is (not blocked), (side, barrier)


def test_shaped_return_is_minus_the_start_potential_without_success():
    env = TwoRoutesSkillsEnv(budget=3, gamma=0.9)
    env.reset(seed=0, options={"skill": "go home", "barrier": "none", "start": (0.3, -0.3)})
    phi0 = env.potential()
    total, disc = 0.0, 1.0
    for _ in range(3):
        _, r, term, _, _ = env.step(np.zeros(2, np.float32))
        total, disc = total + disc * r, disc * 0.9
    assert term and np.isclose(total, -phi0, atol=1e-6)  # Phi(terminal) = 0: the affordance is V + Phi


def test_skills_chain_in_one_episode_and_marks_are_recorded():
    env = TwoRoutesSkillsEnv(budget=30, start="home")
    obs, info = env.reset(seed=1, options={"barrier": "right", "skill": "go home"})
    assert obs.shape == (16,) and obs[7] == 1.0 and info["barrier"] == "right"
    env.sim.set_state(np.array(MARKS["blue mark"]) - [0.0, 0.1], np.zeros(2))
    obs = env.begin_skill("go to the blue mark")
    assert obs[10 + SKILLS.index("go to the blue mark")] == 1.0 and obs[8] == 1.0  # one-hot, full time left
    for _ in range(30):
        _, _, term, _, info = env.step(np.array([0.0, 1.0], np.float32))
        if term:
            break
    assert info["is_success"] and info["visited"] == ["blue mark"]
    with pytest.raises(ValueError, match="skill must be one of"):
        env.begin_skill("fly")
    with pytest.raises(ValueError, match="non-finite action"):
        env.step(np.array([np.nan, 0.0]))
