"""Notebook 08's ready-made runs: the mixed-quality data and four offline policies trained on it.

The data (``labkit.load("two_routes_mixed")``, remade by ``collect_mixed_dataset``): three kinds of
episodes on ``labkit/TwoRoutes-v0``, tagged in the per-episode field ``quality``:

- ``"expert"``: the scripted expert (both routes, small noise); always reaches the goal;
- ``"noisy"``: the same expert with large action noise (std 1.0); slow, and fails sometimes;
- ``"failing"``: ``StraightUpPolicy``, which drives like the expert to the split point but never
  turns: straight up into the cup's pocket, where it stays until the time limit (the "average of
  the two routes" that Gaussian BC learns in notebook 03, recorded as data).

At the split point the data holds three modes (left, right, up) for the same states; only the
rewards tell the failing one apart. Behaviour cloning copies all three; offline RL uses the rewards.

    suite = train_offline_suite(lk.load("two_routes_mixed"), seed=0)
    suite.policies        # {"Gaussian BC": ..., "diffusion BC": ..., "IDQL": ..., "Diffusion-QL": ...}
    suite.critic          # the IQL critic that IDQL samples with

All four policies act on one observation and one action per decision (preset ``"offline"``): a
one-step Q(s, a) judges exactly what the robot executes.

Diffusion-QL starts where IDQL does: from a copy of the diffusion BC policy, with the Q term taken
from the suite's IQL critic (frozen) and weighted ``alpha = 0.1`` (``DQL_CONFIG``). A twin Q learnt
by TD from scratch in the suite's few hundred updates is still about the one-step reward (the goal's
value has not propagated back to the split point), and a fresh policy pulled by the full-weight Q
term (``alpha = 1``) leaves the data's actions in these states for the bounds of the action box,
where the critic extrapolates: either way most actions ended at the bounds and no episode reached
the goal.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from labkit.data.episodes import EpisodeDataset, concat_datasets
from labkit.envs.experts import StraightUpPolicy, TwoRoutesExpert
from labkit.envs.registry import make
from labkit.policies.diffusion import DiffusionPolicy
from labkit.pretrain.diffusion_ql import DiffusionQLConfig, train_diffusion_ql
from labkit.pretrain.idql import IDQLPolicy
from labkit.pretrain.iql import IQLConfig, IQLCritic, train_iql
from labkit.rollout import collect, evaluate
from labkit.store import load
from labkit.train.bc import behaviour_cloning

__all__ = [
    "DQL_CONFIG",
    "IQL_CONFIG",
    "OFFLINE_METHODS",
    "QUALITIES",
    "OfflineSuite",
    "collect_mixed_dataset",
    "group_returns",
    "normalized_return",
    "run_offline_suite",
    "split_action_stats",
    "split_observations",
    "train_offline_suite",
]

QUALITIES = ("expert", "noisy", "failing")
"""The values of the per-episode field ``quality`` in the mixed data."""


#: The IQL critic of the suite: V near the best data action (expectile 0.9); a fast learning rate and
#: target so that values propagate back from the goal within ~1500 updates on a CPU.
IQL_CONFIG = IQLConfig(expectile=0.9, lr=1e-3, target_tau=0.02, hidden_dim=128)

#: Diffusion-QL of the suite (fine-tuning diffusion BC against the frozen IQL critic): a small Q weight,
#: so that the BC term keeps the actions where the data is and the critic is reliable (the paper's
#: small-eta regime; its locomotion value, 1, drives the actions out of the data to the bounds here).
DQL_CONFIG = DiffusionQLConfig(alpha=0.1)


@dataclass
class OfflineSuite:
    """The four policies trained on one dataset, the IQL critic, and the training seconds of each."""

    policies: dict[str, Any]
    critic: IQLCritic
    seconds: dict[str, float] = field(default_factory=dict)
    logs: dict[str, Any] = field(default_factory=dict)


def train_offline_suite(
    data: EpisodeDataset,
    *,
    seed: int = 0,
    bc_iterations: int = 1500,
    iql_iterations: int = 1500,
    dql_iterations: int = 600,
    idql_samples: int = 32,
    idql_temperature: float = 0.3,
    idql_normalize: bool = False,
    hidden_dim: int = 128,
    progress: bool = True,
) -> OfflineSuite:
    """Train Gaussian BC, diffusion BC, IDQL (diffusion BC + IQL critic) and Diffusion-QL on ``data``.

    :param bc_iterations: training iterations of each behaviour-cloning policy.
    :param iql_iterations: gradient steps of the IQL critic.
    :param dql_iterations: Diffusion-QL iterations, each a BC + Q-gradient step of a copy of the
        diffusion BC policy against the IQL critic (``DQL_CONFIG``; the critic stays frozen).
    :param idql_samples: IDQL's N candidates per decision.
    :param idql_temperature: IDQL draws a candidate with probabilities ``softmax(Q / temperature)``.
    :param idql_normalize: measure the temperature in units of the critic's advantage scale (the std of
        Q - V over the data; ``IDQLPolicy``'s default). The suite keeps Q units (temperature 0.3),
        the setting of the published results.
    :param hidden_dim: width of the diffusion denoisers.
    """
    seconds, logs = {}, {}
    t0 = time.perf_counter()
    gauss, logs["Gaussian BC"] = behaviour_cloning(
        "gaussian", data, iterations=bc_iterations, seed=seed, progress=progress, preset="offline"
    )
    seconds["Gaussian BC"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    diff, logs["diffusion BC"] = behaviour_cloning(
        "diffusion",
        data,
        iterations=bc_iterations,
        seed=seed,
        progress=progress,
        mlp_hidden_dim=hidden_dim,
        preset="offline",
    )
    seconds["diffusion BC"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    critic = IQLCritic(data.obs_dim, data.action_dim, IQL_CONFIG)
    logs["IQL"] = train_iql(critic, data, iterations=iql_iterations, seed=seed, progress=progress)
    seconds["IQL critic"] = time.perf_counter() - t0
    idql = IDQLPolicy(
        diff,
        critic,
        n_samples=idql_samples,
        selection="softmax",
        temperature=idql_temperature,
        normalize=idql_normalize,
    )
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    dql = copy.deepcopy(diff)  # start from diffusion BC (its normalisers too), as IDQL does
    assert isinstance(dql, DiffusionPolicy)  # kind "diffusion"
    _, logs["Diffusion-QL"] = train_diffusion_ql(
        dql,
        data,
        DQL_CONFIG,
        iterations=dql_iterations,
        seed=seed,
        fit_normalizers=False,
        critic=critic,
        progress=progress,
    )
    seconds["Diffusion-QL"] = time.perf_counter() - t0
    policies = {"Gaussian BC": gauss, "diffusion BC": diff, "IDQL": idql, "Diffusion-QL": dql}
    return OfflineSuite(policies, critic, seconds, logs)


def split_observations(
    data: EpisodeDataset, quality: str = "expert", band: tuple[float, float] = (-0.23, -0.19)
) -> np.ndarray:
    """Observations (M, D) of ``quality`` episodes whose y lies in ``band``: the states at the split point.

    There the expert turns left or right and the failing policy goes on up; one row is a good
    "decision state" for plotting where each policy's actions go.
    """
    obs = np.asarray(data.observations)  # (N, D)
    ep = np.repeat(np.arange(len(data.episode_ends)), np.diff(np.r_[0, data.episode_ends]))  # (N,) episode of row
    q = np.asarray(data.episode_fields["quality"])[ep]  # (N,)
    keep = (q == quality) & (obs[:, 1] >= band[0]) & (obs[:, 1] <= band[1]) & (np.abs(obs[:, 0]) < 0.03)
    return obs[keep]


def split_action_stats(actions: np.ndarray, critic: IQLCritic | None = None, obs: np.ndarray | None = None) -> dict:
    """Where first actions at the split go: ``actions (n, 2)`` -> shares ``up`` and ``edge``, and ``mean_q``.

    ``up``: share of actions whose upward component is at least their sideways one (the failing mode,
    into the cup's pocket); ``edge``: share with a component beyond 0.95 (the bounds of the action box);
    ``mean_q``: the ``critic``'s mean Q of the actions in state ``obs (D,)`` (NaN without a critic).
    """
    a = np.asarray(actions, dtype=np.float32)
    if a.ndim != 2 or a.shape[1] != 2 or not np.isfinite(a).all():
        raise ValueError(f"actions must be a finite (n, 2) array of TwoRoutes actions. Got shape {a.shape}.")
    out = {"up": float((a[:, 1] >= np.abs(a[:, 0])).mean()), "edge": float((np.abs(a).max(-1) > 0.95).mean())}
    out["mean_q"] = float("nan")
    if critic is not None:
        if obs is None:
            raise ValueError("pass obs= (the state the actions were sampled in) to score them with the critic.")
        s = torch.as_tensor(np.asarray(obs, dtype=np.float32)[None]).repeat(len(a), 1)  # (n, D)
        with torch.no_grad():
            out["mean_q"] = float(critic.q_value(s, torch.as_tensor(a)).mean())
    return out


def group_returns(data: EpisodeDataset, field: str = "quality") -> dict[str, dict[str, float]]:
    """Per value of the per-episode ``field``: episodes, mean return, success rate, mean length.

    :raises KeyError: the dataset has no such per-episode field (the message lists the ones it has).
    """
    if field not in data.episode_fields:
        raise KeyError(
            f"the dataset has no per-episode field {field!r}; it has {sorted(data.episode_fields)}. "
            "Pass field= one of those (labkit's mixed data tags episodes with 'quality')."
        )
    ends = np.asarray(data.episode_ends)
    starts = np.r_[0, ends[:-1]]
    rewards = np.asarray(data.rewards, dtype=np.float64)
    returns = np.array([rewards[a:b].sum() for a, b in zip(starts, ends)])  # (E,)
    groups = np.asarray(data.episode_fields[field])
    success = np.asarray(data.episode_fields.get("success", np.zeros(len(groups))), dtype=float)
    out = {}
    for g in dict.fromkeys(groups.tolist()):
        m = groups == g
        out[str(g)] = {
            "episodes": int(m.sum()),
            "mean_return": float(returns[m].mean()),
            "success_rate": float(success[m].mean()),
            "mean_length": float((ends - starts)[m].mean()),
        }
    return out


def normalized_return(
    returns: np.ndarray | float,
    data: EpisodeDataset,
    *,
    field: str = "quality",
    low: str = "failing",
    high: str = "expert",
) -> float:
    """D4RL-style score: 0 = the ``low`` group's mean return, 1 = the ``high`` group's (mean over ``returns``)."""
    ref = group_returns(data, field)
    for g in (low, high):
        if g not in ref:
            raise KeyError(f"no episodes with {field}={g!r}; the groups are {sorted(ref)}.")
    lo, hi = ref[low]["mean_return"], ref[high]["mean_return"]
    return float((np.mean(returns) - lo) / (hi - lo))


def collect_mixed_dataset(
    n_expert: int = 100,
    n_noisy: int = 100,
    n_failing: int = 150,
    *,
    seed: int = 0,
    env_id: str = "labkit/TwoRoutes-v0",
    noisy_std: float = 1.0,
    created_with: str = "",
    progress: bool = True,
) -> EpisodeDataset:
    """Record expert, noisy-expert and failing episodes; tag them in ``episode_fields["quality"]``.

    Episode seeds are disjoint: ``seed + i`` for the experts, ``seed + 10_000 + i`` for the noisy
    experts, ``seed + 20_000 + i`` for the failing policy.

    :param n_expert: episodes of ``TwoRoutesExpert(noise=0.1)``.
    :param n_noisy: episodes of ``TwoRoutesExpert(noise=noisy_std)``.
    :param n_failing: episodes of ``StraightUpPolicy()``.
    :param created_with: the command that regenerates the dataset (stored in the metadata).
    :return: one ``EpisodeDataset`` with per-episode fields ``success``, ``route``, ``reset_seed``,
        ``final_observation`` and ``quality``.
    """
    env = make(env_id)
    parts = []
    for quality, policy, n, offset in (
        ("expert", TwoRoutesExpert(noise=0.1), n_expert, 0),
        ("noisy", TwoRoutesExpert(noise=noisy_std), n_noisy, 10_000),
        ("failing", StraightUpPolicy(), n_failing, 20_000),
    ):
        if n < 1:
            raise ValueError(f"every quality needs at least one episode. Got {n} for {quality!r}.")
        ds = collect(
            policy,
            env,
            n,
            seed=seed + offset,
            expert_name=f"{quality}:{policy!r}",
            created_with=created_with,
            progress=progress,
        )
        parts.append((ds, quality))
    env.close()
    mixed = concat_datasets([ds for ds, _ in parts])
    qualities = np.concatenate([np.full(len(ds), q) for ds, q in parts])  # (E,) str
    meta = {k: v for k, v in mixed.metadata.items() if k not in ("obs_dim", "action_dim", "n_episodes", "version")}
    meta["expert"] = "mixed: " + ", ".join(f"{len(ds)} {q}" for ds, q in parts)
    return EpisodeDataset(
        mixed.observations,
        mixed.actions,
        mixed.rewards,
        mixed.terminations,
        mixed.truncations,
        mixed.episode_ends,
        episode_fields={**mixed.episode_fields, "quality": qualities},
        metadata=meta,
    )


OFFLINE_METHODS = ("Gaussian BC", "diffusion BC", "IDQL", "Diffusion-QL")
"""The four policies of the suite, in the order the notebook and the benchmark show them."""


def run_offline_suite(
    seed: int,
    bc_iterations: int = 1500,
    iql_iterations: int = 1500,
    dql_iterations: int = 600,
    episodes: int = 100,
) -> dict[str, Any]:
    """One seed of the offline benchmark, as a ``labkit.sweep`` trial (JSON-friendly metrics).

    Trains the suite on the shipped mixed data and evaluates each policy on ``episodes`` fixed start
    states (``seed=1000``, the same for every method and seed). Keys: ``"<method>/success"``,
    ``"<method>/normalised return"``, ``"<method>/return"``, ``"<method>/train s"`` for each method.
    """
    data = load("two_routes_mixed")
    suite = train_offline_suite(
        data, seed=seed, bc_iterations=bc_iterations, iql_iterations=iql_iterations,
        dql_iterations=dql_iterations, progress=False,
    )  # fmt: skip
    out: dict[str, Any] = {}
    for name in OFFLINE_METHODS:
        ev = evaluate(
            suite.policies[name], "labkit/TwoRoutes-v0", episodes, seed=1000, generator_seed=seed, progress=False
        )
        seconds = suite.seconds.get(name, 0.0)
        if name in ("IDQL", "Diffusion-QL"):  # both start from diffusion BC and use the IQL critic: all count
            seconds += suite.seconds["diffusion BC"] + suite.seconds["IQL critic"]
        out |= {
            f"{name}/success": ev.success_rate,
            f"{name}/normalised return": normalized_return(ev.returns, data),
            f"{name}/return": float(ev.returns.mean()),
            f"{name}/train s": seconds,
        }
    return out
