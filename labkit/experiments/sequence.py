"""Notebook 09's ready-made runs: transformer policies trained offline, shared with ``benchmarks/offline_sequence.py``.

One place per default: the two data sets, every method's preset and budget, the evaluation of a
table row, the target-return sweep, the attention of one decision, and the benchmark's trial::

    data = load_data("mixed")                    # two_routes_mixed; "stitch": the stitching set
    dt, log = run_dt(data, seed=0, **BUDGETS["notebook"]["dt"])
    rows = target_sweep(dt, [0, 4, 8, 12, 16], episodes=50)
    metrics = run_sequence(seed=0, dataset="stitch", **BUDGETS["quick"]["trial"])   # a labkit.sweep trial

Scores: success rate and the D4RL-style normalised return of the *mixed* data's references for
both data sets (0 = its failing episodes' mean return, 1 = its experts'), so that the two data sets
(same task, same start) are on one scale.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from labkit.data.episodes import EpisodeDataset
from labkit.experiments.offline import group_returns, normalized_return, train_offline_suite
from labkit.experiments.stitching import collect_stitching_dataset
from labkit.pretrain.decision_transformer import DecisionTransformer, DTConfig, train_decision_transformer
from labkit.pretrain.q_transformer import QTConfig, QTransformer, train_q_transformer
from labkit.pretrain.return_conditioned import ReturnConditioned, evaluate_return_conditioned
from labkit.pretrain.sequences import returns_to_go
from labkit.rollout import EvalResult, evaluate
from labkit.store import load
from labkit.train.log import TrainLog

__all__ = [
    "BUDGETS",
    "DT_PRESET",
    "DT_TARGETS",
    "ENV_ID",
    "QT_PRESET",
    "SEQUENCE_METHODS",
    "QTCritic",
    "decision_attention",
    "evaluate_row",
    "load_data",
    "normalised",
    "references",
    "run_dt",
    "run_qt",
    "run_sequence",
    "target_sweep",
]

ENV_ID = "labkit/TwoRoutes-v0"

#: nanoGPT-sized DT: 2 layers, 64 wide, 1 head, K = 10 steps (30 tokens), a 41-cell head per action dim, lr 1e-3.
#: (On the mixed data, 2000 updates: about as good as 3 layers at lr 6e-4, for three quarters of the CPU.)
DT_PRESET: dict[str, Any] = dict(context=10, n_layer=2, n_head=1, n_embd=64, n_bins=41, action_head="bins", lr=1e-3)
#: Q-Transformer: 2 layers, 64 wide, 41 cells per dim, conservative weight 1, Monte-Carlo lower bound, 5-step returns.
QT_PRESET: dict[str, Any] = dict(
    n_bins=41, n_layer=2, n_embd=64, lr=1e-3, conservative_weight=1.0, mc_lower_bound=True, n_step=5
)
#: Two targets for the tables: about the experts' mean return (the data's best episodes) and far more.
DT_TARGETS = {"DT (R=12)": 12.0, "DT (R=20)": 20.0}
#: The rows of the benchmark's table, in order.
SEQUENCE_METHODS = ("Gaussian BC", "diffusion BC", "IDQL", "Diffusion-QL", *DT_TARGETS, "Q-Transformer")

BUDGETS: dict[str, dict[str, Any]] = {
    "notebook": dict(dt=dict(iterations=2000), qt=dict(iterations=1000), episodes=30),
    "smoke": dict(dt=dict(iterations=20), qt=dict(iterations=20), episodes=4),
    "full": dict(
        trial=dict(dt_iterations=2000, qt_iterations=2000, bc_iterations=1500, iql_iterations=1500, dql_iterations=600),
        episodes=100,
    ),
    "quick": dict(
        trial=dict(dt_iterations=1000, qt_iterations=800, bc_iterations=500, iql_iterations=600, dql_iterations=200),
        episodes=20,
    ),
}


# ---------------------------------------------------------------------------------------------
# data and scores


@lru_cache(maxsize=1)
def _stitch() -> EpisodeDataset:
    return collect_stitching_dataset(progress=False)


def load_data(name: str) -> EpisodeDataset:
    """``"mixed"`` (the shipped ``two_routes_mixed``) or ``"stitch"`` (recorded in memory, a few CPU seconds)."""
    if name == "mixed":
        return load("two_routes_mixed")
    if name == "stitch":
        return _stitch()
    raise ValueError(f"data set must be 'mixed' or 'stitch'. Got {name!r}.")


def references() -> dict[str, float]:
    """The normalisation's anchors from ``two_routes_mixed``: failing mean (0), expert mean (1), best episode."""
    mixed = load("two_routes_mixed")
    ref = group_returns(mixed)
    ends = np.asarray(mixed.episode_ends)
    rtg = returns_to_go(mixed.rewards, ends)
    return {
        "failing": ref["failing"]["mean_return"],
        "expert": ref["expert"]["mean_return"],
        "best_episode": float(rtg[np.r_[0, ends[:-1]]].max()),
    }


def normalised(returns: np.ndarray | float) -> float:
    """Mean of ``returns`` on the scale 0 = failing episodes, 1 = expert episodes (of the mixed data)."""
    return normalized_return(returns, load("two_routes_mixed"))


# ---------------------------------------------------------------------------------------------
# training


def run_dt(
    data: EpisodeDataset, *, seed: int = 0, iterations: int = 1500, progress: bool = True, **overrides: Any
) -> tuple[DecisionTransformer, TrainLog]:
    """Train a Decision Transformer (``DT_PRESET`` + overrides); returns ``(model, log)``."""
    torch.manual_seed(seed)
    model = DecisionTransformer(DTConfig(data.obs_dim, data.action_dim, **{**DT_PRESET, **overrides}))
    log = train_decision_transformer(model, data, iterations=iterations, seed=seed, progress=progress)
    return model, log


def run_qt(
    data: EpisodeDataset, *, seed: int = 0, iterations: int = 1500, progress: bool = True, **overrides: Any
) -> tuple[QTransformer, TrainLog]:
    """Train a Q-Transformer (``QT_PRESET`` + overrides); returns ``(model, log)``."""
    torch.manual_seed(seed)
    model = QTransformer(QTConfig(data.obs_dim, data.action_dim, **{**QT_PRESET, **overrides}))
    log = train_q_transformer(model, data, iterations=iterations, seed=seed, progress=progress)
    return model, log


# ---------------------------------------------------------------------------------------------
# evaluation


def evaluate_row(
    policy: Any, episodes: int, *, seed: int = 1000, generator_seed: int = 0, record_episodes: int = 0
) -> EvalResult:
    """One table row: ``episodes`` episodes from fixed start states (env seeds ``seed + i``), any policy kind."""
    if isinstance(policy, ReturnConditioned):
        return evaluate_return_conditioned(
            policy, ENV_ID, episodes, seed=seed, generator_seed=generator_seed,
            record_episodes=record_episodes, progress=False,
        )  # fmt: skip
    return evaluate(
        policy, ENV_ID, episodes, seed=seed, generator_seed=generator_seed, record_episodes=record_episodes,
        progress=False,
    )  # fmt: skip


def target_sweep(
    model: DecisionTransformer,
    targets: list[float],
    *,
    episodes: int = 50,
    seed: int = 1000,
    label: str = "DT",
    keep_trajectories: bool = False,
) -> list[dict[str, Any]]:
    """Achieved return, success and normalised return for each target return (one row per target)."""
    rows = []
    for target in targets:
        ev = evaluate_return_conditioned(model, ENV_ID, episodes, target_return=target, seed=seed, progress=False)
        row: dict[str, Any] = {
            "label": label,
            "target": float(target),
            "return": float(ev.returns.mean()),
            "success": ev.success_rate,
            "normalised return": normalised(ev.returns),
        }
        if keep_trajectories:
            row["trajectories"] = ev.trajectories
        rows.append(row)
    return rows


@torch.no_grad()
def decision_attention(
    model: DecisionTransformer, data: EpisodeDataset, episode: int, step: int, target: float | None = None
) -> tuple[np.ndarray, int]:
    """Attention of the state token s[t] over its context, per layer, for step ``step`` of ``episode``.

    :param target: replace the episode's returns-to-go by ``target - rewards so far`` (what the model
        sees when asked for ``target``); None keeps the recorded ones.
    :return: ``(weights (n_layer, 3k), k)``: the weights of s[t]'s row (heads averaged) and the window length.
    """
    ep = data.episode(episode)
    lo = max(0, step - model.config.context + 1)
    rewards = np.asarray(ep["rewards"], np.float64)
    rtg = returns_to_go(rewards, np.array([len(rewards)]))
    if target is not None:
        rtg = target - np.r_[0.0, np.cumsum(rewards)[:-1]]
    s = torch.as_tensor(np.array(ep["observations"])[lo : step + 1], dtype=torch.float32)[None]  # (1, k, D)
    a = torch.as_tensor(np.array(ep["actions"])[lo : step + 1], dtype=torch.float32)[None]  # (1, k, A)
    r = torch.as_tensor(rtg[lo : step + 1], dtype=torch.float32)[None, :, None]  # (1, k, 1)
    t = torch.arange(lo, step + 1)[None]  # (1, k)
    _, maps = model(s, a, r, t, return_attention=True)
    k = s.shape[1]
    q = 3 * (k - 1) + 1  # index of the current state token s[t]
    return np.stack([m[0, :, q].mean(0).numpy() for m in maps]), k  # (L, 3k)


class QTCritic:
    """A Q-Transformer seen as a critic ``q_value(obs (B, D), actions (B, d)) -> (B,)``: the last row's Q.

    The last dimension's row holds the value of the whole action, so ``labkit.viz.action_value_figure``
    draws a Q-Transformer's landscape like an IQL critic's.
    """

    def __init__(self, model: QTransformer) -> None:
        self.model = model

    @torch.no_grad()
    def q_value(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        cells = self.model.bins.to_index(actions)  # (B, d)
        q = self.model(torch.as_tensor(obs, dtype=torch.float32), cells)  # (B, d, n_bins)
        return q[:, -1].gather(-1, cells[:, -1:]).squeeze(-1)  # (B,)


# ---------------------------------------------------------------------------------------------
# the benchmark's trial


def _row(prefix: str, ev: EvalResult, train_s: float, cpu_s: float) -> dict[str, Any]:
    return {
        f"{prefix}/success": ev.success_rate,
        f"{prefix}/normalised return": normalised(ev.returns),
        f"{prefix}/return": float(ev.returns.mean()),
        f"{prefix}/train s": train_s,
        f"{prefix}/train cpu s": cpu_s,
    }


def run_sequence(
    seed: int,
    dataset: str = "mixed",
    dt_iterations: int = 2000,
    qt_iterations: int = 2000,
    bc_iterations: int = 1500,
    iql_iterations: int = 1500,
    dql_iterations: int = 600,
    episodes: int = 100,
    sweep: tuple[float, ...] = (),
) -> dict[str, Any]:
    """One seed on one data set, as a ``labkit.sweep`` trial (JSON-friendly metrics).

    Trains notebook 08's suite (Gaussian BC, diffusion BC, IDQL, Diffusion-QL, as the kit ships them),
    a Decision Transformer (evaluated at each of ``DT_TARGETS``) and a Q-Transformer on ``dataset``,
    and evaluates each on ``episodes`` fixed start states (``seed=1000``). Keys ``"<method>/success"``,
    ``"/normalised return"``, ``"/return"``, ``"/train s"`` (wall), ``"/train cpu s"``; ``"sweep"``:
    the DT's ``target_sweep`` rows over ``sweep`` (if any).
    """
    data = load_data(dataset)
    out: dict[str, Any] = {"dataset": dataset}
    c0 = time.process_time()
    suite = train_offline_suite(
        data, seed=seed, bc_iterations=bc_iterations, iql_iterations=iql_iterations,
        dql_iterations=dql_iterations, progress=False,
    )  # fmt: skip
    cpu_share = (time.process_time() - c0) / max(1e-9, sum(suite.seconds.values()))  # CPU s per wall s
    for name in ("Gaussian BC", "diffusion BC", "IDQL", "Diffusion-QL"):
        wall = suite.seconds.get(name, 0.0)
        if name in ("IDQL", "Diffusion-QL"):  # both start from diffusion BC and use the IQL critic: all count
            wall += suite.seconds["diffusion BC"] + suite.seconds["IQL critic"]
        ev = evaluate_row(suite.policies[name], episodes, generator_seed=seed)
        out |= _row(name, ev, wall, wall * cpu_share)
    c0 = time.process_time()
    dt, dt_log = run_dt(data, seed=seed, iterations=dt_iterations, progress=False)
    dt_cpu = time.process_time() - c0
    for name, target in DT_TARGETS.items():
        ev = evaluate_row(ReturnConditioned(dt, target), episodes, generator_seed=seed)
        out |= _row(name, ev, dt_log.seconds, dt_cpu)
    if sweep:
        out["sweep"] = [
            {"seed": seed, **row} for row in target_sweep(dt, list(sweep), episodes=episodes, label=dataset)
        ]
    c0 = time.process_time()
    qt, qt_log = run_qt(data, seed=seed, iterations=qt_iterations, progress=False)
    qt_cpu = time.process_time() - c0
    out |= _row("Q-Transformer", evaluate_row(qt, episodes, generator_seed=seed), qt_log.seconds, qt_cpu)
    return out
