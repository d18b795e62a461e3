"""Generalist -> expert: Refined Policy Distillation (RPD, Jülg et al. 2025) as a small PPO subclass.

PPO's loss gets one more term: on the states the student itself visited in the last rollout, pull
the student's mean action towards the teacher's action, with a weight that decays to zero::

    L(theta) = L_clip + c_v L_value - c_e H  +  lambda(k) * mean_i || mu_theta(s_i) - a_teacher(s_i) ||^2
    lambda(k) = distill_weight * (1 + cos(pi * min(k / anneal_steps, 1))) / 2          (k = env steps so far)

Early on the student imitates the teacher (a fast start, no blind exploration); once lambda reaches
0 it is plain PPO, free to improve on the teacher. SB3 has no hook for an extra loss term, so
``RPDPPO.train`` re-states PPO's update (the same clipped objective as SB3's ``PPO.train``) with the
term added. The teacher is queried once per rollout, on the whole buffer, not once per minibatch.

A teacher is any callable ``teacher(obs (N, obs_dim) tensor) -> actions (N, action_dim) tensor``;
``ChunkTeacher`` adapts a labkit chunk policy (optionally conditioned on a variant).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch as th
import torch.nn.functional as F
from stable_baselines3 import PPO

from labkit.train.log import TrainLog

__all__ = ["RPDPPO", "ChunkTeacher", "cosine_decay"]


def cosine_decay(step: int, start: float, anneal_steps: int) -> float:
    """``start * (1 + cos(pi * min(step / anneal_steps, 1))) / 2``: from ``start`` at 0 to 0 at ``anneal_steps``."""
    if anneal_steps <= 0:
        return 0.0
    return start * 0.5 * (1.0 + math.cos(math.pi * min(step / anneal_steps, 1.0)))


class ChunkTeacher:
    """A labkit chunk policy (diffusion, consistency, Gaussian BC) as ``teacher(obs) -> first action``.

    :param policy: has ``config.n_obs_steps`` and ``predict_action(obs (N, To, D), generator=...)``.
    :param condition: optional vector (C,) appended to every observation (a variant's one-hot).
    :param n_samples: the target is the mean of this many sampled actions per state (RPD estimates the
        teacher's action distribution from several samples; the mean is what the MSE pulls towards).
    :param seed: seeds the teacher's sampling noise.
    :param sample_kwargs: passed to ``predict_action`` (``sampler=``, ``num_inference_steps=``).

    The student sees one observation; the teacher's history is that observation repeated To times.
    """

    def __init__(
        self, policy: Any, condition: np.ndarray | None = None, n_samples: int = 1, seed: int = 0, **sample_kwargs: Any
    ) -> None:
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1. Got {n_samples}.")
        self.policy, self.sample_kwargs, self.n_samples = policy, sample_kwargs, n_samples
        self.condition = None if condition is None else th.as_tensor(np.asarray(condition), dtype=th.float32)
        self.generator = th.Generator().manual_seed(seed)

    @th.no_grad()
    def __call__(self, obs: th.Tensor) -> th.Tensor:
        obs = th.as_tensor(obs, dtype=th.float32)  # (N, D)
        if self.condition is not None:
            obs = th.cat([obs, self.condition.expand(len(obs), -1)], dim=1)  # (N, D + C)
        N, S = len(obs), self.n_samples
        hist = obs[:, None].expand(-1, self.policy.config.n_obs_steps, -1).repeat(S, 1, 1)  # (S*N, To, D + C)
        chunk = self.policy.predict_action(hist, generator=self.generator, **self.sample_kwargs)  # (S*N, Ta, A)
        first = chunk[:, 0].reshape(S, N, -1).mean(0)  # (S*N, A) -> (S, N, A) -> (N, A): the action for "now"
        return first.clamp(-1.0, 1.0)


class RPDPPO(PPO):
    """SB3 PPO plus a decaying MSE pull towards a teacher's actions on the student's own states.

    :param policy, env: as for ``PPO`` (an ``"MlpPolicy"`` with a Gaussian action distribution).
    :param teacher: ``teacher(obs (N, obs_dim) tensor) -> (N, action_dim) tensor`` of actions in [-1, 1].
    :param distill_weight: lambda at the start.
    :param anneal_steps: env steps over which lambda decays to 0 (cosine), after which this is plain PPO.
    :param kwargs: any other ``PPO`` argument (``target_kl`` and ``clip_range_vf`` are not supported).

    ``distill_log`` (a ``TrainLog``) gets one history row per update while lambda > 0: ``env_steps``,
    ``distill_loss`` (mean MSE over the update's minibatches) and ``weight``.
    """

    def __init__(
        self,
        policy: Any,
        env: Any,
        teacher: Callable[[th.Tensor], th.Tensor],
        distill_weight: float = 1.0,
        anneal_steps: int = 20_000,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("target_kl") is not None or kwargs.get("clip_range_vf") is not None:
            raise ValueError(
                "RPDPPO keeps PPO's update short: leave target_kl and clip_range_vf unset. "
                f"Got target_kl={kwargs.get('target_kl')}, clip_range_vf={kwargs.get('clip_range_vf')}."
            )
        if distill_weight < 0 or anneal_steps < 0:
            raise ValueError(f"distill_weight and anneal_steps must be >= 0. Got {distill_weight}, {anneal_steps}.")
        super().__init__(policy, env, **kwargs)
        self.teacher, self.distill_weight, self.anneal_steps = teacher, distill_weight, anneal_steps
        self.distill_log = TrainLog(meta={"method": "RPD", "distill_weight": distill_weight})

    def train(self) -> None:
        """One PPO update on the rollout buffer, with the distillation term while lambda > 0."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        clip = self.clip_range(self._current_progress_remaining)  # type: ignore[operator]
        rollout_start = self.num_timesteps - self.n_steps * self.n_envs  # env steps before this rollout
        weight = cosine_decay(rollout_start, self.distill_weight, self.anneal_steps)
        data = next(self.rollout_buffer.get(batch_size=None))  # the whole rollout as one batch, (N, ...)
        target = self.teacher(data.observations).to(self.device) if weight > 0 else None  # (N, A), once
        n = len(data.observations)
        pg_losses, v_losses, d_losses = [], [], []
        for _ in range(self.n_epochs):
            for idx in th.randperm(n, device=self.device).split(self.batch_size):
                dist = self.policy.get_distribution(data.observations[idx])
                log_prob = dist.log_prob(data.actions[idx])  # (b,)
                values = self.policy.predict_values(data.observations[idx]).flatten()  # (b,)
                adv = data.advantages[idx]
                if self.normalize_advantage and len(adv) > 1:
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                ratio = th.exp(log_prob - data.old_log_prob[idx])
                pg_loss = -th.min(adv * ratio, adv * th.clamp(ratio, 1 - clip, 1 + clip)).mean()
                v_loss = F.mse_loss(data.returns[idx], values)
                entropy = dist.entropy()
                assert entropy is not None  # a Gaussian policy (MlpPolicy on a Box action space)
                loss = pg_loss - self.ent_coef * entropy.mean() + self.vf_coef * v_loss
                if target is not None:  # the RPD term: the student's mean action vs the teacher's action
                    mean_action = dist.distribution.mean  # type: ignore[union-attr]  # (b, A)
                    d_loss = F.mse_loss(mean_action, target[idx])
                    loss = loss + weight * d_loss
                    d_losses.append(d_loss.item())
                self.policy.optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()
                pg_losses.append(pg_loss.item())
                v_losses.append(v_loss.item())
        self._n_updates += self.n_epochs
        self.logger.record("train/policy_gradient_loss", float(np.mean(pg_losses)))
        self.logger.record("train/value_loss", float(np.mean(v_losses)))
        self.logger.record("train/distill_weight", weight)
        if d_losses:
            self.logger.record("train/distill_loss", float(np.mean(d_losses)))
            self.distill_log.record(
                env_steps=int(self.num_timesteps), distill_loss=float(np.mean(d_losses)), weight=weight
            )
            self.distill_log.iterations_done += 1
