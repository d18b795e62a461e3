"""Dataset files: one compressed ``.npz`` (no pickle), written atomically, validated when read.

``load_dataset`` checks shapes, format version, environment id and the sha256 of the contents, and
fails with one :class:`~labkit.data.episodes.DatasetError` that says what to do (usually the command
that regenerates the file).
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from labkit.data.episodes import (
    _EPISODE_PREFIX,
    _GENERIC_HINT,
    FORMAT_VERSION,
    STEP_ARRAYS,
    DatasetError,
    EpisodeDataset,
    _canonical_json,
)
from labkit.io import atomic_write

__all__ = ["load_dataset", "save_dataset"]


def save_dataset(ds: EpisodeDataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to one compressed ``.npz`` file, atomically (``labkit.io.atomic_write``).

    Metadata is stored as a JSON string, plus the content hash; a crash leaves either the old file
    or the new one, never half a file.
    """
    if not isinstance(ds, EpisodeDataset):
        raise TypeError(f"save_dataset needs an EpisodeDataset. Got {type(ds).__name__}.")
    payload: dict[str, Any] = dict(ds._arrays())
    payload["metadata"] = np.array(_canonical_json(ds.metadata))  # 0-d unicode array, no pickle
    payload["content_hash"] = np.array(ds.content_hash)
    return atomic_write(path, lambda f: np.savez_compressed(f, **payload), make_parents=False)


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
            "labkit.collect."
        )

    missing = [name for name in (*STEP_ARRAYS, "episode_ends") if name not in contents]
    if missing:
        raise fail(f"arrays {missing} are missing", metadata)
    fields = {k[len(_EPISODE_PREFIX) :]: v for k, v in contents.items() if k.startswith(_EPISODE_PREFIX)}
    try:
        ds = EpisodeDataset(
            **{name: contents[name] for name in STEP_ARRAYS},
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
