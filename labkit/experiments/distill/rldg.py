"""Experts -> generalist (RLDG): PPO specialists per variant, their data and the scripted demonstrator's,
the swaps (relabelled actions), one conditioned diffusion generalist per data source."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from stable_baselines3 import PPO

from labkit.data.episodes import EpisodeDataset, concat_datasets
from labkit.distill import relabel_actions, with_condition
from labkit.envs.experts import SB3Expert, TwoRoutesExpert
from labkit.experiments.distill.common import (
    DATA_SOURCES,
    ENV_ID,
    GENERALIST,
    SCRIPTED_ROUTE,
    VARIANTS,
    DistillBudget,
    cpu_clock,
    elapsed,
    train_ppo,
    variant_condition,
    variant_factory,
)
from labkit.policies.base import BaseChunkPolicy
from labkit.rollout import EvalResult, collect, evaluate
from labkit.train.bc import behaviour_cloning
from labkit.train.log import TrainLog


def train_specialists(
    b: DistillBudget, seed: int = 0, progress: bool = True
) -> tuple[dict[str, PPO], dict[str, TrainLog]]:
    """One PPO specialist per variant: ``({variant: model}, {variant: TrainLog})``."""
    models, logs = {}, {}
    for k, name in enumerate(VARIANTS):
        models[name], logs[name] = train_ppo(
            variant_factory(name),
            b.specialist_steps,
            seed + 101 * k,
            eval_env=variant_factory(name),
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
            variant_factory(name),
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
            variant_factory(name),
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
        name: evaluate(
            policy, variant_factory(name, conditioned), episodes, seed=seed, progress=False, deterministic=True
        )
        for name in VARIANTS
    }


def run_rldg(
    b: DistillBudget, seed: int = 0, progress: bool = True, sources: Sequence[str] = DATA_SOURCES
) -> dict[str, Any]:
    """Specialists -> data -> one generalist per data source, each evaluated on every variant."""
    clock = cpu_clock()
    specialists, spec_logs = train_specialists(b, seed, progress)
    spec_eval = evaluate_per_variant_unconditioned(specialists, b.eval_episodes)
    timing: dict[str, Any] = {"specialists": elapsed(clock)}
    data = collect_variant_data(specialists, b, seed)
    generalists, evals, train_t = {}, {}, {}
    for source in sources:
        clock = cpu_clock()
        generalists[source], _ = train_generalist(data[source], b.generalist_iterations, seed, progress)
        train_t[source] = elapsed(clock)
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
        name: evaluate(m, variant_factory(name), episodes, seed=seed, deterministic=True, progress=False)
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


def record_variant(policy: Any, name: str, conditioned: bool = True, seed: int = 1_000) -> list[np.ndarray]:
    """Frames ``(240, 240, 3)`` of one greedy episode of ``policy`` on variant ``name``."""
    env_fn = variant_factory(name, conditioned, render_mode="rgb_array")
    return evaluate(
        policy, env_fn, 1, seed=seed, record_episodes=1, batch_size=1, progress=False, deterministic=True
    ).frames[0]
