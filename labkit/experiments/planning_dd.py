"""Notebook 06, Decision Diffuser: states only, route and speed conditions, composition of two conditions.

The data are the shipped fast demonstrations of both routes plus slow ones (the expert at half speed) of
the *right* route only, so "slow and left" never occurs; composing "left" with "slow" asks for it anyway.
The maker of ``data/planning_decision_diffuser.pt`` lives here; ``run_dd_condition`` is a sweep trial.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from labkit.data.episodes import concat_datasets
from labkit.data.shipped import data_path, entry, load_demos
from labkit.envs.experts import TwoRoutesExpert
from labkit.envs.registry import make
from labkit.planning import (
    DecisionDiffuser,
    condition_vector,
    fit,
    load_planner,
    rollout_plans,
    save_planner,
    trajectory_windows,
)
from labkit.rollout import collect
from labkit.runtime import check_int

__all__ = [
    "DD_CONDITIONS",
    "DDPreset",
    "evaluate_decision_diffuser",
    "load_decision_diffuser",
    "make_decision_diffuser",
    "run_dd_condition",
    "slow_demos",
    "train_decision_diffuser",
]

SHIPPED_NAME = "planning_decision_diffuser"
ENV_ID = "labkit/TwoRoutes-v0"

#: The conditions the notebook and the benchmark compare (name -> [(attributes, weight)]).
DD_CONDITIONS: dict[str, list[tuple[dict[str, str], float]]] = {
    "unconditioned": [],
    "left": [({"route": "left"}, 1.5)],
    "slow": [({"speed": "slow"}, 1.5)],
    "left + slow (composed)": [({"route": "left"}, 0.75), ({"speed": "slow"}, 0.75)],
    "left & slow (joint, unseen)": [({"route": "left", "speed": "slow"}, 1.5)],
}


@dataclass
class DDPreset:
    """Data and training budget of the Decision Diffuser (the shipped model uses the defaults).

    :param holdout: a (route, speed) pair left out of the data, to test composition (None: keep all).
    """

    horizon: int = 32
    hidden_dim: int = 256
    inverse_hidden_dim: int = 128
    iterations: int = 4000
    inverse_iterations: int = 1500
    batch_size: int = 128
    n_slow: int = 100
    slow_speed: float = 0.5
    holdout: tuple[str, str] | None = ("left", "slow")
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("horizon", self.horizon, 2), check_int("hidden_dim", self.hidden_dim)
        check_int("iterations", self.iterations, 0), check_int("inverse_iterations", self.inverse_iterations, 0)
        if self.holdout is not None:
            self.holdout = (str(self.holdout[0]), str(self.holdout[1]))


class _ScaledExpert:
    """The scripted expert, driving at ``speed`` times its usual speed."""

    def __init__(self, route: str, speed: float) -> None:
        self.expert, self.speed = TwoRoutesExpert(route=route, noise=0.1), speed

    def reset(self, rng: np.random.Generator) -> None:
        self.expert.reset(rng)

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return (self.expert(obs, rng) * self.speed).astype(np.float32)


def slow_demos(n_episodes: int = 100, routes=("left", "right"), speed: float = 0.5, seed: int = 50_000):
    """Demonstrations of the expert at ``speed`` x its speed (episodes up to 200 steps), split over ``routes``."""
    parts = []
    for k, route in enumerate(routes):
        parts.append(
            collect(
                _ScaledExpert(route, speed),
                lambda: make(ENV_ID, max_episode_steps=200),
                max(1, n_episodes // len(routes)),
                seed + 10_000 * k,
                expert_name=f"TwoRoutesExpert(route={route}) x {speed}",
                env_id=ENV_ID,
                progress=False,
                created_with="labkit.experiments.planning_dd.slow_demos()",
            )
        )
    return concat_datasets(parts)


def _dd_data(p: DDPreset) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """States (N, H, 4), actions (N, H, 2), valid (N, H) and conditions (N, 4) of every training window."""
    routes = tuple(r for r in ("left", "right") if p.holdout != (r, "slow"))
    fast, slow = load_demos("two_routes_demos"), slow_demos(p.n_slow, routes, p.slow_speed, 50_000 + p.seed)
    parts = []
    for ds, speed in ((fast, "fast"), (slow, "slow")):
        w = trajectory_windows(ds, horizon=p.horizon)
        route = np.asarray(ds.episode_fields["route"])[w.episode]
        keep = np.array([(str(r), speed) != p.holdout for r in route])
        w = w.subset(keep)
        cond = torch.stack([condition_vector(route=str(r), speed=speed) for r in route[keep]])  # (n, 4)
        parts.append((torch.as_tensor(w.states), torch.as_tensor(w.actions), torch.as_tensor(w.valid), cond))
    states, actions, valid, cond = (torch.cat(x) for x in zip(*parts))
    return states, actions, valid, cond


def train_decision_diffuser(preset: DDPreset | None = None, progress: bool = True) -> tuple[DecisionDiffuser, dict]:
    """Train DD (states only, route and speed conditions with dropout) and its inverse dynamics."""
    p = preset or DDPreset()
    states, actions, valid, cond = _dd_data(p)
    torch.manual_seed(p.seed)  # the initial weights
    dd = DecisionDiffuser(horizon=p.horizon, hidden_dim=p.hidden_dim, inverse_hidden_dim=p.inverse_hidden_dim)
    dd.diffuser.fit_normalizer(states)
    x0 = dd.diffuser.encode(states)  # (N, H, 4)
    log = fit(
        dd.diffuser,
        dd.diffuser.compute_loss,
        [x0, cond],
        p.iterations,
        batch_size=p.batch_size,
        seed=p.seed,
        progress=progress,
        desc="Decision Diffuser",
    )
    m = valid[:, :-1].reshape(-1)  # (N * (H-1),) transitions inside episodes
    s, s_next = states[:, :-1].reshape(-1, 4)[m], states[:, 1:].reshape(-1, 4)[m]  # (M, 4) each
    a = actions[:, :-1].reshape(-1, 2)[m]  # (M, 2)
    dd.inverse.fit_stats(s)
    ilog = fit(
        dd.inverse,
        dd.inverse.compute_loss,
        [s, s_next, a],
        p.inverse_iterations,
        batch_size=256,
        seed=p.seed + 1,
        progress=progress,
        desc="inverse dynamics",
        ema_decay=None,
    )
    return dd, {"preset": asdict(p), "windows": int(len(x0)), "log": log, "inverse_log": ilog}


def make_decision_diffuser(path: Path) -> None:
    """Maker of ``data/planning_decision_diffuser.pt``: ``DDPreset()`` (seed 0, "slow and left" held out)."""
    torch.set_num_threads(1)
    dd, info = train_decision_diffuser(progress=False)
    meta = {"preset": info["preset"], "windows": info["windows"], "made_with": entry(SHIPPED_NAME).command}
    save_planner(path, {"dd": dd}, meta)


def load_decision_diffuser(path: str | Path | None = None) -> tuple[DecisionDiffuser, dict]:
    """The shipped Decision Diffuser (or the one saved at ``path``) and its meta."""
    models, meta = load_planner(path or data_path(SHIPPED_NAME), hint=f"remake it with: {entry(SHIPPED_NAME).command}")
    return models["dd"], meta


def evaluate_decision_diffuser(
    dd: DecisionDiffuser,
    conditions: dict | None = None,
    n_episodes: int = 30,
    seed: int = 2000,
    replan_every: int = 8,
    max_steps: int = 200,
) -> dict[str, dict]:
    """Per condition: success, route shares and mean speed of DD-driven episodes (inverse-dynamics actions)."""
    out = {}
    for name, terms in (conditions or DD_CONDITIONS).items():
        g = torch.Generator().manual_seed(seed)
        planner = lambda obs, terms=terms, g=g: dd.plan(torch.as_tensor(obs), terms, generator=g)
        r = rollout_plans(
            lambda: make(ENV_ID, max_episode_steps=max_steps),
            planner,
            n_episodes,
            mode="inverse",
            inverse_dynamics=dd.inverse,
            seed=seed,
            replan_every=replan_every,
            max_steps=max_steps,
        )
        speeds = [float(np.linalg.norm(t[1:, 2:4], axis=1).mean()) for t in r.result.trajectories]
        routes = list(r.result.routes)
        out[name] = {
            **r.summary(),
            "route_share_all": {k: routes.count(k) / len(routes) for k in ("left", "right", "none")},
            "mean_speed": float(np.mean(speeds)),
        }
    return out


def run_dd_condition(seed: int, condition: str = "unconditioned", n_episodes: int = 20) -> dict[str, Any]:
    """One condition of the shipped Decision Diffuser, episodes from seed ``2000 + 100 * seed`` (a sweep trial)."""
    dd, _ = load_decision_diffuser()
    r = evaluate_decision_diffuser(dd, {condition: DD_CONDITIONS[condition]}, n_episodes, seed=2000 + 100 * seed)
    v = r[condition]
    return {
        "success": v["success_rate"],
        "left_share": v["route_share_all"]["left"],
        "mean_speed": v["mean_speed"],
        "mean_length": v["mean_length"],
    }
