"""B3 policy distillation (notebook 11), in three directions:

- ``generalist.py``: experts -> generalist (RLDG): a variant's one-hot appended to observations, in
  the data (``with_condition``) and in the env (``ConditionObservation``); ``relabel_actions``;
- ``rpd.py``: generalist -> expert (RPD): ``RPDPPO``, SB3 PPO with a decaying pull towards a teacher;
- ``consistency.py``: many denoising steps -> one: ``distill_consistency`` trains a
  ``labkit.policies.ConsistencyPolicy`` from a diffusion policy.
"""

from labkit.distill.consistency import distill_consistency
from labkit.distill.generalist import ConditionObservation, one_hot, relabel_actions, with_condition
from labkit.distill.rpd import RPDPPO, ChunkTeacher, cosine_decay
from labkit.policies.consistency import ConsistencyPolicy, ConsistencyPolicyConfig

__all__ = [
    "RPDPPO",
    "ChunkTeacher",
    "ConditionObservation",
    "ConsistencyPolicy",
    "ConsistencyPolicyConfig",
    "cosine_decay",
    "distill_consistency",
    "one_hot",
    "relabel_actions",
    "with_condition",
]
