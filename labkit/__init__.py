"""labkit: runnable notebooks for the duality of generative AI and RL in robotics.

Importing labkit picks a headless MuJoCo rendering backend (``MUJOCO_GL``) before mujoco is
imported, and sets torch to one intra-op thread (``LABKIT_TORCH_THREADS=N`` to change): the kit's
networks are small, one thread is as fast for them, and it avoids the many-fold slowdown of
oversubscribed threads when environments, a browser or a second kernel share a 2-core laptop.
"""

import os as _os

from labkit.render import choose_backend as _choose_backend

_choose_backend()


def _set_torch_threads() -> None:
    import torch

    torch.set_num_threads(max(1, int(_os.environ.get("LABKIT_TORCH_THREADS", "1"))))


_set_torch_threads()

__version__ = "0.1.0"


def smoke_mode() -> bool:
    """True when ``LABKIT_SMOKE`` is set to a truthy value: notebooks then run in seconds."""
    import os

    return os.environ.get("LABKIT_SMOKE", "").strip().lower() not in ("", "0", "false", "no")
