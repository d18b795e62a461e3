"""A library of RL-trained primitives with value functions: the "can" of SayCan (taxonomy B1's primitives).

One SB3 PPO agent is trained on ``labkit/TwoRoutesSkills-v0`` with the skill as a one-hot input, so one
network holds every primitive and each primitive has its own value ``V(s, skill)``. Because the skill
reward is a success bonus plus potential-based shaping with ``Phi = 0`` at termination, the critic's value
converts exactly to a discounted success probability::

    V_shaped(s, k) = V_success(s, k) - Phi_k(s)    =>    affordance_k(s) = clip(V_shaped(s, k) + Phi_k(s), 0, 1)

(:meth:`SkillLibrary.affordances`). :meth:`SkillLibrary.run_skill` executes one primitive in a running
episode. A library is saved as a plain torch file (config + policy weights), so the same training run
always writes the same bytes.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv

from labkit import envs
from labkit.envs.skill_marks import SKILLS
from labkit.io import atomic_write
from labkit.sb3 import TrainingMonitor, learn
from labkit.train.log import TrainLog

__all__ = ["SkillLibrary", "SkillLibraryConfig", "train_skill_library"]

FORMAT = "labkit-skill-library"


@dataclass
class SkillLibraryConfig:
    """PPO settings of the skill library.

    :param total_steps: environment steps of PPO (all skills together).
    :param n_envs: parallel envs (DummyVecEnv). :param n_steps: rollout steps per env.
    :param budget: steps per skill. :param gamma: discount (also the shaping's).
    :param hidden: policy and value MLP width (two layers each).
    """

    total_steps: int = 500_000
    n_envs: int = 8
    n_steps: int = 128
    batch_size: int = 256
    n_epochs: int = 10
    learning_rate: float = 3e-4
    gamma: float = 0.99
    budget: int = 40
    hidden: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.total_steps, self.n_envs, self.budget, self.hidden, self.batch_size, self.n_epochs) < 1:
            raise ValueError(f"SkillLibraryConfig sizes must be >= 1. Got {self}.")
        if self.n_steps < 2 or not 0 < self.gamma <= 1:
            raise ValueError(f"need n_steps >= 2 and 0 < gamma <= 1. Got {self.n_steps}, {self.gamma}.")


def _ppo(config: SkillLibraryConfig, venv) -> PPO:
    c = config
    return PPO(
        "MlpPolicy",
        venv,
        n_steps=c.n_steps,
        batch_size=c.batch_size,
        n_epochs=c.n_epochs,
        learning_rate=c.learning_rate,
        gamma=c.gamma,
        gae_lambda=0.95,
        seed=c.seed,
        device="cpu",
        policy_kwargs=dict(net_arch=dict(pi=[c.hidden, c.hidden], vf=[c.hidden, c.hidden])),
        verbose=0,
    )


class SkillLibrary:
    """The primitives (:data:`SKILLS`) of one PPO agent, with their affordances.

    :param model: a trained SB3 PPO on ``TwoRoutesSkillsEnv`` observations.
    :param config: the settings it was trained with.
    :param log: the training run (``seconds``, ``interrupted``), if it was trained in this process.
    """

    def __init__(self, model: PPO, config: SkillLibraryConfig, log: TrainLog | None = None) -> None:
        self.model, self.config, self.log = model, config, log
        self.skills = SKILLS

    def make_env(self, **kwargs: Any) -> envs.TwoRoutesSkillsEnv:
        """A skills env with this library's budget and discount."""
        return envs.TwoRoutesSkillsEnv(budget=self.config.budget, gamma=self.config.gamma, **kwargs)

    def values(self, obs: np.ndarray) -> np.ndarray:
        """The critic's V_shaped of observations (N, obs_dim) -> (N,)."""
        with torch.no_grad():
            t = torch.as_tensor(np.asarray(obs, np.float32))
            return self.model.policy.predict_values(t).squeeze(-1).numpy()

    def affordances(self, env: envs.TwoRoutesSkillsEnv) -> np.ndarray:
        """Discounted success probability (K,) of starting each skill from ``env``'s current state."""
        obs = np.stack([env.observation_for(k) for k in self.skills])  # (K, obs_dim)
        phi = np.array([env.potential_for(k) for k in self.skills])  # (K,)
        return np.clip(self.values(obs) + phi, 0.0, 1.0)

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        return self.model.predict(obs, deterministic=deterministic)[0]

    def run_skill(
        self, env: envs.TwoRoutesSkillsEnv, skill: str, deterministic: bool = True, record: bool = False
    ) -> dict:
        """Execute ``skill`` in ``env`` (the physics continues) until success or its budget runs out.

        :return: ``{"success", "steps", "positions" (T + 1, 2), "frames"}`` (frames if ``record``).
        """
        obs = env.begin_skill(skill)
        positions, frames, info = [env.position], [], {"is_success": False}
        for _ in range(env.budget):
            obs, _, terminated, _, info = env.step(self.act(obs, deterministic))
            positions.append(env.position)
            if record:
                frames.append(env.render())
            if terminated:
                break
        return {
            "success": bool(info["is_success"]),
            "steps": len(positions) - 1,
            "positions": np.asarray(positions),
            "frames": frames,
        }

    def state(self) -> dict:
        """Config and policy weights: what :meth:`save` writes (no timings, so a remake is bit for bit)."""
        return {"format": FORMAT, "config": asdict(self.config), "policy": self.model.policy.state_dict()}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the library to ``path`` (a ``.pt`` file), atomically."""
        state = self.state()
        return atomic_write(Path(path), lambda f: torch.save(state, f))

    @classmethod
    def load(cls, path: str | os.PathLike, *, hint: str = "") -> SkillLibrary:
        """Load a library written by :meth:`save`; a missing or foreign file fails with what to do."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no skill library at {path}; {hint or 'train one with train_skill_library()'}")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"{path} is not a labkit skill library (format {FORMAT!r}). {hint}")
        config = SkillLibraryConfig(**state["config"])
        with warnings.catch_warnings():  # SB3 asks for batch_size | n_steps * n_envs; no training happens here
            warnings.simplefilter("ignore", UserWarning)
            model = _ppo(
                config, DummyVecEnv([lambda: envs.TwoRoutesSkillsEnv(budget=config.budget, gamma=config.gamma)])
            )
        model.policy.load_state_dict(state["policy"])
        model.policy.set_training_mode(False)
        return cls(model, config)


def train_skill_library(config: SkillLibraryConfig | None = None, progress: bool = True) -> SkillLibrary:
    """Train the library with PPO (random skill, barrier and start per episode). Ctrl-C keeps what was learned."""
    c = config or SkillLibraryConfig()
    venv = make_vec_env(lambda: envs.TwoRoutesSkillsEnv(budget=c.budget, gamma=c.gamma), n_envs=c.n_envs, seed=c.seed)
    model = _ppo(c, venv)
    monitor = TrainingMonitor(eval_env=None, progress=progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        learn(model, c.total_steps, monitor)
    venv.close()
    monitor.log.meta.update(method="skill library (PPO)", seed=c.seed)
    return SkillLibrary(model, c, monitor.log)
