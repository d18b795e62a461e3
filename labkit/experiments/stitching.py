"""A stitching dataset for ``labkit/TwoRoutes-v0``: no episode is optimal, two pieces of two are.

Two kinds of episodes, tagged in the per-episode field ``quality``:

- ``"failing"``: :class:`StraightUpPolicy` from the task's start (seed ``s``): exactly the expert's
  first leg to the split point below the cup, then straight up into the pocket (return ~ -1.3);
- ``"expert_suffix"`` / ``"noisy_suffix"``: the expert (action noise 0.1 / 1.0) *taking over* at the
  split point of that same failing episode: the recording starts at the hand-over state, so the
  episode's first observation is exactly a state the failing episode ``s`` visited.

::

    start (0, -0.35) ---- failing episode s ----> split (0, -0.2) ----> pocket      (fails)
                                                     |
                                                     +--- suffix episode s ----> goal (succeeds)

No episode goes from the start to the goal, yet ``failing[s][:h] + suffix[s]`` is a real,
replayable trajectory that does (:func:`stitched_replay` re-runs it in MuJoCo), with the return of
a full expert episode. Offline RL can find it by dynamic programming (the value of the split state
flows back into the first leg); a sequence model must combine two episodes it never saw together.

The time limit counts the hand-over prefix, so a suffix has ``100 - h`` steps left, as the robot
would. Made in memory by :func:`collect_stitching_dataset` (seconds; ``labkit.experiments.sequence.load_data``
caches it per process).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from labkit.data.episodes import EpisodeDataset, concat_datasets
from labkit.envs.experts import StraightUpPolicy, TwoRoutesExpert
from labkit.envs.registry import make
from labkit.rollout import collect

__all__ = ["HandoverStart", "collect_stitching_dataset", "stitching_facts", "stitched_replay", "STITCH_QUALITIES"]

STITCH_QUALITIES = ("failing", "expert_suffix", "noisy_suffix")
"""The values of the per-episode field ``quality``."""
TASK_START = np.array([0.0, -0.35])
"""Where TwoRoutes episodes start (plus a little noise along y)."""


class HandoverStart(gym.Wrapper):
    """``reset(seed=s)`` replays the failing policy of seed ``s`` up to its split point and starts there.

    The prefix uses its own ``np.random.default_rng(s)``, exactly as ``collect_episodes`` seeds the
    failing episode ``s``, so the hand-over state is a state of that episode. ``info["handover_step"]``
    is the step index h at which the suffix starts.
    """

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        rng = np.random.default_rng(seed)
        prefix = StraightUpPolicy()
        prefix.reset(rng)
        obs, info = self.env.reset(seed=seed, options=options)
        h = 0
        while prefix._phase == 0:
            action = prefix(obs, rng)  # switches its phase at the split point, as the expert does
            if prefix._phase == 1:
                break
            obs, _, term, trunc, info = self.env.step(action)
            h += 1
            if term or trunc:
                raise RuntimeError(f"the failing prefix of seed {seed} ended before the split point.")
        return obs, {**info, "handover_step": h}


def collect_stitching_dataset(
    n_failing: int = 150,
    n_expert: int = 100,
    n_noisy: int = 100,
    *,
    seed: int = 20_000,
    noisy_std: float = 1.0,
    created_with: str = "",
    progress: bool = True,
) -> EpisodeDataset:
    """Record failing episodes from the start and expert suffixes from their split points.

    Suffix ``i`` (expert or noisy) takes over from failing episode ``i``'s split point (seed
    ``seed + i``), so every suffix can be stitched to a failing episode in the data.

    :param n_failing: failing episodes, seeds ``seed .. seed + n_failing - 1``.
    :param n_expert: expert suffixes (noise 0.1); ``n_noisy``: noisy suffixes (noise ``noisy_std``).
    :return: an ``EpisodeDataset`` with fields ``quality``, ``success``, ``route``, ``reset_seed``,
        ``final_observation``; metadata env id ``labkit/TwoRoutes-v0``.
    """
    if n_failing < max(n_expert, n_noisy) or min(n_failing, n_expert, n_noisy) < 1:
        raise ValueError(
            f"need n_failing >= n_expert, n_noisy >= 1 (suffixes start on failing episodes). "
            f"Got {n_failing}, {n_expert}, {n_noisy}."
        )
    env_id = "labkit/TwoRoutes-v0"
    parts = []
    for quality, policy, n, env in (
        ("failing", StraightUpPolicy(), n_failing, make(env_id)),
        ("expert_suffix", TwoRoutesExpert(noise=0.1), n_expert, HandoverStart(make(env_id))),
        ("noisy_suffix", TwoRoutesExpert(noise=noisy_std), n_noisy, HandoverStart(make(env_id))),
    ):
        ds = collect(
            policy,
            env,
            n,
            seed=seed,
            expert_name=f"{quality}:{policy!r}",
            env_id=env_id,
            created_with=created_with,
            progress=progress,
        )
        env.close()
        parts.append((ds, quality))
    out = concat_datasets([ds for ds, _ in parts])
    qualities = np.concatenate([np.full(len(ds), q) for ds, q in parts])  # (E,) str
    meta = {k: v for k, v in out.metadata.items() if k not in ("obs_dim", "action_dim", "n_episodes", "version")}
    meta["expert"] = "stitching: " + ", ".join(f"{len(ds)} {q}" for ds, q in parts)
    return EpisodeDataset(
        out.observations,
        out.actions,
        out.rewards,
        out.terminations,
        out.truncations,
        out.episode_ends,
        episode_fields={**out.episode_fields, "quality": qualities},
        metadata=meta,
    )


def _episode_returns(data: EpisodeDataset) -> np.ndarray:
    ends = np.asarray(data.episode_ends)
    starts = np.r_[0, ends[:-1]]
    rewards = np.asarray(data.rewards, dtype=np.float64)
    return np.array([rewards[a:b].sum() for a, b in zip(starts, ends)])  # (E,)


def stitching_facts(data: EpisodeDataset, start_radius: float = 0.05) -> dict[str, Any]:
    """What makes ``data`` a stitching problem, measured.

    :return: ``from_start`` episodes that begin within ``start_radius`` of the task start, how many
        of them succeed, their best return; ``successes`` elsewhere and the smallest distance of a
        successful episode's start from the task start; the best episode return overall.
    """
    starts = np.asarray(data.observations)[np.r_[0, np.asarray(data.episode_ends)[:-1]], :2]  # (E, 2)
    dist = np.linalg.norm(starts - TASK_START, axis=1)  # (E,)
    success = np.asarray(data.episode_fields["success"], dtype=bool)
    ret = _episode_returns(data)
    near = dist < start_radius
    return {
        "episodes": int(len(ret)),
        "from_start": int(near.sum()),
        "from_start_successes": int(success[near].sum()),
        "from_start_best_return": float(ret[near].max()) if near.any() else float("nan"),
        "successes": int(success.sum()),
        "closest_successful_start": float(dist[success].min()) if success.any() else float("nan"),
        "best_return": float(ret.max()),
    }


def stitched_replay(data: EpisodeDataset, suffix_episode: int, env_id: str = "labkit/TwoRoutes-v0") -> dict[str, Any]:
    """Re-run in MuJoCo: the failing episode with the suffix's seed up to the hand-over, then the suffix's actions.

    :param suffix_episode: index of an ``expert_suffix``/``noisy_suffix`` episode in ``data``.
    :return: ``success``, ``return``, ``length``, ``handover_step`` and the largest gap between the
        replayed and the recorded suffix observations (0 up to float rounding: the join is exact).
    """
    q = str(np.asarray(data.episode_fields["quality"])[suffix_episode])
    if not q.endswith("suffix"):
        raise ValueError(f"episode {suffix_episode} is {q!r}, not a suffix: pick one whose quality ends in 'suffix'.")
    ep = data.episode(suffix_episode)
    s = int(np.asarray(data.episode_fields["reset_seed"])[suffix_episode])
    env = make(env_id)
    rng = np.random.default_rng(s)
    prefix = StraightUpPolicy()
    prefix.reset(rng)
    obs, _ = env.reset(seed=s)
    total, h = 0.0, 0
    while True:
        a = prefix(obs, rng)
        if prefix._phase == 1:
            break
        obs, r, *_ = env.step(a)
        total, h = total + float(r), h + 1
    gap, t = 0.0, 0
    info: dict[str, Any] = {}
    for t, a in enumerate(np.asarray(ep["actions"])):
        gap = max(gap, float(np.abs(obs - np.asarray(ep["observations"])[t]).max()))
        obs, r, term, trunc, info = env.step(a)
        total += float(r)
        if term or trunc:
            break
    env.close()
    return {
        "success": bool(info.get("is_success", False)),
        "return": total,
        "length": h + t + 1,
        "handover_step": h,
        "max_gap": gap,
    }
