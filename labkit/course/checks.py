"""Helpers for the exercises' "check your answer" cells.

Each check prints one line - a tick and why, or a cross and a hint - and returns ``True``/``False``,
so a notebook cell (or a test) can use the result. Expected values are computed from the kit
itself (the env, the data), never typed in by hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.envs.registry import make

__all__ = ["check_close", "check_true", "check_env_spaces"]


def _report(ok: bool, what: str, hint: str) -> bool:
    print(f"\u2705 {what}" if ok else f"\u274c {what}: {hint}")
    return ok


def check_close(answer: Any, expected: Any, what: str = "answer", atol: float = 1e-6, hint: str = "") -> bool:
    """Is ``answer`` (number or array) within ``atol`` of ``expected``?"""
    try:
        ok = bool(np.allclose(np.asarray(answer, float), np.asarray(expected, float), atol=atol))
    except (TypeError, ValueError):
        ok = False
    return _report(ok, f"{what} = {answer!r}", hint or "not quite; re-read the cell above and try again")


def check_true(condition: bool, what: str, hint: str = "") -> bool:
    """Report whether ``condition`` holds."""
    return _report(bool(condition), what, hint or "not yet")


def check_env_spaces(env_id: str, obs_dim: int, action_dim: int) -> bool:
    """Exercise helper: did the learner read the observation and action sizes off the env?"""
    env = make(env_id)
    true_obs, true_act = env.observation_space.shape[0], env.action_space.shape[0]
    env.close()
    ok_obs = _report(obs_dim == true_obs, f"observation size {obs_dim}", "look at env.observation_space.shape")
    ok_act = _report(action_dim == true_act, f"action size {action_dim}", "look at env.action_space.shape")
    return ok_obs and ok_act
