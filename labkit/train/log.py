"""One shape for what every trainer in the kit returns: losses, a history of rows, timing, completion.

    log = lk.behaviour_cloning("diffusion", demos, iterations=2_000)[1]
    log.loss[-1]                       # the main loss of the last iteration
    log.curve("success_rate")          # (env steps, success) of periodic evaluations, for viz.curves
    pandas.DataFrame(log.history)      # a ready-made table

Offline trainers fill ``losses`` (one value per iteration, by name); RL trainers fill ``history``
(one row per evaluation or PPO iteration, with ``env_steps``); all set ``seconds`` and
``interrupted`` (True when Ctrl-C stopped them: what was learned is kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["TrainLog", "steps_to_reach"]


def steps_to_reach(steps: list[int] | list[float], values: list[float], threshold: float) -> int | None:
    """The first step at which ``values`` >= ``threshold`` (None if never)."""
    return next((int(s) for s, v in zip(steps, values) if v >= threshold), None)


@dataclass
class TrainLog:
    """What a training run did.

    :ivar losses: per iteration, by name (``{"loss": [...]}``, ``{"v_loss": [...], "q_loss": [...]}`` ...).
    :ivar history: periodic rows, e.g. ``{"env_steps": 4000, "success_rate": 0.8, "seconds": 3.1}``.
    :ivar iterations_done: completed optimiser steps (or PPO iterations).
    :ivar env_steps: environment steps taken (RL; 0 for offline training).
    :ivar interrupted: stopped by Ctrl-C / the notebook's stop button (the weights are kept).
    :ivar seconds: wall-clock duration.
    :ivar meta: what was trained, e.g. ``{"method": "dsrl", "seed": 0}``.
    :ivar extras: objects a trainer hands back besides the model (e.g. DPPO's value network).
    """

    losses: dict[str, list[float]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    iterations_done: int = 0
    env_steps: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict, repr=False)

    def add(self, **values: float) -> None:
        """Append one value per named loss (one iteration)."""
        for k, v in values.items():
            self.losses.setdefault(k, []).append(float(v))

    def record(self, **row: Any) -> dict[str, Any]:
        """Append one row to ``history`` and return it."""
        self.history.append(row)
        return row

    @property
    def loss(self) -> list[float]:
        """The main loss per iteration (``losses["loss"]``, or the first loss recorded)."""
        if "loss" in self.losses:
            return self.losses["loss"]
        return next(iter(self.losses.values()), [])

    def curve(self, y: str = "success_rate", x: str = "env_steps") -> tuple[list[float], list[float]]:
        """``(xs, ys)`` from ``history`` (rows without ``y`` are skipped), the pair ``viz.curves`` takes."""
        rows = [r for r in self.history if y in r and x in r]
        if not rows and self.history:
            raise KeyError(f"history has no {y!r} against {x!r}; its keys are {sorted(self.history[0])}.")
        return [r[x] for r in rows], [r[y] for r in rows]

    def summary(self, y: str = "success_rate", threshold: float = 0.9, x: str = "env_steps") -> dict[str, Any]:
        """JSON-friendly: start, final and best ``y``, the first ``x`` where ``y`` >= threshold, time.

        Keys drop a ``_rate`` suffix: ``start_success``, ``final_success``, ``best_success``.
        """
        xs, ys = self.curve(y, x)
        out: dict[str, Any] = dict(self.meta)
        if ys:
            short = y.removesuffix("_rate")
            out.update(
                {
                    f"start_{short}": ys[0],
                    f"final_{short}": ys[-1],
                    f"best_{short}": max(ys),
                    "steps_to_threshold": steps_to_reach(xs, ys, threshold),
                    x: xs[-1],
                }
            )
        out["train_seconds"] = round(self.seconds, 2)
        return out
