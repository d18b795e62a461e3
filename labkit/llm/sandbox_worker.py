"""The sandbox's worker process: runs checked reward code on batches of states, under OS limits.

Started by :class:`~.sandbox.RewardProgram` as ``python -I sandbox_worker.py MEM_MB CPU_TOTAL_S``, with a
scrubbed environment (no API keys, one BLAS thread). Before it reads any request it caps its address
space (``RLIMIT_AS``), total CPU time (``RLIMIT_CPU``), file size (``RLIMIT_FSIZE = 0``: it cannot write
files) and number of processes (``RLIMIT_NPROC``: it cannot start one). Each call also has a CPU-time
alarm (``setitimer``). The code is checked again here (:func:`check_reward_source`) and compiled with a
globals dict that holds only the allowed functions; the real modules are never reachable.

Protocol on stdin/stdout, no pickle: the frames of ``sandbox_frames.py`` (a 4-byte length, a JSON header,
then optionally float64 bytes whose length the header gives).
"""

from __future__ import annotations

import builtins
import importlib.util
import math
import os
import signal
import sys
import types
from typing import Any

import numpy as np  # imported before the memory cap is set: importing needs more memory than running

try:
    import resource
except ImportError:  # Windows: no OS limits; the static check and the parent's time-out remain
    resource = None  # type: ignore[assignment]


def _load(name: str) -> types.ModuleType:
    """A stdlib-only module next to this file (``sandbox_check.py``, ``sandbox_frames.py``), loaded by path.

    The worker runs as a script (``python -I``): nothing of labkit is importable, on purpose (``sys.path``
    is left alone, so neither labkit nor its dependencies, torch and mujoco, are loaded into the worker).
    The parent process never imports this file; it starts it.
    """
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"labkit_{name}", path)
    if spec is None or spec.loader is None:  # pragma: no cover - a broken installation
        raise ImportError(f"cannot load the sandbox's {name} from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


_checker, _frames = _load("sandbox_check"), _load("sandbox_frames")
send, recv = _frames.send, _frames.recv
BUILTINS, MATH_FUNCS, NUMPY_FUNCS = _checker.BUILTINS, _checker.MATH_FUNCS, _checker.NUMPY_FUNCS
RewardCodeError, check_reward_source = _checker.RewardCodeError, _checker.check_reward_source


def _namespace(bindings: dict[str, str]) -> dict:
    """Globals for the reward code: the allowed builtins and stand-ins for math and numpy."""
    fake_np = types.SimpleNamespace(
        **{n: getattr(np, n) for n in NUMPY_FUNCS if "." not in n}, linalg=types.SimpleNamespace(norm=np.linalg.norm)
    )
    fake_math = types.SimpleNamespace(**{n: getattr(math, n) for n in MATH_FUNCS})
    modules = {"math": fake_math, "numpy": fake_np}
    glb: dict[str, Any] = {"__builtins__": {n: getattr(builtins, n) for n in BUILTINS}}
    for local, target in bindings.items():
        module, _, attr = target.partition(".")
        glb[local] = getattr(modules[module], attr) if attr else modules[module]
    return glb


class _CallTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _CallTimeout


def _as_float(value, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        shape = getattr(value, "shape", None)
        raise RewardCodeError(
            f"{what} must be one number per state (return reward, or reward and a dict of "
            f"terms), got {type(value).__name__}" + (f" of shape {shape}" if shape is not None else ""),
            None,
        ) from None
    if not math.isfinite(out):
        raise RewardCodeError(f"{what} is {out} (NaN and inf are rejected)")
    return out


def _run_rows(
    fn: Any, params: list[str], layout: dict[str, Any], matrix: np.ndarray, cpu_limit: float
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Call ``fn`` on every row of ``matrix`` (B, D); returns (reward (B,), {term: (B,)})."""
    n = matrix.shape[0]
    reward = np.zeros(n)
    terms: dict[str, np.ndarray] = {}
    cols = {name: layout[name] for name in params}
    if hasattr(signal, "setitimer"):
        signal.signal(signal.SIGPROF, _on_alarm)
        signal.setitimer(signal.ITIMER_PROF, cpu_limit)
    try:
        for i in range(n):
            row = matrix[i]
            kwargs = {p: (row[a] if b - a == 1 and scalar else row[a:b]) for p, (a, b, scalar) in cols.items()}
            out = fn(**kwargs)
            comps = None
            if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict):
                out, comps = out
            reward[i] = _as_float(out, "the reward")
            for k, v in (comps or {}).items():
                if not isinstance(k, str):
                    raise RewardCodeError(f"component names must be strings, got {k!r}")
                if k not in terms:
                    terms[k] = np.zeros(n)
                terms[k][i] = _as_float(v, f"the component {k!r}")
    finally:
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_PROF, 0)
    return reward, terms


def _limit(mem_mb: int, cpu_total: int) -> None:
    if resource is None:
        return
    for lim, value in (
        (resource.RLIMIT_AS, mem_mb * 2**20),
        (resource.RLIMIT_CPU, cpu_total),
        (resource.RLIMIT_FSIZE, 0),
        (getattr(resource, "RLIMIT_NPROC", None), 0),
    ):
        if lim is None:
            continue
        soft, hard = resource.getrlimit(lim)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(lim, (value, hard if lim != resource.RLIMIT_CPU else value + 5))
        except (ValueError, OSError):
            pass


def main() -> None:
    mem_mb, cpu_total = int(sys.argv[1]), int(sys.argv[2])
    np.seterr(all="ignore")
    _limit(mem_mb, cpu_total)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames on the real stdout
    fn = params = layout = None
    cpu_limit = 1.0
    while True:
        try:
            header, payload = recv(stdin)
        except EOFError:
            return
        op = header.get("op")
        try:
            if op == "exit":
                return
            if op == "compile":
                checked = check_reward_source(
                    header["source"], list(header["layout"]), header.get("entry", "compute_reward")
                )
                glb = _namespace(checked.bindings)
                exec(compile(checked.tree, "<reward>", "exec"), glb)  # only checked, definition-only code
                fn, params = glb[checked.entry], checked.params
                layout = {k: tuple(v) for k, v in header["layout"].items()}
                cpu_limit = float(header.get("cpu_limit", 1.0))
                send(stdout, {"ok": True, "entry": checked.entry, "params": params})
            elif op == "call":
                if fn is None or params is None or layout is None:
                    raise RewardCodeError("no reward code compiled yet")
                matrix = np.frombuffer(payload, dtype=np.float64).reshape(header["rows"], header["cols"])  # (B, D)
                reward, terms = _run_rows(fn, params, layout, matrix, cpu_limit)
                names = sorted(terms)
                out = np.stack([reward] + [terms[k] for k in names], axis=1) if names else reward[:, None]  # (B, 1+T)
                send(stdout, {"ok": True, "terms": names, "rows": int(out.shape[0])}, out.tobytes())
            else:
                raise RewardCodeError(f"unknown request {op!r}")
        except RewardCodeError as err:
            send(stdout, {"ok": False, "kind": "code", "error": str(err)})
        except _CallTimeout:
            send(
                stdout,
                {
                    "ok": False,
                    "kind": "timeout",
                    "error": f"the reward code used more than {cpu_limit:g} s of CPU time on one batch",
                },
            )
        except MemoryError:
            send(
                stdout,
                {"ok": False, "kind": "memory", "error": f"the reward code ran out of memory (limit {mem_mb} MB)"},
            )
        except RecursionError:
            send(stdout, {"ok": False, "kind": "code", "error": "the reward code nested calls too deeply"})
        except Exception as err:  # the model's code raised: report it like a traceback's last line
            send(stdout, {"ok": False, "kind": "runtime", "error": f"{type(err).__name__}: {err}"})


if __name__ == "__main__":
    main()
