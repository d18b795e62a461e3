"""Exercise checks that fail until the learner has done the work (Spinning Up's model).

In a notebook, an exercise is one code cell whose first line names it, holding a stub the learner
completes and ending with a check::

    # EXERCISE 03.ddim_speedup
    speedup = None          # your answer: how many times faster is DDIM-10 than DDPM-100 per call?
    lk.check("03.ddim_speedup", speedup)

The reference lives in the library (``labkit/course/exercises/nbNN.py``), registered with
:func:`exercise`; it computes the expected value from the kit itself, never from a typed constant.
``check`` shows a coloured line: "not yet" with a hint (a stub, ``None``, a ``NotImplementedError``, a
wrong value, or an exception in the learner's code: never raised, so "Run All" reaches the end) or a
short confirmation. Worked answers are in ``solutions/NN_topic.py`` (cells starting ``# SOLUTION NN.x``).

With ``LABKIT_CHECK_LOG=path`` every outcome is appended to that file as a JSON line: the tests run each
notebook once as shipped (every check must say "not yet") and once with the solutions applied (every
check must pass).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "EXERCISES",
    "CheckResult",
    "Exercise",
    "check",
    "close",
    "exercise",
]


@dataclass(frozen=True)
class Exercise:
    """A registered exercise: ``verify(answer) -> bool | (bool, detail)``, and the hint shown when it fails."""

    id: str
    verify: Callable[[Any], Any]
    hint: str
    what: str = ""


EXERCISES: dict[str, Exercise] = {}
"""Every exercise of the course, by id (``"NN.short_name"``); filled by the ``labkit.course.exercises`` modules."""


def exercise(exercise_id: str, *, hint: str, what: str = "") -> Callable[[Callable], Callable]:
    """Register the decorated function as the reference check of ``exercise_id``.

    The function receives the learner's answer (a value or a function) and returns ``True``/``False``
    or ``(passed, detail)``; it may call a learner's function, which may raise (that counts as "not yet").
    """
    if exercise_id.count(".") != 1:
        raise ValueError(f"exercise ids look like 'NN.short_name'. Got {exercise_id!r}.")

    def register(fn: Callable) -> Callable:
        if exercise_id in EXERCISES:
            raise ValueError(f"exercise {exercise_id!r} is registered twice.")
        EXERCISES[exercise_id] = Exercise(exercise_id, fn, hint, what)
        return fn

    return register


@dataclass
class CheckResult:
    """The outcome of one check; shown as a green or orange line in a notebook."""

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def _repr_html_(self) -> str:
        color, mark = ("#1a7f37", "&#10004; correct") if self.passed else ("#b35900", "&#10008; not yet")
        return (
            f'<div style="border-left:4px solid {color};padding:4px 10px;margin:4px 0;background:#f6f8fa">'
            f'<b style="color:{color}">{mark}</b> <code>{html.escape(self.exercise)}</code>: '
            f"{html.escape(self.message)}</div>"
        )

    def __repr__(self) -> str:
        return f"{'correct' if self.passed else 'not yet'} [{self.exercise}]: {self.message}"


def close(answer: Any, expected: Any, *, atol: float = 1e-6, rtol: float = 0.0) -> tuple[bool, str]:
    """``(passed, detail)``: is ``answer`` (a number or array) within tolerance of ``expected``?"""
    try:
        a, e = np.asarray(answer, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False, f"expected a number or an array, got {type(answer).__name__}"
    if a.shape != e.shape:
        return False, f"expected shape {e.shape}, got {a.shape}"
    if np.allclose(a, e, atol=atol, rtol=rtol):
        return True, "matches"
    return False, "not the expected value yet"


def _log(result: CheckResult) -> None:
    path = os.environ.get("LABKIT_CHECK_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"exercise": result.exercise, "passed": result.passed}) + "\n")


def _show(result: CheckResult) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:  # plain Python: print
        print(repr(result))
        return
    if get_ipython() is None:
        print(repr(result))
    else:
        display(HTML(result._repr_html_()))


def check(exercise_id: str, answer: Any) -> None:
    """Check the learner's ``answer`` for ``exercise_id``; show "correct" or "not yet" with a hint.

    Never raises for the learner's mistakes (so "Run All" reaches the end); an unknown id is a bug in
    the notebook and raises ``KeyError`` listing the known ids of that notebook.
    """
    if exercise_id not in EXERCISES:
        prefix = exercise_id.split(".")[0]
        known = sorted(k for k in EXERCISES if k.startswith(prefix + ".")) or sorted(EXERCISES)
        raise KeyError(f"no exercise {exercise_id!r}; known: {', '.join(known)}")
    ex = EXERCISES[exercise_id]
    # An untouched stub gets what to do, not the hint: the hint comes with the first real attempt.
    first = "fill in the cell above first" + (f": {ex.what}" if ex.what else "") + " (a hint follows a first try)"
    if answer is None or answer is Ellipsis:
        result = CheckResult(exercise_id, False, first)
    else:
        try:
            out = ex.verify(answer)
            passed, detail = out if isinstance(out, tuple) else (bool(out), "")
            message = (detail or "well done") if passed else f"{detail + '. ' if detail else ''}Hint: {ex.hint}"
            result = CheckResult(exercise_id, bool(passed), message)
        except NotImplementedError:
            result = CheckResult(exercise_id, False, first.replace("fill in the cell above", "write the function"))
        except Exception as err:  # noqa: BLE001 - the learner's code failed: report, never raise
            result = CheckResult(exercise_id, False, f"your code raised {type(err).__name__}: {err}. Hint: {ex.hint}")
    _log(result)
    _show(result)
