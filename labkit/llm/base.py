"""The one client interface every language model in the kit speaks, and its errors.

Two operations, nothing else:

- ``generate(messages, *, max_new_tokens, temperature, seed, stop, timeout) -> str``: a chat reply;
- ``score(prompt, options) -> (n_options,)`` log-likelihoods ``log p(option | prompt)``, summed over the
  option's tokens (SayCan-style selection: the option with the highest score is the model's choice).

``messages`` is the OpenAI chat format: a list of ``{"role": "system" | "user" | "assistant",
"content": str}``. ``temperature=0`` is greedy decoding; with ``temperature > 0`` the same ``seed``
gives the same reply (on the local model always; on a server only if the server honours ``seed``).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "LLMClient",
    "LLMError",
    "LLMTimeoutError",
    "LLMUnavailableError",
    "ScoreUnsupportedError",
    "UsageStats",
    "check_messages",
    "check_options",
    "truncate_at_stop",
]

ROLES = ("system", "user", "assistant")


class LLMError(RuntimeError):
    """A language-model call failed; the message says what to do."""


class LLMUnavailableError(LLMError):
    """The model cannot be reached or loaded (server down, wrong URL or key, missing file)."""


class LLMTimeoutError(LLMError):
    """The call took longer than its ``timeout``."""


class ScoreUnsupportedError(LLMError):
    """The backend cannot return prompt log-probabilities, so ``score`` is impossible there."""


@dataclass
class UsageStats:
    """Running totals of one client's calls (for a benchmark's "generation vs training" split).

    ``seconds`` is wall time inside calls, ``cpu_seconds`` the CPU time of this process inside calls
    (a server's own CPU time is not counted).
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    cached: int = 0
    _t0: list[tuple[float, float]] = field(default_factory=list, repr=False)

    def start(self) -> None:
        self._t0.append((time.perf_counter(), time.process_time()))

    def stop(self, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        wall, cpu = self._t0.pop()
        self.calls += 1
        self.prompt_tokens += int(prompt_tokens)
        self.completion_tokens += int(completion_tokens)
        self.seconds += time.perf_counter() - wall
        self.cpu_seconds += time.process_time() - cpu

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def check_messages(messages: Sequence[dict]) -> list[dict]:
    """Validate chat messages and return them as a list of plain ``{"role", "content"}`` dicts.

    :raises ValueError: not a non-empty list of dicts with a known role and string content.
    """
    if isinstance(messages, str):
        raise ValueError(
            "messages must be a list of {'role': ..., 'content': ...} dicts, not a str. "
            "Wrap it: [{'role': 'user', 'content': text}]."
        )
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise ValueError(f"messages[{i}] must be a dict with role in {ROLES} and str content. Got {m!r}.")
        out.append({"role": m["role"], "content": m["content"]})
    if not out:
        raise ValueError("messages is empty. Give at least one {'role': 'user', 'content': ...}.")
    return out


def truncate_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """Cut ``text`` at the first occurrence of any stop string (the stop string itself removed)."""
    if not stop:
        return text
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=len(text))
    return text[:cut]


def check_options(options: Sequence[str]) -> list[str]:
    """``options`` as a list of non-empty strings (the continuations ``score`` ranks).

    :raises ValueError: not a non-empty list of non-empty strings.
    """
    if isinstance(options, str) or not options or not all(isinstance(o, str) and o for o in options):
        raise ValueError(f"options must be a non-empty list of non-empty strings. Got {options!r}.")
    return list(options)


class LLMClient(ABC):
    """What the kit needs from a language model. Subclasses: ``LocalClient``, ``OpenAIClient``,
    ``ScriptedClient``; ``CachedClient`` wraps any of them.

    :ivar name: a short, stable description (used as part of cache keys), e.g. ``"local:SmolLM2-135M"``.
    :ivar usage: :class:`UsageStats` totals of this client's calls.
    """

    name: str = "llm"

    def __init__(self) -> None:
        self.usage = UsageStats()

    @abstractmethod
    def generate(
        self,
        messages: Sequence[dict],
        *,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        seed: int = 0,
        stop: Sequence[str] | None = None,
        timeout: float | None = 120.0,
    ) -> str:
        """Reply to a chat.

        :param messages: OpenAI-style chat messages (see the module docstring).
        :param max_new_tokens: upper bound on the reply's length in tokens.
        :param temperature: 0 for greedy decoding, > 0 to sample.
        :param seed: sampling seed; the same seed and request give the same reply.
        :param stop: strings that end the reply (not included in it).
        :param timeout: seconds; the local model stops generating at this time (returns what it has),
            a server call raises :class:`LLMTimeoutError`.
        :returns: the reply text.
        """

    def generate_many(
        self,
        messages: Sequence[dict],
        n: int,
        *,
        seed: int = 0,
        max_new_tokens: int = 256,
        temperature: float = 0.7,
        stop: Sequence[str] | None = None,
        timeout: float | None = 300.0,
    ) -> list[str]:
        """``n`` sampled replies to the same chat (Eureka's K samples). Default: seeds ``seed .. seed+n-1``.

        Backends that can sample a batch in one pass (the local model) override this; the replies are
        still a deterministic function of the request. ``timeout`` bounds the whole call.
        """
        if n < 1:
            raise ValueError(f"n must be >= 1. Got {n}.")
        return [
            self.generate(
                messages,
                seed=seed + i,
                max_new_tokens=max_new_tokens,
                temperature=temperature,
                stop=stop,
                timeout=timeout,
            )
            for i in range(n)
        ]

    @abstractmethod
    def score(self, prompt: str, options: Sequence[str], *, normalize: bool = False) -> np.ndarray:
        """Log-likelihood of each option as a continuation of ``prompt`` (plain text, no chat template).

        :param prompt: the context, e.g. ``"Robot: I will pick up the"``.
        :param options: continuations, e.g. ``[" red block", " blue bowl"]`` (start them with a space).
        :param normalize: divide each sum by the option's number of tokens (mean log-prob per token).
        :returns: ``(len(options),)`` float64 array, ``sum_t log p(option_t | prompt, option_<t)``.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
