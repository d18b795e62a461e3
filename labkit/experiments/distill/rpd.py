"""Generalist -> expert (RPD): an RPDPPO student against PPO from scratch, the generalist's success as the bar."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labkit.distill import RPDPPO, ChunkTeacher
from labkit.experiments.distill.common import (
    DistillBudget,
    cpu_clock,
    elapsed,
    train_ppo,
    variant_condition,
    variant_factory,
)
from labkit.rollout import evaluate
from labkit.train.log import TrainLog, steps_to_reach


def rpd_teacher(generalist: Any, variant: str, n_samples: int = 1, seed: int = 0) -> ChunkTeacher:
    """The generalist, conditioned on ``variant``, as an RPD teacher ``obs (N, 8) -> actions (N, 2)``."""
    return ChunkTeacher(generalist, condition=variant_condition(variant), n_samples=n_samples, seed=seed)


def run_rpd(
    generalist: Any,
    b: DistillBudget,
    seed: int = 0,
    progress: bool = True,
    methods: Sequence[str] = ("RPD student", "PPO from scratch"),
) -> dict[str, Any]:
    """RPD student vs PPO from scratch on ``b.rpd_variant``; the teacher's success is the bar to beat.

    :returns: ``{"variant", "reward", "teacher_success", "logs": {method: TrainLog}, "distill_log",
        "models", "timing"}``; a log's history holds the greedy evaluations during training.
    """
    variant, task = b.rpd_variant, variant_factory(b.rpd_variant, reward=b.rpd_reward)
    teacher_eval = evaluate(
        generalist, variant_factory(variant, conditioned=True), b.eval_episodes, seed=2_000, progress=False
    )
    logs, models, timing = {}, {}, {}
    distill_log = TrainLog()
    for method in methods:
        clock = cpu_clock()
        extra: dict[str, Any] = {}
        if method == "RPD student":
            teacher = rpd_teacher(generalist, variant, b.rpd_teacher_samples, seed)
            extra = dict(algo=RPDPPO, teacher=teacher, distill_weight=b.rpd_weight, anneal_steps=b.rpd_anneal_steps)
        models[method], logs[method] = train_ppo(
            task,
            b.rpd_steps,
            seed,
            eval_env=task,
            eval_every=b.rpd_eval_every,
            eval_episodes=b.rpd_eval_episodes,
            progress=progress,
            desc=method,
            **extra,
        )
        timing[method] = elapsed(clock)
        model = models[method]
        if isinstance(model, RPDPPO):
            distill_log = model.distill_log
    return {
        "variant": variant,
        "reward": b.rpd_reward,
        "teacher_success": teacher_eval.success_rate,
        "logs": logs,
        "distill_log": distill_log,
        "models": models,
        "timing": timing,
    }


def rpd_summary(run: dict[str, Any]) -> dict[str, Any]:
    """JSON-friendly numbers of ``run_rpd``: per method, env steps to the teacher's success, final and best."""
    bar = run["teacher_success"]
    out: dict[str, Any] = {
        "variant": run["variant"],
        "reward": run["reward"],
        "teacher_success": bar,
        "timing": run["timing"],
    }
    for method, log in run["logs"].items():
        steps, success = log.curve("success_rate")
        out[method] = {
            "steps_to_teacher": steps_to_reach(steps, success, bar),
            "final_success": float(np.mean(success[-3:])),  # the last three evaluations: PPO's evaluations are noisy
            "best_success": float(max(success)),
            "steps": [int(s) for s in steps],
            "success": [float(v) for v in success],
        }
    return out
