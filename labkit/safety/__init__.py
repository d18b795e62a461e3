"""Policy safety and the open challenges (notebook 12), measured on the point robot.

- ``hazards``: forbidden disks, the cost wrapper (``info["cost"]``) of a constrained MDP;
- ``paths`` / ``constrained``: constraint-aware sampling from a frozen diffusion policy
  (unconstrained, projection at every step, gradient guidance, projection of the final sample);
- ``lagrangian``: PPO-Lagrangian with stock SB3 (a callback shapes ``r - lambda c``);
- ``elicit``: search the start states from which a policy is unsafe;
- ``forgetting``: PPO with a BC or kickstarting KL term against forgetting (Wołczyk et al. 2024);
- ``latency``: simulated inference delay, naive chunk switching vs real-time chunking (RTC).

The figures are in ``labkit.viz.safety``; the notebook's ready-made runs in ``labkit.experiments.safety``.
"""

from labkit.safety.constrained import METHODS, ConstrainedPolicy, ConstraintConfig, sample_constrained
from labkit.safety.elicit import ElicitConfig, ElicitResult, elicit_unsafe_starts
from labkit.safety.forgetting import RegularisedPPO, pretrain_bc
from labkit.safety.hazards import Disk, HazardCostWrapper, Hazards
from labkit.safety.lagrangian import LagrangeConfig, LagrangeMultiplier, LagrangianCallback
from labkit.safety.latency import (
    DelayConfig,
    DelayResult,
    prefix_weights,
    run_delayed,
    sample_inpainted,
    shifted_target,
)
from labkit.safety.paths import STEP_LENGTH, is_feasible, paths_from_actions, project_actions

__all__ = [
    "METHODS",
    "STEP_LENGTH",
    "ConstrainedPolicy",
    "ConstraintConfig",
    "DelayConfig",
    "DelayResult",
    "Disk",
    "ElicitConfig",
    "ElicitResult",
    "HazardCostWrapper",
    "Hazards",
    "LagrangeConfig",
    "LagrangeMultiplier",
    "LagrangianCallback",
    "RegularisedPPO",
    "elicit_unsafe_starts",
    "is_feasible",
    "paths_from_actions",
    "prefix_weights",
    "pretrain_bc",
    "project_actions",
    "run_delayed",
    "sample_constrained",
    "sample_inpainted",
    "shifted_target",
]
