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

The class validates everything on construction and hashes its contents (``content_hash``); files
(``files.py``) are one ``.npz`` (no pickle) written atomically and checked against that hash on load.
Recording is ``record.py``; rolling a policy out into a dataset is ``labkit.collect``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

FORMAT_VERSION = 1
"""Version of the on-disk layout. Bump it when a file written by new code cannot be read by old code."""

STEP_ARRAYS = ("observations", "actions", "rewards", "terminations", "truncations")
REQUIRED_METADATA = ("env_id", "expert", "seed", "created_with")
DERIVED_METADATA = ("obs_dim", "action_dim", "n_episodes", "version")
_EPISODE_PREFIX = "episode__"  # npz key prefix of the per-episode fields
_GENERIC_HINT = "regenerate it with the command in data/README.md (or labkit.collect + labkit.save)"


class DatasetError(ValueError):
    """A dataset is missing, damaged, inconsistent or made for something else.

    The message always says what is wrong and what to do about it (usually: the command that
    regenerates the file). It subclasses ``ValueError`` so existing ``except ValueError`` code
    keeps working.
    """


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
    return json.dumps(dict(metadata), sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=_json_default)


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


def _check_episode_ends(episode_ends: Any, n: int) -> np.ndarray:
    """``episode_ends`` as int64, strictly increasing, positive, ending at the number of steps ``n``."""
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
    return ends


def _check_metadata(metadata: Mapping[str, Any] | None, derived: dict[str, int]) -> dict[str, Any]:
    """The metadata after a JSON round trip, with the required keys, agreeing with the arrays' sizes."""
    meta = json.loads(_canonical_json(metadata or {}))  # a JSON round trip: what a file will hold
    missing = [k for k in REQUIRED_METADATA if k not in meta]
    if missing:
        raise DatasetError(
            f"metadata is missing {missing}; a dataset must say which env made it (env_id), "
            "which policy (expert), the base seed (seed) and the command that regenerates it "
            "(created_with)."
        )
    for key, value in derived.items():
        if key in meta and meta[key] != value:
            raise DatasetError(f"metadata says {key}={meta[key]} but the arrays give {value}.")
    if "version" in meta and meta["version"] != FORMAT_VERSION:
        raise DatasetError(
            f"metadata says format version {meta['version']}; this labkit writes version {FORMAT_VERSION}."
        )
    return meta


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

        ends = _check_episode_ends(episode_ends, n)
        n_episodes = int(ends.size)

        fields = {str(k): _normalise_episode_field(str(k), v, n_episodes) for k, v in (episode_fields or {}).items()}

        derived = {"obs_dim": obs.shape[1], "action_dim": act.shape[1], "n_episodes": n_episodes}
        meta = _check_metadata(metadata, derived)
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
        steps = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)]) if keep.size else np.zeros(0, np.int64)
        meta = {k: v for k, v in self._metadata.items() if k not in DERIVED_METADATA}
        note = f"filter: kept {keep.size}/{len(self)} episodes of {self.content_hash[:12]}"
        meta["history"] = [*meta.get("history", []), note]
        return EpisodeDataset(
            **{name: getattr(self, name)[steps] for name in STEP_ARRAYS},
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
        }
        if "success" in self._episode_fields and len(self):
            out["success_rate"] = float(self._episode_fields["success"].mean())
        routes = self._episode_fields.get("route")
        if routes is not None and (routes != "none").any():  # only for tasks that have routes
            names, counts = np.unique(routes, return_counts=True)
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

    # No __hash__: defining __eq__ sets it to None (equal by contents, but arrays are not hashable keys).

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
        **{name: np.concatenate([getattr(d, name) for d in datasets]) for name in STEP_ARRAYS},
        episode_ends=np.concatenate([d.episode_ends + off for d, off in zip(datasets, offsets)]),
        episode_fields={k: np.concatenate([d.episode_fields[k] for d in datasets]) for k in first.episode_fields},
        metadata=meta,
    )
