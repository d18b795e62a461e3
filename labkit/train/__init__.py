"""Training: the scaffold every trainer runs in, one log shape, the BC loop, checkpoints.

- ``loop.py``: ``training(...)`` (progress bar, Ctrl-C keeps what was learned, timing) and ``train_policy``;
- ``log.py``: ``TrainLog``, what every trainer in the kit returns;
- ``bc.py``: ``behaviour_cloning``, a preset policy fitted to demonstrations in one call;
- ``checkpoint.py``: atomic, safely loaded checkpoints.
"""

from labkit.train.bc import behaviour_cloning
from labkit.train.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from labkit.train.log import TrainLog, steps_to_reach
from labkit.train.loop import BatchSource, TensorBatchSampler, train_policy, training

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "BatchSource",
    "CheckpointError",
    "TensorBatchSampler",
    "TrainLog",
    "behaviour_cloning",
    "load_checkpoint",
    "save_checkpoint",
    "steps_to_reach",
    "train_policy",
    "training",
]
