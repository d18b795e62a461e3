"""Cut recorded episodes into fixed-horizon trajectory windows, the training data of trajectory diffusion.

A Diffuser sees a whole *window* of a trajectory at once, states and actions side by side::

    step      k = 0     1     2    ...   H-1
    state     s_t0    s_t0+1  ...         s_t0+H-1      (x, y, vx, vy): the (4,) planning state
    action    a_t0    a_t0+1  ...         a_t0+H-1      (2,)

A window may run past the end of its episode (TwoRoutes episodes last 51-59 steps, the default
horizon is 64): from there on it is *padded* with the final state at rest (velocity 0) and zero
actions, i.e. "stay at the goal". So every window starting anywhere in an episode ends at the goal,
and inpainting the goal into the last step of a plan is consistent with the data.

Per window we also keep its discounted return ``sum_k gamma^k r_(t0+k)`` for any per-step reward
array you pass (the env's own, or rewards relabelled in another world, see
``labkit.experiments.planning_diffusion.blocked_world_rewards``), the labels a condition can be built from,
and a ``valid`` mask that is False on padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.data.episodes import EpisodeDataset

__all__ = ["STATE_DIM", "TrajectoryWindows", "plan_route", "planning_state", "route_shares", "trajectory_windows"]

#: The planning state of the point robot: x, y, vx, vy (the first four entries of the observation).
STATE_DIM = 4


def planning_state(obs: np.ndarray) -> np.ndarray:
    """The (4,) planning state ``[x, y, vx, vy]`` of an (8,) TwoRoutes observation (any leading shape)."""
    obs = np.asarray(obs, dtype=np.float32)
    if obs.shape[-1] < STATE_DIM:
        raise ValueError(f"need observations with at least {STATE_DIM} entries (x, y, vx, vy). Got {obs.shape}.")
    return obs[..., :STATE_DIM]


_FIELDS = ("states", "actions", "valid", "returns", "episode", "start")


@dataclass(frozen=True)
class TrajectoryWindows:
    """Windows of H steps cut from episodes (N windows).

    :param states: (N, H, 4) planning states.
    :param actions: (N, H, 2) actions (0 on padding).
    :param valid: (N, H) True where the step is inside its episode.
    :param returns: (N,) discounted return of each window (0 if no rewards were given).
    :param episode: (N,) index of the episode each window comes from.
    :param start: (N,) step of the episode where the window starts.
    """

    states: np.ndarray
    actions: np.ndarray
    valid: np.ndarray
    returns: np.ndarray
    episode: np.ndarray
    start: np.ndarray

    def __len__(self) -> int:
        return int(self.states.shape[0])

    @property
    def horizon(self) -> int:
        return int(self.states.shape[1])

    def subset(self, mask: np.ndarray) -> TrajectoryWindows:
        """The windows where ``mask`` (N,) is True (or the given indices)."""
        return TrajectoryWindows(*(getattr(self, f)[mask] for f in _FIELDS))


def trajectory_windows(
    ds: EpisodeDataset,
    horizon: int = 64,
    stride: int = 1,
    rewards: np.ndarray | None = None,
    discount: float = 0.99,
    max_start: int | None = None,
) -> TrajectoryWindows:
    """All windows of ``horizon`` steps of every episode of ``ds``, one starting every ``stride`` steps.

    :param ds: a ``labkit.data.EpisodeDataset`` of TwoRoutes episodes (observations (N, 8), actions (N, 2),
        episode field ``final_observation`` (E, 8)).
    :param horizon: H, steps per window.
    :param stride: distance between the starts of consecutive windows of one episode.
    :param rewards: optional per-step rewards (N,) aligned with ``ds.observations``; default ``ds.rewards``.
    :param discount: gamma of the window return.
    :param max_start: only windows starting at step <= ``max_start`` of their episode (None: all).
    :return: a :class:`TrajectoryWindows`.
    """
    if horizon < 2:
        raise ValueError(f"horizon must be >= 2. Got {horizon}.")
    if stride < 1:
        raise ValueError(f"stride must be >= 1. Got {stride}.")
    if not 0.0 < discount <= 1.0:
        raise ValueError(f"discount must be in (0, 1]. Got {discount}.")
    obs_all = np.asarray(ds.observations, dtype=np.float32)
    act_all = np.asarray(ds.actions, dtype=np.float32)
    rew_all = np.asarray(ds.rewards if rewards is None else rewards, dtype=np.float64)
    if rew_all.shape != (obs_all.shape[0],):
        raise ValueError(f"rewards must have shape ({obs_all.shape[0]},), one per step. Got {rew_all.shape}.")
    finals = ds.episode_fields.get("final_observation")
    ends = np.asarray(ds.episode_ends)
    starts = np.r_[0, ends[:-1]]
    gammas = discount ** np.arange(horizon)  # (H,)
    out: dict[str, list] = {k: [] for k in _FIELDS}
    for e, (a, b) in enumerate(zip(starts, ends)):
        L = int(b - a)
        last = planning_state(finals[e] if finals is not None else obs_all[b - 1]).copy()
        rest = last.copy()
        rest[2:] = 0.0  # padding: at the final position, at rest
        # Episode padded to L + H steps: states (L + H, 4), actions (L + H, 2), rewards (L + H,).
        s = np.concatenate([planning_state(obs_all[a:b]), last[None], np.repeat(rest[None], horizon - 1, 0)])
        u = np.concatenate([act_all[a:b], np.zeros((horizon, act_all.shape[1]), np.float32)])
        r = np.concatenate([rew_all[a:b], np.zeros(horizon)])
        v = np.r_[np.ones(L, bool), np.zeros(horizon, bool)]
        top = L - 1 if max_start is None else min(L - 1, max_start)
        for t0 in range(0, top + 1, stride):
            out["states"].append(s[t0 : t0 + horizon])
            out["actions"].append(u[t0 : t0 + horizon])
            out["valid"].append(v[t0 : t0 + horizon])
            out["returns"].append(float(gammas @ r[t0 : t0 + horizon]))
            out["episode"].append(e)
            out["start"].append(t0)
    return TrajectoryWindows(
        states=np.stack(out["states"]).astype(np.float32),  # (N, H, 4)
        actions=np.stack(out["actions"]).astype(np.float32),  # (N, H, 2)
        valid=np.stack(out["valid"]),  # (N, H)
        returns=np.asarray(out["returns"], np.float32),  # (N,)
        episode=np.asarray(out["episode"], np.int64),
        start=np.asarray(out["start"], np.int64),
    )


def plan_route(states: np.ndarray, cup_half_width: float = 0.16) -> str:
    """The route of a plan (H, >= 2) [x, y, ...]: ``"left"``/``"right"`` by the side on which it first reaches
    y >= 0, ``"through"`` if that point lies within the cup's width, ``"none"`` if it never gets there."""
    s = np.asarray(states)
    above = np.flatnonzero(s[:, 1] >= 0.0)
    if len(above) == 0:
        return "none"
    x = float(s[above[0], 0])
    if abs(x) < cup_half_width:
        return "through"
    return "left" if x < 0 else "right"


def route_shares(plans: np.ndarray) -> dict[str, float]:
    """Share of each route (``left``, ``right``, ``through``, ``none``) among plans (B, H, >= 2)."""
    routes = [plan_route(p) for p in np.asarray(plans)]
    return {k: routes.count(k) / max(1, len(routes)) for k in ("left", "right", "through", "none")}
