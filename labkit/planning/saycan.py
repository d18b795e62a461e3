"""SayCan (Ahn et al. 2022): pick the skill that is both *useful* (the language model) and *possible*
(the skill's value function), run it, repeat until the language model says "done".

::

    choice = argmax_k  p_LLM(skill_k | instruction, skills done so far)  x  affordance_k(state)
               Say only:  affordance = 1          Can only:  p_LLM uniform          SayCan: the product

``p_LLM`` comes from any client with ``score(prompt, options) -> log-likelihoods`` (``labkit.llm``'s
clients, or a ``ScriptedClient`` with :func:`keyword_scores` in tests), normalised over the options with a
softmax. The affordances come from :meth:`labkit.planning.skills.SkillLibrary.affordances`; "done" has
affordance ``done_affordance`` (stopping is always possible).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from labkit.envs.skill_marks import SKILLS

__all__ = [
    "DONE",
    "INSTRUCTIONS",
    "MODES",
    "EpisodeLog",
    "Instruction",
    "SayCanPlanner",
    "ScoringClient",
    "build_prompt",
    "keyword_scores",
    "run_instruction",
    "saycan_choice",
]

DONE = "done"
MODES = ("say", "can", "saycan")


class ScoringClient(Protocol):
    """What SayCan needs from a language model: log-likelihoods of continuations."""

    def score(self, prompt: str, options: Sequence[str]) -> Any: ...


@dataclass(frozen=True)
class Instruction:
    """:param text: what the human says. :param required: marks to visit, in order."""

    text: str
    required: tuple[str, ...]


INSTRUCTIONS: tuple[Instruction, ...] = (
    Instruction("go to the goal.", ("goal",)),
    Instruction("go to the blue mark.", ("blue mark",)),
    Instruction("go to the red mark.", ("red mark",)),
    Instruction("visit the blue mark, then go to the goal.", ("blue mark", "goal")),
    Instruction("visit the red mark, then go to the goal.", ("red mark", "goal")),
    Instruction("go to the goal, then to the red mark.", ("goal", "red mark")),
    Instruction("visit the red mark, then the goal, then the blue mark.", ("red mark", "goal", "blue mark")),
)

_SCENE = (
    "A robot is at home, below a cup-shaped obstacle. The goal is behind the cup, the blue mark top left, "
    "the red mark top right.\nRobot skills: " + "; ".join((*SKILLS, DONE)) + ".\n"
)
_EXAMPLES = (
    "Human: take me to the blue mark.\nRobot: 1. go round the cup on the left, 2. go to the blue mark, 3. done.\n"
    "Human: visit the red mark and then the goal.\nRobot: 1. go round the cup on the right, "
    "2. go to the red mark, 3. go to the goal, 4. done.\n"
)


def build_prompt(instruction: str, history: Sequence[str], few_shot: bool = True) -> str:
    """The SayCan-style prompt whose next words are the next skill."""
    steps = "".join(f"{i + 1}. {h}, " for i, h in enumerate(history))
    return f"{_SCENE}{_EXAMPLES if few_shot else ''}Human: {instruction}\nRobot: {steps}{len(history) + 1}."


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max())
    return z / z.sum()


def saycan_choice(llm_probs: np.ndarray, affordances: np.ndarray) -> int:
    """SayCan's rule: the index of the largest ``p_LLM x affordance`` (both (K + 1,); first one on ties)."""
    return int(np.argmax(np.asarray(llm_probs, float) * np.asarray(affordances, float)))


@dataclass
class SayCanPlanner:
    """Chooses the next skill by language score, affordance, or both.

    :param client: a :class:`ScoringClient` (unused in ``mode="can"``).
    :param mode: ``"say"``, ``"can"`` or ``"saycan"``.
    :param options: the skill texts followed by ``"done"``.
    :param done_affordance: the affordance of "done".
    :param few_shot: put two worked examples in the prompt.
    :param cache: prompt -> p_LLM, shared between planners that ask the same questions.
    """

    client: ScoringClient | None
    mode: str = "saycan"
    options: tuple[str, ...] = (*SKILLS, DONE)
    done_affordance: float = 1.0
    few_shot: bool = True
    cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}. Got {self.mode!r}.")
        if self.mode != "can" and self.client is None:
            raise ValueError(f"mode={self.mode!r} needs a language-model client with score(prompt, options).")

    def language_probs(self, instruction: str, history: Sequence[str]) -> np.ndarray:
        """p_LLM over ``options`` (K + 1,), cached per prompt (uniform in ``mode="can"``)."""
        if self.mode == "can" or self.client is None:
            return np.full(len(self.options), 1.0 / len(self.options))
        prompt = build_prompt(instruction, history, self.few_shot)
        if prompt not in self.cache:
            logits = np.asarray(self.client.score(prompt, [" " + o for o in self.options]), dtype=np.float64)
            if logits.shape != (len(self.options),):
                raise ValueError(
                    f"client.score must return one number per option ({len(self.options)}). Got {logits.shape}."
                )
            self.cache[prompt] = _softmax(logits)
        return self.cache[prompt]

    def scores(self, instruction: str, history: Sequence[str], affordances: np.ndarray) -> dict[str, np.ndarray]:
        """``{"llm": (K+1,), "affordance": (K+1,), "combined": (K+1,)}`` for the next choice.

        :param affordances: (K,) one per skill (``options`` without "done").
        """
        aff = np.r_[np.asarray(affordances, float), self.done_affordance]
        if aff.shape != (len(self.options),):
            raise ValueError(f"need one affordance per skill ({len(self.options) - 1}). Got {len(aff) - 1}.")
        llm = self.language_probs(instruction, history)
        combined = {"say": llm, "can": aff, "saycan": llm * aff}[self.mode]
        return {"llm": llm, "affordance": aff, "combined": combined}

    def choose(self, instruction: str, history: Sequence[str], affordances: np.ndarray) -> str:
        """The option with the highest combined score (first one on ties)."""
        return self.options[int(np.argmax(self.scores(instruction, history, affordances)["combined"]))]


def keyword_scores(prompt: str, options: Sequence[str]) -> list[float]:
    """A deterministic stand-in for a language model's ``score`` (tests; ``ScriptedClient(scorer=...)``).

    On a SayCan prompt it prefers, in order: a route round the cup if none was taken yet (left for the
    goal and the blue mark, right for the red mark), then the next mark the instruction names, then
    "done"; other options score by the words they share with the preferred one. It never sees the
    barrier. On any other prompt, options rank by the words they share with the prompt.
    """
    if "Human: " not in prompt or "Robot: " not in prompt:
        words = set(re.findall(r"[a-z]+", prompt.lower()))
        return [float(len(words & set(o.split()))) - 0.01 * i for i, o in enumerate(options)]
    instruction = prompt.rsplit("Human: ", 1)[1].split("\n", 1)[0]
    done_so_far = re.findall(r"\d+\. ([a-z ]+?)(?=,)", prompt.rsplit("Robot: ", 1)[1])
    named = sorted((instruction.find(m), m) for m in ("goal", "blue mark", "red mark") if m in instruction)
    todo = [m for _, m in named if f"go to the {m}" not in done_so_far]
    if not todo:
        want = DONE
    elif not any(h.startswith("go round") for h in done_so_far):
        want = "go round the cup on the " + ("right" if todo[0] == "red mark" else "left")
    else:
        want = f"go to the {todo[0]}"
    w = set(want.split())
    out = []
    for o in options:
        ws = set(o.split())
        out.append(0.0 if o.strip() == want else -3.0 + 2.5 * len(w & ws) / len(w | ws))
    return out


@dataclass
class EpisodeLog:
    """One instruction carried out: the choices, where the robot went, and whether it succeeded."""

    instruction: str
    barrier: str
    choices: list[str]
    skill_success: list[bool]
    visited: list[str]
    positions: np.ndarray
    said_done: bool
    success: bool
    scores: list[dict] = field(repr=False, default_factory=list)
    frames: list = field(repr=False, default_factory=list)


def _in_order(required: Sequence[str], visited: Sequence[str]) -> bool:
    it = iter(visited)
    return all(any(v == r for v in it) for r in required)


def run_instruction(
    planner: SayCanPlanner,
    library: Any,
    instruction: Instruction,
    barrier: str,
    seed: int = 0,
    max_calls: int = 6,
    record: bool = False,
) -> EpisodeLog:
    """Carry out ``instruction`` from home with ``barrier`` in place, one skill per planner call.

    :param library: a :class:`labkit.planning.skills.SkillLibrary`.
    Success = the planner said "done" within ``max_calls`` and the robot visited the required marks in order.
    """
    env = library.make_env(start="home", render_mode="rgb_array" if record else None)
    env.reset(seed=seed, options={"barrier": barrier, "skill": SKILLS[0]})
    history: list[str] = []
    ok: list[bool] = []
    scores, positions, said_done = [], [env.position], False
    frames = [env.render()] if record else []
    for _ in range(max_calls):
        s = planner.scores(instruction.text, history, library.affordances(env))
        scores.append(s)
        choice = planner.options[int(np.argmax(s["combined"]))]
        if choice == DONE:
            said_done = True
            break
        res = library.run_skill(env, choice, record=record)
        history.append(choice)
        ok.append(res["success"])
        positions.extend(res["positions"][1:])
        frames.extend(res["frames"])
    visited = [v for v in env.visited if v != "home"]
    env.close()
    success = said_done and _in_order(instruction.required, visited)
    return EpisodeLog(
        instruction.text, barrier, history, ok, visited, np.asarray(positions), said_done, success, scores, frames
    )
