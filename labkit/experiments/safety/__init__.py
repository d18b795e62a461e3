"""Notebook 12's ready-made runs (policy safety and open challenges), shared with ``benchmarks/safety.py``.

The notebook and the benchmark call the same functions, so a number in one is a number in the other.
Four parts, each small enough for a 2-core laptop, one module each (``common`` holds the task, its
hazard puddles, clocks and the benchmark's results file); everything is re-exported here, so
``from labkit.experiments import safety as ex`` is all a notebook needs:

1. ``constraints.compare_constraints``: the shipped TwoRoutes prior sampled with each constraint method
   around two hazard puddles (``PUDDLES``); violation rate, success, ms per chunk.
2. ``saferl.train_safe_rl``: PPO / PPO-Lagrangian (stock SB3 + ``LagrangianCallback``), from scratch or as
   residual RL on the prior; ``frontier`` over cost limits; ``elicit_starts`` for unsafe starts.
3. ``forgetting.finetune_and_track``: a BC-pre-trained PPO policy fine-tuned on TwoRoutesBlocked, its success on
   the right-lane states it never revisits, with no term, a BC term or a kickstarting term.
4. ``latency.delay_sweep`` / ``latency_rows``: success against inference delay (naive vs RTC), and the
   measured ms per chunk of DDPM / DDIM samplers against the 20 Hz budget.

The sweep-ready trials (``trials``) ``run_constraints``, ``run_saferl``, ``run_forgetting`` and ``run_latency``
(``fn(seed, **settings) -> dict``, JSON-friendly) are what the benchmark runs through ``labkit.sweep``.
"""

from labkit.experiments.safety.common import (
    CONTROL_HZ,
    ENV_ID,
    PUDDLES,
    cached_results,
    cpu_clock,
    describe_targets,
    elapsed,
    format_rows,
    make_hazard_env,
)
from labkit.experiments.safety.constraints import CONSTRAINT_PRESETS, compare_constraints, distortion, sample_ms
from labkit.experiments.safety.forgetting import ForgettingPreset, finetune_and_track, forgetting_tasks, pretrain_policy
from labkit.experiments.safety.latency import (
    LATENCY_POLICY,
    RTC_SETTINGS,
    delay_sweep,
    delay_trajectories,
    latency_rows,
    train_latency_policy,
)
from labkit.experiments.safety.saferl import (
    COST_LIMIT,
    PRIOR_PRESET,
    SCRATCH_PRESET,
    SafeRLPreset,
    elicit_starts,
    frontier,
    start_rollout,
    train_safe_rl,
)
from labkit.experiments.safety.trials import run_constraints, run_forgetting, run_latency, run_saferl
from labkit.safety import METHODS, ElicitConfig  # the method names and the search settings the notebook passes

__all__ = [
    "METHODS",
    "CONSTRAINT_PRESETS",
    "CONTROL_HZ",
    "COST_LIMIT",
    "ENV_ID",
    "LATENCY_POLICY",
    "PRIOR_PRESET",
    "PUDDLES",
    "RTC_SETTINGS",
    "SCRATCH_PRESET",
    "ElicitConfig",
    "ForgettingPreset",
    "SafeRLPreset",
    "compare_constraints",
    "cached_results",
    "cpu_clock",
    "delay_sweep",
    "delay_trajectories",
    "describe_targets",
    "distortion",
    "elapsed",
    "elicit_starts",
    "finetune_and_track",
    "format_rows",
    "forgetting_tasks",
    "frontier",
    "latency_rows",
    "make_hazard_env",
    "pretrain_policy",
    "run_constraints",
    "run_forgetting",
    "run_latency",
    "run_saferl",
    "sample_ms",
    "start_rollout",
    "train_latency_policy",
    "train_safe_rl",
]
