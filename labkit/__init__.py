"""labkit: runnable notebooks for the duality of generative AI and RL in robotics.

    import labkit as lk
    from labkit import viz

    demos = lk.load("two_routes_demos")                                   # shipped, validated data
    policy, log = lk.behaviour_cloning("diffusion", demos, iterations=2_000)
    result = lk.evaluate(policy, "labkit/TwoRoutes-v0", 100)              # success, routes, frames
    viz.curves({"DSRL": [log_a, log_b]})                                   # one palette everywhere

Importing labkit picks a headless MuJoCo rendering backend (``MUJOCO_GL``) before mujoco is imported,
sets torch to one intra-op thread (``LABKIT_TORCH_THREADS=N`` to change) and registers the
``labkit/...`` environments with gymnasium. The layers, bottom up (each imports only from below):
``runtime``/``io`` -> ``envs`` -> ``data`` -> ``models`` -> ``diffusion`` -> ``policies`` -> ``train``
-> ``store``/``rollout`` -> ``analysis``/``sb3``/``viz`` -> taxonomy folders (``pretrain``, ``finetune``)
-> ``experiments`` -> ``course``.
"""

from labkit.runtime import choose_backend as _choose_backend
from labkit.runtime import set_torch_threads as _set_torch_threads

_choose_backend()
_set_torch_threads()

from labkit import (  # noqa: E402
    analysis,
    course,
    data,
    diffusion,
    distill,
    envs,
    experiments,
    finetune,
    llm,
    models,
    planning,
    policies,
    pretrain,
    rewards,
    safety,
    stats,
    sweep,
    train,
    viz,
    world_models,
)
from labkit.course import check  # noqa: E402
from labkit.data import ChunkDataset, EpisodeDataset  # noqa: E402
from labkit.envs import experts  # noqa: E402
from labkit.envs.registry import make  # noqa: E402
from labkit.policies import PRESETS, ChunkRunner, DiffusionPolicy, GaussianBCPolicy, make_policy  # noqa: E402
from labkit.rollout import EvalResult, collect, evaluate, record  # noqa: E402
from labkit.runtime import seed_everything, smoke_mode  # noqa: E402
from labkit.sb3 import TrainingMonitor, learn  # noqa: E402
from labkit.store import load, save  # noqa: E402
from labkit.train import TrainLog, behaviour_cloning  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "ChunkDataset",
    "ChunkRunner",
    "DiffusionPolicy",
    "EpisodeDataset",
    "EvalResult",
    "GaussianBCPolicy",
    "TrainLog",
    "TrainingMonitor",
    "analysis",
    "behaviour_cloning",
    "check",
    "collect",
    "course",
    "data",
    "diffusion",
    "distill",
    "envs",
    "evaluate",
    "experiments",
    "experts",
    "finetune",
    "learn",
    "llm",
    "load",
    "make",
    "make_policy",
    "models",
    "planning",
    "policies",
    "pretrain",
    "record",
    "rewards",
    "safety",
    "save",
    "seed_everything",
    "smoke_mode",
    "stats",
    "sweep",
    "train",
    "viz",
    "world_models",
]
