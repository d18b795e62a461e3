"""Notebook 12's exercises: the projection out of a hazard, the Lagrange multiplier step, the frozen prefix of RTC.

Each reference is the kit's own code (``labkit.safety``), called on random cases the learner's function
has not seen.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from labkit.course.checks import close, exercise
from labkit.safety import Disk, Hazards, LagrangeConfig, LagrangeMultiplier, shifted_target


@exercise(
    "12.project_point",
    hint="move a point inside along the ray from the disk's centre to the circle of radius r + margin; "
    "leave points already outside unchanged",
    what="project_point(p, center, radius, margin) -> the nearest point at distance >= radius + margin",
)
def _project_point(fn: Any) -> tuple[bool, str]:
    rng = np.random.default_rng(12)
    center, radius, margin = (0.1, -0.05), 0.09, 0.03
    disk = Hazards([Disk(center[0], center[1], radius)])
    for p in rng.uniform(-0.1, 0.3, size=(50, 2)):
        ok, detail = close(fn(p, center, radius, margin), disk.project_point(p, margin=margin), atol=1e-9)
        if not ok:
            inside = float(np.hypot(*(p - np.asarray(center)))) < radius + margin
            return False, f"point {np.round(p, 3).tolist()} ({'inside' if inside else 'outside'}): {detail}"
    return True, "matches labkit.safety.Hazards.project_point on fifty points"


@exercise(
    "12.lagrange_step",
    hint="lambda + lambda_lr * (mean_cost - cost_limit), then clip to [0, lambda_max]",
    what="lagrange_step(lam, mean_cost, cost_limit, lambda_lr, lambda_max) -> the new lambda",
)
def _lagrange_step(fn: Any) -> tuple[bool, str]:
    rng = np.random.default_rng(12)
    for _ in range(30):
        cfg = LagrangeConfig(
            cost_limit=float(rng.uniform(0, 5)), lambda_lr=float(rng.uniform(0.01, 1)), lambda_max=10.0
        )
        ref = LagrangeMultiplier(replace(cfg, lambda_init=float(rng.uniform(0, 3))))
        lam, cost = ref.value, float(rng.uniform(0, 10))
        ok, detail = close(fn(lam, cost, cfg.cost_limit, cfg.lambda_lr, cfg.lambda_max), ref.update(cost), atol=1e-9)
        if not ok:
            return False, f"lambda {lam:.3f}, mean cost {cost:.3f}, limit {cfg.cost_limit:.3f}: {detail}"
    return True, "matches labkit.safety.LagrangeMultiplier.update"


@exercise(
    "12.frozen_prefix",
    hint="the new chunk's index j is the previous chunk's index j + s; the first d of them are frozen",
    what="frozen_prefix(previous (H, A), s, d) -> the (d, A) actions the new chunk must start with",
)
def _frozen_prefix(fn: Any) -> tuple[bool, str]:
    rng = np.random.default_rng(12)
    for s, d in [(4, 4), (4, 2), (5, 3), (6, 1)]:
        previous = rng.normal(size=(8, 2))  # (H, A), "now" at index 0 (no observation history)
        expected = shifted_target(previous[None], 0, s)[0, :d]  # (d, A): what run_delayed freezes
        ok, detail = close(fn(previous, s, d), expected)
        if not ok:
            return False, f"s = {s}, d = {d}: {detail}"
    return True, "matches the prefix labkit.safety.run_delayed freezes"
