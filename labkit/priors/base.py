"""The prior runner: one frozen chunk policy driving many vectorised envs, one batched call per step.

A labkit ``ChunkPolicy`` (``DiffusionPolicy``, ``GaussianBCPolicy``) conditions on the last To
observations and returns a chunk of actions, of which Ta are executed before it plans again. With
``n_envs`` envs that reset at different times the chunks run out at different steps, so the runner
keeps, per env, the observation history and a queue of the current chunk's remaining actions::

    obs (n_envs, obs_dim) --observe/reset--> history (n_envs, To, obs_dim)
                                                 |  rows whose queue is empty (B' <= n_envs)
                                                 v
                          prior.sample_actions(history[rows], noise | generator)   <- ONE call
                                                 |  chunk (B', H, A) -> executable (B', Ta, A)
                                                 v
    next_action() (n_envs, A) <--pop-- queue (n_envs, Ta, A), cursor (n_envs,)

Episodes end at different steps, so left alone the envs' chunks would run out at different steps
and the prior would be called almost every step for a few rows at a time (``benchmarks/prior_calls.py``,
8 envs on TwoRoutesBlocked: 0.90 calls per vec step unaligned, 0.33 aligned, against 1 / Ta = 0.25
with no resets; a call costs about the same for 1 row or 8). With
``align=True`` (default) an env that starts a new episode while the others are mid-chunk executes
only the part of its first chunk that brings it in step with them, so all envs plan together again.

``check_prior`` validates a prior against an env at wrap time and raises ``PriorMismatchError`` (a
``ValueError``) with one line that says what to do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from labkit.diffusion import ChunkPolicy, DiffusionPolicy

__all__ = ["PriorMismatchError", "PriorRunner", "check_prior", "evaluate_vec"]


class PriorMismatchError(ValueError):
    """A prior that does not fit the env it is plugged into (another task, other sizes)."""


def check_prior(
    prior: Any, env_id: str | None, obs_dim: int, action_dim: int, *, check_env_id: bool = True
) -> ChunkPolicy:
    """Check that ``prior`` is a labkit ``ChunkPolicy`` made for this env; return it.

    The prior's env id is ``prior.env_id`` (set by ``train_prior``/``load_prior``), if any.

    :param env_id: the env's id (``env.spec.id``), or None if unknown (then not compared).
    :param obs_dim: size of the env's observation vector.
    :param action_dim: size of the env's action vector.
    :param check_env_id: False to plug a prior into another env on purpose (e.g. adapting a
        TwoRoutes prior to TwoRoutesShifted with residual RL).
    :raises PriorMismatchError: with a one-line message saying what to do.
    """
    if not isinstance(prior, ChunkPolicy):
        raise PriorMismatchError(
            f"The prior must be a labkit ChunkPolicy (DiffusionPolicy or GaussianBCPolicy), e.g. from "
            f"labkit.priors.train_prior or load_prior. Got {type(prior).__name__}."
        )
    cfg, prior_env = prior.config, getattr(prior, "env_id", None)
    if check_env_id and prior_env is not None and env_id is not None and prior_env != env_id:
        raise PriorMismatchError(
            f"The prior was trained for {prior_env!r} but the env is {env_id!r}: use a prior trained for "
            f"{env_id!r}, or pass check_env_id=False to adapt it on purpose."
        )
    if cfg.obs_dim != obs_dim:
        raise PriorMismatchError(
            f"The prior expects observations of size {cfg.obs_dim} but the env gives {obs_dim}: "
            "train the prior on data from this env."
        )
    if cfg.action_dim != action_dim:
        raise PriorMismatchError(
            f"The prior outputs actions of size {cfg.action_dim} but the env takes {action_dim}: "
            "train the prior on data from this env."
        )
    return prior


class PriorRunner:
    """Observation histories and action-chunk queues for ``n_envs`` envs sharing one frozen prior.

    :param prior: a labkit ``ChunkPolicy`` (put in eval mode; its weights are never changed here).
    :param n_envs: number of envs (rows).
    :param n_action_steps: actions executed per chunk (default: the prior's Ta; 1 = replan every step).
    :param sampler: "ddpm" or "ddim" for a ``DiffusionPolicy`` (default: the prior's config).
    :param num_inference_steps: denoising steps K (default: the prior's config). Few DDIM steps
        (e.g. 10) keep the prior cheap enough to sit inside an RL loop.
    :param seed: seeds the runner's ``torch.Generator`` (all of the prior's random draws).
    :param align: keep all envs' chunks in step (see the module docstring). An env that joins
        mid-chunk executes the first ``Ta - k`` actions of its new chunk (``k`` = the others' position).
    """

    def __init__(
        self,
        prior: ChunkPolicy,
        n_envs: int,
        *,
        n_action_steps: int | None = None,
        sampler: str | None = None,
        num_inference_steps: int | None = None,
        seed: int = 0,
        align: bool = True,
    ) -> None:
        cfg = prior.config
        self.align = bool(align)
        self.prior = prior.eval()
        self.n_envs, self.n_obs, self.action_dim = int(n_envs), cfg.n_obs_steps, cfg.action_dim
        self.n_action_steps = int(n_action_steps or cfg.n_action_steps)
        if not 1 <= self.n_action_steps <= cfg.n_action_steps:
            raise ValueError(f"n_action_steps must be in [1, {cfg.n_action_steps}] (the prior's Ta). Got {n_action_steps}.")
        self.sample_kwargs: dict[str, Any] = {}
        if isinstance(prior, DiffusionPolicy):
            self.sample_kwargs = {"sampler": sampler or cfg.sampler, "num_inference_steps": num_inference_steps}
        self.generator = torch.Generator().manual_seed(seed)
        self.history = np.zeros((self.n_envs, self.n_obs, cfg.obs_dim), np.float32)  # (n_envs, To, obs_dim)
        self.queue = np.zeros((self.n_envs, self.n_action_steps, self.action_dim), np.float32)  # (n_envs, Ta, A)
        self.cursor = np.full(self.n_envs, self.n_action_steps)  # (n_envs,) next queue index; Ta = empty
        self.n_calls = 0  # number of prior calls (for measuring cost)

    @property
    def chunk_shape(self) -> tuple[int, int]:
        """(H, A): the shape of one chunk of noise / actions."""
        return self.prior.config.horizon, self.action_dim

    def reset(self, obs: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Start new episodes in ``rows`` (default all): history = the first obs repeated, queue emptied."""
        rows = np.arange(self.n_envs) if rows is None else np.asarray(rows)
        self.history[rows] = np.asarray(obs, np.float32)[rows, None, :]  # (R, 1, obs_dim) -> (R, To, obs_dim)
        self.cursor[rows] = self.n_action_steps

    def observe(self, obs: np.ndarray, dones: np.ndarray | None = None) -> None:
        """Append one step's obs (n_envs, obs_dim); rows with ``dones`` start a new episode with it."""
        self.history = np.roll(self.history, -1, axis=1)  # drop the oldest of To
        self.history[:, -1] = obs
        if dones is not None and np.any(dones):
            self.reset(obs, np.flatnonzero(dones))

    def sample(self, history: np.ndarray, noise: torch.Tensor | None = None) -> np.ndarray:
        """One batched prior call: history (B, To, obs_dim) [, noise (B, H, A)] -> executable (B, Ta, A)."""
        obs = torch.as_tensor(history, dtype=torch.float32)
        chunk = self.prior.sample_actions(obs, generator=self.generator, noise=noise, **self.sample_kwargs)  # (B, H, A)
        self.n_calls += 1
        start = self.n_obs - 1  # chunk index To - 1 is "now"
        return chunk[:, start : start + self.n_action_steps].cpu().numpy()  # (B, Ta, A)

    def next_action(self) -> np.ndarray:
        """The prior's action for every env now (n_envs, A); plans (one call) for envs whose queue is empty."""
        empty = self.cursor >= self.n_action_steps
        rows = np.flatnonzero(empty)
        if len(rows):
            chunk = self.sample(self.history[rows])  # (R, Ta, A)
            k = int(self.cursor[~empty].max()) if self.align and not empty.all() else 0  # the others' position
            # Place the chunk so that it runs out together with the others' chunks: its first Ta - k actions.
            self.queue[rows, k:] = chunk[:, : self.n_action_steps - k]
            self.cursor[rows] = k
        action = self.queue[np.arange(self.n_envs), self.cursor]  # (n_envs, A)
        self.cursor += 1
        return action

    def peek_after(self, rows: np.ndarray, last_obs: np.ndarray) -> np.ndarray:
        """What the prior would do next in ``rows`` had their episodes gone on after ``last_obs`` (R, obs_dim).

        Used for truncated episodes, whose final observation the agent's critic bootstraps from. The
        queues are untouched: a row with actions left returns its next one; the others plan (one call).
        """
        out = np.zeros((len(rows), self.action_dim), np.float32)  # (R, A)
        left = self.cursor[rows] < self.n_action_steps
        out[left] = self.queue[rows[left], self.cursor[rows[left]]]
        if (~left).any():
            hist = np.concatenate([self.history[rows[~left], 1:], last_obs[~left, None]], axis=1)  # (R', To, obs_dim)
            out[~left] = self.sample(hist)[:, 0]
        return out


def evaluate_vec(policy: Any, venv: Any, n_episodes: int = 20, deterministic: bool = True) -> dict[str, float]:
    """Run a wrapped vec env until ``n_episodes`` episodes end; return success rate and mean return.

    :param policy: an SB3 model (``predict``) or a callable ``obs (n, ...) -> actions (n, ...)``
        (e.g. ``lambda o: np.zeros((len(o), A))``: the zero residual, i.e. the prior alone).
    :param venv: e.g. a ``ResidualVecEnv`` or ``NoiseSpaceVecEnv`` (reset here; it should carry a
        ``Monitor`` per env for the returns, as the ``make_*_env`` helpers do).
    """
    act = (lambda o: policy.predict(o, deterministic=deterministic)[0]) if hasattr(policy, "predict") else policy
    obs, successes, returns = venv.reset(), [], []
    while len(successes) < n_episodes:
        obs, _, dones, infos = venv.step(act(obs))
        for i in np.flatnonzero(dones):
            successes.append(bool(infos[i].get("is_success", False)))
            returns.append(float(infos[i].get("episode", {}).get("r", np.nan)))
    return {"success_rate": float(np.mean(successes[:n_episodes])), "mean_return": float(np.nanmean(returns[:n_episodes]))}
