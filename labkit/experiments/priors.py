"""SB3 from scratch vs residual RL vs DSRL on one task, recorded against *environment* steps.

One call trains one (method, seed) and returns its success curve, so notebook 07 and
``benchmarks/priors_sample_efficiency.py`` measure exactly the same thing::

    task = TASKS["blocked"]                      # env, shipped prior and settings per method
    prior = task.load_prior()
    model, log = train_with_prior("dsrl", task.env_id, prior, env_steps=20_000, seed=0, **task.kwargs("dsrl"))
    log.curve("success_rate")            # (env steps, success); model is the trained SB3 agent
    lk.evaluate(model, task.env_id, 100) # the agent on the plain env (its wrapper deploys it)

The three methods (``METHODS``), all stock SB3 PPO with ``n_envs`` (default 8) vectorised envs and
the settings in ``PPO_DEFAULTS`` (overridden per task in ``TASKS``):

- ``"scratch"``: PPO on the plain env; the prior is not used.
- ``"residual"``: PPO on ``ResidualVecEnv``: executed = clip(prior + scale * half_range * residual).
- ``"dsrl"``: PPO on ``NoiseSpaceVecEnv``: the agent picks the prior's initial DDIM noise; one
  agent step executes a whole chunk of Ta env steps (so its ``gamma`` is 0.99 ** Ta).

The two tasks (``TASKS``):

- ``"blocked"``: ``labkit/TwoRoutesBlocked-v0`` with the shipped TwoRoutes prior. The world changed
  after the demonstrations (a barrier closes the right route, unseen in the observation) and the
  reward is 1 on success only: the prior succeeds about half the time, PPO from scratch must find the
  goal by chance.
- ``"pushblock"``: ``labkit/PushBlock-v0`` with the shipped PushBlock prior (~23% success): a prior
  whose failures are imprecise, long-horizon pushes; the hard case.

Evaluation (``labkit.TrainingMonitor`` with a ``VecEnv``) runs ``n`` copies of the agent's own wrapped
env side by side and keeps the *first* episode of each (taking the first ``n`` episodes to finish
would favour short ones, and successful episodes are short). Each evaluation reseeds the envs and
the prior's sampler, so every point of a curve sees the same start states and the same prior draws.
A DSRL agent step counts as the Ta env steps it executes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnv

from labkit.finetune.dsrl import NoiseSpaceVecEnv
from labkit.finetune.prior import monitored_vec_env
from labkit.finetune.residual import ResidualVecEnv
from labkit.policies.base import ChunkPolicy
from labkit.runtime import check_seed
from labkit.sb3 import TrainingMonitor, learn
from labkit.store import load
from labkit.train.log import TrainLog

__all__ = [
    "EVAL_DETERMINISTIC",
    "METHODS",
    "PPO_DEFAULTS",
    "TASKS",
    "PriorTask",
    "make_method_env",
    "run_method",
    "train_with_prior",
]

#: method name -> what the agent controls (for labels).
METHODS = {
    "scratch": "PPO from scratch",
    "residual": "residual PPO on the prior",
    "dsrl": "DSRL: PPO in the prior's noise space",
}


def make_method_env(
    method: str,
    env_id: str,
    prior: ChunkPolicy | None,
    n_envs: int,
    *,
    seed: int = 0,
    scale: float = 0.3,
    bound: float = 2.0,
    render: bool = False,
    check_env_id: bool = True,
) -> VecEnv:
    """The vec env the agent of ``method`` acts in: ``Monitor`` per env, seeded, prior wrapper on top.

    :param render: wrap each env in a ``FrameRecorder`` (``venv.get_attr("episodes")``), for videos.
    :param check_env_id: False to plug a prior trained on another env in on purpose.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}. Got {method!r}.")
    if method != "scratch" and prior is None:
        raise ValueError(f"method {method!r} needs a prior (labkit.load or labkit.behaviour_cloning).")

    chunk = prior.config.n_action_steps if method == "dsrl" and prior is not None else None  # a step = Ta env steps
    venv = monitored_vec_env(env_id, n_envs, seed=seed, frames=render, chunk=chunk)
    if method == "residual":
        assert prior is not None  # checked above
        return ResidualVecEnv(venv, prior, scale, seed=seed, check_env_id=check_env_id)
    if method == "dsrl":
        assert prior is not None  # checked above
        return NoiseSpaceVecEnv(venv, prior, bound, seed=seed, check_env_id=check_env_id)
    return venv


#: How each method is evaluated. A residual agent's mean action is the zero residual at the start (the
#: prior itself), so it is evaluated deterministically, like PPO from scratch. A DSRL agent's *mean*
#: noise x_T = 0 is not what the prior was trained to see; its stochastic policy (mean 0, std 1 at the
#: start) is exactly the prior's own sampling, x_T ~ N(0, I). So DSRL is evaluated stochastically.
EVAL_DETERMINISTIC = {"scratch": True, "residual": True, "dsrl": False}

#: PPO settings per method; overridable through ``ppo_kwargs``.
PPO_DEFAULTS: dict[str, dict[str, Any]] = {
    "scratch": dict(n_steps=256, batch_size=256, learning_rate=3e-4, gamma=0.99),
    "residual": dict(n_steps=256, batch_size=256, learning_rate=3e-4, gamma=0.99, policy_kwargs={"log_std_init": -1.0}),
    "dsrl": dict(n_steps=64, batch_size=128, learning_rate=3e-4, gamma=0.96, policy_kwargs={"log_std_init": 0.0}),
}


@dataclass(frozen=True)
class PriorTask:
    """A task to compare the methods on: the env, the shipped prior, and settings per method.

    :ivar settings: method -> keyword arguments: ``scale`` (residual), ``bound`` (DSRL) and PPO
        settings, which override ``PPO_DEFAULTS[method]``.
    :ivar check_env_id: False when the prior was trained on another env on purpose.
    """

    env_id: str
    prior: str
    env_steps: int
    settings: dict[str, dict[str, Any]]
    check_env_id: bool = True
    description: str = ""
    eval_every: int = 10_000

    def load_prior(self) -> ChunkPolicy:
        """The shipped prior (``labkit.load(self.prior)``)."""
        return load(self.prior)

    def kwargs(self, method: str) -> dict[str, Any]:
        """Keyword arguments of ``train_with_prior`` for ``method`` on this task."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {sorted(METHODS)}. Got {method!r}.")
        ppo = copy.deepcopy(self.settings.get(method, {}))  # callers may change what they get
        wrapper: dict[str, Any] = {k: ppo.pop(k) for k in ("scale", "bound") if k in ppo}
        return {**wrapper, "ppo_kwargs": ppo, "check_env_id": self.check_env_id}


#: The tasks of notebook 07 and ``benchmarks/priors_sample_efficiency.py``. The "blocked" settings
#: were chosen by a small search (2 seeds, 20-30k env steps) among n_steps 32-256, learning rates
#: 3e-4/1e-3 and residual scales 0.3-1.0: short rollouts (frequent updates) matter most with a sparse
#: reward, so PPO from scratch gets the same n_steps and batch size as residual PPO.
TASKS: dict[str, PriorTask] = {
    "blocked": PriorTask(
        "labkit/TwoRoutesBlocked-v0",
        "two_routes_prior",
        100_000,
        {
            "scratch": dict(n_steps=32, batch_size=128),  # the same rollouts and updates as residual PPO
            "residual": dict(scale=1.0, n_steps=32, batch_size=128, policy_kwargs={"log_std_init": -1.5}),
            "dsrl": dict(n_steps=32, batch_size=128, learning_rate=1e-3),
        },
        check_env_id=False,
        description="TwoRoutes prior in a changed world: the right route closed, reward 1 on success only",
        eval_every=2_000,
    ),
    "pushblock": PriorTask(
        "labkit/PushBlock-v0",
        "push_block_prior",
        50_000,
        {},
        description="PushBlock prior (~23% success): precise, contact-rich pushing",
    ),
}


def train_with_prior(
    method: str,
    env_id: str,
    prior: ChunkPolicy | None,
    env_steps: int,
    *,
    seed: int = 0,
    n_envs: int = 8,
    eval_every: int = 4_000,
    n_eval_episodes: int = 20,
    scale: float = 0.3,
    bound: float = 2.0,
    progress: bool = True,
    ppo_kwargs: dict[str, Any] | None = None,
    check_env_id: bool = True,
    callback: Any = None,
) -> tuple[PPO, TrainLog]:
    """Train one PPO agent of ``method`` for ``env_steps`` environment steps.

    :param method: ``"scratch"``, ``"residual"`` or ``"dsrl"`` (see the module docstring).
    :param prior: the frozen prior (ignored by ``"scratch"``).
    :param env_steps: budget in environment steps (a DSRL agent step counts as the Ta it executes).
    :param eval_every: environment steps between evaluations.
    :param n_eval_episodes: evaluation episodes (one per evaluation env; start states fixed per seed).
    :param scale: residual scale (``"residual"``); ``bound``: noise bound (``"dsrl"``).
    :param ppo_kwargs: override ``PPO_DEFAULTS[method]``.
    :param check_env_id: False to adapt a prior trained on another env (e.g. TwoRoutes -> TwoRoutesBlocked).
    :return: ``(model, log)``: the trained SB3 agent (``model.get_env()`` is its wrapped env) and a
        ``TrainLog`` whose history rows are the evaluations (``log.curve("success_rate")``).
    """
    check_seed(seed)
    kw: dict[str, Any] = dict(scale=scale, bound=bound, check_env_id=check_env_id)
    venv = make_method_env(method, env_id, prior, n_envs, seed=seed, **kw)
    eval_env = make_method_env(method, env_id, prior, n_eval_episodes, seed=10_000 + seed, **kw)
    kwargs = {**PPO_DEFAULTS[method], **(ppo_kwargs or {})}
    model = PPO("MlpPolicy", venv, seed=seed, verbose=0, **kwargs)
    monitor = TrainingMonitor(
        eval_env,
        eval_every,
        total_env_steps=env_steps,
        eval_seed=10_000 + seed,
        deterministic=EVAL_DETERMINISTIC[method],
        progress=progress,
        desc=f"{method} seed {seed}",
    )
    learn(model, env_steps, monitor if callback is None else [monitor, callback])
    monitor.log.meta.update(method=method, seed=seed)
    return model, monitor.log


def run_method(
    seed: int,
    method: str,
    task: str = "blocked",
    budget: int | None = None,
    eval_every: int | None = None,
    n_eval_episodes: int = 20,
    threshold: float = 0.9,
) -> dict[str, Any]:
    """One sweep trial (``labkit.sweep.run``): ``method`` on ``TASKS[task]`` for one seed; JSON-friendly metrics.

    Keys: ``start_success``, ``final_success``, ``best_success``, ``steps_to_threshold`` (None if never),
    ``env_steps_to_threshold`` (the budget for a seed that never got there), ``train_seconds`` and the
    curve ``steps`` / ``success``.

    :param budget: environment steps (default: the task's ``env_steps``).
    """
    spec = TASKS[task]
    budget = budget or spec.env_steps
    _, log = train_with_prior(
        method,
        spec.env_id,
        spec.load_prior(),
        budget,
        seed=seed,
        eval_every=eval_every or spec.eval_every,
        n_eval_episodes=n_eval_episodes,
        progress=False,
        **spec.kwargs(method),
    )
    xs, ys = log.curve("success_rate")
    out = log.summary("success_rate", threshold)
    reached = out["steps_to_threshold"]
    return {**out, "env_steps_to_threshold": budget if reached is None else reached, "steps": xs, "success": ys}
