"""Replace an on-policy SB3 agent's reward with a computed one, once per rollout (not once per step).

The callback records what the reward needs at every step, zeroes the env's reward *in place* (SB3 then
stores zero plus its own time-limit bootstrap ``gamma * V(terminal)``), and at the rollout's end asks the
reward program for all ``n_steps x n_envs`` rewards in one call, adds them to the rollout buffer and
recomputes returns and advantages. With a sandboxed program that is one pipe round trip per rollout.
Works with PPO and A2C (``OnPolicyAlgorithm``), whose ``collect_rollouts`` calls ``on_step`` before it
stores the step and ``on_rollout_end`` after it computes the advantages.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from labkit.llm.sandbox_check import RewardCodeError

__all__ = ["RelabelRewards"]


class RelabelRewards(BaseCallback):
    """Replace the env's reward by a sandboxed program's, one program call per rollout.

    :param program: a :class:`~labkit.llm.sandbox.RewardProgram` (any ``program(**inputs) -> out`` with
        ``out.reward`` (B,) and ``out.terms``), or ``None`` to keep the env's reward and only record it.
    :param inputs_fn: ``inputs_fn(next_obs (B, D), actions (B, A), success (B,), prev_obs (B, D))`` ->
        the program's keyword inputs, each ``(B, ...)``.
    ``history`` holds per rollout: ``steps``, the mean of ``total`` and every term, the env's own
    (true) reward and the mean episode length; ``error`` the run-time error that stopped training.
    """

    def __init__(self, program: Callable | None = None, inputs_fn: Callable | None = None):
        super().__init__()
        if program is not None and inputs_fn is None:
            raise ValueError("RelabelRewards needs inputs_fn to turn observations into the program's inputs.")
        self.program, self.inputs_fn = program, inputs_fn
        self.error: RewardCodeError | None = None
        self.history: dict[str, list[float]] = {"steps": [], "episode_length": []}
        self.designed: list[np.ndarray] = []
        self.true: list[np.ndarray] = []
        self._rows: list[tuple] = []

    def _on_training_start(self) -> None:
        if not isinstance(self.model, OnPolicyAlgorithm):
            raise ValueError(
                f"RelabelRewards rewrites an on-policy rollout buffer (PPO, A2C). Got {type(self.model).__name__}."
            )

    def _on_rollout_start(self) -> None:
        self._rows = []

    def _on_step(self) -> bool:
        if self.error is not None:
            return False
        rewards, dones, infos = self.locals["rewards"], self.locals["dones"], self.locals["infos"]
        nxt = np.array(self.locals["new_obs"], dtype=np.float64, copy=True)  # (N, D): the state reached
        for i, done in enumerate(dones):
            if done and infos[i].get("terminal_observation") is not None:
                nxt[i] = infos[i]["terminal_observation"]
        succ = np.array([bool(inf.get("is_success", False)) for inf in infos])
        prev = np.array(self.model._last_obs, dtype=np.float64, copy=True)  # (N, D): SB3 updates it after callbacks
        self._rows.append((nxt, np.array(self.locals["clipped_actions"], dtype=np.float64), succ, rewards.copy(), prev))
        if self.program is not None:
            rewards[:] = 0.0  # in place: SB3 stores this (+ its time-limit bootstrap); we add ours at rollout end
        return True

    def _on_rollout_end(self) -> None:
        obs = np.stack([r[0] for r in self._rows])  # (T, N, D)
        T, N, D = obs.shape
        true = np.stack([r[3] for r in self._rows]).reshape(T * N)  # (T*N,)
        terms = {}
        if self.program is not None and self.inputs_fn is not None:
            acts = np.stack([r[1] for r in self._rows])  # (T, N, A)
            batch = self.inputs_fn(
                obs.reshape(T * N, D),
                acts.reshape(T * N, -1),  # (T*N, D), (T*N, A)
                np.stack([r[2] for r in self._rows]).reshape(T * N),  # (T*N,)
                np.stack([r[4] for r in self._rows]).reshape(T * N, D),
            )  # (T*N, D)
            try:
                out = self.program(**batch)
            except RewardCodeError as err:
                self.error = err
                return
            assert isinstance(self.model, OnPolicyAlgorithm)  # checked when training started
            buf = self.model.rollout_buffer
            buf.rewards += out.reward.reshape(T, N).astype(buf.rewards.dtype)  # (T, N)
            buf.compute_returns_and_advantage(last_values=self.locals["values"], dones=self.locals["dones"])
            total, terms = out.reward, out.terms
            self.designed.append(total)
        else:
            total = true
        self.true.append(true)
        self.history["steps"].append(int(self.num_timesteps))
        for name, vals in {"total": total, **terms}.items():
            self.history.setdefault(name, []).append(float(np.mean(vals)))
        eps = self.model.ep_info_buffer
        self.history["episode_length"].append(float(np.mean([e["l"] for e in eps])) if eps else float(T))
