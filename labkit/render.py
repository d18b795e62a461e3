"""Choose a headless MuJoCo rendering backend *before* mujoco is imported.

MuJoCo reads ``MUJOCO_GL`` once, when ``mujoco`` is first imported, so this module must run first:
``import labkit`` does it for you. Order of preference:

1. whatever the user already set in ``MUJOCO_GL`` (respected as is);
2. ``egl``    - GPU or software EGL (Mesa's ``libegl1``), no display needed;
3. ``osmesa`` - pure software rendering (Debian/Ubuntu package ``libosmesa6``).

On a desktop with a display, ``glfw`` is also fine; we never pick it on a headless machine.
``check_rendering()`` renders a tiny model once and raises :class:`RenderingError` with the system
package to install when nothing works.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

__all__ = ["RenderingError", "choose_backend", "check_rendering", "backend"]

_INSTALL_HINT = (
    "install a headless OpenGL backend: `sudo apt-get install libegl1 libgl1` (for MUJOCO_GL=egl) "
    "or `sudo apt-get install libosmesa6` (for MUJOCO_GL=osmesa), or set MUJOCO_GL=glfw on a desktop"
)


class RenderingError(RuntimeError):
    """No MuJoCo rendering backend works on this machine."""


def _has_library(*names: str) -> bool:
    return any(ctypes.util.find_library(n) for n in names)


def choose_backend() -> str:
    """Set ``MUJOCO_GL`` (if unset) to the first available headless backend and return it.

    Must be called before ``import mujoco``; if mujoco is already imported we only report.
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
    """Does rendering work with ``MUJOCO_GL=candidate``? (mujoco fixes its backend at import, so ask a child.)"""
    import subprocess

    env = dict(os.environ, MUJOCO_GL=candidate, PYOPENGL_PLATFORM=candidate, LABKIT_RENDER_PROBE="1")
    code = "from labkit.render import check_rendering; check_rendering()"
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


def check_rendering(width: int = 32, height: int = 32):
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
        hint = (f"MUJOCO_GL={working[0]} works on this machine: set it before starting Python/Jupyter "
                f"(export MUJOCO_GL={working[0]})") if working else _INSTALL_HINT
        raise RenderingError(
            f"MuJoCo cannot render offscreen with MUJOCO_GL={backend()!r} ({type(exc).__name__}: {exc}); " + hint
        ) from exc
    if image.max() == 0:
        raise RenderingError(f"MuJoCo rendered an all-black frame with MUJOCO_GL={backend()!r}; " + _INSTALL_HINT)
    return image
