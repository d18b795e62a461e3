"""What every run needs before anything else: a rendering backend, torch threads, seeds, smoke mode.

**Rendering.** MuJoCo reads ``MUJOCO_GL`` once, when ``mujoco`` is first imported, so the backend is
chosen here, before anything imports mujoco (``import labkit`` does it for you). Preference order:

1. whatever the user already set in ``MUJOCO_GL`` (respected as is);
2. ``egl``    - GPU or software EGL (Mesa's ``libegl1``), no display needed;
3. ``osmesa`` - pure software rendering (Debian/Ubuntu package ``libosmesa6``).

On a desktop with a display, ``glfw`` is also fine; it is never picked on a headless machine.
``check_rendering()`` renders a tiny model once and raises :class:`RenderingError` naming the system
package to install when nothing works.

**Threads.** The kit's networks are small; on a 2-core laptop that shares its cores with MuJoCo, a
browser and a kernel, oversubscribed torch threads make training many times slower, so
:func:`set_torch_threads` (called on import) uses one intra-op thread unless
``LABKIT_TORCH_THREADS=N`` says otherwise.

**Seeds.** ``seed_everything(0)`` seeds python's ``random``, NumPy's global generator and torch.
Environments are seeded through ``env.reset(seed=...)`` (gymnasium's convention; ``labkit.make(...,
seed=...)`` does it). For sampling, pass a ``torch.Generator`` from :func:`torch_generator`: two
generators with the same seed give bitwise-identical samples.

**Smoke mode.** ``LABKIT_SMOKE=1`` makes every notebook run top to bottom in seconds (tiny budgets).
"""

from __future__ import annotations

import ctypes.util
import os
import random
import subprocess
import sys
from typing import Any

import numpy as np
import torch

__all__ = [
    "RenderingError",
    "backend",
    "check_rendering",
    "check_int",
    "check_seed",
    "choose_backend",
    "np_rng",
    "seed_everything",
    "set_torch_threads",
    "smoke_mode",
    "torch_generator",
]

_INSTALL_HINT = (
    "install a headless OpenGL backend: `sudo apt-get install libegl1 libgl1` (for MUJOCO_GL=egl) "
    "or `sudo apt-get install libosmesa6` (for MUJOCO_GL=osmesa), or set MUJOCO_GL=glfw on a desktop"
)


class RenderingError(RuntimeError):
    """No MuJoCo rendering backend works on this machine."""


# --------------------------------------------------------------------------------------------------
# rendering backend


def _has_library(*names: str) -> bool:
    return any(ctypes.util.find_library(n) for n in names)


def choose_backend() -> str:
    """Set ``MUJOCO_GL`` (if unset) to the first available headless backend and return it.

    Must run before ``import mujoco``; if mujoco is already imported it only reports.
    """
    if os.environ.get("MUJOCO_GL"):
        return os.environ["MUJOCO_GL"]
    if "mujoco" in sys.modules:  # too late to choose; mujoco picked its own default
        return os.environ.get("MUJOCO_GL", "default")
    if _has_library("EGL"):
        choice = "egl"
    elif _has_library("OSMesa"):
        choice = "osmesa"
    else:  # let mujoco try its default (glfw) and fail later with our message
        return "none"
    os.environ["MUJOCO_GL"] = choice
    os.environ.setdefault("PYOPENGL_PLATFORM", choice)
    return choice


def backend() -> str:
    """The backend in use (``MUJOCO_GL``) or ``"none"``."""
    return os.environ.get("MUJOCO_GL", "none")


def _works_in_subprocess(candidate: str) -> bool:
    """Does rendering work with ``MUJOCO_GL=candidate``? (mujoco fixes its backend at import: ask a child.)"""
    env = dict(os.environ, MUJOCO_GL=candidate, PYOPENGL_PLATFORM=candidate, LABKIT_RENDER_PROBE="1")
    code = "from labkit.runtime import check_rendering; check_rendering()"
    try:
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


_TINY = """
<mujoco>
  <worldbody>
    <light pos="0 0 1"/>
    <geom type="sphere" size="0.1" rgba="1 0 0 1"/>
  </worldbody>
</mujoco>
"""


def check_rendering(width: int = 32, height: int = 32) -> np.ndarray:
    """Render a tiny model offscreen; return the image ``(H, W, 3) uint8``.

    :raises RenderingError: with the backend tried and the package to install.
    """
    try:
        import mujoco

        model = mujoco.MjModel.from_xml_string(_TINY)
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        with mujoco.Renderer(model, height, width) as renderer:
            renderer.update_scene(data)
            image = renderer.render()
    except Exception as exc:  # mujoco raises many kinds here (FatalError, ImportError, OSError ...)
        probe = not os.environ.get("LABKIT_RENDER_PROBE")  # a probing child does not probe again
        working = [b for b in ("egl", "osmesa") if probe and b != backend() and _works_in_subprocess(b)]
        hint = (
            f"MUJOCO_GL={working[0]} works on this machine: set it before starting Python/Jupyter "
            f"(export MUJOCO_GL={working[0]})"
            if working
            else _INSTALL_HINT
        )
        raise RenderingError(
            f"MuJoCo cannot render offscreen with MUJOCO_GL={backend()!r} ({type(exc).__name__}: {exc}); " + hint
        ) from exc
    if image.max() == 0:
        raise RenderingError(f"MuJoCo rendered an all-black frame with MUJOCO_GL={backend()!r}; " + _INSTALL_HINT)
    return image


# --------------------------------------------------------------------------------------------------
# threads, smoke mode


def set_torch_threads() -> int:
    """Use ``LABKIT_TORCH_THREADS`` (default 1) intra-op threads in torch; return the number."""
    raw = os.environ.get("LABKIT_TORCH_THREADS", "1")
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"LABKIT_TORCH_THREADS must be a positive integer. Got {raw!r}.") from None
    torch.set_num_threads(max(1, n))
    return max(1, n)


def smoke_mode() -> bool:
    """True when ``LABKIT_SMOKE`` is set to a truthy value: notebooks then run in seconds."""
    return os.environ.get("LABKIT_SMOKE", "").strip().lower() not in ("", "0", "false", "no")


# --------------------------------------------------------------------------------------------------
# validation of the numbers users pass in


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int, or a one-line ``ValueError`` if it is not an integer >= ``minimum``.

    ``True``/``False`` and floats such as ``2.5`` are refused; ``2.0`` is not an integer either.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}. Got {value!r}.")
    return int(value)


def check_seed(seed: Any) -> int:
    """A seed is a non-negative integer (NumPy and gymnasium refuse negative ones)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer. Got {seed!r}.")
    return int(seed)


# --------------------------------------------------------------------------------------------------
# seeds


def seed_everything(seed: int, deterministic_torch: bool = False) -> int:
    """Seed python, numpy and torch; return the seed.

    :param seed: a non-negative integer.
    :param deterministic_torch: also ask torch for deterministic kernels (slower; CPU ops already are).
    """
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # affects subprocesses only
    if deterministic_torch:
        torch.use_deterministic_algorithms(True, warn_only=True)
    return seed


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` seeded with ``seed`` on ``device``."""
    gen = torch.Generator(device=device)
    gen.manual_seed(check_seed(seed))
    return gen


def np_rng(seed: int | None) -> np.random.Generator:
    """A NumPy ``Generator`` (PCG64) seeded with ``seed`` (None: fresh entropy)."""
    return np.random.default_rng(None if seed is None else check_seed(seed))
