"""Chunk policies: what one is, the two the kit trains, the one runner, propose-and-select, presets.

- ``base.py``: ``ChunkConfig``, the ``ChunkPolicy`` protocol, ``BaseChunkPolicy``, ``check_fits``;
- ``diffusion.py``: ``DiffusionPolicy`` (Chi et al. 2023), ``gaussian.py``: ``GaussianBCPolicy``;
- ``consistency.py``: ``ConsistencyPolicy`` (one-step sampling, distilled from a diffusion policy: notebook 11);
- ``runner.py``: ``ChunkRunner`` and ``ObsHistory``, the history/queue executor everything uses;
- ``select.py``: propose N, pick by value (IDQL, sample-and-select);
- ``presets.py``: named configurations (``PRESETS``) and ``make_policy``.
"""

from labkit.policies.base import (
    POLICY_CLASSES,
    BaseChunkPolicy,
    ChunkConfig,
    ChunkPolicy,
    PolicyMismatchError,
    check_fits,
    with_sampling,
)
from labkit.policies.consistency import ConsistencyPolicy, ConsistencyPolicyConfig
from labkit.policies.diffusion import DiffusionPolicy, DiffusionPolicyConfig
from labkit.policies.gaussian import GaussianBCConfig, GaussianBCPolicy
from labkit.policies.presets import KINDS, PRESETS, Preset, describe_presets, make_policy
from labkit.policies.runner import ChunkRunner, ObsHistory
from labkit.policies.select import repeat_rows, select_by_value, selection_probabilities

__all__ = [
    "KINDS",
    "POLICY_CLASSES",
    "PRESETS",
    "BaseChunkPolicy",
    "ChunkConfig",
    "ChunkPolicy",
    "ChunkRunner",
    "ConsistencyPolicy",
    "ConsistencyPolicyConfig",
    "DiffusionPolicy",
    "DiffusionPolicyConfig",
    "GaussianBCConfig",
    "GaussianBCPolicy",
    "ObsHistory",
    "PolicyMismatchError",
    "Preset",
    "check_fits",
    "describe_presets",
    "make_policy",
    "repeat_rows",
    "select_by_value",
    "selection_probabilities",
    "with_sampling",
]
