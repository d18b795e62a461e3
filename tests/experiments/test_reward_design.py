"""labkit.experiments.reward_design (notebook 04b, benchmarks/reward_design.py): the TwoRoutes task prompt,
the rollout relabelling, and the loop end to end with a scripted client and real (tiny) PPO runs."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import labkit as lk
from labkit.experiments import reward_design as xp
from labkit.llm import DesignConfig, RelabelRewards, RewardCodeError, ScriptedClient, compile_reward


def test_task_prompt_is_built_from_the_env_source():
    task = xp.two_routes_task()
    assert "def _get_obs" in task.environment and "self.goal - pos" in task.environment
    assert "path" not in task.environment.lower() and "10.0 *" not in task.environment  # the reward is removed
    assert "ctrl = np.clip" in task.environment and "success = dist < self.goal_radius" in task.environment
    assert set(task.inputs) == set(xp.INPUTS) and "class Cup" in task.abstraction


def test_inputs_from_obs_match_the_env():
    env = lk.make(xp.ENV_ID).unwrapped
    obs = env.observation_at(np.array([0.1, -0.2]), np.array([0.3, 0.0]))[None].astype(np.float64)
    batch = xp.inputs_from_obs(obs, np.zeros((1, 2)), np.array([False]), obs - 0.01)
    np.testing.assert_allclose(batch["pos"][0], [0.1, -0.2], atol=1e-6)
    np.testing.assert_allclose(batch["goal"][0], env.goal, atol=1e-6)
    np.testing.assert_allclose(batch["obstacle"][0], env.obstacle, atol=1e-6)
    np.testing.assert_allclose(batch["prev_pos"][0], [0.09, -0.21], atol=1e-6)
    env.close()


def test_relabelled_rollouts_hold_the_designed_reward():
    venv = make_vec_env(lambda: lk.make(xp.ENV_ID), n_envs=2, seed=0)
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=128, n_epochs=1, seed=0)
    with compile_reward("def compute_reward(pos):\n    return 1.0, {'one': 1.0}", xp.INPUTS) as prog:
        cb = RelabelRewards(prog, xp.inputs_from_obs)
        model.learn(512, callback=cb)  # two rollouts of 128 steps x 2 envs
    rewards = model.rollout_buffer.rewards  # (128, 2): 1.0, plus SB3's bootstrap where an episode timed out
    assert np.mean(rewards == 1.0) > 0.95  # the env reward (about -0.01 per step) is gone
    assert cb.history["one"] == [1.0, 1.0] and len(cb.true) == 2
    venv.close()


def test_loop_end_to_end_with_a_scripted_client():
    client = ScriptedClient(
        [
            f"```python\n{xp.HAND_WRITTEN}\n```",
            "```python\ndef compute_reward(pos):\n    return float('nan')\n```",
            "no code here",
        ]
    )
    res = xp.run_design(
        "eureka",
        client,
        config=DesignConfig(iterations=2, samples=3, seed=0),
        preset=xp.PRESETS["smoke"],
        progress=False,
    )
    assert [c.status for c in res.candidates] == ["trained", "runtime", "no_code"] * 2
    assert "NaN" in res.candidates[1].error
    best = res.best
    assert best is not None and best.report.steps[-1] >= xp.PRESETS["smoke"].steps
    assert set(best.report.terms) == {"total", "progress", "bonus"}
    assert -1.0 <= best.report.correlation <= 1.0 and best.report.behaviour.startswith("reached the goal in")
    assert "success_rate" in res.prompts[1][3]["content"]
    again = xp.run_design(
        "eureka",
        ScriptedClient(client.replies),
        config=DesignConfig(iterations=1, samples=1),
        preset=xp.PRESETS["smoke"],
        progress=False,
    )
    assert again.candidates[0].report.success_curve == res.candidates[0].report.success_curve  # deterministic


def test_refused_code_never_trains():
    with pytest.raises(RewardCodeError):
        xp.train_reward("import os\ndef compute_reward(pos):\n    return 0.0", 0, xp.PRESETS["smoke"])


def test_exercise_checks_report_not_yet_for_stubs(capsys):
    for answer in (None, {"a"}, "b, d"):
        lk.check("04b.sandbox_quiz", answer)
        assert capsys.readouterr().out.startswith("not yet [04b.sandbox_quiz]")
    lk.check("04b.sandbox_quiz", {"b", "d"})  # the generator and the method call
    assert capsys.readouterr().out.startswith("correct [04b.sandbox_quiz]")
    for answer in (None, 42, "def compute_reward(pos):\n    return open('x')"):  # the last is refused: no PPO
        lk.check("04b.be_the_llm", answer)
        assert capsys.readouterr().out.startswith("not yet [04b.be_the_llm]")


def test_benchmark_lines_read_the_committed_results(tmp_path):
    assert xp.benchmark_lines(tmp_path) == []  # not run yet: the notebook says how to run it
    lines = xp.benchmark_lines()
    assert lines and lines[0].startswith("reward_design") and "SmolLM2" in lines[0]
    assert any(line.strip().startswith("eureka:") and "parse" in line for line in lines[1:])
