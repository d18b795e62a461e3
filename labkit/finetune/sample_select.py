"""Sample-and-select (IDQL-flavoured, online): the prior proposes N actions, an SB3 critic picks one.

``SampleSelectSAC`` is stock SB3 SAC with one method overridden, ``_sample_action`` (how SAC picks
the action it executes while collecting data). Everything else (replay buffer, twin critics,
actor, entropy tuning, losses) is SAC's own::

    history (n, To, obs_dim) --> prior, N samples per env (ONE call, batch n*N) --> candidates (n, N, A)
    SAC actor sample (n, 1, A) ------------------------(if actor_candidate)------> + 1 candidate
    Q(s, a) = min(Q1, Q2)(obs, candidate) ----> argmax over candidates ---------> executed (n, A)
                                                 (a random candidate with prob. explore_prob,
                                                  and always before learning_starts)

The critic is trained by SAC's usual loss on the executed transitions. Known limits (honest):

- The prior replans every step and only the first executable action ("now") of each sampled chunk is
  a candidate: chunking is not used, so the prior runs once per step (batch n_envs * N).
- SAC's critic evaluates SAC's *actor* (its TD target uses the actor's next action), not the
  select-policy; the actor is trained to maximise that Q, so the two agree more and more, and with
  ``actor_candidate=True`` the actor can also act once it beats the prior. IDQL proper learns Q with
  implicit (expectile) Q-learning on the data instead.
- ``predict()`` (evaluation) keeps its own observation history; pass ``episode_start`` (SB3's
  ``evaluate_policy`` and ``labkit.evaluate`` do) or histories leak across episodes for the first
  To - 1 steps.
- No ``VecNormalize``: the prior needs the raw observations.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import SAC

from labkit.finetune.prior import prior_runner
from labkit.policies.base import ChunkPolicy, check_fits
from labkit.policies.runner import ChunkRunner
from labkit.policies.select import select_by_value

__all__ = ["SampleSelectSAC"]


class SampleSelectSAC(SAC):
    """SAC that acts by choosing among ``n_candidates`` prior samples with its critic.

    :param policy: SB3 policy name or class (``"MlpPolicy"``).
    :param env: the task's env (plain actions; no wrapper needed).
    :param prior: the frozen labkit ``ChunkPolicy`` (required for ``learn``; pass it again to ``load``).
    :param n_candidates: N, prior samples per step.
    :param explore_prob: probability of executing a random candidate instead of the best.
    :param actor_candidate: also offer the SAC actor's own sample as a candidate.
    :param check_env_id: False to use a prior trained on another env on purpose.
    :param prior_kwargs: passed to ``prior_runner`` (``sampler``, ``num_inference_steps``).
    :param sac_kwargs: passed to SB3 ``SAC`` unchanged.
    """

    action_space: spaces.Box  # SAC supports Box action spaces only

    def __init__(
        self,
        policy: Any,
        env: Any,
        prior: ChunkPolicy | None = None,
        n_candidates: int = 8,
        explore_prob: float = 0.1,
        actor_candidate: bool = True,
        check_env_id: bool = True,
        prior_kwargs: dict[str, Any] | None = None,
        **sac_kwargs: Any,
    ) -> None:
        if n_candidates < 1 or not 0.0 <= explore_prob <= 1.0:
            raise ValueError(
                f"n_candidates must be >= 1 and explore_prob in [0, 1]. Got {n_candidates}, {explore_prob}."
            )
        self.prior, self.n_candidates, self.explore_prob = prior, int(n_candidates), float(explore_prob)
        self.actor_candidate, self.check_env_id = actor_candidate, check_env_id
        self.prior_kwargs = dict(prior_kwargs or {})
        self._runner: ChunkRunner | None = None
        self._eval_runner: ChunkRunner | None = None
        super().__init__(policy, env, **sac_kwargs)
        self._rng = np.random.default_rng(sac_kwargs.get("seed"))
        if prior is not None:
            self._check()

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "prior", "_runner", "_eval_runner", "_rng"]

    def _check(self) -> None:
        spec = self.env.get_attr("spec", [0])[0] if self.env is not None else None
        obs_dim = int(np.prod(cast(tuple[int, ...], self.observation_space.shape)))
        action_dim = int(np.prod(self.action_space.shape))
        check_fits(self.prior, getattr(spec, "id", None), obs_dim, action_dim, check_env_id=self.check_env_id)

    def _make_runner(self, n_envs: int) -> ChunkRunner:
        assert self.prior is not None  # the callers check it
        kwargs = {"n_action_steps": 1, **self.prior_kwargs}  # replan every step
        return prior_runner(self.prior, n_envs, seed=getattr(self, "seed", None) or 0, **kwargs)

    # --- the one idea: propose N, keep the best by Q ------------------------------------------
    @torch.no_grad()
    def select(self, obs: np.ndarray, runner: ChunkRunner, explore: bool) -> np.ndarray:
        """obs (n, obs_dim), with ``runner.history`` (n, To, obs_dim) -> the chosen actions (n, A) in env units."""
        n, N = len(obs), self.n_candidates
        cand = runner.plan(np.repeat(runner.history.data, N, axis=0))[:, 0].reshape(
            n, N, -1
        )  # (n*N, 1, A) -> (n, N, A)
        cand = self.policy.scale_action(np.clip(cand, self.action_space.low, self.action_space.high))  # to [-1, 1]
        if self.actor_candidate and self.num_timesteps >= self.learning_starts:
            own = self.policy.scale_action(self.predict(obs, deterministic=not explore, _plain=True)[0])  # (n, A)
            cand = np.concatenate([cand, own[:, None]], axis=1)  # (n, N + 1, A)
        C = cand.shape[1]
        obs_t = torch.as_tensor(np.repeat(obs, C, axis=0), dtype=torch.float32, device=self.device)  # (n*C, obs_dim)
        act_t = torch.as_tensor(cand.reshape(n * C, -1), dtype=torch.float32, device=self.device)  # (n*C, A)
        q = torch.min(torch.cat(self.critic(obs_t, act_t), dim=1), dim=1).values.reshape(n, C).cpu()  # (n, C)
        best = select_by_value(torch.as_tensor(cand), q, selection="argmax")[1].numpy()  # (n,)
        if explore:
            warmup = self.num_timesteps < self.learning_starts
            rand = warmup | (self._rng.random(n) < self.explore_prob)
            best = np.where(rand, self._rng.integers(0, C, n), best)
        return self.policy.unscale_action(cand[np.arange(n), best])  # (n, A)

    # --- SB3 hooks -------------------------------------------------------------------------------
    def _setup_learn(
        self, total_timesteps, callback=None, reset_num_timesteps=True, tb_log_name="run", progress_bar=False
    ):
        if self.prior is None:
            raise ValueError(
                "SampleSelectSAC needs prior=...: pass it to the constructor or to "
                "SampleSelectSAC.load(path, prior=...)."
            )
        self._check()
        out = super()._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)
        if self._runner is None or reset_num_timesteps:
            self._runner = self._make_runner(self.env.num_envs)
            self._runner.reset(np.asarray(self._last_obs, np.float32))
        return out

    def _sample_action(self, learning_starts, action_noise=None, n_envs=1):
        action = self.select(self._last_obs, self._runner, explore=True)  # (n, A)
        return action, self.policy.scale_action(action)  # executed, stored in the replay buffer

    def _store_transition(self, replay_buffer, buffer_action, new_obs, reward, dones, infos):
        super()._store_transition(replay_buffer, buffer_action, new_obs, reward, dones, infos)
        self._runner.history.observe(np.asarray(new_obs, np.float32), dones)  # a done row restarts with its new obs

    def predict(self, observation, state=None, episode_start=None, deterministic=False, _plain=False):
        """SAC's actor when ``_plain``; otherwise sample-and-select (greedy if ``deterministic``)."""
        if _plain or self.prior is None:
            return super().predict(observation, state, episode_start, deterministic)
        obs = np.asarray(observation, np.float32).reshape(-1, self.observation_space.shape[0])  # (n, obs_dim)
        n = len(obs)
        if self._eval_runner is None or self._eval_runner.n_envs != n:
            self._eval_runner = self._make_runner(n)
            self._eval_runner.reset(obs)
        self._eval_runner.history.push(obs)
        if episode_start is not None and np.any(episode_start):
            self._eval_runner.reset(obs, np.flatnonzero(episode_start))
        action = self.select(obs, self._eval_runner, explore=not deterministic)
        return (action if np.ndim(observation) > 1 else action[0]), state
