"""Eureka's / Text2Reward's loop (labkit.llm.reward_loop): the robot-agnostic harness with a stub trainer
(instant) and the real sandbox. The loop on TwoRoutes with PPO is in tests/experiments/test_reward_design.py."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.llm import (
    DesignConfig,
    RewardTask,
    ScriptedClient,
    TrainReport,
    compile_reward,
    design_rewards,
    reflection,
)

TASK = RewardTask(
    name="toy",
    description="reach x = 1",
    environment="x: float  # position",
    abstraction="class Cart:\n    x: float",
    inputs={"pos": (2,), "success": ()},
    input_doc={"pos": "(2,) position", "success": "(1.0 at the goal)"},
)
GOOD = (
    "```python\ndef compute_reward(pos, success):\n"
    "    return -abs(1.0 - pos[0]) + success, {'gap': -abs(1.0 - pos[0])}\n```"
)
BETTER = "```python\ndef compute_reward(pos, success):\n    return 10.0 * success\n```"
REFUSED = "```python\nimport os\ndef compute_reward(pos):\n    return 0.0\n```"
BROKEN = "```python\ndef compute_reward(pos)\n    return 0.0\n```"
PROSE = "Reward the robot when it arrives."


def fake_train(code: str, seed: int) -> TrainReport:
    """Stand-in for PPO: compiles the code in the real sandbox, 'succeeds' 0.9 if it rewards success."""
    with compile_reward(code, TASK.inputs) as prog:
        out = prog(pos=np.zeros((3, 2)), success=np.array([0.0, 0.0, 1.0]))
    success = 0.9 if "10.0 * success" in code else 0.2
    return TrainReport(
        success=success,
        steps=[0, 500, 1000],
        success_curve=[0.0, success / 2, success],
        episode_length=[100, 90, 80],
        terms={"total": [float(out.reward.mean())] * 3, "gap": [-1, -0.5, -0.2]},
        behaviour=f"reached the goal in {success:.0%} of episodes",
        remark="reward arriving sooner",
    )


def test_eureka_round_feeds_back_the_best_candidates_reflection():
    client = ScriptedClient([GOOD, REFUSED, BROKEN, PROSE, BETTER, GOOD, PROSE, PROSE])
    res = design_rewards(client, TASK, fake_train, DesignConfig(iterations=2, samples=4, seed=3), progress=False)
    assert [c.status for c in res.candidates] == [
        "trained",
        "refused",
        "syntax",
        "no_code",
        "trained",
        "trained",
        "no_code",
        "no_code",
    ]
    assert res.best.iteration == 1 and res.best.index == 0 and res.best.fitness == 0.9
    second = res.prompts[1]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[2]["content"] == GOOD and "success_rate: [0.00, 0.10, 0.20]" in second[3]["content"]
    assert "gap: [-1.00, -0.50, -0.20]" in second[3]["content"] and "rewrite the reward" in second[3]["content"]
    rates = res.rates()
    assert rates["n"] == 8 and rates["parse"] == 4 / 8 and rates["accepted"] == 3 / 8 and rates["run"] == 3 / 8
    assert "refused" in res.candidates[1].error or "import os" in res.candidates[1].error


def test_text2reward_feedback_describes_behaviour_and_errors_get_fix_requests():
    client = ScriptedClient([REFUSED, PROSE, GOOD, GOOD])
    res = design_rewards(
        client, TASK, fake_train, DesignConfig(method="text2reward", iterations=2, samples=2), progress=False
    )
    assert "could not be used" in res.feedback[0] and "import os" in res.feedback[0]  # nothing trained in round 1
    assert "Python objects" in res.prompts[0][1]["content"] and "class Cart" in res.prompts[0][1]["content"]
    assert res.best is not None and res.best.iteration == 1
    assert "After training, the robot: reached the goal in 20%" in res.feedback[1]
    assert "Feedback for improvement: reward arriving sooner" in res.feedback[1]


def test_reflection_layout():
    text = reflection(fake_train(GOOD[10:-4], 0))
    assert "episode_length: [100, 90, 80], max 100, mean 90, min 80" in text


def test_config_validation():
    for bad in (dict(method="gpt"), dict(iterations=0), dict(samples=0), dict(temperature=-1)):
        with pytest.raises(ValueError):
            DesignConfig(**bad)
    with pytest.raises(ValueError, match="input_doc"):
        RewardTask("t", "d", "e", "a", {"pos": (2,)}, {})
