"""THE executor of chunk policies: per-env observation histories and action queues, one batched call.

A chunk policy conditions on the last To observations and returns Ta actions to execute before it
plans again. With ``n_envs`` envs whose episodes start and end at different steps, the runner keeps,
per env, the observation history and a queue of the current chunk's remaining actions::

    obs (n, D) --reset/observe/push--> ObsHistory (n, To, D)
                                             |  rows whose queue is empty (R <= n)
                                             v
                policy.predict_action(history[rows], generator, noise, ...)   <- ONE call
                                             |  (R, Ta, A), of which the first n_action_steps
                                             v
    next_action() (n, A) <--pop-- queue (n, Ta, A), cursor (n,)

Chunk index To - 1 is "now": the first executed action is the one aligned with the newest
observation (see ``DiffusionPolicy``'s timeline). Everything that runs a chunk policy uses this class:
``labkit.evaluate`` (with an ``active`` mask for finished rows), the residual-RL and DSRL SB3 wrappers,
sample-and-select, DPPO (through :class:`ObsHistory`).

**Alignment.** Episodes end at different steps, so left alone the envs' chunks would run out at
different steps and the policy would be called almost every step for a few rows at a time
(``benchmarks/prior_calls.py``: 8 envs on TwoRoutesBlocked, 0.90 calls per vec step unaligned, 0.33
aligned, against 1 / Ta = 0.25 with no resets; a call costs about the same for 1 row or 8). With
``align=True`` an env that starts a new episode while the others are mid-chunk executes only the
part of its first chunk that brings it in step with them, so all envs plan together again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from labkit.policies.base import ChunkPolicy
from labkit.runtime import check_int

__all__ = ["ChunkRunner", "ObsHistory"]


class ObsHistory:
    """The last To observations of ``n`` envs, ``data`` (n, To, D); a new episode repeats its first obs.

    :param n: number of envs (rows); ``n_obs_steps``: To; ``obs_dim``: D.
    """

    def __init__(self, n: int, n_obs_steps: int, obs_dim: int) -> None:
        self.n, self.n_obs = check_int("n_envs", n), check_int("n_obs_steps", n_obs_steps)
        self.data = np.zeros((self.n, self.n_obs, check_int("obs_dim", obs_dim)), np.float32)  # (n, To, D)

    def reset(self, obs: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Start new episodes in ``rows`` (default all) with ``obs`` (n, D): the first obs repeated To times."""
        rows = np.arange(self.n) if rows is None else np.asarray(rows, dtype=int)
        self.data[rows] = np.asarray(obs, np.float32)[rows, None, :]  # (R, 1, D) -> (R, To, D)

    def push(self, obs: np.ndarray, rows: np.ndarray | Sequence[int] | None = None) -> None:
        """Append one observation per row: ``obs`` (n, D) for all rows, or (R, D) for ``rows``."""
        obs = np.asarray(obs, np.float32)
        if rows is None:
            self.data = np.roll(self.data, -1, axis=1)  # drop the oldest of To
            self.data[:, -1] = obs
        else:
            rows = np.asarray(rows, dtype=int)
            self.data[rows] = np.concatenate([self.data[rows, 1:], obs[:, None]], axis=1)  # (R, To, D)

    def observe(self, obs: np.ndarray, dones: np.ndarray | None = None) -> None:
        """One vec-env step: push ``obs`` (n, D); rows with ``dones`` start a new episode with it (SB3's
        auto-reset convention: a done row's obs is already the next episode's first)."""
        self.push(obs)
        if dones is not None and np.any(dones):
            self.reset(obs, np.flatnonzero(dones))

    def after(self, rows: np.ndarray, last_obs: np.ndarray) -> np.ndarray:
        """The histories of ``rows`` had ``last_obs`` (R, D) been appended: (R, To, D); nothing changes."""
        rows = np.asarray(rows, dtype=int)
        return np.concatenate([self.data[rows, 1:], np.asarray(last_obs, np.float32)[:, None]], axis=1)


class ChunkRunner:
    """Runs one frozen chunk policy in ``n_envs`` envs: histories, queues, one batched call per plan.

    :param policy: anything with ``config`` and ``predict_action`` (:class:`~labkit.policies.base.ChunkPolicy`).
    :param n_envs: number of envs (rows).
    :param n_action_steps: actions executed per chunk (default: the policy's Ta; 1 = replan every step).
    :param generator: the ``torch.Generator`` for all of the policy's random draws (default: a new
        one seeded with ``seed``).
    :param seed: seeds the default generator.
    :param align: keep all envs' chunks in step (see the module docstring).
    :param predict_kwargs: passed to every ``predict_action`` call (``sampler``, ``num_inference_steps``,
        ``deterministic`` ...).
    """

    def __init__(
        self,
        policy: ChunkPolicy,
        n_envs: int,
        *,
        n_action_steps: int | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
        align: bool = False,
        **predict_kwargs: Any,
    ) -> None:
        if not isinstance(policy, ChunkPolicy):
            raise TypeError(f"ChunkRunner needs a chunk policy (config + predict_action). Got {type(policy).__name__}.")
        cfg = policy.config
        self.policy, self.align, self.predict_kwargs = policy, bool(align), predict_kwargs
        if isinstance(policy, torch.nn.Module):
            policy.eval()
        self.n_envs, self.n_obs, self.action_dim = check_int("n_envs", n_envs), cfg.n_obs_steps, cfg.action_dim
        self.n_action_steps = (
            cfg.n_action_steps if n_action_steps is None else check_int("n_action_steps", n_action_steps)
        )
        if self.n_action_steps > cfg.n_action_steps:
            raise ValueError(
                f"n_action_steps must be in [1, {cfg.n_action_steps}] (the policy's Ta). Got {n_action_steps}."
            )
        self.generator = generator if generator is not None else torch.Generator().manual_seed(seed)
        self.history = ObsHistory(self.n_envs, cfg.n_obs_steps, cfg.obs_dim)
        self.queue = np.zeros((self.n_envs, self.n_action_steps, self.action_dim), np.float32)  # (n, Ta, A)
        self.cursor = np.full(self.n_envs, self.n_action_steps)  # (n,) next queue index; Ta = empty
        self.n_calls = 0  # number of policy calls (for measuring cost)

    @property
    def chunk_shape(self) -> tuple[int, int]:
        """(H, A): the shape of one chunk of noise / actions."""
        return self.policy.config.horizon, self.action_dim

    # --- observations ---------------------------------------------------------------------------
    def reset(self, obs: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Start new episodes in ``rows`` (default all): history = the first obs repeated, queue emptied."""
        rows = np.arange(self.n_envs) if rows is None else np.asarray(rows, dtype=int)
        self.history.reset(obs, rows)
        self.cursor[rows] = self.n_action_steps

    def start(self, row: int, obs: np.ndarray) -> None:
        """Start a new episode in one ``row`` with its first observation ``obs`` (D,)."""
        self.history.data[row] = np.asarray(obs, np.float32)[None]  # (1, D) -> (To, D)
        self.cursor[row] = self.n_action_steps

    def observe_active(self, obs: np.ndarray, active: np.ndarray) -> None:
        """Append this step's obs (n, D) to the rows that are ``active`` (n,) (``labkit.evaluate``'s lockstep)."""
        rows = np.flatnonzero(active)
        self.history.push(np.asarray(obs)[rows], rows)

    def observe(self, obs: np.ndarray, dones: np.ndarray | None = None) -> None:
        """Append one vec-env step's obs (n, D); rows with ``dones`` start a new episode with it."""
        self.history.push(obs)
        if dones is not None and np.any(dones):
            self.reset(obs, np.flatnonzero(dones))

    # --- actions --------------------------------------------------------------------------------
    def plan(self, history: np.ndarray, noise: torch.Tensor | None = None) -> np.ndarray:
        """One batched policy call: history (B, To, D) [, noise (B, H, A)] -> executable (B, n_action_steps, A)."""
        obs = torch.as_tensor(history, dtype=torch.float32)
        kwargs = dict(self.predict_kwargs, generator=self.generator)
        if noise is not None:
            kwargs["noise"] = noise
        with torch.no_grad():
            actions = self.policy.predict_action(obs, **kwargs)  # (B, Ta, A)
        self.n_calls += 1
        return actions[:, : self.n_action_steps].cpu().numpy()  # (B, n_action_steps, A)

    def next_action(
        self, active: np.ndarray | None = None, noise_fn: Callable[[np.ndarray], torch.Tensor] | None = None
    ) -> np.ndarray:
        """The policy's action in every env now (n, A); plans (one call) for rows whose queue is empty.

        :param active: (n,) bool; inactive rows neither plan nor advance (their action is zero).
        :param noise_fn: ``rows -> noise (R, H, A)`` for the rows that plan (DSRL: the agent picks it).
        """
        active = np.ones(self.n_envs, bool) if active is None else np.asarray(active, bool)
        empty = self.cursor >= self.n_action_steps
        rows = np.flatnonzero(empty & active)
        if len(rows):
            noise = noise_fn(rows) if noise_fn is not None else None
            chunk = self.plan(self.history.data[rows], noise)  # (R, Ta, A)
            running = ~empty & active
            k = int(self.cursor[running].max()) if self.align and running.any() else 0  # the others' position
            # Place the chunk so that it runs out together with the others' chunks: its first Ta - k actions.
            self.queue[rows, k:] = chunk[:, : self.n_action_steps - k]
            self.cursor[rows] = k
        action = np.zeros((self.n_envs, self.action_dim), np.float32)  # (n, A)
        idx = np.flatnonzero(active)
        action[idx] = self.queue[idx, self.cursor[idx]]
        self.cursor[idx] += 1
        return action

    def peek_after(self, rows: np.ndarray, last_obs: np.ndarray) -> np.ndarray:
        """What the policy would do next in ``rows`` had their episodes gone on after ``last_obs`` (R, D).

        Used for truncated episodes, whose final observation the agent's critic bootstraps from. The
        queues are untouched: a row with actions left returns its next one; the others plan (one call).
        """
        rows = np.asarray(rows, dtype=int)
        out = np.zeros((len(rows), self.action_dim), np.float32)  # (R, A)
        left = self.cursor[rows] < self.n_action_steps
        out[left] = self.queue[rows[left], self.cursor[rows[left]]]
        if (~left).any():
            out[~left] = self.plan(self.history.after(rows[~left], last_obs[~left]))[:, 0]
        return out
