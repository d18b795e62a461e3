"""PPO-Lagrangian with stock Stable-Baselines3: a cost wrapper, and a callback that shapes the reward.

The constrained problem ``max E[R] s.t. J_c <= d`` becomes the saddle point of the Lagrangian
``L(pi, lambda) = E[R] - lambda (J_c - d)``, lambda >= 0. PPO-Lagrangian (as in OmniSafe's ``PPOLag``,
the safe-RL core of SafeVLA) alternates:

- **policy step** (PPO) on the shaped reward ``r_t' = (r_t - lambda c_t) / (1 + lambda)``: the
  division keeps the scale of the reward as lambda grows (OmniSafe divides the advantage the same way);
- **multiplier step** (projected gradient ascent on lambda) after each rollout, with the mean cost
  ``J_c`` of the episodes that ended in it::

      lambda <- clip(lambda + lambda_lr * (J_c - d), 0, lambda_max)

  lambda rises while the policy is over the limit and falls back (to 0) once it is under it.

SB3 calls a callback's ``_on_step`` after every vectorised env step and *before* the step's rewards
go into the rollout buffer; ``self.locals["rewards"]`` is that very array, so shaping it in place is
all the "algorithm" there is. ``info["cost"]`` comes from ``HazardCostWrapper`` (any env that reports
a per-step cost works). Nothing else of PPO changes, so the same callback works under residual RL
(``labkit.priors.ResidualVecEnv`` passes the infos through).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

__all__ = ["LagrangeConfig", "LagrangeMultiplier", "LagrangianCallback"]


@dataclass
class LagrangeConfig:
    """Settings of the multiplier."""

    cost_limit: float = 0.1
    """d: the allowed mean cost per episode (with ``HazardCostWrapper(cost="entry")``: hazard entries)."""
    lambda_lr: float = 0.05
    """Step size of the ascent on lambda, per rollout, per unit of (J_c - d)."""
    lambda_init: float = 0.0
    """lambda at the start of training."""
    lambda_max: float = 100.0
    """Upper bound on lambda (keeps a hopeless constraint from blowing the reward away)."""
    normalise: bool = True
    """Divide the shaped reward by (1 + lambda)."""

    def __post_init__(self) -> None:
        if self.cost_limit < 0 or self.lambda_lr < 0 or self.lambda_init < 0 or self.lambda_max < self.lambda_init:
            raise ValueError(
                "Need cost_limit >= 0, lambda_lr >= 0 and 0 <= lambda_init <= lambda_max. "
                f"Got {self.cost_limit}, {self.lambda_lr}, {self.lambda_init}, {self.lambda_max}."
            )


class LagrangeMultiplier:
    """lambda and its projected-ascent update, on its own so it can be tested and plotted.

    :param config: a ``LagrangeConfig``.
    """

    def __init__(self, config: LagrangeConfig) -> None:
        self.config = config
        self.value = float(config.lambda_init)

    def update(self, mean_episode_cost: float) -> float:
        """One ascent step with the measured J_c; returns the new lambda."""
        cfg = self.config
        self.value = float(
            np.clip(self.value + cfg.lambda_lr * (mean_episode_cost - cfg.cost_limit), 0.0, cfg.lambda_max)
        )
        return self.value

    def shape(self, rewards: np.ndarray, costs: np.ndarray) -> np.ndarray:
        """The reward PPO optimises: (r - lambda c) / (1 + lambda) (or without the division)."""
        shaped = rewards - self.value * costs
        return shaped / (1.0 + self.value) if self.config.normalise else shaped


class LagrangianCallback(BaseCallback):
    """Turns any SB3 on-policy agent into its Lagrangian version; records what happened.

    :param config: ``LagrangeConfig`` (``cost_limit=d``, ``lambda_lr`` ...). With ``lambda_lr=0``
        and ``lambda_init=0`` it only records (the unconstrained baseline).

    ``history`` holds one row per rollout: ``steps``, ``lambda``, ``episode_cost`` (mean over the
    episodes that ended in the rollout), ``episode_return`` (the env's reward, unshaped),
    ``success``, ``episodes``.
    """

    def __init__(self, config: LagrangeConfig | None = None, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.multiplier = LagrangeMultiplier(config or LagrangeConfig())
        self.history: dict[str, list[float]] = {
            k: [] for k in ("steps", "lambda", "episode_cost", "episode_return", "success", "episodes")
        }
        self._ep_cost, self._ep_ret = np.zeros(0), np.zeros(0)  # (n_envs,) each, sized at training start
        self._done_costs: list[float] = []
        self._done_returns: list[float] = []
        self._done_success: list[float] = []

    @property
    def lam(self) -> float:
        return self.multiplier.value

    def _on_training_start(self) -> None:
        n = self.training_env.num_envs
        self._ep_cost, self._ep_ret = np.zeros(n), np.zeros(n)

    def _on_step(self) -> bool:
        rewards, infos, dones = self.locals["rewards"], self.locals["infos"], self.locals["dones"]
        costs = np.array([float(info.get("cost", 0.0)) for info in infos])  # (n_envs,)
        self._ep_cost += costs
        self._ep_ret += rewards
        rewards[:] = self.multiplier.shape(rewards, costs)  # in place: this array goes into the buffer
        for i in np.flatnonzero(dones):
            self._done_costs.append(self._ep_cost[i])
            self._done_returns.append(self._ep_ret[i])
            self._done_success.append(float(infos[i].get("is_success", False)))
            self._ep_cost[i] = self._ep_ret[i] = 0.0
        return True

    def _on_rollout_end(self) -> None:
        if not self._done_costs:  # no episode ended in this rollout: keep lambda
            return
        jc = float(np.mean(self._done_costs))
        self.history["steps"].append(int(self.num_timesteps))
        self.history["episode_cost"].append(jc)
        self.history["episode_return"].append(float(np.mean(self._done_returns)))
        self.history["success"].append(float(np.mean(self._done_success)))
        self.history["episodes"].append(len(self._done_costs))
        self.history["lambda"].append(self.multiplier.update(jc))
        self._done_costs, self._done_returns, self._done_success = [], [], []
