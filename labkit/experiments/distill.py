"""Notebook 11's ready-made runs (taxonomy B3, policy distillation), shared with ``benchmarks/distillation.py``.

One run per direction of distillation:

- ``run_rldg``: experts -> generalist. One SB3 PPO specialist per TwoRoutes variant, their rollouts
  (and scripted demonstrations of the same variants) distilled into ONE variant-conditioned diffusion
  policy; plus the two swaps that separate action quality from state coverage.
- ``run_rpd``: generalist -> expert. PPO with a decaying pull towards a generalist teacher (``RPDPPO``)
  against PPO from scratch, on one variant, with the teacher's own success as the bar.
- ``run_consistency``: many steps -> one. A diffusion policy distilled into a consistency policy;
  success, route balance and milliseconds per action for each sampler and number of steps.

``BUDGETS`` holds the budgets (smoke / notebook / quick / full); ``run_part(seed, part, ...)`` is the
sweep-ready trial (JSON-friendly metrics) the benchmark runs over seeds with ``labkit.sweep.run``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from labkit.data.episodes import EpisodeDataset, concat_datasets
from labkit.distill import (
    RPDPPO,
    ChunkTeacher,
    ConditionObservation,
    distill_consistency,
    one_hot,
    relabel_actions,
    with_condition,
)
from labkit.envs.experts import SB3Expert, TwoRoutesExpert
from labkit.envs.registry import make
from labkit.policies.base import BaseChunkPolicy, with_sampling
from labkit.policies.consistency import ConsistencyPolicy
from labkit.policies.diffusion import DiffusionPolicy
from labkit.rollout import EvalResult, collect, evaluate, measure_latency
from labkit.runtime import check_seed
from labkit.sb3 import TrainingMonitor, learn
from labkit.store import load
from labkit.train.bc import behaviour_cloning
from labkit.train.log import TrainLog, steps_to_reach

__all__ = [
    "BUDGETS",
    "DATA_SOURCES",
    "ENV_ID",
    "VARIANTS",
    "DistillBudget",
    "budget",
    "consistency_targets",
    "make_cm_teacher",
    "run_consistency",
    "run_part",
    "run_rldg",
    "run_rpd",
    "variant_condition",
    "variant_env",
]

ENV_ID = "labkit/TwoRoutes-v0"
#: The task variants: TwoRoutesEnv keyword arguments. "left"/"right": the other route is closed by a
#: barrier the observation does not show (only the condition tells them apart).
VARIANTS: dict[str, dict[str, Any]] = {
    "left": {"blocked": "right"},
    "right": {"blocked": "left"},
    "shifted": {"obstacle": (0.12, 0.0)},
    "goal_left": {"goal": (-0.2, 0.35)},
    "goal_right": {"goal": (0.2, 0.35)},
}
#: The route the scripted demonstrator takes on each variant ("random": a fair coin per episode).
SCRIPTED_ROUTE = {"left": "left", "right": "right"}
#: PPO settings of every specialist, of the RPD student and of PPO from scratch (notebook 01's).
PPO_KWARGS: dict[str, Any] = dict(n_steps=256, batch_size=256, n_epochs=5, learning_rate=1e-3, gamma=0.98)
#: The generalist: a diffusion policy on [obs, one-hot variant], one observation, chunks of 8, 4 executed.
GENERALIST: dict[str, Any] = dict(n_obs_steps=1, horizon=8, n_action_steps=4, mlp_hidden_dim=128)
DATA_SOURCES = ("RL specialists", "scripted demos", "RL states + scripted actions", "scripted states + RL actions")
PARTS = ("rldg", "rpd", "consistency")


@dataclass
class DistillBudget:
    """Budgets of the three runs; validated on construction."""

    specialist_steps: int = 20_000
    """PPO env steps per specialist."""
    episodes_per_variant: int = 20
    """Episodes recorded per variant and data source."""
    demo_noise: float = 0.3
    """Action noise of the scripted demonstrator (the stand-in for a human teleoperator)."""
    generalist_iterations: int = 1_000
    """Optimiser steps of each generalist (the same for every data source)."""
    eval_episodes: int = 30
    """Evaluation episodes per variant (generalists, specialists, the RPD teacher)."""
    rpd_variant: str = "left"
    """The variant the RPD student specialises in."""
    rpd_reward: str = "sparse"
    """Reward of the RPD student's task: "sparse" (1 on success only) or "dense" (progress along the path)."""
    rpd_steps: int = 30_000
    """PPO env steps of the RPD student and of PPO from scratch."""
    rpd_anneal_steps: int = 15_000
    """Env steps over which the RPD weight decays to 0."""
    rpd_weight: float = 3.0
    """RPD weight at the start."""
    rpd_teacher_samples: int = 8
    """Teacher actions averaged per state for the RPD target."""
    rpd_eval_every: int = 2_000
    """Env steps between evaluations of the RPD student and PPO."""
    rpd_eval_episodes: int = 20
    """Episodes per evaluation during RPD / PPO training."""
    cm_iterations: int = 1_500
    """Optimiser steps of consistency distillation."""
    cm_lr: float = 1e-3
    """Learning rate of consistency distillation."""
    cm_eval_episodes: int = 50
    """Evaluation episodes per sampler setting (route shares need many: their standard error is ~0.5 / sqrt(n))."""
    cm_steps: tuple[int, ...] = (1, 2, 5, 10)
    """Numbers of steps K measured for DDIM-K and consistency-K (DDPM-100 is always measured)."""
    latency_calls: int = 100
    """Timed calls per latency measurement (batch 1)."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"{name} must be >= 0. Got {value}.")
        self.cm_steps = tuple(int(k) for k in self.cm_steps)
        if any(not 1 <= k <= 10 for k in self.cm_steps) or not {1, 10} <= set(self.cm_steps):
            raise ValueError(
                f"cm_steps must hold 1 and 10 (the targets' settings), each in [1, 10]. Got {self.cm_steps}."
            )
        if self.rpd_reward not in ("dense", "sparse"):
            raise ValueError(f"rpd_reward must be 'dense' or 'sparse'. Got {self.rpd_reward!r}.")
        if self.rpd_variant not in VARIANTS:
            raise ValueError(f"rpd_variant must be one of {list(VARIANTS)}. Got {self.rpd_variant!r}.")


BUDGETS: dict[str, DistillBudget] = {
    "smoke": DistillBudget(
        specialist_steps=1_024,
        episodes_per_variant=2,
        generalist_iterations=20,
        eval_episodes=4,
        rpd_steps=2_048,
        rpd_anneal_steps=1_024,
        rpd_eval_every=1_024,
        rpd_eval_episodes=4,
        cm_iterations=20,
        cm_eval_episodes=4,
        cm_steps=(1, 2, 10),
        latency_calls=5,
    ),
    "notebook": DistillBudget(),
    "quick": DistillBudget(
        eval_episodes=20,
        rpd_steps=16_000,
        rpd_anneal_steps=8_000,
        cm_eval_episodes=100,
        cm_steps=(1, 2, 10),
        latency_calls=50,
    ),
    "full": DistillBudget(
        eval_episodes=50,
        rpd_steps=40_000,
        rpd_anneal_steps=20_000,
        cm_iterations=3_000,
        cm_eval_episodes=200,
        cm_steps=(1, 2, 3, 5, 10),
        latency_calls=200,
    ),
}


def budget(name: str, **overrides: Any) -> DistillBudget:
    """A budget by name, with fields overridden (``budget("quick", rpd_steps=8_000)``)."""
    if name not in BUDGETS:
        raise ValueError(f"budget must be one of {list(BUDGETS)}. Got {name!r}.")
    return replace(BUDGETS[name], **overrides)


def _clock() -> dict[str, float]:
    return {"wall": time.perf_counter(), "cpu": time.process_time(), "load": os.getloadavg()[0]}


def _elapsed(start: dict[str, float]) -> dict[str, float]:
    """Wall seconds, CPU seconds of this process and the 1-minute load since ``start = _clock()``."""
    now = _clock()
    return {
        "wall_s": round(now["wall"] - start["wall"], 2),
        "cpu_s": round(now["cpu"] - start["cpu"], 2),
        "load_start": round(start["load"], 2),
        "load_end": round(now["load"], 2),
    }


# --- the variants ---------------------------------------------------------------------------------
def variant_condition(name: str) -> np.ndarray:
    """The one-hot condition (n_variants,) of variant ``name``."""
    if name not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}. Got {name!r}.")
    return one_hot(list(VARIANTS).index(name), len(VARIANTS))


def variant_env(name: str, conditioned: bool = False, render_mode: str | None = None, **overrides: Any) -> gym.Env:
    """TwoRoutes variant ``name`` (100 steps); ``conditioned`` appends its one-hot to the observation."""
    env = make(ENV_ID, render_mode=render_mode, **{**VARIANTS[name], **overrides})
    return ConditionObservation(env, variant_condition(name)) if conditioned else env


def _factory(name: str, conditioned: bool = False, **overrides: Any) -> Callable[[], gym.Env]:
    return lambda: variant_env(name, conditioned, **overrides)


# --- experts -> generalist ------------------------------------------------------------------------
def train_ppo(
    env_fn: Callable[[], gym.Env],
    steps: int,
    seed: int,
    eval_env: Callable[[], gym.Env] | None = None,
    eval_every: int = 5_000,
    eval_episodes: int = 10,
    progress: bool = True,
    algo: type[PPO] = PPO,
    desc: str | None = None,
    **kwargs: Any,
) -> tuple[PPO, TrainLog]:
    """PPO (or an ``RPDPPO``) with the kit's settings on 4 envs; returns ``(model, monitor.log)``."""
    venv = make_vec_env(env_fn, n_envs=4, seed=seed)
    model = algo("MlpPolicy", venv, seed=seed, verbose=0, **{**PPO_KWARGS, **kwargs})
    monitor = TrainingMonitor(
        eval_env=eval_env, eval_every=eval_every, n_eval_episodes=eval_episodes, progress=progress, desc=desc
    )
    learn(model, steps, monitor)  # Ctrl-C keeps what was learned
    return model, monitor.log


def train_specialists(
    b: DistillBudget, seed: int = 0, progress: bool = True
) -> tuple[dict[str, PPO], dict[str, TrainLog]]:
    """One PPO specialist per variant: ``({variant: model}, {variant: TrainLog})``."""
    models, logs = {}, {}
    for k, name in enumerate(VARIANTS):
        models[name], logs[name] = train_ppo(
            _factory(name),
            b.specialist_steps,
            seed + 101 * k,
            eval_env=_factory(name),
            progress=progress,
            desc=f"PPO specialist ({name})",
        )
    return models, logs


def _scripted(name: str, noise: float, route: str | None = None) -> TwoRoutesExpert:
    return TwoRoutesExpert(route=route or SCRIPTED_ROUTE.get(name, "random"), noise=noise)


def scripted_demos(b: DistillBudget, seed: int = 0) -> dict[str, EpisodeDataset]:
    """``{variant: episodes}`` of the scripted demonstrator (noise ``b.demo_noise``), env seeds ``seed, ...``."""
    return {
        name: collect(
            _scripted(name, b.demo_noise),
            _factory(name),
            b.episodes_per_variant,
            seed,
            expert_name=f"TwoRoutesExpert(noise={b.demo_noise})",
            env_id=ENV_ID,
            progress=False,
        )
        for name in VARIANTS
    }


def scripted_labels_for(rl_data: EpisodeDataset, noise: float) -> EpisodeDataset:
    """``rl_data``'s states labelled by the scripted expert, following the route of each episode."""
    routes = rl_data.episode_fields["route"]

    def labeller(i: int) -> TwoRoutesExpert:
        route = str(routes[i]) if routes[i] in ("left", "right") else "random"
        return TwoRoutesExpert(route=route, noise=noise)

    return relabel_actions(rl_data, labeller, name="TwoRoutesExpert")


def _same(expert: SB3Expert) -> Callable[[int], SB3Expert]:
    """``labeller_for`` that gives every episode the same (stateless) expert."""
    return lambda i: expert


def collect_variant_data(
    specialists: dict[str, PPO], b: DistillBudget, seed: int = 0
) -> dict[str, dict[str, EpisodeDataset]]:
    """``{source: {variant: episodes}}`` for the four ``DATA_SOURCES`` (observations without the condition)."""
    out: dict[str, dict[str, EpisodeDataset]] = {s: {} for s in DATA_SOURCES}
    demos = scripted_demos(b, seed)
    for name, model in specialists.items():
        rl = collect(
            SB3Expert(model),
            _factory(name),
            b.episodes_per_variant,
            seed,
            expert_name=f"PPO specialist ({name})",
            env_id=ENV_ID,
            progress=False,
        )
        out["RL specialists"][name], out["scripted demos"][name] = rl, demos[name]
        out["RL states + scripted actions"][name] = scripted_labels_for(rl, b.demo_noise)
        out["scripted states + RL actions"][name] = relabel_actions(demos[name], _same(SB3Expert(model)), name="PPO")
    return out


def conditioned_dataset(per_variant: dict[str, EpisodeDataset]) -> EpisodeDataset:
    """All variants in one dataset, each observation followed by its variant's one-hot."""
    return concat_datasets([with_condition(ds, variant_condition(name)) for name, ds in per_variant.items()])


def train_generalist(
    per_variant: dict[str, EpisodeDataset], iterations: int, seed: int = 0, progress: bool = True
) -> tuple[BaseChunkPolicy, TrainLog]:
    """One conditioned diffusion policy on every variant's data: ``(policy, TrainLog)``."""
    return behaviour_cloning(
        "diffusion", conditioned_dataset(per_variant), iterations=iterations, seed=seed, progress=progress, **GENERALIST
    )


def demo_generalist(b: DistillBudget, seed: int = 0, progress: bool = False) -> BaseChunkPolicy:
    """The scripted-demonstration generalist of ``run_rldg`` (same data and seed), without the specialists."""
    return train_generalist(scripted_demos(b, seed), b.generalist_iterations, seed, progress)[0]


def evaluate_per_variant(
    policy: Any, episodes: int, seed: int = 1_000, conditioned: bool = True
) -> dict[str, EvalResult]:
    """``{variant: EvalResult}`` of ``policy`` on every variant (env seeds ``seed, seed + 1, ...``)."""
    return {
        name: evaluate(policy, _factory(name, conditioned), episodes, seed=seed, progress=False, deterministic=True)
        for name in VARIANTS
    }


def run_rldg(
    b: DistillBudget, seed: int = 0, progress: bool = True, sources: Sequence[str] = DATA_SOURCES
) -> dict[str, Any]:
    """Specialists -> data -> one generalist per data source, each evaluated on every variant."""
    clock = _clock()
    specialists, spec_logs = train_specialists(b, seed, progress)
    spec_eval = evaluate_per_variant_unconditioned(specialists, b.eval_episodes)
    timing: dict[str, Any] = {"specialists": _elapsed(clock)}
    data = collect_variant_data(specialists, b, seed)
    generalists, evals, train_t = {}, {}, {}
    for source in sources:
        clock = _clock()
        generalists[source], _ = train_generalist(data[source], b.generalist_iterations, seed, progress)
        train_t[source] = _elapsed(clock)
        evals[source] = evaluate_per_variant(generalists[source], b.eval_episodes)
    return {
        "specialists": specialists,
        "specialist_logs": spec_logs,
        "specialist_eval": spec_eval,
        "data": data,
        "generalists": generalists,
        "evals": evals,
        "timing": {**timing, "generalists": train_t},
    }


def evaluate_per_variant_unconditioned(
    models: dict[str, Any], episodes: int, seed: int = 1_000
) -> dict[str, EvalResult]:
    """``{variant: EvalResult}`` of each variant's own specialist, greedy, on its plain env."""
    return {
        name: evaluate(m, _factory(name), episodes, seed=seed, deterministic=True, progress=False)
        for name, m in models.items()
    }


def rldg_summary(run: dict[str, Any]) -> dict[str, Any]:
    """JSON-friendly numbers of ``run_rldg``: success and episode length per source and variant."""

    def row(per: dict[str, EvalResult]) -> dict[str, Any]:
        return {
            "success": {v: r.success_rate for v, r in per.items()},
            "mean_success": float(np.mean([r.success_rate for r in per.values()])),
            "mean_length": float(np.mean([np.mean(r.lengths) for r in per.values()])),
        }

    table = {
        s: {**row(per), "data_steps": int(sum(ds.n_steps for ds in run["data"][s].values()))}
        for s, per in run["evals"].items()
    }
    table["specialists"] = row(run["specialist_eval"])
    return {"table": table, "timing": run["timing"]}


# --- generalist -> expert ---------------------------------------------------------------------------
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
    variant, task = b.rpd_variant, _factory(b.rpd_variant, reward=b.rpd_reward)
    teacher_eval = evaluate(
        generalist, _factory(variant, conditioned=True), b.eval_episodes, seed=2_000, progress=False
    )
    logs, models, timing = {}, {}, {}
    distill_log = TrainLog()
    for method in methods:
        clock = _clock()
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
        timing[method] = _elapsed(clock)
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


# --- many steps -> one ----------------------------------------------------------------------------
def sampler_settings(steps: Sequence[int] = (1, 2, 5, 10)) -> list[tuple[str, str, int]]:
    """``(label, kind, K)``: DDPM-100, DDIM-K and consistency-K for each K in ``steps``."""
    rows = [("DDPM-100", "ddpm", 100)]
    rows += [(f"DDIM-{k}", "ddim", k) for k in steps]
    rows += [(f"consistency-{k}", "consistency", k) for k in steps]
    return rows


def make_cm_teacher(
    source: str, seed: int = 0, iterations: int = 6_000, progress: bool = True
) -> tuple[DiffusionPolicy, EpisodeDataset]:
    """``(teacher, demos)``: ``"shipped"``, the shipped TwoRoutes prior; ``"nb03"``, notebook 03's recipe."""
    demos = load("two_routes_demos")
    if source == "shipped":
        teacher = load("two_routes_prior")
    elif source == "nb03":
        teacher = behaviour_cloning("diffusion", demos, iterations=iterations, seed=seed, progress=progress)[0]
    else:
        raise ValueError(f"source must be 'shipped' or 'nb03'. Got {source!r}.")
    assert isinstance(teacher, DiffusionPolicy)  # both are diffusion policies
    return teacher, demos


def cpu_latency(policy: Any, obs_dim: int, *, calls: int = 50, warmup: int = 5, **kwargs: Any) -> float:
    """Median CPU time (ms, this thread) of one ``predict_action`` call at batch 1: robust to other processes' load."""
    obs = torch.zeros(1, policy.config.n_obs_steps, obs_dim)  # (1, To, obs_dim)
    gen = torch.Generator().manual_seed(0)
    times = []
    with torch.no_grad():
        for i in range(warmup + calls):
            t0 = time.thread_time_ns()
            policy.predict_action(obs, generator=gen, **kwargs)
            if i >= warmup:
                times.append(time.thread_time_ns() - t0)
    return float(np.median(times)) / 1e6


def run_consistency(
    teacher: DiffusionPolicy,
    demos: EpisodeDataset,
    b: DistillBudget,
    seed: int = 0,
    progress: bool = True,
    student: ConsistencyPolicy | None = None,
) -> dict[str, Any]:
    """Distil ``teacher`` (unless ``student`` is given), then measure every sampler setting on TwoRoutes.

    :returns: ``{"student", "rows": [{label, kind, steps, ms_per_call, ms_per_action, cpu_ms_per_action,
        success, left, right}], "log", "timing"}``; ``left``/``right`` are shares of the successful episodes.
    """
    clock = _clock()
    log = TrainLog()
    if student is None:
        student, log = distill_consistency(
            teacher, demos, iterations=b.cm_iterations, lr=b.cm_lr, seed=seed, progress=progress
        )
    timing = {"distill": _elapsed(clock)}
    rows, ta, obs_dim = [], teacher.config.n_action_steps, teacher.config.obs_dim
    clock = _clock()
    for label, kind, k in sampler_settings(b.cm_steps):
        policy: Any = student if kind == "consistency" else teacher
        opts: dict[str, Any] = (
            {"num_inference_steps": k} if kind == "consistency" else {"sampler": kind, "num_inference_steps": k}
        )
        ms = measure_latency(policy, obs_dim, calls=b.latency_calls, **opts)
        cpu_ms = cpu_latency(policy, obs_dim, calls=b.latency_calls, **opts)
        r = evaluate(
            with_sampling(policy, **opts), ENV_ID, b.cm_eval_episodes, seed=3_000 + 1_000 * seed, progress=False
        )
        counts, n_ok = r.route_counts, max(1, int(r.successes.sum()))
        rows.append(
            {
                "label": label,
                "kind": kind,
                "steps": k,
                "ms_per_call": ms,
                "ms_per_action": ms / ta,
                "cpu_ms_per_action": cpu_ms / ta,
                "success": r.success_rate,
                "left": counts.get("left", 0) / n_ok,
                "right": counts.get("right", 0) / n_ok,
            }
        )
    timing["measure"] = _elapsed(clock)
    return {"student": student, "rows": rows, "log": log, "timing": timing}


def consistency_targets(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The issue's targets from ``run_consistency`` rows: one-step against DDIM-10."""
    by = {r["label"]: r for r in rows}
    one, ddim = by["consistency-1"], by["DDIM-10"]
    return {
        "speedup_vs_ddim10": ddim["ms_per_action"] / one["ms_per_action"],
        "cpu_speedup_vs_ddim10": ddim["cpu_ms_per_action"] / one["cpu_ms_per_action"],
        "success_drop_points": 100 * (ddim["success"] - one["success"]),
        "one_step_left": one["left"],
        "one_step_right": one["right"],
    }


def record_variant(policy: Any, name: str, conditioned: bool = True, seed: int = 1_000) -> list[np.ndarray]:
    """Frames ``(240, 240, 3)`` of one greedy episode of ``policy`` on variant ``name``."""
    env_fn = _factory(name, conditioned, render_mode="rgb_array")
    return evaluate(
        policy, env_fn, 1, seed=seed, record_episodes=1, batch_size=1, progress=False, deterministic=True
    ).frames[0]


# --- the benchmark's trial ------------------------------------------------------------------------
def run_part(
    seed: int, part: str, budget_name: str = "quick", teacher: str = "shipped", reward: str = "sparse"
) -> dict[str, Any]:
    """One sweep trial (``labkit.sweep.run``): one part of notebook 11 for one seed; JSON-friendly metrics.

    :param part: ``"rldg"``, ``"rpd"`` (the teacher is ``run_rldg``'s scripted-demo generalist, remade
        from the same data and seed) or ``"consistency"``.
    :param budget_name: a name in ``BUDGETS``.
    :param teacher: consistency teacher: ``"shipped"`` or ``"nb03"`` (notebook 03's recipe, trained per seed).
    :param reward: the RPD student's reward, ``"sparse"`` or ``"dense"``.
    """
    seed = check_seed(seed)
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}. Got {part!r}.")
    b = budget(budget_name, rpd_reward=reward)
    clock = _clock()
    out: dict[str, Any]
    if part == "rldg":
        table = rldg_summary(run_rldg(b, seed, progress=False))["table"]
        out = {
            "table_success": {s: table[s]["success"] for s in DATA_SOURCES},
            "mean_success": {s: table[s]["mean_success"] for s in [*DATA_SOURCES, "specialists"]},
            "mean_length": {s: table[s]["mean_length"] for s in [*DATA_SOURCES, "specialists"]},
            "data_steps": {s: table[s]["data_steps"] for s in DATA_SOURCES},
        }
    elif part == "rpd":
        s = rpd_summary(run_rpd(demo_generalist(b, seed), b, seed, progress=False))
        inf = float("inf")
        reach = {m: s[m]["steps_to_teacher"] for m in ("RPD student", "PPO from scratch")}
        out = {
            **s,
            "faster_than_ppo": (reach["RPD student"] if reach["RPD student"] is not None else inf)
            < (reach["PPO from scratch"] if reach["PPO from scratch"] is not None else inf),
            "ends_above_teacher": s["RPD student"]["final_success"] > s["teacher_success"],
        }
    else:
        cm_teacher, demos = make_cm_teacher(teacher, seed=seed, progress=False)
        c = run_consistency(cm_teacher, demos, b, seed, progress=False)
        out = {
            "rows": c["rows"],
            "targets": consistency_targets(c["rows"]),
            "teacher": teacher,
            "final_loss": float(np.mean(c["log"].loss[-50:])),
        }
    return {**out, "part": part, "total": _elapsed(clock)}
