"""Planning and exploration with generative models (taxonomy A3 5.3) and RL primitives (B1), notebook 06.

- trajectory diffusion: :class:`Diffuser` (Janner et al. 2022: inpainting, value guidance through the
  kit's denoising chain) and :class:`DecisionDiffuser` (Ajay et al. 2023: states only, classifier-free
  guidance and composition, inverse dynamics);
- plan execution: :func:`rollout_plans` (tracked states vs the plan's own actions vs inverse dynamics);
- language over skills: :class:`SayCanPlanner` (Ahn et al. 2022) over an SB3 :class:`SkillLibrary` trained
  on ``labkit/TwoRoutesSkills-v0``;
- language-guided exploration: :class:`ELLMReward` (Du et al. 2023) vs :class:`RNDReward` (Burda et al. 2019);
- figures (``figures``): plans by route, the denoising and guidance sliders, SayCan's bars, coverage maps.

The language model is any object with ``score(prompt, options) -> log-likelihoods`` (``labkit.llm``'s
clients; :func:`keyword_scores` is a deterministic stand-in); ``labkit.experiments.planning_language``
wires in ``labkit.llm`` and the shipped reply cache.
"""

from labkit.planning.decision_diffuser import CONDITION_GROUPS, DecisionDiffuser, InverseDynamics, condition_vector
from labkit.planning.diffuser import Diffuser, DiffuserConfig, Guide, Plan
from labkit.planning.ellm import (
    GOALS,
    CoverageWrapper,
    ELLMReward,
    RNDReward,
    caption_state,
    caption_transition,
    cosine_matrix,
    suggest_goals,
)
from labkit.planning.execute import PlanRollouts, TrackingController, rollout_plans
from labkit.planning.files import load_planner, save_planner
from labkit.planning.guidance import TrajectoryValue, ValueConfig, ValueGuide
from labkit.planning.saycan import (
    DONE,
    INSTRUCTIONS,
    EpisodeLog,
    Instruction,
    SayCanPlanner,
    build_prompt,
    keyword_scores,
    run_instruction,
    saycan_choice,
)
from labkit.planning.skills import SkillLibrary, SkillLibraryConfig, train_skill_library
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
    "DONE",
    "GOALS",
    "INSTRUCTIONS",
    "STATE_DIM",
    "CoverageWrapper",
    "DecisionDiffuser",
    "Diffuser",
    "DiffuserConfig",
    "ELLMReward",
    "EpisodeLog",
    "Guide",
    "Instruction",
    "InverseDynamics",
    "Plan",
    "PlanRollouts",
    "RNDReward",
    "SayCanPlanner",
    "SkillLibrary",
    "SkillLibraryConfig",
    "TrackingController",
    "TrajectoryValue",
    "TrajectoryWindows",
    "ValueConfig",
    "ValueGuide",
    "build_prompt",
    "caption_state",
    "caption_transition",
    "condition_vector",
    "cosine_matrix",
    "fit",
    "keyword_scores",
    "load_planner",
    "plan_route",
    "planning_state",
    "rollout_plans",
    "route_shares",
    "run_instruction",
    "save_planner",
    "saycan_choice",
    "suggest_goals",
    "train_skill_library",
    "trajectory_windows",
]
