"""The reward-code sandbox: hostile code is refused before anything runs; accepted code runs in a
limited worker; bad outputs (NaN, inf, arrays) are rejected; time and memory limits hold."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import labkit.llm.sandbox as sandbox_mod
from labkit.llm import RewardCodeError, RewardRunError, SandboxLimits, check_reward_source, compile_reward

INPUTS = {"pos": (2,), "vel": (2,), "goal": (2,), "obstacle": (2,), "action": (2,), "success": (), "obs": (8,)}
CANARY = "/tmp/labkit_sandbox_canary"

#: (name, code, words the refusal must contain). Each would do harm, hang or escape if it ran.
HOSTILE = [
    (
        "import os",
        "import os\ndef compute_reward(pos):\n    os.system('touch " + CANARY + "')\n    return 0.0",
        "import os",
    ),
    ("__import__", "def compute_reward(pos):\n    return __import__('os').system('touch " + CANARY + "')", "dunder"),
    ("class mro", "def compute_reward(pos):\n    return ().__class__.__mro__[1].__subclasses__()", "dunder"),
    ("while True", "def compute_reward(pos):\n    while True:\n        pass\n    return 0.0", "loops"),
    (
        "for loop",
        "def compute_reward(pos):\n    t = 0.0\n    for i in range(10**9):\n        t += i\n    return t",
        "loops",
    ),
    ("huge list", "def compute_reward(pos):\n    x = [0.0] * 10**10\n    return 0.0", "repeating"),
    ("huge string", "def compute_reward(pos):\n    s = 'a'\n    t = s * 1000000000\n    return 0.0", "repeating"),
    ("huge array", "def compute_reward(pos):\n    return float(np.ones(10**11).sum())", "np.ones"),
    ("power tower", "def compute_reward(pos):\n    return 10 ** 10 ** 10", "exponent"),
    ("open", "def compute_reward(pos):\n    return float(open('/etc/passwd').read(1))", "open"),
    ("recursion", "def f(x):\n    return f(x)\ndef compute_reward(pos):\n    return f(1.0)", "recursion"),
    (
        "mutual recursion",
        "def a(x):\n    return b(x)\ndef b(x):\n    return a(x)\ndef compute_reward(pos):\n    return a(1.0)",
        "recursion",
    ),
    ("lambda", "def compute_reward(pos):\n    g = lambda: __import__('os')\n    return 0.0", "lambda"),
    ("lambda escape", "def compute_reward(pos):\n    g = lambda: 0.0\n    return g()", "lambda"),
    ("getattr", "def compute_reward(pos):\n    return getattr(np, 'lo' + 'ad')('/tmp/x.npy')", "getattr"),
    ("format string", "def compute_reward(pos):\n    return '{0.__class__.__base__}'.format(pos)", "attribute access"),
    ("f-string", "def compute_reward(pos):\n    return f'{pos!r}'", "f-strings"),
    (
        "generator frame",
        "def compute_reward(pos):\n    g = (x for x in [1])\n    return g.gi_frame.f_back.f_globals",
        "generators",
    ),
    ("eval", "def compute_reward(pos):\n    return eval('1 + 1')", "eval"),
    ("exec", "def compute_reward(pos):\n    exec('import os')\n    return 0.0", "exec"),
    ("globals", "def compute_reward(pos):\n    return globals()['np']", "globals"),
    ("callable key", "def compute_reward(pos):\n    return max(['/etc/passwd'], key=open)", "open"),
    ("function internals", "def compute_reward(pos):\n    return np.sqrt.__globals__", "dunder"),
    ("module as value", "def compute_reward(pos):\n    m = np\n    return m.load('/tmp/x.npy')", "module np"),
    ("numpy escape", "def compute_reward(pos):\n    return np.ctypeslib.as_array(pos)", "np.ctypeslib"),
    ("method call", "def compute_reward(pos):\n    return pos.tofile('/tmp/x')", "attribute access"),
    ("in-place out=", "def compute_reward(pos):\n    return np.sqrt(pos, out=pos)", "out="),
    (
        "try/except",
        "def compute_reward(pos):\n    try:\n        return 1.0\n    except Exception:\n        return 0.0",
        "try",
    ),
    ("class", "class A:\n    pass\ndef compute_reward(pos):\n    return 0.0", "classes"),
    ("decorator", "@np.vectorize\ndef compute_reward(pos):\n    return 0.0", "decorators"),
    ("global", "def compute_reward(pos):\n    global np\n    return 0.0", "global"),
    ("walrus", "def compute_reward(pos):\n    return (y := 1.0)", "walrus"),
    ("from os", "from os import system\ndef compute_reward(pos):\n    return 0.0", "from os"),
    ("top-level call", "x = print('hi')\ndef compute_reward(pos):\n    return 0.0", "print"),
    ("unknown input", "def compute_reward(state):\n    return 0.0", "unknown input"),
    ("varargs", "def compute_reward(*args):\n    return 0.0", "*args"),
    ("subscript store", "def compute_reward(pos):\n    pos[0] = 1.0\n    return 0.0", "plain names"),
]


def test_battery_has_at_least_fifteen_snippets():
    assert len(HOSTILE) >= 15


@pytest.mark.parametrize("name,code,words", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_code_is_refused_before_anything_runs(name, code, words, monkeypatch):
    def no_process(*a, **k):
        raise AssertionError("the sandbox started a process for refused code")

    monkeypatch.setattr(sandbox_mod.subprocess, "Popen", no_process)
    if os.path.exists(CANARY):
        os.remove(CANARY)
    with pytest.raises(RewardCodeError) as err:
        compile_reward(code, INPUTS)
    assert words.lower() in str(err.value).lower(), str(err.value)
    assert err.value.kind == "refused" and "\n" not in str(err.value)
    assert not os.path.exists(CANARY)


def test_syntax_errors_and_missing_code_are_classified():
    with pytest.raises(RewardCodeError) as err:
        check_reward_source("def compute_reward(pos)\n    return 0.0", list(INPUTS))
    assert err.value.kind == "syntax" and "line 1" in str(err.value)
    with pytest.raises(RewardCodeError) as err:
        check_reward_source("reward = 1.0", list(INPUTS))
    assert err.value.kind == "no_code"


GOOD = '''
import numpy as np
from math import sqrt
SCALE: float = 2.0
def shaped(d):
    return -SCALE * d
def compute_reward(pos: np.ndarray, goal: np.ndarray, success: float) -> tuple:
    """Distance to the goal, plus a bonus."""
    d = np.linalg.norm(goal - pos)
    bonus = 5.0 if success else 0.0
    r = shaped(d) + bonus + 0.0 * sqrt(d ** 2)
    return r, {"distance": shaped(d), "bonus": bonus}
'''


def test_accepted_code_runs_on_a_batch_and_matches_numpy():
    rng = np.random.default_rng(0)
    pos, goal = rng.normal(size=(64, 2)), rng.normal(size=(64, 2))
    success = (rng.random(64) < 0.3).astype(float)
    with compile_reward(GOOD, INPUTS) as prog:
        assert prog.params == ["pos", "goal", "success"]
        out = prog(pos=pos, goal=goal, success=success, vel=np.zeros((64, 2)))  # extra inputs are ignored
        d = np.linalg.norm(goal - pos, axis=1)
        np.testing.assert_allclose(out.reward, -2.0 * d + 5.0 * success)
        np.testing.assert_allclose(out.terms["distance"], -2.0 * d)
        assert sorted(out.terms) == ["bonus", "distance"]
        out2 = prog(pos=pos[:3], goal=goal[:3], success=success[:3])  # the worker stays up between calls
        assert out2.reward.shape == (3,)


@pytest.mark.parametrize(
    "body,words",
    [
        ("return float('nan')", "NaN and inf are rejected"),
        ("return 1e308 * 10.0", "inf"),
        ("return 1.0 / (float(pos[0]) - float(pos[0]))", "ZeroDivisionError"),
        ("return pos", "one number per state"),
        ("return math.pow(10.0, 400.0)", "OverflowError"),
        ("return 'high'", "one number per state"),
        ("return 1.0, {'x': float('inf')}", "component 'x'"),
    ],
)
def test_bad_outputs_are_rejected_with_a_clear_error(body, words):
    with compile_reward(f"def compute_reward(pos):\n    {body}", INPUTS) as prog:
        with pytest.raises(RewardRunError) as err:
            prog(pos=np.ones((4, 2)))
    assert words in str(err.value)


def test_cpu_time_limit_per_call():
    code = (
        "def compute_reward(pos, goal):\n"
        + "".join(f"    d{i} = np.linalg.norm(goal - pos) + {i}.0\n" for i in range(40))
        + "    return d0"
    )
    with compile_reward(code, INPUTS, limits=SandboxLimits(cpu_seconds_per_call=0.05)) as prog:
        with pytest.raises(RewardRunError) as err:
            prog(pos=np.zeros((200_000, 2)), goal=np.ones((200_000, 2)))
    assert err.value.kind == "timeout" and "CPU time" in str(err.value)


def test_wall_clock_limit_kills_a_stuck_worker():
    code = "def compute_reward(pos):\n    x = 7\n" + "".join("    x = x * x\n" for _ in range(34)) + "    return 0.0"
    with compile_reward(code, INPUTS, limits=SandboxLimits(cpu_seconds_per_call=60, wall_seconds_per_call=1.0)) as prog:
        with pytest.raises(RewardRunError) as err:
            prog(pos=np.zeros((1, 2)))
    assert err.value.kind in ("timeout", "memory", "crash")


def test_memory_limit():
    with compile_reward(
        "def compute_reward(obs):\n    return 0.0", INPUTS, limits=SandboxLimits(memory_mb=200)
    ) as prog:
        with pytest.raises(RewardRunError) as err:
            prog(obs=np.zeros((2_000_000, 8)))  # 128 MB of inputs on top of Python and numpy
    assert err.value.kind in ("memory", "crash", "runtime")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_worker_sees_no_secrets_and_cannot_write_files(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    with compile_reward("def compute_reward(pos):\n    return 0.0", INPUTS) as prog:
        env = open(f"/proc/{prog._proc.pid}/environ", "rb").read()
        limits = open(f"/proc/{prog._proc.pid}/limits").read()
    assert b"sk-secret" not in env and b"OPENAI_API_KEY" not in env
    fsize = [ln for ln in limits.splitlines() if ln.startswith("Max file size")][0].split()
    assert fsize[3] == "0"


def test_per_call_cost_is_small():
    """One pipe round trip per batch plus a Python call per state (the benchmark measures it properly)."""
    import time

    with compile_reward(GOOD, INPUTS) as prog:
        batch = {"pos": np.zeros((1024, 2)), "goal": np.ones((1024, 2)), "success": np.zeros(1024)}
        prog(**batch)
        t0 = time.process_time()
        for _ in range(5):
            prog(**batch)
        assert (time.process_time() - t0) / 5 < 0.5  # parent CPU per 1024-state batch
