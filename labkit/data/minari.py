"""Convert between labkit episode datasets and Minari (the Farama offline-RL dataset format).

Minari is optional (it is not a labkit dependency). Written against the Minari 0.5 API:
``minari.create_dataset_from_buffers(dataset_id, buffer=[EpisodeBuffer ...], ...)``,
``minari.load_dataset(dataset_id)`` and ``MinariDataset.iterate_episodes()`` yielding
``EpisodeData`` with ``observations`` (T+1 rows), ``actions``, ``rewards``, ``terminations``,
``truncations`` and ``infos``.

Mapping:

* labkit keeps the T observations before each action plus a per-episode ``final_observation``;
  Minari keeps T+1 observations. ``to_minari`` therefore needs ``final_observation`` (recorded by
  :func:`labkit.collect`).
* per-episode fields (``success``, ``route`` ...) go to Minari's ``infos`` repeated on every one of
  the T+1 rows (Minari's infos are per step); ``from_minari`` reads them back from the last row.
  ``success`` is stored under gymnasium's name ``is_success``.
* ``reset_seed`` becomes the episode's Minari ``seed``.

Not tested against a live Minari in labkit's CI (it is not installed there); the test is skipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.data.episodes import EpisodeDataset

_INSTALL_HINT = (
    "Minari is optional and not installed. Install it with: pip install 'minari[create]==0.5.4' h5py "
    "(it pulls in jax; tested with minari 0.5.4)."
)
_TO_MINARI_INFO = {"success": "is_success"}
_FROM_MINARI_INFO = {v: k for k, v in _TO_MINARI_INFO.items()}
_NOT_IN_INFOS = ("final_observation", "reset_seed")


def _import_minari():
    try:
        import minari
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return minari


def _spaces_for(ds: EpisodeDataset):
    """The env's spaces if the env id is registered (labkit envs register on ``import labkit``),
    else unbounded boxes of the right sizes."""
    import gymnasium as gym

    env_id = ds.metadata["env_id"]
    try:
        env = gym.make(env_id)
    except Exception:  # noqa: BLE001 - unregistered or broken env: fall back to plain boxes
        box = lambda n: gym.spaces.Box(-np.inf, np.inf, (n,), np.float32)  # noqa: E731
        return None, box(ds.obs_dim), box(ds.action_dim)
    try:
        return env.spec, env.observation_space, env.action_space
    finally:
        env.close()


def to_minari(ds: EpisodeDataset, dataset_id: str, author: str = "labkit", description: str | None = None):
    """Write ``ds`` as a local Minari dataset and return the ``MinariDataset``.

    :param ds: a labkit dataset with the per-episode field ``final_observation``.
    :param dataset_id: Minari id, e.g. ``"labkit/tworoutes/expert-v0"``.
    :raises ImportError: Minari is not installed (with the pip command).
    :raises ValueError: ``ds`` has no ``final_observation`` field.
    """
    minari = _import_minari()
    from minari.data_collector import EpisodeBuffer as MinariEpisodeBuffer

    if "final_observation" not in ds.episode_fields:
        raise ValueError(
            "to_minari needs the per-episode field 'final_observation' (Minari stores T+1 observations); "
            "datasets from labkit.collect have it."
        )
    env_spec, obs_space, act_space = _spaces_for(ds)
    buffers = []
    for i, ep in enumerate(ds):
        n_rows = len(ep["actions"]) + 1  # Minari: T+1 observations and infos
        infos = {}
        for k in ds.episode_fields:
            if k in _NOT_IN_INFOS:
                continue
            value = ep[k]  # numbers -> arrays; strings -> lists of str (Minari stores them as utf-8)
            infos[_TO_MINARI_INFO.get(k, k)] = (
                np.full(n_rows, value) if isinstance(value, (bool, int, float)) else [value] * n_rows
            )
        buffers.append(
            MinariEpisodeBuffer(
                id=i,
                seed=int(ep["reset_seed"]) if "reset_seed" in ep else None,
                observations=np.concatenate([ep["observations"], ep["final_observation"][None]]),  # (T+1, obs_dim)
                actions=np.asarray(ep["actions"]),  # (T, act_dim)
                rewards=list(ep["rewards"].tolist()),
                terminations=list(ep["terminations"].tolist()),
                truncations=list(ep["truncations"].tolist()),
                infos=infos,
            )
        )
    return minari.create_dataset_from_buffers(
        dataset_id=dataset_id,
        buffer=buffers,
        env=env_spec,
        algorithm_name=str(ds.metadata["expert"]),
        author=author,
        code_permalink=None,
        observation_space=obs_space,
        action_space=act_space,
        description=description
        or f"Exported from labkit (content sha256 {ds.content_hash[:12]}); made with: {ds.metadata['created_with']}",
    )


def from_minari(dataset_id_or_obj: Any, expert: str | None = None, env_id: str | None = None) -> EpisodeDataset:
    """Read a Minari dataset (an id, loaded with ``minari.load_dataset``, or a ``MinariDataset``).

    Only flat Box observations and actions are supported. Per-episode fields are read from the
    last row of each episode's ``infos`` (scalars only).

    :param expert: overrides the expert name (default: Minari's ``algorithm_name``).
    :param env_id: overrides the env id (needed when the dataset has no env spec, e.g. it was
        exported from an env that was not registered with gymnasium).
    """
    minari = _import_minari()
    mds = minari.load_dataset(dataset_id_or_obj) if isinstance(dataset_id_or_obj, str) else dataset_id_or_obj

    ends: list[int]
    obs, act, rew, term, trunc, ends, seeds, finals = [], [], [], [], [], [], [], []
    infos_last: list[dict[str, Any]] = []
    for ep in mds.iterate_episodes():
        o = np.asarray(ep.observations, dtype=np.float32)
        if not isinstance(ep.observations, np.ndarray) or o.ndim != 2:
            raise ValueError("from_minari supports flat Box observations only (got a nested or image space).")
        a = np.asarray(ep.actions, dtype=np.float32).reshape(len(ep.rewards), -1)  # (T, act_dim)
        obs.append(o[:-1])
        finals.append(o[-1])
        act.append(a)
        rew.append(np.asarray(ep.rewards, dtype=np.float32).reshape(-1))
        term.append(np.asarray(ep.terminations, dtype=bool).reshape(-1))
        trunc.append(np.asarray(ep.truncations, dtype=bool).reshape(-1))
        ends.append((ends[-1] if ends else 0) + len(a))
        seeds.append(getattr(ep, "seed", None))
        last = {}
        for key, values in (ep.infos or {}).items():
            if isinstance(values, (np.ndarray, list)) and len(values) and np.ndim(values[-1]) == 0:
                value = values[-1]
                value = value.item() if isinstance(value, np.generic) else value
                if isinstance(value, bytes):  # HDF5 stores strings as bytes
                    value = value.decode("utf-8")
                last[_FROM_MINARI_INFO.get(key, key)] = value
        infos_last.append(last)

    fields: dict[str, Any] = {"final_observation": np.stack(finals)}
    if all(s is not None for s in seeds):
        fields["reset_seed"] = np.asarray(seeds, dtype=np.int64)
    common = set.intersection(*(set(d) for d in infos_last)) if infos_last else set()
    for key in sorted(common):
        fields[key] = np.asarray([d[key] for d in infos_last])
    spec = getattr(mds, "spec", None)
    env_spec = getattr(spec, "env_spec", None)
    name = dataset_id_or_obj if isinstance(dataset_id_or_obj, str) else getattr(spec, "dataset_id", "minari")
    metadata = {
        "env_id": env_id or (env_spec.id if env_spec is not None else f"unknown (minari:{name})"),
        "expert": expert or str(getattr(spec, "algorithm_name", None) or "unknown"),
        "seed": int(seeds[0]) if seeds and seeds[0] is not None else -1,
        "created_with": f"labkit.data.from_minari({name!r})",
        "minari_dataset_id": str(name),
    }
    return EpisodeDataset(
        observations=np.concatenate(obs),
        actions=np.concatenate(act),
        rewards=np.concatenate(rew),
        terminations=np.concatenate(term),
        truncations=np.concatenate(trunc),
        episode_ends=np.asarray(ends, dtype=np.int64),
        episode_fields=fields,
        metadata=metadata,
    )
