"""labkit's task ids, their registration with gymnasium, and ``make`` with a clear error for unknown ids.

``import labkit`` registers every id, so ``gymnasium.make("labkit/TwoRoutes-v0")`` works afterwards,
as do tools that import a package by name to register its envs (rl-zoo3's ``--gym-packages labkit``)
and ``gymnasium.make("labkit:labkit/TwoRoutes-v0")`` without importing labkit first. SB3's
``SubprocVecEnv`` workers, started by a forkserver, import labkit too (see :func:`register_all`).
"""

from __future__ import annotations

import difflib
from multiprocessing import forkserver

import gymnasium as gym

__all__ = ["LABKIT_ENVS", "UnknownEnvError", "make", "register_all"]

#: id -> (entry point, max_episode_steps, default kwargs)
LABKIT_ENVS: dict[str, tuple[str, int, dict]] = {
    "labkit/TwoRoutes-v0": ("labkit.envs.two_routes:TwoRoutesEnv", 100, {}),
    # The same task with the obstacle moved right: the route on the left is now shorter.
    "labkit/TwoRoutesShifted-v0": ("labkit.envs.two_routes:TwoRoutesEnv", 100, {"obstacle": (0.12, 0.0)}),
    # The right route closed by a barrier the observation does not show; reward 1 on success only.
    "labkit/TwoRoutesBlocked-v0": (
        "labkit.envs.two_routes:TwoRoutesEnv",
        100,
        {"blocked": "right", "reward": "sparse"},
    ),
    # Contact-rich pushing: a disk pushes a square block into a target pose (position and angle).
    "labkit/PushBlock-v0": ("labkit.envs.push_block:PushBlockEnv", 200, {}),
    # TwoRoutes with marks, a barrier on either side (or none) and a skill to perform (notebook 06's SayCan).
    "labkit/TwoRoutesSkills-v0": ("labkit.envs.two_routes_skills:TwoRoutesSkillsEnv", 40, {}),
    # TwoRoutes seen through its top camera: observations are (3, 64, 64) uint8 frames (info["state"]: the state).
    "labkit/TwoRoutesPixels-v0": ("labkit.envs.pixels:two_routes_pixels", 100, {"size": 64}),
}


class UnknownEnvError(ValueError):
    """An environment id that neither labkit nor gymnasium knows."""


def _preload_in_forkserver() -> None:
    """Have forkserver-started workers (SB3's ``SubprocVecEnv`` default) import labkit, so they know its ids.

    In a script the forkserver re-imports ``__main__`` (whose ``import labkit`` registers the ids); in a
    notebook ``__main__`` is the kernel, and without this the workers raise ``NamespaceNotFound``.
    """
    preload = list(getattr(forkserver._forkserver, "_preload_modules", None) or ["__main__"])
    if "labkit" not in preload:
        forkserver.set_forkserver_preload([*preload, "labkit"])


def register_all() -> None:
    """Register every labkit task with gymnasium (idempotent)."""
    for env_id, (entry, steps, kwargs) in LABKIT_ENVS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry, max_episode_steps=steps, kwargs=dict(kwargs))
    _preload_in_forkserver()


def make(env_id: str, *, seed: int | None = None, **kwargs) -> gym.Env:
    """Make a gymnasium env by id; labkit ids and any registered gymnasium id work.

    :param env_id: e.g. ``"labkit/TwoRoutes-v0"`` or ``"InvertedPendulum-v5"``.
    :param seed: if given, the env is reset once with this seed (and its action space seeded),
        so that the next ``reset()`` continues a reproducible stream.
    :param kwargs: passed to ``gymnasium.make`` (``render_mode``, task options ...).
    :raises UnknownEnvError: the id is unknown; the message lists labkit's ids and close matches.
    """
    if not isinstance(env_id, str):
        raise TypeError(f"env_id must be a string such as 'labkit/TwoRoutes-v0'. Got {type(env_id).__name__}.")
    register_all()
    if env_id not in gym.registry:
        close = difflib.get_close_matches(env_id, list(gym.registry), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownEnvError(
            f"Unknown environment id {env_id!r}.{hint} labkit's tasks are: {', '.join(LABKIT_ENVS)}; "
            "gymnasium's MuJoCo tasks such as 'InvertedPendulum-v5' or 'Reacher-v5' work too."
        )
    env = gym.make(env_id, **kwargs)
    if seed is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
    return env
