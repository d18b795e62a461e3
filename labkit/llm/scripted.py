"""``ScriptedClient``: a stand-in model that replies from a script (tests, exercises, "be the LLM").

It speaks the same interface as the real clients, so the reward-design loop, SayCan scoring and the
notebooks run end to end, fast and deterministically, with replies you chose.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

from labkit.llm.base import LLMClient, ScoreUnsupportedError, check_messages, check_options, truncate_at_stop

__all__ = ["ScriptedClient"]


class ScriptedClient(LLMClient):
    """Replies from ``replies``: a list used in order (then cycled), or a function of the request.

    :param replies: ``["reply 1", "reply 2", ...]`` or ``fn(messages, seed) -> str``.
    :param scorer: optional ``fn(prompt, options) -> sequence of floats`` for :meth:`score`; without it
        ``score`` raises :class:`ScoreUnsupportedError`.
    :param label: what to call these replies wherever the client's name is shown (default
        ``"scripted:<hash of the replies>"``), e.g. ``"scripted replies (smoke mode, no model)"``.
    """

    def __init__(
        self,
        replies: Sequence[str] | Callable[[list, int], str],
        scorer: Callable[[str, list], Sequence[float]] | None = None,
        *,
        label: str | None = None,
    ):
        super().__init__()
        if not callable(replies) and (isinstance(replies, str) or not replies):
            raise ValueError(f"replies must be a non-empty list of strings or a function. Got {replies!r}.")
        self.replies, self.scorer, self.calls = replies, scorer, 0
        tag = "fn" if callable(replies) else hashlib.sha256("\x00".join(replies).encode()).hexdigest()[:10]
        self.name = label or f"scripted:{tag}"

    def generate(self, messages, *, max_new_tokens=256, temperature=0.0, seed=0, stop=None, timeout=None) -> str:
        msgs = check_messages(messages)
        self.usage.start()
        if callable(self.replies):
            text = self.replies(msgs, seed)
        else:
            text = self.replies[self.calls % len(self.replies)]
        self.calls += 1
        self.usage.stop(0, len(text.split()))
        return truncate_at_stop(text, stop)

    def score(self, prompt, options, *, normalize=False) -> np.ndarray:
        options = check_options(options)
        if self.scorer is None:
            raise ScoreUnsupportedError("This ScriptedClient has no scorer: pass scorer=fn(prompt, options).")
        return np.asarray(self.scorer(prompt, options), dtype=float)
