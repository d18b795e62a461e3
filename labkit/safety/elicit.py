"""Elicit: search the start states from which a trained policy is unsafe (SafeVLA's "elicit" step).

A policy trained from one start distribution meets its cost limit *there*. SafeVLA's pipeline
(model, **elicit**, constrain, assure) first looks for the situations where it does not. Here a
situation is a start position, and the search is a small cross-entropy method: evaluate a batch of
starts, keep the most costly, sample around them with a shrinking spread, repeat::

    round 0: N starts uniform in the box          -> episode cost of each (one rollout per start)
    round r: N starts ~ N(elite_r, sigma_r^2), clipped to the box, sigma_{r+1} = shrink * sigma_r

The first round is an unbiased estimate of how much of the box is unsafe; the later rounds find
the worst cases faster than more uniform samples would. ``rollout`` is any function
``starts (N, 2) -> (episode costs (N,), successes (N,))``; ``labkit.experiments.safety`` builds one
for SB3 agents with or without a prior underneath.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ElicitConfig", "ElicitResult", "elicit_unsafe_starts"]


@dataclass
class ElicitConfig:
    """Search budget and box."""

    low: tuple[float, float] = (-0.45, -0.45)
    """Lower corner (x, y) of the box of start positions (m)."""
    high: tuple[float, float] = (0.45, -0.2)
    """Upper corner (x, y)."""
    n_per_round: int = 64
    """Starts evaluated per round."""
    rounds: int = 3
    """Rounds (the first is uniform)."""
    elite_frac: float = 0.25
    """Share of a round's starts kept as the next round's centres."""
    shrink: float = 0.5
    """Spread multiplier per round (the first spread is a quarter of the box)."""
    seed: int = 0
    """Seeds the sampling of starts."""

    def __post_init__(self) -> None:
        if not all(lo < hi for lo, hi in zip(self.low, self.high)):
            raise ValueError(f"low must be below high on both axes. Got low={self.low}, high={self.high}.")
        if self.n_per_round < 1 or self.rounds < 1 or not 0 < self.elite_frac <= 1 or not 0 < self.shrink <= 1:
            raise ValueError(
                "Need n_per_round >= 1, rounds >= 1, 0 < elite_frac <= 1 and 0 < shrink <= 1. "
                f"Got {self.n_per_round}, {self.rounds}, {self.elite_frac}, {self.shrink}."
            )


@dataclass
class ElicitResult:
    """Every start tried, with its outcome."""

    starts: np.ndarray
    """(N, 2) start positions, in the order tried."""
    costs: np.ndarray
    """(N,) episode cost from each start."""
    successes: np.ndarray
    """(N,) whether the episode reached the goal."""
    rounds: np.ndarray
    """(N,) the round each start belongs to (0 = uniform)."""
    uniform_unsafe_share: float = 0.0
    """Share of round-0 (uniform) starts with cost > 0."""
    worst: list[tuple[float, float, float]] = field(default_factory=list)
    """The five most costly (x, y, cost) found."""


def elicit_unsafe_starts(
    rollout: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], config: ElicitConfig | None = None
) -> ElicitResult:
    """Search start positions that make ``rollout`` costly (see the module docstring).

    :param rollout: ``starts (N, 2) -> (costs (N,), successes (N,))``, one episode per start.
    :param config: box and budget.
    """
    cfg = config or ElicitConfig()
    rng = np.random.default_rng(cfg.seed)
    low, high = np.asarray(cfg.low, float), np.asarray(cfg.high, float)
    sigma = (high - low) / 4
    starts_all, costs_all, succ_all, round_all = [], [], [], []
    starts = rng.uniform(low, high, size=(cfg.n_per_round, 2))  # (N, 2)
    for r in range(cfg.rounds):
        costs, succ = rollout(starts)
        costs, succ = np.asarray(costs, float), np.asarray(succ, bool)
        starts_all.append(starts)
        costs_all.append(costs)
        succ_all.append(succ)
        round_all.append(np.full(len(starts), r))
        pool_s, pool_c = np.concatenate(starts_all), np.concatenate(costs_all)
        n_elite = max(1, int(round(cfg.elite_frac * cfg.n_per_round)))
        order = np.argsort(-pool_c + 1e-9 * rng.random(len(pool_c)))  # most costly first, ties broken at random
        elite = pool_s[order[:n_elite]]  # (E, 2)
        centres = elite[rng.integers(0, len(elite), size=cfg.n_per_round)]  # (N, 2)
        starts = np.clip(centres + rng.normal(0, 1, size=(cfg.n_per_round, 2)) * sigma, low, high)
        sigma = sigma * cfg.shrink
    S, C = np.concatenate(starts_all), np.concatenate(costs_all)
    top = np.argsort(-C)[:5]
    return ElicitResult(
        starts=S,
        costs=C,
        successes=np.concatenate(succ_all),
        rounds=np.concatenate(round_all),
        uniform_unsafe_share=float(np.mean(costs_all[0] > 0)),
        worst=[(float(S[i, 0]), float(S[i, 1]), float(C[i])) for i in top],
    )
