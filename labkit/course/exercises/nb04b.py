"""Reference checks of notebook 04b (reward design with language models)."""

from __future__ import annotations

from typing import Any

from labkit.course.checks import exercise
from labkit.experiments.reward_design import INPUTS, PRESETS, SANDBOX_QUIZ, train_reward
from labkit.llm import RewardCodeError, check_reward_source

__all__: list[str] = []


@exercise(
    "04b.sandbox_quiz",
    hint="the allow-list: no loops or generators, no attribute access except math.f / np.f",
    what="the set of SANDBOX_QUIZ keys the sandbox refuses",
)
def _sandbox_quiz(answer: Any) -> tuple[bool, str]:
    """``answer``: the keys of ``SANDBOX_QUIZ`` that the sandbox's static check refuses (computed here)."""
    if not isinstance(answer, (set, frozenset, list, tuple)):
        return False, f"answer with a set of keys such as {{'a', 'c'}}, not a {type(answer).__name__}"
    refused = set()
    for key, src in SANDBOX_QUIZ.items():
        try:
            check_reward_source(src, list(INPUTS))
        except RewardCodeError:
            refused.add(key)
    wrong = set(answer) ^ refused
    if not wrong:
        return True, f"the sandbox refuses exactly {sorted(refused)}"
    return False, f"{len(wrong)} of the {len(SANDBOX_QUIZ)} snippets are on the wrong side"


@exercise(
    "04b.be_the_llm",
    hint="write reward code (a string) the sandbox accepts and that teaches PPO to reach the goal; read the "
    "inputs list in the prompt above, and remember the cup's pocket",
    what="reward code whose PPO run beats the sparse reward",
)
def _be_the_llm(code: Any) -> tuple[bool, str]:
    """The learner's reward code trains PPO (seed 0, the search budget) to at least the success of the
    sparse reward plus 0.5 (capped at 1), both measured here (two short PPO runs)."""
    if not isinstance(code, str):
        return False, f"answer with the reward code as a string, not a {type(code).__name__}"
    try:
        designed = train_reward(code, 0, PRESETS["search"]).success
    except RewardCodeError as err:
        return False, f"the sandbox did not accept it ({err.kind}): {err}"
    sparse = train_reward("sparse", 0, PRESETS["search"]).success
    detail = f"success with your reward {designed:.0%}, with the sparse reward {sparse:.0%}"
    return designed >= min(1.0, sparse + 0.5), detail
