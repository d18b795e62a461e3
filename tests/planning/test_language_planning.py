"""SayCan's selection with a deterministic stub client, the offline language client, ELLM's reward on fixed
captions, RND, coverage (the skills env's checkers run over every id in tests/envs/test_envs.py)."""

import gymnasium as gym
import numpy as np
import pytest

from labkit.envs.two_routes import TwoRoutesEnv
from labkit.envs.two_routes_skills import SKILLS
from labkit.experiments import planning_language as XL
from labkit.experiments.planning_explore import free_cells
from labkit.llm import LLMUnavailableError
from labkit.planning import (
    DONE,
    INSTRUCTIONS,
    CoverageWrapper,
    ELLMReward,
    RNDReward,
    SayCanPlanner,
    build_prompt,
    caption_state,
    caption_transition,
    saycan_choice,
    suggest_goals,
)

BLUE = "go to the blue mark."


def test_saycan_selection_with_a_stub_client_is_deterministic():
    client = XL.keyword_client()
    aff_left_blocked = np.array([0.0, 0.6, 0.0, 0.05, 0.05, 1.0])
    say, can, saycan = (SayCanPlanner(None if m == "can" else client, mode=m) for m in ("say", "can", "saycan"))
    assert say.choose(BLUE, [], aff_left_blocked) == "go round the cup on the left"  # the LM cannot see the barrier
    assert can.choose(BLUE, [], aff_left_blocked) == "go home"  # feasibility alone: the surest skill
    assert saycan.choose(BLUE, [], aff_left_blocked) == "go round the cup on the right"
    right = ["go round the cup on the right"]
    assert saycan.choose(BLUE, right, np.array([0, 0, 0.3, 0.4, 0.1, 0])) == "go to the blue mark"
    assert saycan.choose(BLUE, [*right, "go to the blue mark"], np.ones(6)) == DONE
    s = saycan.scores(BLUE, [], aff_left_blocked)
    assert np.isclose(s["llm"].sum(), 1.0) and len(s["combined"]) == len(SKILLS) + 1
    assert saycan_choice(s["llm"], s["affordance"]) == saycan.options.index("go round the cup on the right")
    with pytest.raises(ValueError, match="needs a language-model client"):
        SayCanPlanner(None, mode="say")
    with pytest.raises(ValueError, match="one affordance per skill"):
        saycan.scores(BLUE, [], np.ones(3))


def test_prompt_lists_the_history():
    p = build_prompt("go to the goal.", ["go round the cup on the left"])
    assert p.endswith("Human: go to the goal.\nRobot: 1. go round the cup on the left, 2.")
    assert all(i.required for i in INSTRUCTIONS)


def test_offline_client_answers_from_the_shipped_cache_and_never_runs_a_model():
    client = XL.language_client(offline=True)
    probs = SayCanPlanner(client).language_probs(INSTRUCTIONS[0].text, [])
    assert probs.shape == (len(SKILLS) + 1,) and np.isclose(probs.sum(), 1.0) and client.hits == 1
    assert len(suggest_goals(client, XL.CAPTIONS[0])) == 4
    with pytest.raises(LLMUnavailableError, match="make-data planning_llm_cache"):
        client.score("a prompt nobody cached", [" a", " b"])


def test_captions_of_fixed_transitions():
    went_left = caption_transition(np.array([-0.3, -0.01]), np.array([-0.3, 0.01]))
    assert went_left == ["the robot went round the cup on the left"]
    assert caption_transition(np.array([-0.35, 0.25]), np.array([-0.35, 0.34])) == ["the robot reached the blue mark"]
    assert caption_transition(np.array([0.0, -0.2]), np.array([0.0, -0.19])) == []
    assert caption_state(np.array([0.0, -0.35])) == "The robot is at home, below the cup."
    assert caption_state(np.array([0.3, 0.0])) == "The robot is right of the cup."
    assert len(set(XL.CAPTIONS)) == 6


def bag_of_words(texts):
    vocab = ["left", "right", "blue", "red", "goal", "cup", "wall", "reached", "reach", "round", "mark"]
    return np.array([[float(w in t.split()) for w in vocab] + [0.1] for t in texts])


def test_ellm_reward_on_fixed_captions_pays_each_goal_once():
    env = ELLMReward(gym.wrappers.TimeLimit(TwoRoutesEnv(), 100), bag_of_words,
                     suggest=lambda c: ["reach the blue mark", "reach the red mark"], threshold=0.6)  # fmt: skip
    env.reset(seed=0)
    r1, ev = env.intrinsic(np.array([-0.35, 0.25]), np.array([-0.35, 0.34]))
    assert ev == ["the robot reached the blue mark"] and r1 > 0.6 and env.achieved == {"reach the blue mark"}
    assert env.intrinsic(np.array([-0.35, 0.25]), np.array([-0.35, 0.34]))[0] == 0.0  # paid once per episode
    assert env.intrinsic(np.array([0.0, -0.2]), np.array([0.0, -0.19]))[0] == 0.0  # nothing happened
    env.reset(seed=1)
    assert env.achieved == set()


def test_rnd_bonus_shrinks_on_a_repeated_state():
    env = RNDReward(gym.wrappers.TimeLimit(TwoRoutesEnv(), 1000), update_every=8, lr=1e-2, seed=0)
    obs, _ = env.reset(seed=0)
    first = env.bonus(obs)
    for _ in range(400):
        obs, *_ = env.step(np.zeros(2, np.float32))
    assert env.bonus(obs) < 0.5 * first


def test_coverage_counts_visits_of_free_cells():
    counts = np.zeros((10, 10), np.int64)
    env = CoverageWrapper(gym.wrappers.TimeLimit(TwoRoutesEnv(), 5), counts)
    env.reset(seed=0)
    for _ in range(5):
        env.step(np.zeros(2, np.float32))
    assert counts.sum() == 6 and counts[1, 5] >= 1  # start (0, -0.35): row 1 (y), column 5 (x)
    free = free_cells(10)
    assert free.shape == (10, 10) and free[1, 5] and not free.all()


def test_every_shipped_planning_file_loads_with_its_own_loader():
    from labkit.data import SHIPPED
    from labkit.experiments import planning_dd, planning_diffusion

    assert {n for n, e in SHIPPED.items() if n.startswith("planning_")} == {
        "planning_diffuser", "planning_decision_diffuser", "planning_skills", "planning_llm_cache"
    }  # fmt: skip
    model, value, meta = planning_diffusion.load_diffuser()
    assert not model.training and not value.training and meta["made_with"].endswith("planning_diffuser")
    dd, dd_meta = planning_dd.load_decision_diffuser()
    assert not dd.training and tuple(dd_meta["preset"]["holdout"]) == ("left", "slow")
    lib = XL.load_skill_library()
    assert lib.skills == SKILLS and not lib.model.policy.training
    assert XL.language_client(offline=True).client.name.startswith("local:")
