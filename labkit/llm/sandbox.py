"""Run model-written reward code safely: a static allow-list, then a limited worker process.

>>> inputs = {"pos": (2,), "goal": (2,), "success": ()}
>>> with compile_reward("def compute_reward(pos, goal):\\n    return -np.linalg.norm(goal - pos)", inputs) as r:
...     out = r(pos=np.zeros((4, 2)), goal=np.ones((4, 2)))      # a batch of 4 states
>>> out.reward.shape, out.terms                                     # (4,), {}

Two lines of defence:

1. :func:`~.sandbox_check.check_reward_source` parses the code with ``ast`` and refuses anything outside
   the allow-list (loops, imports, dunders, ``open``/``eval``, lambdas, recursion ...) *before* a process
   exists, so refused code never runs.
2. Accepted code runs in a separate Python (``sandbox_worker.py``) with a memory cap, a CPU-time cap per
   call and in total, no file writes, no child processes, a scrubbed environment, and only the allowed
   functions in its globals. A call that hangs past ``wall_seconds`` kills the worker.

Cost: one worker start per program (a fraction of a second: a Python and numpy start), then one pipe
round trip per batch plus a Python call per state; the benchmark measures both (``benchmarks/reward_design.py``).
Reward outputs that are NaN or inf, or not one number per state, are rejected with a clear error.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labkit.llm.sandbox_check import CheckedCode, RewardCodeError, check_reward_source
from labkit.llm.sandbox_frames import recv, send

__all__ = ["SandboxLimits", "RewardOutput", "RewardProgram", "RewardRunError", "compile_reward"]

_WORKER = Path(__file__).with_name("sandbox_worker.py")
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP")


class RewardRunError(RewardCodeError):
    """Checked code failed when it ran: it raised, returned NaN/inf, or hit a limit.

    :ivar kind: ``"runtime"`` (an exception), ``"code"`` (bad output), ``"timeout"``, ``"memory"``, ``"crash"``.
    """

    def __init__(self, reason: str, kind: str = "runtime"):
        super().__init__(reason, None, kind)


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one reward program's worker.

    :param cpu_seconds_per_call: CPU time one batch may use (a ``setitimer`` alarm in the worker).
    :param wall_seconds_per_call: the parent kills the worker after this long (hangs inside C code).
    :param memory_mb: address-space cap of the worker (``RLIMIT_AS``), Python and numpy included.
    :param cpu_seconds_total: CPU time over the worker's life (``RLIMIT_CPU``).
    """

    cpu_seconds_per_call: float = 2.0
    wall_seconds_per_call: float = 20.0
    memory_mb: int = 1024
    cpu_seconds_total: int = 900

    def __post_init__(self):
        for name in ("cpu_seconds_per_call", "wall_seconds_per_call", "memory_mb", "cpu_seconds_total"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0. Got {getattr(self, name)}.")


@dataclass
class RewardOutput:
    """One batch's result: ``reward`` ``(B,)`` and each named component ``terms[name]`` ``(B,)``."""

    reward: np.ndarray
    terms: dict[str, np.ndarray]


class RewardProgram:
    """Checked reward code bound to a worker process; call it with a batch of inputs.

    :param source: the code (a function ``compute_reward`` over some of the documented inputs).
    :param inputs: documented inputs and their per-state shapes, e.g. ``{"pos": (2,), "success": ()}``.
    :param limits: :class:`SandboxLimits`.
    :raises RewardCodeError: the static check refused the code (no process is started).
    :raises RewardRunError: the worker could not compile it.

    Use it as a context manager, or call :meth:`close`, to end the worker.
    """

    def __init__(
        self,
        source: str,
        inputs: dict[str, tuple],
        *,
        limits: SandboxLimits | None = None,
        entry: str = "compute_reward",
    ):
        self.source, self.limits = source, limits or SandboxLimits()
        self.inputs = {k: tuple(int(d) for d in v) for k, v in inputs.items()}
        self.checked: CheckedCode = check_reward_source(source, list(self.inputs), entry)  # static: nothing runs
        self.entry, self.params = self.checked.entry, self.checked.params
        self.layout, col = {}, 0  # columns of the batch matrix: only the inputs the code reads
        for name in self.params:
            shape = self.inputs[name]
            width = int(np.prod(shape)) if shape else 1
            self.layout[name] = (col, col + width, len(shape) == 0)
            col += width
        self.width = col
        self.calls = 0
        self._proc: subprocess.Popen | None = None
        self._replies: queue.Queue = queue.Queue()
        self._start()

    # --- worker ------------------------------------------------------------------------------
    def _start(self) -> None:
        env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
        self._proc = subprocess.Popen(
            [sys.executable, "-I", str(_WORKER), str(self.limits.memory_mb), str(self.limits.cpu_seconds_total)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=_WORKER.parent,
        )
        threading.Thread(target=self._reader, args=(self._proc, self._replies), daemon=True).start()
        self._request(
            {
                "op": "compile",
                "source": self.source,
                "entry": self.entry,
                "layout": {k: list(v) for k, v in self.layout.items()},
                "cpu_limit": self.limits.cpu_seconds_per_call,
            },
            timeout=60.0,
        )

    @staticmethod
    def _reader(proc, replies) -> None:
        try:
            while True:
                replies.put(recv(proc.stdout))
        except (EOFError, OSError, ValueError):
            replies.put(None)

    def _request(self, header: dict, payload: bytes = b"", timeout: float | None = None):
        if self._proc is None or self._proc.poll() is not None:
            raise RewardRunError("the sandbox worker is not running (it was closed or crashed)", "crash")
        try:
            send(self._proc.stdin, header, payload)
            reply = self._replies.get(timeout=timeout or self.limits.wall_seconds_per_call)
        except queue.Empty:
            self.close()
            raise RewardRunError(
                f"the reward code took longer than {timeout or self.limits.wall_seconds_per_call:g} s "
                "(the worker was stopped)",
                "timeout",
            ) from None
        except (BrokenPipeError, OSError):
            reply = None
        if reply is None:
            code = self._proc.wait(timeout=5)
            self._proc = None
            raise RewardRunError(
                f"the sandbox worker died (exit code {code}): the code hit the memory or CPU limit", "crash"
            )
        head, body = reply
        if not head["ok"]:
            raise RewardRunError(head["error"], head.get("kind", "runtime"))
        return head, body

    # --- use ------------------------------------------------------------------------------------
    def __call__(self, **batch: np.ndarray) -> RewardOutput:
        """Rewards for a batch of ``B`` states: each input given as an array ``(B, *shape)``.

        Only the inputs the code declares are needed; the rest may be omitted.
        """
        sizes = {np.shape(v)[0] for k, v in batch.items() if k in self.params}
        missing = [p for p in self.params if p not in batch]
        if missing:
            raise ValueError(f"missing input(s) {missing} for the reward code (it reads {self.params}).")
        if len(sizes) != 1:
            raise ValueError(f"all inputs need the same batch size. Got sizes {sorted(sizes)}.")
        n = sizes.pop()
        matrix = np.zeros((n, self.width))  # (B, D): the inputs side by side
        for name in self.params:
            a, b, _ = self.layout[name]
            matrix[:, a:b] = np.asarray(batch[name], dtype=np.float64).reshape(n, b - a)  # (B, width of name)
        head, body = self._request({"op": "call", "rows": n, "cols": self.width}, matrix.tobytes())
        out = np.frombuffer(body, dtype=np.float64).reshape(n, 1 + len(head["terms"]))  # (B, 1 + T)
        self.calls += 1
        return RewardOutput(out[:, 0].copy(), {k: out[:, 1 + i].copy() for i, k in enumerate(head["terms"])})

    def close(self) -> None:
        """Stop the worker (idempotent)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None:
                try:
                    send(proc.stdin, {"op": "exit"})
                    proc.wait(timeout=1)
                except (OSError, subprocess.TimeoutExpired):
                    pass
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for s in (proc.stdin, proc.stdout):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def compile_reward(
    source: str, inputs: dict[str, tuple], *, limits: SandboxLimits | None = None, entry: str = "compute_reward"
) -> RewardProgram:
    """Check ``source`` and start its worker: see :class:`RewardProgram`."""
    return RewardProgram(source, inputs, limits=limits, entry=entry)
