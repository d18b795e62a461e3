"""Planning and exploration with generative models (taxonomy A3 5.3) and RL primitives (B1), notebook 06.

- trajectory diffusion: :class:`Diffuser` (Janner et al. 2022: inpainting, value guidance through the
  kit's denoising chain) and :class:`DecisionDiffuser` (Ajay et al. 2023: states only, classifier-free
  guidance and composition, inverse dynamics);
- plan execution: :func:`rollout_plans` (tracked states vs the plan's own actions vs inverse dynamics);
- language over skills: :class:`SayCanPlanner` (Ahn et al. 2022) over an SB3 :class:`SkillLibrary` trained
  on ``labkit/TwoRoutesSkills-v0``;
- language-guided exploration: :class:`ELLMReward` (Du et al. 2023) vs :class:`RNDReward` (Burda et al. 2019).

The language model is any object with ``score(prompt, options) -> log-likelihoods`` (``labkit.llm``'s
clients, or :class:`KeywordClient`); ``labkit.experiments.planning_language`` wires in ``labkit.llm``.
"""

from labkit.planning.decision_diffuser import CONDITION_GROUPS, DecisionDiffuser, InverseDynamics, condition_vector
from labkit.planning.diffuser import Diffuser, DiffuserConfig, Guide, Plan
from labkit.planning.execute import PlanRollouts, TrackingController, rollout_plans
from labkit.planning.files import load_planner, save_planner
from labkit.planning.guidance import TrajectoryValue, ValueConfig, ValueGuide
from labkit.planning.training import fit
from labkit.planning.trajectories import (
    STATE_DIM,
    TrajectoryWindows,
    plan_route,
    planning_state,
    route_shares,
    trajectory_windows,
)

__all__ = [
    "CONDITION_GROUPS",
    "STATE_DIM",
    "DecisionDiffuser",
    "Diffuser",
    "DiffuserConfig",
    "Guide",
    "InverseDynamics",
    "Plan",
    "PlanRollouts",
    "TrackingController",
    "TrajectoryValue",
    "TrajectoryWindows",
    "ValueConfig",
    "ValueGuide",
    "condition_vector",
    "fit",
    "load_planner",
    "plan_route",
    "planning_state",
    "rollout_plans",
    "route_shares",
    "save_planner",
    "trajectory_windows",
]
