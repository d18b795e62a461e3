"""Shared fixtures: one tiny demonstration set, one tiny-policy factory, the shipped priors, a toy task.

Everything session-scoped is built once per run and must not be changed by a test: train a policy
made by ``tiny_policy`` (a fresh one per call), never ``shipped_prior`` (``copy.deepcopy`` it first).

- ``tiny_demos``: six ``TwoRoutesExpert`` episodes on ``labkit/TwoRoutes-v0`` (``lk.collect``);
- ``tiny_policy(kind, obs_dim=3, action_dim=2, preset="prior", **overrides)``: a small, untrained
  policy (narrow networks) with fitted normalisers, the same weights for the same arguments;
- ``shipped_prior`` / ``push_prior``: ``lk.load("two_routes_prior")`` / ``lk.load("push_block_prior")``;
- ``point_line`` / ``point_line_demos``: a 1-D toy task with routes, and eight episodes of it.
"""

from __future__ import annotations

from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch

import labkit as lk

TWO_ROUTES = "labkit/TwoRoutes-v0"


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and threads thrash on a busy 2-core machine
    (``import labkit`` already sets one thread; kept explicit here)."""
    torch.set_num_threads(1)


# --------------------------------------------------------------------------------------------------
# labkit data and policies


@pytest.fixture(scope="session")
def tiny_demos() -> lk.EpisodeDataset:
    """Six TwoRoutes expert episodes (seeds 0..5), both routes; ~300 steps."""
    return lk.collect(
        lk.experts.TwoRoutesExpert(),
        TWO_ROUTES,
        6,
        seed=0,
        expert_name="TwoRoutesExpert()",
        created_with="tests/conftest.py tiny_demos",
        progress=False,
    )


_SMALL = {"diffusion": dict(mlp_hidden_dim=32, mlp_n_layers=2), "gaussian": dict(hidden_dim=32, n_layers=2)}


@pytest.fixture(scope="session")
def tiny_policy():
    """Factory: ``tiny_policy(kind="diffusion", obs_dim=3, action_dim=2, *, preset="prior", seed=0, fit=True,
    **overrides)`` -> a fresh untrained policy (eval mode).

    Preset ``"prior"``: To = 2, H = 8, Ta = 4 (diffusion: 100 training timesteps, 10 DDIM steps); networks
    32 wide and 2 deep unless overridden. ``fit`` fits the normalisers on seeded random data (observations
    N(0, 1), actions uniform in [-1, 1]); ``seed`` fixes the initial weights.
    """

    def make(
        kind: str = "diffusion",
        obs_dim: int = 3,
        action_dim: int = 2,
        *,
        preset: str = "prior",
        seed: int = 0,
        fit: bool = True,
        **overrides,
    ):
        torch.manual_seed(seed)
        policy = lk.make_policy(kind, obs_dim, action_dim, preset=preset, **{**_SMALL[kind], **overrides})
        if fit:
            g = torch.Generator().manual_seed(seed)
            policy.fit_normalizers(
                torch.randn(64, obs_dim, generator=g), torch.rand(64, action_dim, generator=g) * 2 - 1
            )
        return policy.eval()

    return make


@pytest.fixture(scope="session")
def shipped_prior():
    """The shipped TwoRoutes diffusion prior (preset "prior", DDIM 10): read-only, do not train it."""
    return lk.load("two_routes_prior")


@pytest.fixture(scope="session")
def push_prior():
    """The shipped PushBlock diffusion prior (~23% success): read-only."""
    return lk.load("push_block_prior")


# --------------------------------------------------------------------------------------------------
# a toy task for the data tests


class PointLine(gym.Env):
    """A 1-D point starting near 0 that must reach +1 (route "right") or -1 (route "left").

    obs = [x, t / max_steps]; action in [-1, 1] moves x by 0.3 * action.
    """

    metadata = {"render_modes": []}

    def __init__(self, max_steps: int = 12):
        self.max_steps = max_steps
        self.observation_space = gym.spaces.Box(-2.0, 2.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def _obs(self):
        return np.array([self.x, self.t / self.max_steps], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(-0.1, 0.1))
        self.t = 0
        return self._obs(), {"is_success": False, "route": "none"}

    def step(self, action):
        self.x = float(np.clip(self.x + 0.3 * float(np.clip(action[0], -1, 1)), -2, 2))
        self.t += 1
        done = abs(self.x) >= 1.0
        route = ("right" if self.x > 0 else "left") if done else "none"
        info = {"is_success": done, "route": route}
        return self._obs(), (1.0 if done else -0.01), done, self.t >= self.max_steps and not done, info


class RouteExpert:
    """Picks a side per episode from its rng; sometimes dawdles (so some episodes time out)."""

    def reset(self, rng):
        self.side = rng.choice([-1.0, 1.0])
        self.speed = rng.choice([1.0, 0.2])

    def __call__(self, obs, rng):
        return np.array([self.side * self.speed], dtype=np.float32)


POINT_LINE_ID = "test/PointLine-v0"
POINT_LINE_COMMAND = "python -m labkit make-data --env test/PointLine-v0 --episodes 8"


def _collect_point_line(n_episodes: int = 8, seed: int = 0, **kwargs) -> lk.EpisodeDataset:
    return lk.collect(
        RouteExpert(),
        PointLine(),
        n_episodes,
        seed,
        expert_name="route-expert",
        env_id=POINT_LINE_ID,
        created_with=POINT_LINE_COMMAND,
        progress=False,
        **kwargs,
    )


@pytest.fixture(scope="session")
def point_line() -> SimpleNamespace:
    """The toy task: ``Env``, ``Expert``, ``env_id``, ``command`` and ``collect(n_episodes=8, seed=0, **kw)``."""
    return SimpleNamespace(
        Env=PointLine, Expert=RouteExpert, env_id=POINT_LINE_ID, command=POINT_LINE_COMMAND, collect=_collect_point_line
    )


@pytest.fixture(scope="session")
def point_line_demos() -> lk.EpisodeDataset:
    """Eight RouteExpert episodes of PointLine (seeds 0..7): some succeed, some time out."""
    return _collect_point_line()


@pytest.fixture
def chain_policy(tiny_policy):
    """A tiny diffusion policy with a short chain: To = 1, H = 2, Ta = 2; 20 training timesteps (5 DDPM steps
    of stride 4), for the denoising-chain and DPPO tests."""
    return tiny_policy(
        "diffusion",
        n_obs_steps=1,
        horizon=2,
        n_action_steps=2,
        num_train_timesteps=20,
        num_inference_steps=5,
        time_embed_dim=8,
    )


def _unroll(venv, act, steps):
    """Observations (first 8 entries) a one-env wrapped vec env visits, every env step (chunks unrolled)."""
    obs, seen = venv.reset(), []
    seen.append(obs[0, :8].copy())
    for _ in range(steps):
        obs, _, dones, infos = venv.step(act(obs))
        chunk = infos[0].get("chunk_obs")
        if chunk is not None:
            seen.extend(o.copy() for o in chunk)
        else:
            seen.append((infos[0]["terminal_observation"] if dones[0] else obs[0])[:8].copy())
        if dones[0]:
            break
    return np.stack(seen)


@pytest.fixture
def unroll():
    """``unroll(venv, act, steps)``: the observations a one-env wrapped vec env visits, chunks unrolled."""
    return _unroll
