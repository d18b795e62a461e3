"""Reward design with a language model in the loop: Eureka's evolutionary search and Text2Reward's
one-shot + feedback, over one harness that knows nothing about the robot.

Eureka (Ma et al. 2023)::

    messages = [system, task + environment code]
    for it in 1..iterations:
        K replies ~ LLM(messages)                   # sampled, temperature > 0
        for each reply: code -> sandbox -> short RL run -> fitness (success rate)
        best = argmax fitness (kept over all iterations)
        messages = [system, user, best reply, reflection(best)]   # per-term statistics + success

Text2Reward (Xie et al. 2023): the first message holds a compact class-like abstraction of the
environment; after the first round the feedback is a description of what the trained robot did
(and a remark on what to change), standing in for the human of the paper.

The robot-specific part is the ``train`` function passed in: ``train(code, seed) -> TrainReport``; it
raises :class:`~.sandbox_check.RewardCodeError` when the code is refused or fails while running.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from labkit.llm import prompts
from labkit.llm.base import LLMClient
from labkit.llm.extract import extract_code
from labkit.llm.sandbox_check import RewardCodeError

__all__ = [
    "RewardTask",
    "TrainReport",
    "Candidate",
    "DesignConfig",
    "DesignResult",
    "design_rewards",
    "reflection",
    "first_messages",
    "STATUSES",
]

#: How far a candidate got, in order: no code in the reply, code that does not parse, code the
#: sandbox refused, code that failed when run, code that trained a policy.
STATUSES = ("no_code", "syntax", "refused", "runtime", "trained")


@dataclass
class RewardTask:
    """What the model is told about a task.

    :param description: the task in words.
    :param environment: Eureka's view: the environment's code (or a faithful excerpt) minus its reward.
    :param abstraction: Text2Reward's view: a compact class-like description of the objects.
    :param inputs: documented inputs of ``compute_reward`` and their per-step shapes.
    :param input_doc: one phrase per input, shown to the model.
    """

    name: str
    description: str
    environment: str
    abstraction: str
    inputs: dict[str, tuple]
    input_doc: dict[str, str]

    def __post_init__(self):
        if set(self.input_doc) != set(self.inputs):
            raise ValueError(
                f"input_doc must describe exactly the inputs {sorted(self.inputs)}. Got {sorted(self.input_doc)}."
            )

    @property
    def inputs_text(self) -> str:
        return ", ".join(f"{k} {self.input_doc[k]}" for k in self.inputs)

    @property
    def signature(self) -> str:
        return ", ".join(k for k in self.inputs if k != "obs")


@dataclass
class TrainReport:
    """What a short RL run with one reward function measured.

    :ivar success: fitness: the success rate of the final policy (evaluation episodes).
    :ivar steps: env steps at each recorded point; ``success_curve``, ``episode_length`` and every
        ``terms[name]`` have one value per point (terms: mean per step of each reward component,
        ``"total"`` included).
    :ivar behaviour: a sentence on what the trained robot does (for Text2Reward's feedback).
    :ivar remark: a suggestion derived from that behaviour (the stand-in for the human's remark).
    :ivar correlation: Pearson correlation of this reward with the task's true reward over the
        training transitions (for analysis; never shown to the model).
    """

    success: float
    steps: list[int]
    success_curve: list[float]
    episode_length: list[float]
    terms: dict[str, list[float]]
    behaviour: str = ""
    remark: str = ""
    correlation: float | None = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0


@dataclass
class Candidate:
    """One reward function proposed by the model, and how far it got (:data:`STATUSES`)."""

    iteration: int
    index: int
    reply: str
    code: str
    status: str = "no_code"
    error: str = ""
    report: TrainReport | None = None

    @property
    def fitness(self) -> float:
        return self.report.success if self.report is not None else -1.0

    def summary(self) -> dict:
        return {
            "iteration": self.iteration,
            "index": self.index,
            "status": self.status,
            "error": self.error,
            "success": None if self.report is None else self.report.success,
            "correlation": None if self.report is None else self.report.correlation,
            "code": self.code,
        }


@dataclass
class DesignConfig:
    """A reward-design run.

    :param method: ``"eureka"`` (reflection on statistics) or ``"text2reward"`` (feedback on behaviour).
    :param iterations: rounds of sampling (Eureka 5 in the paper; 2-3 here).
    :param samples: replies per round (K; Eureka 16 in the paper, 4 on the 135M model).
    :param temperature: sampling temperature of the replies.
    :param max_new_tokens: token budget per reply (the main cost on a CPU).
    :param seed: seeds the model's sampling (round ``i`` uses ``seed * 1000 + i``) and the RL runs.
    :param timeout: seconds allowed for one round's replies (generous: on the local model a time-out
        cuts the replies short, which would make them depend on the machine's speed).
    """

    method: str = "eureka"
    iterations: int = 2
    samples: int = 4
    temperature: float = 0.5
    max_new_tokens: int = 192
    seed: int = 0
    timeout: float = 1800.0

    def __post_init__(self):
        if self.method not in ("eureka", "text2reward"):
            raise ValueError(f"method must be 'eureka' or 'text2reward'. Got {self.method!r}.")
        if self.iterations < 1 or self.samples < 1:
            raise ValueError(f"iterations and samples must be >= 1. Got {self.iterations} and {self.samples}.")
        if self.temperature < 0 or self.max_new_tokens < 16:
            raise ValueError(
                f"temperature must be >= 0 and max_new_tokens >= 16. Got {self.temperature} and {self.max_new_tokens}."
            )


@dataclass
class DesignResult:
    """Every candidate, the best one, the prompts each round used, and where the time went."""

    config: DesignConfig
    candidates: list[Candidate]
    best: Candidate | None
    prompts: list[list[dict]] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)
    generation_seconds: float = 0.0
    training_seconds: float = 0.0
    generation_cpu_seconds: float = 0.0
    training_cpu_seconds: float = 0.0

    def rates(self) -> dict[str, float]:
        """Share of candidates that parse, pass the sandbox's check, run, and train a policy."""
        n = max(len(self.candidates), 1)
        reached = [STATUSES.index(c.status) for c in self.candidates]
        return {
            "parse": sum(r >= 2 for r in reached) / n,
            "accepted": sum(r >= 3 for r in reached) / n,
            "run": sum(r >= 4 for r in reached) / n,
            "n": len(self.candidates),
        }


def reflection(report: TrainReport, points: int = 5) -> str:
    """Eureka's reward reflection for one trained candidate: statistics, then the analysis tips."""
    idx = sorted({round(i * (len(report.steps) - 1) / max(points - 1, 1)) for i in range(points)})
    rows = [prompts.format_series(name, [vals[i] for i in idx]) for name, vals in report.terms.items()]
    rows.append(prompts.format_series("success_rate", [report.success_curve[i] for i in idx]))
    rows.append(prompts.format_series("episode_length", [report.episode_length[i] for i in idx], "{:.0f}"))
    return (
        prompts.REFLECTION.format(steps=report.steps[-1], points=len(idx), table="\n".join(rows))
        + "\n"
        + prompts.REFLECTION_TIPS
    )


def _feedback(cand: Candidate, task: RewardTask, method: str) -> str:
    if cand.report is None:
        return prompts.ERROR_FEEDBACK.format(
            error=cand.error or "no python code block was found", inputs=task.inputs_text
        )
    if method == "eureka":
        return reflection(cand.report)
    return prompts.BEHAVIOUR_FEEDBACK.format(code=cand.code, behaviour=cand.report.behaviour, remark=cand.report.remark)


def first_messages(task: RewardTask, method: str) -> list[dict]:
    """The opening chat of a run (system + first user message)."""
    if method == "eureka":
        user = prompts.EUREKA_USER.format(
            description=task.description,
            environment=task.environment,
            inputs=task.inputs_text,
            signature=task.signature,
        )
    else:
        user = prompts.TEXT2REWARD_USER.format(
            description=task.description,
            abstraction=task.abstraction,
            inputs=task.inputs_text,
            signature=task.signature,
        )
    return [{"role": "system", "content": prompts.SYSTEM}, {"role": "user", "content": user}]


def design_rewards(
    client: LLMClient,
    task: RewardTask,
    train: Callable[[str, int], TrainReport],
    config: DesignConfig | None = None,
    *,
    progress: bool = True,
) -> DesignResult:
    """Run Eureka's loop (or Text2Reward's) and return every candidate and the best.

    :param client: the language model (``get_client()``, a ``CachedClient``, a ``ScriptedClient`` ...).
    :param task: what the model is told.
    :param train: ``train(code, seed) -> TrainReport``; raises ``RewardCodeError`` for unusable code.
    :param config: :class:`DesignConfig`.

    Ctrl-C stops the search and returns what was found so far.
    """
    cfg = config or DesignConfig()
    base = first_messages(task, cfg.method)
    messages = list(base)
    result = DesignResult(cfg, [], None)
    bar = tqdm(total=cfg.iterations * cfg.samples, desc=f"{cfg.method} candidates", disable=not progress)
    try:
        for it in range(cfg.iterations):
            result.prompts.append(list(messages))
            bar.set_description(f"{cfg.method} round {it + 1}/{cfg.iterations}: the model writes {cfg.samples} replies")
            bar.refresh()
            t0, c0 = time.perf_counter(), time.process_time()
            replies = client.generate_many(
                messages,
                cfg.samples,
                seed=cfg.seed * 1000 + it,
                temperature=cfg.temperature,
                max_new_tokens=cfg.max_new_tokens,
                timeout=cfg.timeout,
            )
            result.generation_seconds += time.perf_counter() - t0
            result.generation_cpu_seconds += time.process_time() - c0
            round_cands = []
            bar.set_description(f"{cfg.method} round {it + 1}/{cfg.iterations}: check + train")
            for k, reply in enumerate(replies):
                cand = Candidate(it, k, reply, extract_code(reply))
                t0, c0 = time.perf_counter(), time.process_time()
                try:
                    if not cand.code:
                        raise RewardCodeError("no python code with a def was found in the reply", kind="no_code")
                    cand.report = train(cand.code, cfg.seed)
                    cand.status = "trained"
                except RewardCodeError as err:
                    cand.status, cand.error = err.kind if err.kind in STATUSES else "runtime", str(err)
                result.training_seconds += time.perf_counter() - t0
                result.training_cpu_seconds += time.process_time() - c0
                round_cands.append(cand)
                result.candidates.append(cand)
                bar.update(1)
                fits = [c.fitness for c in result.candidates if c.report is not None]
                bar.set_postfix(best=f"{max(fits):.0%}" if fits else "none trained")
            # the round's best: highest fitness; among failures, the one that got furthest
            top = max(round_cands, key=lambda c: (c.fitness, STATUSES.index(c.status)))
            if top.report is not None and (result.best is None or top.fitness > result.best.fitness):
                result.best = top
            text = _feedback(top, task, cfg.method)
            result.feedback.append(text)
            messages = base + [{"role": "assistant", "content": top.reply}, {"role": "user", "content": text}]
    except KeyboardInterrupt:
        warnings.warn(
            f"reward design interrupted after {len(result.candidates)} candidates; returning those", stacklevel=2
        )
    finally:
        bar.close()
    return result
