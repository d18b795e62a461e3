"""Notebook 03's ready-made run: a diffusion policy or Gaussian BC on the shipped TwoRoutes demonstrations.

    metrics = run_bc(seed=0, kind="diffusion", iterations=8_000, episodes=100)   # one sweep trial
    metrics["success"], metrics["left_share"], metrics["ddim10_ms"]

Both use the ``"chunked"`` preset (To/H/Ta = 2/16/8, DDIM-10 for diffusion): one place for a default,
so notebook 03 and ``benchmarks/diffusion_policy.py`` measure the same thing.
"""

from __future__ import annotations

from typing import Any

from labkit.rollout import evaluate, measure_latency
from labkit.store import load
from labkit.train.bc import behaviour_cloning

__all__ = ["ENV_ID", "run_bc"]

ENV_ID = "labkit/TwoRoutes-v0"


def run_bc(seed: int, kind: str, iterations: int = 8_000, episodes: int = 100, latency: bool = True) -> dict[str, Any]:
    """Train ``kind`` ("diffusion" or "gaussian") on ``two_routes_demos`` and evaluate it; JSON-friendly metrics.

    Evaluation: ``episodes`` episodes from env seeds 1000, 1001, ... with sampling seeded by ``seed``.
    Keys: ``success``, ``left_share`` / ``right_share`` (of the successes), ``mean_return``,
    ``train_seconds``, ``its_per_s``, and with ``latency`` the ms per call at batch 1 (``ddpm100_ms``,
    ``ddim10_ms`` for diffusion; ``call_ms`` for Gaussian).
    """
    demos = load("two_routes_demos")
    policy, log = behaviour_cloning(kind, demos, iterations=iterations, seed=seed, progress=False)
    ev = evaluate(policy, ENV_ID, episodes, seed=1000, generator_seed=seed, progress=False)
    counts = ev.route_counts
    n = max(1, sum(counts.values()))
    out: dict[str, Any] = {
        "success": ev.success_rate,
        "left_share": counts.get("left", 0) / n,
        "right_share": counts.get("right", 0) / n,
        "mean_return": float(ev.returns.mean()),
        "train_seconds": log.seconds,
        "its_per_s": log.iterations_done / log.seconds,
        "route_counts": counts,
    }
    if latency and kind == "diffusion":
        out["ddpm100_ms"] = measure_latency(policy, demos.obs_dim, sampler="ddpm", num_inference_steps=100)
        out["ddim10_ms"] = measure_latency(policy, demos.obs_dim, sampler="ddim", num_inference_steps=10)
    elif latency:
        out["call_ms"] = measure_latency(policy, demos.obs_dim)
    return out
