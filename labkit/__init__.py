"""labkit: runnable notebooks for the duality of generative AI and RL in robotics.

Importing labkit picks a headless MuJoCo rendering backend (``MUJOCO_GL``) before mujoco is
imported, and registers labkit's tasks with gymnasium (``labkit/TwoRoutes-v0`` ...).
"""

from labkit.render import choose_backend as _choose_backend

_choose_backend()

__version__ = "0.1.0"


def smoke_mode() -> bool:
    """True when ``LABKIT_SMOKE`` is set to a truthy value: notebooks then run in seconds."""
    import os

    return os.environ.get("LABKIT_SMOKE", "").strip().lower() not in ("", "0", "false", "no")
