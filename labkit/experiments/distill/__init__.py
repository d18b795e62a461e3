"""Notebook 11's ready-made runs (taxonomy B3, policy distillation), shared with ``benchmarks/distillation.py``.

One run per direction of distillation:

- ``rldg.py``, ``run_rldg``: experts -> generalist. One SB3 PPO specialist per TwoRoutes variant, their
  rollouts (and scripted demonstrations of the same variants) distilled into ONE variant-conditioned
  diffusion policy; plus the two swaps that separate action quality from state coverage.
- ``rpd.py``, ``run_rpd``: generalist -> expert. PPO with a decaying pull towards a generalist teacher
  (``RPDPPO``) against PPO from scratch, on one variant, with the teacher's own success as the bar.
- ``consistency.py``, ``run_consistency``: many steps -> one. A diffusion policy distilled into a
  consistency policy; success, route balance and milliseconds per action for each sampler and K.

``common.py`` holds the variants and ``BUDGETS`` (smoke / notebook / quick / full); ``trial.py`` the
sweep-ready ``run_part(seed, part, ...)`` (JSON-friendly metrics) the benchmark runs over seeds.

    from labkit.experiments import distill as X
    B = X.budget("notebook")
    specialists, logs = X.train_specialists(B, seed=0)
"""

from labkit.experiments.distill.common import (
    BUDGETS,
    DATA_SOURCES,
    ENV_ID,
    GENERALIST,
    PARTS,
    PPO_KWARGS,
    SCRIPTED_ROUTE,
    VARIANTS,
    DistillBudget,
    budget,
    train_ppo,
    variant_condition,
    variant_env,
)
from labkit.experiments.distill.consistency import (
    consistency_targets,
    cpu_latency,
    make_cm_teacher,
    run_consistency,
    sampler_settings,
)
from labkit.experiments.distill.rldg import (
    collect_variant_data,
    conditioned_dataset,
    demo_generalist,
    evaluate_per_variant,
    record_variant,
    rldg_summary,
    run_rldg,
    scripted_demos,
    scripted_labels_for,
    train_generalist,
    train_specialists,
)
from labkit.experiments.distill.rpd import rpd_summary, rpd_teacher, run_rpd
from labkit.experiments.distill.trial import run_part

__all__ = [
    "BUDGETS",
    "DATA_SOURCES",
    "ENV_ID",
    "GENERALIST",
    "PARTS",
    "PPO_KWARGS",
    "SCRIPTED_ROUTE",
    "VARIANTS",
    "DistillBudget",
    "budget",
    "collect_variant_data",
    "conditioned_dataset",
    "consistency_targets",
    "cpu_latency",
    "demo_generalist",
    "evaluate_per_variant",
    "make_cm_teacher",
    "record_variant",
    "rldg_summary",
    "rpd_summary",
    "rpd_teacher",
    "run_consistency",
    "run_part",
    "run_rldg",
    "run_rpd",
    "sampler_settings",
    "scripted_demos",
    "scripted_labels_for",
    "train_generalist",
    "train_ppo",
    "train_specialists",
    "variant_condition",
    "variant_env",
]
