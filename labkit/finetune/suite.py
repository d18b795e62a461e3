"""Ready-made runs for notebooks 08 and 10 and ``benchmarks/offline_and_dppo.py``: one place per default.

Offline (notebook 08)::

    suite = train_offline_suite(load_demos("two_routes_mixed"), seed=0)
    suite.policies        # {"Gaussian BC": ..., "diffusion BC": ..., "IDQL": ..., "Diffusion-QL": ...}
    suite.critic          # the IQL critic that IDQL samples with

All four policies act on one observation and one action per decision (``OFFLINE_HORIZONS``): a
one-step Q(s, a) judges exactly what the robot executes.

Online (notebook 10)::

    policy = pretrain_diffusion(load_demos("two_routes_demos"), iterations=200)   # under-trained
    actor = DiffusionPPOActor(policy, **DPPO_ACTOR)
    finetune_ppo(actor, "labkit/TwoRoutes-v0", dppo_config(max_seconds=120))
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from labkit.data import EpisodeDataset
from labkit.finetune.dppo import PPOConfig
from labkit.finetune.offline import IDQLPolicy, IQLConfig, IQLCritic, train_diffusion_ql, train_iql

__all__ = [
    "OFFLINE_HORIZONS",
    "IQL_CONFIG",
    "OfflineSuite",
    "train_offline_suite",
    "split_observations",
    "quality_returns",
    "normalized_return",
    "DPPO_HORIZONS",
    "DPPO_ACTOR",
    "pretrain_diffusion",
    "pretrain_gaussian",
    "dppo_config",
]

#: One observation, one action per decision: what a one-step Q(s, a) can judge.
OFFLINE_HORIZONS = dict(n_obs_steps=1, horizon=1, n_action_steps=1)


#: The IQL critic of the suite: V near the best data action (expectile 0.9); a fast learning rate and
#: target so that values propagate back from the goal within ~1500 updates on a CPU.
IQL_CONFIG = IQLConfig(expectile=0.9, lr=1e-3, target_tau=0.02, hidden_dim=128)


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
    hidden_dim: int = 128,
    progress: bool = True,
) -> OfflineSuite:
    """Train Gaussian BC, diffusion BC, IDQL (diffusion BC + IQL critic) and Diffusion-QL on ``data``.

    :param bc_iterations: training iterations of each behaviour-cloning policy.
    :param iql_iterations: gradient steps of the IQL critic.
    :param dql_iterations: iterations of Diffusion-QL (actor and critic together).
    :param idql_samples: IDQL's N candidates per decision.
    :param idql_temperature: IDQL draws a candidate with probabilities ``softmax(Q / temperature)``.
    :param hidden_dim: width of the diffusion denoisers.
    """
    from labkit.recipes import behaviour_cloning, make_policy

    seconds, logs = {}, {}
    t0 = time.perf_counter()
    gauss, logs["Gaussian BC"] = behaviour_cloning("gaussian", data, iterations=bc_iterations, seed=seed,
                                                   progress=progress, **OFFLINE_HORIZONS)
    seconds["Gaussian BC"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    diff, logs["diffusion BC"] = behaviour_cloning("diffusion", data, iterations=bc_iterations, seed=seed,
                                                   progress=progress, mlp_hidden_dim=hidden_dim, **OFFLINE_HORIZONS)
    seconds["diffusion BC"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    critic = IQLCritic(data.obs_dim, data.action_dim, IQL_CONFIG)
    logs["IQL"] = train_iql(critic, data, iterations=iql_iterations, seed=seed, progress=progress)
    seconds["IQL critic"] = time.perf_counter() - t0
    idql = IDQLPolicy(diff, critic, n_samples=idql_samples, selection="softmax", temperature=idql_temperature)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    dql = make_policy("diffusion", data.obs_dim, data.action_dim, mlp_hidden_dim=hidden_dim, **OFFLINE_HORIZONS)
    _, logs["Diffusion-QL"] = train_diffusion_ql(dql, data, iterations=dql_iterations, seed=seed, progress=progress)
    seconds["Diffusion-QL"] = time.perf_counter() - t0
    policies = {"Gaussian BC": gauss, "diffusion BC": diff, "IDQL": idql, "Diffusion-QL": dql}
    return OfflineSuite(policies, critic, seconds, logs)


def split_observations(data: EpisodeDataset, quality: str = "expert", band: tuple[float, float] = (-0.23, -0.19)
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


def quality_returns(data: EpisodeDataset) -> dict[str, dict[str, float]]:
    """Per quality: episodes, mean return, success rate and mean length of the recorded episodes."""
    ends = np.asarray(data.episode_ends)
    starts = np.r_[0, ends[:-1]]
    rewards = np.asarray(data.rewards, dtype=np.float64)
    returns = np.array([rewards[a:b].sum() for a, b in zip(starts, ends)])  # (E,)
    quality = np.asarray(data.episode_fields["quality"])
    success = np.asarray(data.episode_fields["success"], dtype=float)
    out = {}
    for q in dict.fromkeys(quality.tolist()):
        m = quality == q
        out[q] = {"episodes": int(m.sum()), "mean_return": float(returns[m].mean()),
                  "success_rate": float(success[m].mean()), "mean_length": float((ends - starts)[m].mean())}
    return out


def normalized_return(returns: np.ndarray | float, data: EpisodeDataset) -> float:
    """D4RL-style score: 0 = the failing episodes' mean return, 1 = the experts' (mean over ``returns``)."""
    ref = quality_returns(data)
    lo, hi = ref["failing"]["mean_return"], ref["expert"]["mean_return"]
    return float((np.mean(returns) - lo) / (hi - lo))


# ---------------------------------------------------------------------------------------------
# DPPO

#: One observation, a chunk of 4 actions, all 4 executed (a decision every 0.2 s).
DPPO_HORIZONS = dict(n_obs_steps=1, horizon=4, n_action_steps=4)
#: How DPPO sees the pre-trained policy: K = 10 DDPM steps, all fine-tuned, std never below 0.1.
DPPO_ACTOR = dict(num_inference_steps=10, ft_denoising_steps=10, min_std=0.1)


def pretrain_diffusion(demos: EpisodeDataset, *, iterations: int = 200, n_episodes: int = 100, seed: int = 0,
                       progress: bool = True):
    """A deliberately under-trained diffusion policy: ``iterations`` of BC on the first ``n_episodes`` demos."""
    from labkit.recipes import behaviour_cloning

    policy, _ = behaviour_cloning("diffusion", demos.filter(np.arange(min(n_episodes, len(demos)))),
                                  iterations=iterations, seed=seed, progress=progress, sampler="ddpm",
                                  **DPPO_HORIZONS)
    return policy


def pretrain_gaussian(demos: EpisodeDataset, *, iterations: int = 200, n_episodes: int = 100, seed: int = 0,
                      progress: bool = True):
    """The Gaussian counterpart of :func:`pretrain_diffusion` (same data, horizons and budget)."""
    from labkit.recipes import behaviour_cloning

    policy, _ = behaviour_cloning("gaussian", demos.filter(np.arange(min(n_episodes, len(demos)))),
                                  iterations=iterations, seed=seed, progress=progress, **DPPO_HORIZONS)
    return policy


def dppo_config(**overrides: Any) -> PPOConfig:
    """The fine-tuning hyper-parameters used in notebook 10 and the benchmark (overridable)."""
    cfg = dict(n_envs=8, n_steps=16, actor_lr=3e-4, total_env_steps=60_000, stop_success=None)
    cfg.update(overrides)
    return PPOConfig(**cfg)
