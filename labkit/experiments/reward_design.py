"""Ready-made runs of notebook 04b (reward design with language models), shared with
``benchmarks/reward_design.py``: the TwoRoutes task as the model is told it, PPO on a sandboxed reward,
Eureka's and Text2Reward's loops, the comparison with the true dense and the sparse reward.

    res = run_design("eureka", config=DesignConfig(iterations=2, samples=4))   # the local 135M model
    res.rates()                               # share of candidates that parse, pass the check, train
    run_loop(seed=0, method="eureka")         # one loop seed as a labkit.sweep trial (a JSON-ready dict)

A designed reward is computed once per PPO rollout, in one sandbox call (``labkit.llm.RelabelRewards``).
Replies are cached in ``labkit.llm.default_cache_file()`` (outside the repository); the benchmark
caches into a fresh file of its own, so it always runs the model.
"""

from __future__ import annotations

import inspect
import json
import os
import textwrap
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.env_util import make_vec_env

from labkit import envs  # envs.TwoRoutesEnv loads mujoco on first use: `import labkit` stays safe
from labkit.envs.registry import make
from labkit.llm import (
    STATUSES,
    CachedClient,
    DesignConfig,
    DesignResult,
    LLMClient,
    RelabelRewards,
    RewardCodeError,
    RewardTask,
    SandboxLimits,
    ScriptedClient,
    TrainReport,
    compile_reward,
    design_rewards,
    get_client,
)
from labkit.rollout import evaluate
from labkit.runtime import check_int, seed_everything
from labkit.sb3 import TrainingMonitor, learn

__all__ = [
    "ENV_ID",
    "HAND_WRITTEN",
    "INPUTS",
    "PRESETS",
    "SANDBOX_QUIZ",
    "STATUS_COLORS",
    "PPOPreset",
    "benchmark_lines",
    "candidates_figure",
    "candidates_table",
    "candidates_table_figure",
    "compare_rewards",
    "inputs_from_obs",
    "run_design",
    "run_loop",
    "run_reference",
    "smoke_client",
    "train_reward",
    "two_routes_task",
]

ENV_ID = "labkit/TwoRoutes-v0"
#: What a designed reward may read, per step (after the action): shapes, and the words the model sees.
INPUTS: dict[str, tuple[int, ...]] = {
    "pos": (2,),
    "prev_pos": (2,),
    "vel": (2,),
    "goal": (2,),
    "obstacle": (2,),
    "action": (2,),
    "success": (),
    "obs": (8,),
}
INPUT_DOC = {
    "pos": "(2,) robot position",
    "prev_pos": "(2,) position before the action",
    "vel": "(2,) robot velocity",
    "goal": "(2,) goal position",
    "obstacle": "(2,) cup centre",
    "action": "(2,) velocity command",
    "obs": "(8,) the observation",
    "success": "(1.0 on the step the goal is reached, else 0.0)",
}


@dataclass(frozen=True)
class PPOPreset:
    """PPO budget for one candidate (the cheap fitness: success of the final greedy policy).

    Notebook 01's PPO settings for TwoRoutes (``n_steps`` 256 x 4 envs, ``learning_rate`` 1e-3,
    ``gamma`` 0.98); ``steps`` is the env-step budget, ``eval_every`` the spacing of the curve's points.
    """

    steps: int = 20_000
    n_envs: int = 4
    eval_every: int = 5_000
    n_eval_episodes: int = 10
    n_steps: int = 256
    learning_rate: float = 1e-3
    gamma: float = 0.98

    def __post_init__(self):
        for name in ("steps", "n_envs", "eval_every", "n_eval_episodes", "n_steps"):
            check_int(name, getattr(self, name))
        if self.steps < self.n_steps * self.n_envs:
            raise ValueError(f"steps must cover one rollout ({self.n_steps * self.n_envs}). Got {self.steps}.")


#: ``search``: one candidate's fitness run (few evaluations: only the final one is the fitness);
#: ``compare``: the learning curves of the comparison (evaluated more often); ``smoke``: seconds.
PRESETS = {
    "search": PPOPreset(eval_every=10_000),
    "compare": PPOPreset(eval_every=4_000),
    "smoke": PPOPreset(steps=2_048, eval_every=1_024, n_eval_episodes=4),
}


def _two_routes_env_text() -> str:
    """Eureka's view: the env's observation code and the parts of ``step`` that do not compute the reward.

    The action check (``validate_action``: a shape check, then a clip to [-1, 1]) is shown as the clip
    it performs, so the excerpt only names numpy.
    """
    env = envs.TwoRoutesEnv()
    ox, oy = env.obstacle
    hw = env.CUP_HALF_WIDTH
    obs_src = textwrap.dedent(inspect.getsource(envs.TwoRoutesEnv._get_obs))
    keep = ("def step", "ctrl =", "do_simulation", "dist =", "success =")
    step_src = textwrap.dedent(inspect.getsource(envs.TwoRoutesEnv.step))
    step_src = step_src.replace('validate_action(action, "TwoRoutes")', "np.clip(action, -1.0, 1.0)")
    step = [ln for ln in step_src.splitlines() if ln.strip().startswith(keep)]
    text = (
        f"goal = ({env.goal[0]:.2f}, {env.goal[1]:.2f}); goal_radius = {env.goal_radius}; "
        f"start = ({env.start[0]:.2f}, {env.start[1]:.2f})\n"
        f"obstacle = ({ox:.2f}, {oy:.2f})  # the cup: x in [{ox - hw:.2f}, {ox + hw:.2f}], "
        f"y in [{oy - 0.11:.2f}, {oy + 0.07:.2f}], open at the bottom\n"
        f"max_speed = {env.max_speed}; 100 steps of {env.dt:.2f} s\n{obs_src}"
        + "\n".join(step)
        + "\n    reward = compute_reward(...)  # your function\n    return obs, reward, success, ..."
    )
    env.close()
    return text


def _two_routes_abstraction() -> str:
    """Text2Reward's view: the objects and their attributes, as a compact Pythonic description."""
    env = envs.TwoRoutesEnv()
    ox, oy = env.obstacle
    hw = env.CUP_HALF_WIDTH
    gx, gy, sx, sy = env.goal[0], env.goal[1], env.start[0], env.start[1]
    text = "\n".join(
        [
            "class Robot:        # a point robot in the plane",
            "    pos: np.ndarray[(2,)]   # position (m)",
            "    vel: np.ndarray[(2,)]   # velocity (m/s)",
            "class Goal:",
            f"    pos = ({gx:.2f}, {gy:.2f})  # reached when |robot.pos - goal.pos| < {env.goal_radius}",
            "class Cup:          # the obstacle, open at the bottom; inside it the robot is trapped",
            f"    pos = ({ox:.2f}, {oy:.2f})   # spans x in [{ox - hw:.2f}, {ox + hw:.2f}], "
            f"y in [{oy - 0.11:.2f}, {oy + 0.07:.2f}]",
            f"action: np.ndarray[(2,)] in [-1, 1]   # velocity command; the robot starts at ({sx:.2f}, {sy:.2f})",
        ]
    )
    env.close()
    return text


def two_routes_task() -> RewardTask:
    """The reward-design task for ``labkit/TwoRoutes-v0`` as the model is told it."""
    return RewardTask(
        name="TwoRoutes",
        description=(
            "a point robot in a 2-D plane must reach a goal. A cup-shaped obstacle, open at the bottom, "
            "stands between the start and the goal: driving straight up traps the robot inside the cup, "
            "so it must go round the left or the right side."
        ),
        environment=_two_routes_env_text(),
        abstraction=_two_routes_abstraction(),
        inputs=INPUTS,
        input_doc=INPUT_DOC,
    )


def inputs_from_obs(
    obs: np.ndarray, actions: np.ndarray, success: np.ndarray, prev_obs: np.ndarray
) -> dict[str, np.ndarray]:
    """The designed reward's inputs for a batch of transitions: ``obs`` (B, 8) the state reached,
    ``actions`` (B, 2), ``success`` (B,), ``prev_obs`` (B, 8) the state the action was taken in."""
    pos = obs[:, 0:2]  # (B, 2)
    return {
        "pos": pos,
        "prev_pos": prev_obs[:, 0:2],
        "vel": obs[:, 2:4],
        "goal": obs[:, 4:6] + pos,
        "obstacle": obs[:, 6:8] + pos,
        "action": actions,
        "success": success.astype(np.float64),
        "obs": obs,
    }


def _behaviour(model: Any, seed: int, n: int = 20) -> tuple[str, str]:
    """What the trained robot does (a sentence) and a remark on what to change (Text2Reward's feedback)."""
    res = evaluate(model, ENV_ID, n, seed=seed + 50_000, deterministic=True, progress=False, batch_size=n)
    env = envs.TwoRoutesEnv()
    ox, oy, hw = env.obstacle[0], env.obstacle[1], env.CUP_HALF_WIDTH
    ends = np.array([t[-1, 0:2] for t in res.trajectories])  # (n, 2) final positions
    start_d = float(np.linalg.norm(env.goal - env.start))
    in_cup = float(np.mean((np.abs(ends[:, 0] - ox) < hw) & (ends[:, 1] > oy - 0.14) & (ends[:, 1] < oy + 0.07)))
    dist = float(np.mean(np.linalg.norm(ends - env.goal, axis=1)))
    env.close()
    routes = ", ".join(f"{k} {v}" for k, v in res.route_counts.items()) or "none"
    text = (
        f"reached the goal in {res.success_rate:.0%} of {n} episodes (successful routes: {routes}); "
        f"{in_cup:.0%} ended inside the cup; the mean final distance to the goal was {dist:.2f} m "
        f"(it starts {start_d:.2f} m away)."
    )
    if res.success_rate >= 0.8:
        remark = "it works; keep the reward's structure and make it reach the goal sooner."
    elif in_cup >= 0.3:
        remark = (
            "it drives straight at the goal and gets stuck inside the cup: while the robot is below the cup, "
            "reward moving sideways past the cup's edge first, then towards the goal."
        )
    elif dist > 0.8 * start_d:
        remark = "it hardly gets closer: make the reward grow clearly as the robot gets nearer to the goal."
    else:
        remark = "it gets closer but rarely arrives: add a large bonus on success and a small penalty per step."
    return text, remark


def _cpu() -> float:
    """CPU seconds of this process plus its finished children (the sandbox workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def train_reward(
    reward: str,
    seed: int = 0,
    preset: PPOPreset | None = None,
    *,
    progress: bool = False,
    limits: SandboxLimits | None = None,
) -> TrainReport:
    """Train PPO on TwoRoutes with ``reward``: ``"dense"`` (the env's), ``"sparse"`` (1 on success) or
    reward code (run in the sandbox). Fitness = success of the final greedy policy.

    :raises RewardCodeError: the code is refused, or fails (or returns NaN/inf) during training.
    """
    p = preset or PRESETS["search"]
    program = None if reward in ("dense", "sparse") else compile_reward(reward, INPUTS, limits=limits)
    t0, c0 = time.perf_counter(), _cpu()
    try:
        seed_everything(seed)
        kw: dict[str, Any] = {"reward": "sparse"} if reward == "sparse" else {}
        venv = make_vec_env(lambda: make(ENV_ID, **kw), n_envs=p.n_envs, seed=seed)
        model = PPO(
            "MlpPolicy",
            venv,
            n_steps=p.n_steps,
            batch_size=p.n_steps,
            n_epochs=5,
            learning_rate=p.learning_rate,
            gamma=p.gamma,
            seed=seed,
            verbose=0,
        )
        relabel = RelabelRewards(program, inputs_from_obs)
        monitor = TrainingMonitor(
            eval_env=ENV_ID, eval_every=p.eval_every, n_eval_episodes=p.n_eval_episodes, progress=progress
        )
        learn(model, p.steps, CallbackList([relabel, monitor]))
        venv.close()
    finally:
        if program is not None:
            program.close()
    if relabel.error is not None:
        raise relabel.error
    behaviour, remark = _behaviour(model, seed)
    steps, success = monitor.log.curve("success_rate")
    terms = {  # each term on the evaluation steps
        k: [float(v) for v in np.interp(steps, relabel.history["steps"], vals)]
        for k, vals in relabel.history.items()
        if k != "steps"
    }
    ep_len = terms.pop("episode_length")
    corr = None
    if relabel.designed:
        a, b = np.concatenate(relabel.designed), np.concatenate(relabel.true)
        corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
    return TrainReport(
        success=float(success[-1]),
        steps=[int(s) for s in steps],
        success_curve=[float(s) for s in success],
        episode_length=ep_len,
        terms=terms,
        behaviour=behaviour,
        remark=remark,
        correlation=corr,
        seconds=time.perf_counter() - t0,
        cpu_seconds=_cpu() - c0,
    )


#: A reward a person might write (the smoke client's usable reply and the tests'; never shown as a model's).
HAND_WRITTEN = """def path(p, goal, obstacle):
    side = 0.22 if p[0] >= obstacle[0] else -0.22
    corner = np.array([obstacle[0] + side, obstacle[1] + 0.12])
    if p[1] < obstacle[1] + 0.12:
        return np.linalg.norm(corner - p) + np.linalg.norm(goal - corner)
    return np.linalg.norm(goal - p)

def compute_reward(pos, prev_pos, goal, obstacle, success):
    progress = path(prev_pos, goal, obstacle) - path(pos, goal, obstacle)
    return 10.0 * progress + 5.0 * success, {"progress": 10.0 * progress, "bonus": 5.0 * success}"""

SMOKE_LABEL = "scripted replies (smoke mode: no language model runs)"


def smoke_client() -> ScriptedClient:
    """Scripted replies for LABKIT_SMOKE (seconds, no model): one usable reward, one refused, one prose.

    Its ``name`` says so, and every table and figure built from its replies carries that name.
    """
    return ScriptedClient(
        [
            f"```python\n{HAND_WRITTEN}\n```",
            "```python\nimport os\ndef compute_reward(pos):\n    return 0.0\n```",
            "I would reward the robot for reaching the goal.",
        ],
        label=SMOKE_LABEL,
    )


def run_design(
    method: str = "eureka",
    client: LLMClient | str | None = None,
    *,
    config: DesignConfig | None = None,
    preset: PPOPreset | None = None,
    cache: bool | str | os.PathLike = True,
    progress: bool = True,
) -> DesignResult:
    """Eureka's (or Text2Reward's) loop on TwoRoutes with PPO fitness.

    :param client: an ``LLMClient`` or spec (``None``: ``LABKIT_LLM``, default the local 135M model).
    :param cache: ``True``: keep replies in ``labkit.llm.default_cache_file()``; a path: in that file;
        ``False``: no cache. Scripted and already-cached clients are used as they are.
    """
    cfg = replace(config or DesignConfig(), method=method)
    llm = get_client(client)
    if cache is not False and not isinstance(llm, (ScriptedClient, CachedClient)):
        llm = CachedClient(llm, None if cache is True else Path(cache))
    return design_rewards(
        llm, two_routes_task(), lambda code, seed: train_reward(code, seed, preset), cfg, progress=progress
    )


def run_loop(
    seed: int,
    method: str = "eureka",
    llm: str | None = None,
    iterations: int = 2,
    samples: int = 4,
    temperature: float = 0.5,
    max_new_tokens: int = 192,
    preset: str = "search",
    cache_dir: str | None = None,
) -> dict[str, Any]:
    """One loop seed as a ``labkit.sweep`` trial: JSON-friendly rates, candidates, best, timings.

    :param llm: a ``LABKIT_LLM`` spec (``None``: the environment variable, default the local model).
    :param preset: a key of :data:`PRESETS` (each candidate's PPO run).
    :param cache_dir: cache the replies in ``<cache_dir>/<method>_<seed>.json`` (a fresh folder makes
        every reply a real generation, and the file lets a re-run be replayed); ``None``: no cache.
    """
    cfg = DesignConfig(
        method=method,
        iterations=iterations,
        samples=samples,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        seed=seed,
    )
    client = get_client(llm)
    cache: bool | Path = False if cache_dir is None else Path(cache_dir) / f"{method}_{seed}.json"
    res = run_design(method, client, config=cfg, preset=PRESETS[preset], cache=cache, progress=False)
    best = res.best
    return {
        "model": client.name,
        "config": asdict(cfg),
        **res.rates(),
        "candidates": [c.summary() for c in res.candidates],
        "feedback": res.feedback,
        "best_success": None if best is None else best.fitness,
        "best_correlation": None if best is None or best.report is None else best.report.correlation,
        "best_code": None if best is None else best.code,
        "generation_seconds": res.generation_seconds,
        "generation_cpu_seconds": res.generation_cpu_seconds,
        "training_seconds": res.training_seconds,
        "training_cpu_seconds": res.training_cpu_seconds,
        "completion_tokens": client.usage.completion_tokens,
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def run_reference(seed: int, reward: str = "sparse", preset: str = "search") -> dict[str, Any]:
    """A ``labkit.sweep`` trial: PPO with the true ``"dense"`` or the ``"sparse"`` reward on one seed."""
    report = train_reward(reward, seed, PRESETS[preset])
    return {
        "success": report.success,
        "steps": report.steps,
        "success_curve": report.success_curve,
        "train_seconds": report.seconds,
        "train_cpu_seconds": report.cpu_seconds,
    }


def compare_rewards(code: str | None, seeds=(0, 1, 2), preset: PPOPreset | None = None) -> dict[str, list]:
    """PPO with the true dense reward, the sparse reward and (if given) the designed reward, per seed.

    Keys ``"dense reward"``, ``"sparse reward"``, ``"designed reward"`` (the names the figures show).
    A designed reward that fails on some seed is recorded as ``None`` for that seed.
    """
    preset = preset or PRESETS["compare"]
    out: dict[str, list] = {"dense reward": [], "sparse reward": []}
    for s in seeds:
        out["dense reward"].append(train_reward("dense", s, preset))
        out["sparse reward"].append(train_reward("sparse", s, preset))
    if code:
        out["designed reward"] = []
        for s in seeds:
            try:
                out["designed reward"].append(train_reward(code, s, preset))
            except RewardCodeError:
                out["designed reward"].append(None)
    return out


def candidates_table(results: dict[str, DesignResult]) -> list[dict]:
    """One row per candidate of each run: method, round, status, error, success, correlation."""
    rows = []
    for method, res in results.items():
        for c in res.candidates:
            r = c.report
            rows.append(
                {
                    "method": method,
                    "round": c.iteration + 1,
                    "sample": c.index + 1,
                    "status": c.status,
                    "success": None if r is None else round(r.success, 2),
                    "corr. with true reward": None if r is None or r.correlation is None else round(r.correlation, 2),
                    "why it stopped": c.error[:90],
                }
            )
    return rows


def candidates_table_figure(results: dict[str, DesignResult], *, title: str | None = None) -> go.Figure:
    """:func:`candidates_table` as a plotly table (one row per candidate)."""
    rows = candidates_table(results)
    columns = list(rows[0]) if rows else ["method", "status"]
    cells = [["" if r[c] is None else r[c] for r in rows] for c in columns]
    fig = go.Figure(go.Table(header=dict(values=columns, align="left"), cells=dict(values=cells, align="left")))
    fig.update_layout(title=title or "Every candidate", height=min(120 + 28 * len(rows), 700), template="plotly_white")
    return fig


#: One colour per candidate status, from "no code" (grey) to "trained" (green).
STATUS_COLORS = dict(zip(STATUSES, ["#7f7f7f", "#d62728", "#ff7f0e", "#bcbd22", "#2ca02c"]))


def candidates_figure(results: dict[str, DesignResult], *, title: str | None = None) -> go.Figure:
    """Stacked bars: how far each round's candidates got (no code ... trained), per method."""
    fig = go.Figure()
    labels = [f"{m} round {i + 1}" for m, res in results.items() for i in range(res.config.iterations)]
    for status in STATUSES:
        counts = [
            sum(c.status == status and c.iteration == i for c in res.candidates)
            for res in results.values()
            for i in range(res.config.iterations)
        ]
        fig.add_bar(name=status.replace("_", " "), x=labels, y=counts, marker_color=STATUS_COLORS[status])
    fig.update_layout(
        barmode="stack",
        title=title or "How far the model's reward functions got",
        yaxis_title="candidates",
        template="plotly_white",
        height=360,
    )
    return fig


BENCHMARK_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def benchmark_lines(results_dir: str | os.PathLike | None = None) -> list[str]:
    """What ``benchmarks/reward_design.py`` measured (the full run's file, else the quick one's), one
    line per method: rates as IQM with 95% bootstrap CIs over loop seeds; ``[]`` if it has not run."""
    folder = Path(results_dir) if results_dir is not None else BENCHMARK_RESULTS
    for name in ("reward_design.json", "reward_design_quick.json"):
        path = folder / name
        if not path.is_file():
            continue
        bench = json.loads(path.read_text())
        lines = [f"{name} ({bench['model']['name']}, loop seeds {bench['seeds']}):"]
        for method, s in bench["summary"].items():
            rates = ", ".join(
                f"{k.replace('_', ' ')} {s[k]['iqm']:.0%} [{s[k]['iqm_ci'][0]:.0%}, {s[k]['iqm_ci'][1]:.0%}]"
                for k in ("parse", "accepted", "run", "beats_sparse")
                if s[k]["n"]
            )
            lines.append(
                f"  {method}: {s['n_candidates']} candidates over {s['n_seeds']} seed(s): {rates}; generation "
                f"{s['generation_cpu_seconds']:.0f} CPU s, training {s['training_cpu_seconds']:.0f} CPU s"
            )
        return lines
    return []


#: Snippets for the allow-list exercise: which does the sandbox refuse?
SANDBOX_QUIZ = {
    "a": "def compute_reward(pos, goal):\n    return -np.linalg.norm(goal - pos)",
    "b": "def compute_reward(pos, goal):\n    return -sum(abs(g - p) for g, p in zip(goal, pos))",
    "c": "import math\ndef compute_reward(pos):\n    return math.exp(-pos[1] ** 2)",
    "d": "def compute_reward(pos):\n    return pos.dot(pos)",
    "e": "def compute_reward(vel, success):\n    return 10.0 * success - 0.1 * np.sum(np.square(vel))",
}
