"""Episode datasets: record demonstrations, keep them as flat numpy arrays, save and load them safely.

The format in one picture (E episodes, N steps in total)::

    observations  (N, obs_dim)  float32   observation seen BEFORE each action
    actions       (N, act_dim)  float32   action taken at that step
    rewards       (N,)          float32   reward received after the action
    terminations  (N,)          bool      episode ended because the task ended (success/failure)
    truncations   (N,)          bool      episode was cut (time limit)
    episode_ends  (E,)          int64     exclusive end index of each episode in the step arrays
    episode_fields{name: (E, ...)}        one value per episode: success, route, reset_seed ...
    metadata      dict (JSON)             env_id, obs_dim, action_dim, expert, seed, version,
                                          created_with (the command that regenerates the file) ...

Episode ``i`` is the slice ``episode_ends[i-1] : episode_ends[i]`` (``0`` for the first one).

Files are one ``.npz`` (no pickle) written atomically; loading validates shapes, format version,
environment id and a sha256 of the contents, and fails with one :class:`DatasetError` that says
what to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from labkit.data.errors import DatasetError

FORMAT_VERSION = 1
"""Version of the on-disk layout. Bump it when a file written by new code cannot be read by old code."""

STEP_ARRAYS = ("observations", "actions", "rewards", "terminations", "truncations")
REQUIRED_METADATA = ("env_id", "expert", "seed", "created_with")
DERIVED_METADATA = ("obs_dim", "action_dim", "n_episodes", "version")
_EPISODE_PREFIX = "episode__"  # npz key prefix of the per-episode fields
_GENERIC_HINT = (
    "regenerate it with the command in data/README.md "
    "(or labkit.data.collect_episodes + labkit.data.save_dataset)"
)


# --------------------------------------------------------------------------------------------------
# helpers


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"metadata value {value!r} of type {type(value).__name__} is not JSON-serialisable")


def _canonical_json(metadata: Mapping[str, Any]) -> str:
    """One spelling per metadata dict: sorted keys, no spaces, ASCII only."""
    return json.dumps(
        dict(metadata), sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=_json_default
    )


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def _normalise_episode_field(name: str, value: Any, n_episodes: int) -> np.ndarray:
    """One dtype per kind, so equal contents always hash equal (e.g. '<U4' vs '<U5' for strings)."""
    array = np.asarray(value)
    if array.ndim == 0 or array.shape[0] != n_episodes:
        raise DatasetError(
            f"episode field {name!r} has shape {array.shape}, expected a first axis of length "
            f"{n_episodes} (one value per episode)."
        )
    kind = array.dtype.kind
    if kind == "b":
        return _frozen(array.astype(bool))
    if kind in "iu":
        return _frozen(array.astype(np.int64))
    if kind == "f":
        return _frozen(array.astype(np.float32 if array.dtype == np.float32 else np.float64))
    if kind == "U":
        width = max((len(s) for s in array.reshape(-1).tolist()), default=1)
        return _frozen(array.astype(f"<U{max(width, 1)}"))
    raise DatasetError(
        f"episode field {name!r} has dtype {array.dtype}; use bool, int, float or str values "
        "(objects would need pickle, which labkit datasets never use)."
    )


# --------------------------------------------------------------------------------------------------
# the dataset


class EpisodeDataset:
    """Immutable set of episodes stored as flat numpy arrays (see the module docstring for layout).

    :param observations: ``(N, obs_dim)`` observation before each action.
    :param actions: ``(N, act_dim)`` action taken at each step.
    :param rewards: ``(N,)`` reward after each action.
    :param terminations: ``(N,)`` ``terminated`` flag returned by ``env.step``.
    :param truncations: ``(N,)`` ``truncated`` flag returned by ``env.step``.
    :param episode_ends: ``(E,)`` exclusive end index of each episode, strictly increasing, last = N.
    :param episode_fields: per-episode arrays with first axis ``E`` (``success``, ``route`` ...).
    :param metadata: JSON-serialisable dict; must hold ``env_id``, ``expert``, ``seed``,
        ``created_with``. ``obs_dim``, ``action_dim``, ``n_episodes`` and ``version`` are filled in.
    :raises DatasetError: if anything is inconsistent.
    """

    def __init__(
        self,
        observations: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminations: np.ndarray,
        truncations: np.ndarray,
        episode_ends: np.ndarray,
        episode_fields: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        obs = np.asarray(observations, dtype=np.float32)
        act = np.asarray(actions, dtype=np.float32)
        if obs.ndim != 2:
            raise DatasetError(f"observations must be 2-D (N, obs_dim); got shape {obs.shape}.")
        if act.ndim != 2:
            raise DatasetError(f"actions must be 2-D (N, act_dim); got shape {act.shape}.")
        n = obs.shape[0]
        if act.shape[0] != n:
            raise DatasetError(
                f"actions have {act.shape[0]} rows but observations have {n}; every step needs "
                "one observation and one action."
            )
        step = {
            "rewards": np.asarray(rewards, dtype=np.float32),
            "terminations": np.asarray(terminations),
            "truncations": np.asarray(truncations),
        }
        for name, array in step.items():
            if array.shape != (n,):
                raise DatasetError(f"{name} has shape {array.shape}, expected ({n},) (one per step).")
        for name in ("terminations", "truncations"):
            if step[name].dtype.kind not in "biu" or not np.isin(step[name], (0, 1)).all():
                raise DatasetError(f"{name} must be booleans; got dtype {step[name].dtype}.")
            step[name] = step[name].astype(bool)
        if not (np.isfinite(obs).all() and np.isfinite(act).all()):
            raise DatasetError("observations or actions contain NaN or inf; the recording is broken.")

        ends = np.asarray(episode_ends)
        if ends.ndim != 1 or (ends.size and ends.dtype.kind not in "iu"):
            raise DatasetError(f"episode_ends must be a 1-D integer array; got {ends.dtype} {ends.shape}.")
        ends = ends.astype(np.int64)
        if ends.size and (ends[0] <= 0 or np.any(np.diff(ends) <= 0)):
            raise DatasetError(
                "episode_ends must be strictly increasing and positive (every episode has at least "
                f"one step); got {ends[:10].tolist()}{' ...' if ends.size > 10 else ''}."
            )
        last = int(ends[-1]) if ends.size else 0
        if last != n:
            raise DatasetError(f"episode_ends must end at the number of steps N={n}; it ends at {last}.")
        n_episodes = int(ends.size)

        fields = {
            str(k): _normalise_episode_field(str(k), v, n_episodes) for k, v in (episode_fields or {}).items()
        }

        meta = json.loads(_canonical_json(metadata or {}))  # a JSON round trip: what a file will hold
        missing = [k for k in REQUIRED_METADATA if k not in meta]
        if missing:
            raise DatasetError(
                f"metadata is missing {missing}; a dataset must say which env made it (env_id), "
                "which policy (expert), the base seed (seed) and the command that regenerates it "
                "(created_with)."
            )
        derived = {"obs_dim": obs.shape[1], "action_dim": act.shape[1], "n_episodes": n_episodes}
        for key, value in derived.items():
            if key in meta and meta[key] != value:
                raise DatasetError(f"metadata says {key}={meta[key]} but the arrays give {value}.")
        if "version" in meta and meta["version"] != FORMAT_VERSION:
            raise DatasetError(
                f"metadata says format version {meta['version']}; this labkit writes version {FORMAT_VERSION}."
            )
        meta.update(derived, version=FORMAT_VERSION)

        self._observations = _frozen(obs)
        self._actions = _frozen(act)
        self._rewards = _frozen(step["rewards"])
        self._terminations = _frozen(step["terminations"])
        self._truncations = _frozen(step["truncations"])
        self._episode_ends = _frozen(ends)
        self._episode_fields = MappingProxyType(fields)
        self._metadata = MappingProxyType(meta)

    # ---- read-only views ------------------------------------------------------------------------
    observations = property(lambda self: self._observations, doc="(N, obs_dim) float32")
    actions = property(lambda self: self._actions, doc="(N, act_dim) float32")
    rewards = property(lambda self: self._rewards, doc="(N,) float32")
    terminations = property(lambda self: self._terminations, doc="(N,) bool")
    truncations = property(lambda self: self._truncations, doc="(N,) bool")
    episode_ends = property(lambda self: self._episode_ends, doc="(E,) int64, exclusive ends")
    episode_fields = property(lambda self: self._episode_fields, doc="{name: (E, ...) array}")
    metadata = property(lambda self: self._metadata, doc="read-only metadata mapping")

    @property
    def episode_starts(self) -> np.ndarray:
        """``(E,)`` int64 index of the first step of each episode."""
        return np.concatenate([[0], self._episode_ends[:-1]]).astype(np.int64)

    @property
    def episode_lengths(self) -> np.ndarray:
        """``(E,)`` int64 number of steps of each episode."""
        return np.diff(np.concatenate([[0], self._episode_ends])).astype(np.int64)

    @property
    def n_steps(self) -> int:
        """Total number of steps N over all episodes."""
        return int(self._observations.shape[0])

    @property
    def obs_dim(self) -> int:
        return int(self._observations.shape[1])

    @property
    def action_dim(self) -> int:
        return int(self._actions.shape[1])

    def __len__(self) -> int:
        """Number of episodes E."""
        return int(self._episode_ends.shape[0])

    def episode(self, i: int) -> dict[str, Any]:
        """Arrays of episode ``i`` (negative indices count from the end) and its per-episode values."""
        n_ep = len(self)
        if not -n_ep <= i < n_ep:
            raise IndexError(f"episode {i} out of range for a dataset of {n_ep} episodes.")
        i %= n_ep
        start, end = int(self.episode_starts[i]), int(self._episode_ends[i])
        out: dict[str, Any] = {name: getattr(self, name)[start:end] for name in STEP_ARRAYS}
        for name, values in self._episode_fields.items():
            value = values[i]
            out[name] = value.item() if value.ndim == 0 else value
        return out

    def __iter__(self):
        return (self.episode(i) for i in range(len(self)))

    # ---- derived datasets -----------------------------------------------------------------------
    def filter(self, mask: np.ndarray | Sequence[bool] | Sequence[int]) -> EpisodeDataset:
        """Keep some episodes: a boolean mask of length E, or a list of episode indices.

        ``ds.filter(ds.episode_fields["success"])`` keeps the successful demonstrations.
        """
        selector = np.asarray(mask)
        if selector.dtype == bool:
            if selector.shape != (len(self),):
                raise ValueError(f"a boolean mask needs shape ({len(self)},); got {selector.shape}.")
            keep = np.flatnonzero(selector)
        elif selector.size == 0 or selector.dtype.kind in "iu":
            keep = selector.astype(np.int64).reshape(-1)
        else:
            raise ValueError(f"filter takes a boolean mask or episode indices; got dtype {selector.dtype}.")
        starts, ends = self.episode_starts[keep], self._episode_ends[keep]
        steps = (
            np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)]) if keep.size else np.zeros(0, np.int64)
        )
        meta = {k: v for k, v in self._metadata.items() if k not in DERIVED_METADATA}
        note = f"filter: kept {keep.size}/{len(self)} episodes of {self.content_hash[:12]}"
        meta["history"] = [*meta.get("history", []), note]
        return EpisodeDataset(
            *(getattr(self, name)[steps] for name in STEP_ARRAYS),
            episode_ends=np.cumsum(ends - starts).astype(np.int64),
            episode_fields={k: v[keep] for k, v in self._episode_fields.items()},
            metadata=meta,
        )

    def concat(self, *others: EpisodeDataset) -> EpisodeDataset:
        """This dataset followed by ``others`` (see :func:`concat_datasets`)."""
        return concat_datasets([self, *others])

    # ---- summaries --------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Episodes, steps, success rate, route counts, mean length and return, as a plain dict."""
        lengths = self.episode_lengths
        returns = np.add.reduceat(self._rewards, self.episode_starts) if len(self) else np.zeros(0)
        out: dict[str, Any] = {
            "env_id": self._metadata["env_id"],
            "expert": self._metadata["expert"],
            "episodes": len(self),
            "steps": self.n_steps,
            "mean_length": float(lengths.mean()) if len(self) else None,
            "mean_return": float(returns.mean()) if len(self) else None,
            "success_rate": None,
            "route_counts": {},
        }
        if "success" in self._episode_fields and len(self):
            out["success_rate"] = float(self._episode_fields["success"].mean())
        if "route" in self._episode_fields:
            names, counts = np.unique(self._episode_fields["route"], return_counts=True)
            out["route_counts"] = {str(k): int(c) for k, c in zip(names, counts)}
        return out

    @property
    def content_hash(self) -> str:
        """sha256 (hex) over every array's name, dtype, shape and bytes, then the canonical metadata.

        It depends on contents only, so it is the same before saving and after loading.
        """
        digest = hashlib.sha256()
        for name, array in sorted(self._arrays().items()):
            digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(_canonical_json(self._metadata).encode())
        return digest.hexdigest()

    def _arrays(self) -> dict[str, np.ndarray]:
        """Every array under the key it has in a saved file."""
        arrays = {name: getattr(self, name) for name in (*STEP_ARRAYS, "episode_ends")}
        arrays.update({_EPISODE_PREFIX + k: v for k, v in self._episode_fields.items()})
        return arrays

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EpisodeDataset) and self.content_hash == other.content_hash

    __hash__ = None  # equal by contents, but arrays are not hashable keys

    def __repr__(self) -> str:
        s = self.summary()
        rate = "n/a" if s["success_rate"] is None else f"{s['success_rate']:.0%}"
        return (
            f"EpisodeDataset(env_id={s['env_id']!r}, expert={s['expert']!r}, episodes={s['episodes']}, "
            f"steps={s['steps']}, obs_dim={self.obs_dim}, action_dim={self.action_dim}, success={rate})"
        )


def concat_datasets(datasets: Sequence[EpisodeDataset]) -> EpisodeDataset:
    """Stack datasets of the same env and shapes; per-episode fields must have the same names.

    The result keeps the first dataset's metadata and lists every source (hash, expert, seed,
    created_with) under ``metadata["sources"]``.
    """
    if not datasets:
        raise ValueError("concat_datasets needs at least one dataset.")
    first = datasets[0]
    for other in datasets[1:]:
        for key in ("env_id", "obs_dim", "action_dim"):
            if other.metadata[key] != first.metadata[key]:
                raise DatasetError(
                    f"cannot concatenate datasets with different {key}: "
                    f"{first.metadata[key]!r} vs {other.metadata[key]!r}."
                )
        if set(other.episode_fields) != set(first.episode_fields):
            raise DatasetError(
                f"cannot concatenate datasets with different episode fields: "
                f"{sorted(first.episode_fields)} vs {sorted(other.episode_fields)}."
            )
    offsets = np.cumsum([0] + [d.n_steps for d in datasets[:-1]])
    meta = {k: v for k, v in first.metadata.items() if k not in DERIVED_METADATA}
    experts = list(dict.fromkeys(str(d.metadata["expert"]) for d in datasets))
    meta["expert"] = "+".join(experts)
    meta["sources"] = [
        {k: d.metadata[k] for k in ("expert", "seed", "created_with", "n_episodes")} | {"hash": d.content_hash}
        for d in datasets
    ]
    return EpisodeDataset(
        *(np.concatenate([getattr(d, name) for d in datasets]) for name in STEP_ARRAYS),
        episode_ends=np.concatenate([d.episode_ends + off for d, off in zip(datasets, offsets)]),
        episode_fields={k: np.concatenate([d.episode_fields[k] for d in datasets]) for k in first.episode_fields},
        metadata=meta,
    )


# --------------------------------------------------------------------------------------------------
# recording


class EpisodeRecorder:
    """Append steps, close episodes, then freeze everything into an :class:`EpisodeDataset`.

    Example::

        rec = EpisodeRecorder()
        obs, info = env.reset(seed=0)
        while True:
            action = policy(obs)
            next_obs, reward, terminated, truncated, info = env.step(action)
            rec.add_step(obs, action, reward, terminated, truncated, info)
            obs = next_obs
            if terminated or truncated:
                break
        rec.end_episode({"success": info["is_success"]}, final_observation=obs)
        ds = rec.to_dataset({"env_id": ..., "expert": ..., "seed": 0, "created_with": ...})
    """

    def __init__(self) -> None:
        self._steps: dict[str, list] = {name: [] for name in STEP_ARRAYS}
        self._episode_ends: list[int] = []
        self._extras: list[dict[str, Any]] = []
        self._current = 0  # steps in the open episode
        self.last_info: dict[str, Any] = {}

    @property
    def n_episodes(self) -> int:
        """Number of closed episodes."""
        return len(self._episode_ends)

    @property
    def in_episode(self) -> bool:
        """True when steps were added since the last :meth:`end_episode`."""
        return self._current > 0

    def add_step(
        self,
        obs: Any,
        action: Any,
        reward: float,
        terminated: bool,
        truncated: bool,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        """Record one step; ``obs`` is the observation the action was chosen from (not the next one)."""
        obs = np.asarray(obs, dtype=np.float32).reshape(-1)  # (obs_dim,)
        action = np.asarray(action, dtype=np.float32).reshape(-1)  # (act_dim,)
        if self._steps["observations"]:
            for name, value in (("observations", obs), ("actions", action)):
                expected = self._steps[name][0].shape
                if value.shape != expected:
                    raise ValueError(f"{name[:-1]} has shape {value.shape} but earlier steps had {expected}.")
        self._steps["observations"].append(obs)
        self._steps["actions"].append(action)
        self._steps["rewards"].append(float(reward))
        self._steps["terminations"].append(bool(terminated))
        self._steps["truncations"].append(bool(truncated))
        self.last_info = dict(info or {})
        self._current += 1

    def end_episode(self, extra: Mapping[str, Any] | None = None, final_observation: Any = None) -> None:
        """Close the open episode.

        :param extra: per-episode values (``success``, ``route`` ...); every episode needs the same keys.
        :param final_observation: the observation after the last step (kept as the per-episode field
            ``final_observation``; needed to export to Minari, which stores N+1 observations).
        """
        if self._current == 0:
            raise ValueError("end_episode() called with no steps recorded since the last episode.")
        extra = dict(extra or {})
        if final_observation is not None:
            extra["final_observation"] = np.asarray(final_observation, dtype=np.float32).reshape(-1)
        if self._extras and set(extra) != set(self._extras[0]):
            raise ValueError(
                f"episode {self.n_episodes} has per-episode keys {sorted(extra)} but the first "
                f"episode had {sorted(self._extras[0])}; every episode needs the same keys."
            )
        self._extras.append(extra)
        self._episode_ends.append(len(self._steps["rewards"]))
        self._current = 0

    def discard_episode(self) -> None:
        """Drop the steps of the open episode (e.g. after an exception mid-rollout)."""
        keep = self._episode_ends[-1] if self._episode_ends else 0
        for values in self._steps.values():
            del values[keep:]
        self._current = 0

    def to_dataset(self, metadata: Mapping[str, Any]) -> EpisodeDataset:
        """Freeze the closed episodes (an open episode is an error: end or discard it first)."""
        if self.in_episode:
            raise ValueError("an episode is still open; call end_episode() or discard_episode() first.")
        if not self._episode_ends:
            raise ValueError("no episodes recorded.")
        fields = {k: np.stack([np.asarray(e[k]) for e in self._extras]) for k in self._extras[0]}
        return EpisodeDataset(
            observations=np.stack(self._steps["observations"]),
            actions=np.stack(self._steps["actions"]),
            rewards=np.asarray(self._steps["rewards"], dtype=np.float32),
            terminations=np.asarray(self._steps["terminations"], dtype=bool),
            truncations=np.asarray(self._steps["truncations"], dtype=bool),
            episode_ends=np.asarray(self._episode_ends, dtype=np.int64),
            episode_fields=fields,
            metadata=metadata,
        )


EpisodeBuffer = EpisodeRecorder
"""Alias: the same class under the name used in the design notes."""


# --------------------------------------------------------------------------------------------------
# rolling out a policy


class SB3Expert:
    """A trained Stable-Baselines3 model seen as a ``policy_fn(obs, rng) -> action``.

    :param model: any SB3 algorithm (PPO, SAC, TD3 ...) or anything with ``predict(obs, deterministic)``.
    :param deterministic: take the mean/greedy action. With ``False`` SB3 samples with torch's global
        RNG (not ``rng``), so seed torch for repeatable data.

    If the model was trained behind ``VecNormalize``, normalise observations before calling it.
    """

    def __init__(self, model: Any, deterministic: bool = True) -> None:
        self.model = model
        self.deterministic = deterministic

    def __call__(self, obs: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        action, _state = self.model.predict(obs, deterministic=self.deterministic)
        return action

    @property
    def name(self) -> str:
        return f"sb3:{type(self.model).__name__}" + ("" if self.deterministic else ":stochastic")

    def __repr__(self) -> str:
        return f"SB3Expert({type(self.model).__name__}, deterministic={self.deterministic})"


def sb3_expert(model: Any, deterministic: bool = True) -> SB3Expert:
    """Wrap an SB3 model as an expert policy for :func:`collect_episodes` (works for any gymnasium task)."""
    return SB3Expert(model, deterministic=deterministic)


_INFO_DEFAULTS = {"is_success": False, "route": "none"}
_INFO_FIELD_NAMES = {"is_success": "success"}


def collect_episodes(
    env: Any,
    policy_fn: Callable[[np.ndarray, np.random.Generator], Any],
    n_episodes: int,
    seed: int,
    expert_name: str,
    env_id: str | None = None,
    created_with: str = "",
    progress: bool = True,
    info_keys: Iterable[str] = ("is_success", "route"),
    max_steps: int | None = None,
    extra_metadata: Mapping[str, Any] | None = None,
) -> EpisodeDataset:
    """Roll out ``policy_fn`` for ``n_episodes`` episodes and return them as a dataset.

    Episode ``i`` starts with ``env.reset(seed=seed + i)`` and gets its own
    ``rng = np.random.default_rng(seed + i)``; if ``policy_fn`` has a ``reset(rng)`` method it is
    called first (stateful experts, action chunking ...). So episode ``i`` can be replayed alone.

    :param env: a gymnasium env (1.x API) with a flat Box-like observation.
    :param policy_fn: ``policy_fn(obs, rng) -> action``, or an object with ``reset(rng)`` and
        ``__call__(obs, rng)``; see :func:`sb3_expert` for SB3 models.
    :param n_episodes: number of episodes to record.
    :param seed: base seed; stored in the metadata.
    :param expert_name: who acted (stored as ``metadata["expert"]``).
    :param env_id: stored as ``metadata["env_id"]``; defaults to ``env.spec.id``.
    :param created_with: the command that regenerates this dataset (shown in error messages).
    :param progress: show a ``tqdm.auto`` bar with the running success rate.
    :param info_keys: info entries read from the LAST step of each episode and stored per episode;
        ``is_success`` becomes the field ``success`` (default False), ``route`` defaults to ``"none"``,
        other keys must be present.
    :param max_steps: cut episodes after this many steps (marked truncated); None trusts the env's
        own time limit.
    :param extra_metadata: free-form entries added to the metadata.
    """
    from tqdm.auto import tqdm

    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1. Got {n_episodes}.")
    if env_id is None:
        spec = getattr(env, "spec", None)
        if spec is None:
            raise ValueError("env has no spec; pass env_id='...' to name the environment.")
        env_id = spec.id
    info_keys = tuple(info_keys)
    recorder = EpisodeRecorder()
    n_success = 0
    bar = tqdm(range(n_episodes), desc=f"collecting {env_id}", disable=not progress, leave=False)
    for i in bar:
        episode_seed = int(seed) + i
        rng = np.random.default_rng(episode_seed)
        if hasattr(policy_fn, "reset"):
            policy_fn.reset(rng)
        obs, info = env.reset(seed=episode_seed)
        if isinstance(obs, dict):
            raise TypeError("dict observations are not supported; wrap the env in FlattenObservation.")
        t = 0
        while True:
            action = policy_fn(obs, rng)
            next_obs, reward, terminated, truncated, info = env.step(action)
            t += 1
            cut = max_steps is not None and t >= max_steps
            recorder.add_step(obs, action, reward, terminated, truncated or cut, info)
            obs = next_obs
            if terminated or truncated or cut:
                break
        extra: dict[str, Any] = {"reset_seed": episode_seed}
        for key in info_keys:
            field = _INFO_FIELD_NAMES.get(key, key)
            if key in info:
                extra[field] = info[key]
            elif key in _INFO_DEFAULTS:
                extra[field] = _INFO_DEFAULTS[key]
            else:
                raise KeyError(f"info key {key!r} missing at the end of episode {i}; got keys {sorted(info)}.")
        if "success" in extra:
            extra["success"] = bool(extra["success"])
            n_success += extra["success"]
            bar.set_postfix(success=f"{n_success / (i + 1):.0%}")
        recorder.end_episode(extra, final_observation=obs)
    bar.close()
    metadata = {
        **dict(extra_metadata or {}),
        "env_id": env_id,
        "expert": expert_name,
        "seed": int(seed),
        "created_with": created_with,
    }
    return recorder.to_dataset(metadata)


# --------------------------------------------------------------------------------------------------
# files


def save_dataset(ds: EpisodeDataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to one compressed ``.npz`` file, atomically.

    The data goes to a temporary file in the same directory, is flushed to disk (fsync), then
    renamed over ``path`` with ``os.replace``: a crash leaves either the old file or the new one,
    never half a file. Metadata is stored as a JSON string, plus the content hash.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"directory {path.parent} does not exist; create it first.")
    payload = dict(ds._arrays())
    payload["metadata"] = np.array(_canonical_json(ds.metadata))  # 0-d unicode array, no pickle
    payload["content_hash"] = np.array(ds.content_hash)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_name, 0o644)  # mkstemp makes 0600 files; datasets are meant to be shared
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (not possible on every OS)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path


_READ_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError)


def _read_metadata_only(path: Path) -> dict[str, Any] | None:
    """Best effort: the metadata of a damaged file, to tell the user how to regenerate it."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return json.loads(str(z["metadata"][()]))
    except Exception:  # noqa: BLE001 - any failure just means "no hint available"
        return None


def load_dataset(
    path: str | os.PathLike,
    expected_env_id: str | None = None,
    expected_version: int | None = None,
) -> EpisodeDataset:
    """Read and validate a dataset written by :func:`save_dataset`.

    :param path: the ``.npz`` file.
    :param expected_env_id: refuse a dataset recorded in another environment.
    :param expected_version: refuse a file whose format version differs from this one.
    :raises FileNotFoundError: no file at ``path``.
    :raises DatasetError: truncated/damaged file, unknown format version, wrong env, inconsistent
        arrays or a content hash that does not match (the file was modified after saving).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no dataset at {path} (cwd: {Path.cwd()}); check the path or {_GENERIC_HINT}.")

    def fail(problem: str, metadata: Mapping[str, Any] | None) -> DatasetError:
        command = (metadata or {}).get("created_with")
        hint = f"regenerate it with: {command}" if command else _GENERIC_HINT
        return DatasetError(f"{path}: {problem}; {hint}")

    try:
        with np.load(path, allow_pickle=False) as z:
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError("a single .npy array, not an .npz archive")
            contents = {name: z[name] for name in z.files}
    except _READ_ERRORS as exc:
        raise fail(
            f"file is truncated or not a labkit dataset ({type(exc).__name__}: {exc})", _read_metadata_only(path)
        ) from exc

    if "metadata" not in contents or "content_hash" not in contents:
        raise fail("not a labkit dataset (no 'metadata' / 'content_hash' entries)", None)
    try:
        metadata = json.loads(str(contents.pop("metadata")[()]))
        if not isinstance(metadata, dict):
            raise ValueError("metadata is not a JSON object")
    except ValueError as exc:
        raise fail(f"metadata is not valid JSON ({exc})", None) from exc
    stored_hash = str(contents.pop("content_hash")[()])

    version = metadata.get("version")
    if not isinstance(version, int) or version < 1:
        raise fail(f"format version {version!r} is not a positive integer", metadata)
    if version > FORMAT_VERSION:
        raise DatasetError(
            f"{path}: dataset format version {version} is newer than this labkit ({FORMAT_VERSION}); "
            f"upgrade labkit, or regenerate it with: {metadata.get('created_with') or _GENERIC_HINT}"
        )
    if expected_version is not None and version != expected_version:
        raise fail(f"format version is {version} but version {expected_version} was asked for", metadata)
    if expected_env_id is not None and metadata.get("env_id") != expected_env_id:
        raise DatasetError(
            f"{path}: dataset was made for env {metadata.get('env_id')!r} but you asked for "
            f"{expected_env_id!r}; load the dataset of that env or collect one with "
            "labkit.data.collect_episodes."
        )

    missing = [name for name in (*STEP_ARRAYS, "episode_ends") if name not in contents]
    if missing:
        raise fail(f"arrays {missing} are missing", metadata)
    fields = {k[len(_EPISODE_PREFIX) :]: v for k, v in contents.items() if k.startswith(_EPISODE_PREFIX)}
    try:
        ds = EpisodeDataset(
            *(contents[name] for name in STEP_ARRAYS),
            episode_ends=contents["episode_ends"],
            episode_fields=fields,
            metadata=metadata,
        )
    except DatasetError as exc:
        raise fail(f"inconsistent contents: {exc}", metadata) from exc
    if ds.content_hash != stored_hash:
        raise fail(
            f"hash mismatch: file was modified after it was saved (stored sha256 {stored_hash[:12]}..., "
            f"contents give {ds.content_hash[:12]}...)",
            metadata,
        )
    return ds
