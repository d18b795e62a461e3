"""labkit's MuJoCo tasks, registered with gymnasium under the ``labkit/`` namespace, and their experts.

>>> import labkit as lk
>>> env = lk.make("labkit/TwoRoutes-v0", seed=0, render_mode="rgb_array")

- ``registry.py``: the ids, ``register_all`` and ``make`` (gymnasium.make + a clear error for unknown ids);
- ``two_routes.py``, ``two_routes_skills.py``, ``push_block.py`` (+ ``assets/``): the tasks;
- ``experts.py``: scripted experts, the SB3 adapter, the average of experts;
- ``wrappers.py``: executing a chunk as one step; recording frames;
- ``pixels.py``: ``PixelObservation`` (a task seen through a camera) and ``labkit/TwoRoutesPixels-v0``.
"""

import importlib

from labkit.envs.experts import AverageOfExperts, PushBlockExpert, SB3Expert, StraightUpPolicy, TwoRoutesExpert
from labkit.envs.registry import LABKIT_ENVS, UnknownEnvError, make, register_all
from labkit.envs.wrappers import ActionChunkWrapper, FrameRecorder

# The task classes import mujoco, which fails at import with a broken rendering backend: load them on first
# use, so that `import labkit` and `python -m labkit doctor` still work there and name the fix.
_TASKS = {
    "PushBlockEnv": "labkit.envs.push_block",
    "TwoRoutesEnv": "labkit.envs.two_routes",
    "TwoRoutesSkillsEnv": "labkit.envs.two_routes_skills",
    "PixelObservation": "labkit.envs.pixels",
}


def __getattr__(name: str):
    if name in _TASKS:
        return getattr(importlib.import_module(_TASKS[name]), name)
    raise AttributeError(f"module 'labkit.envs' has no attribute {name!r}")


__all__ = [
    "LABKIT_ENVS",
    "ActionChunkWrapper",
    "AverageOfExperts",
    "FrameRecorder",
    "PixelObservation",
    "PushBlockEnv",
    "PushBlockExpert",
    "SB3Expert",
    "StraightUpPolicy",
    "TwoRoutesEnv",
    "TwoRoutesExpert",
    "TwoRoutesSkillsEnv",
    "UnknownEnvError",
    "make",
    "register_all",
]

register_all()
