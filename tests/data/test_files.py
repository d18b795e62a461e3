"""labkit.data.files: atomic save, validated load, one clear error per kind of damage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from labkit.data import FORMAT_VERSION, DatasetError, load_dataset, save_dataset

ENV_ID = "test/PointLine-v0"
COMMAND = "python -m labkit make-data --env test/PointLine-v0 --episodes 8"


def test_round_trip_preserves_everything(point_line_demos, tmp_path):
    collected = point_line_demos
    path = save_dataset(collected, tmp_path / "demo.npz")
    loaded = load_dataset(path, expected_env_id=ENV_ID, expected_version=FORMAT_VERSION)
    assert loaded.content_hash == collected.content_hash
    assert loaded == collected
    for name in ("observations", "actions", "rewards", "terminations", "truncations", "episode_ends"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(collected, name))
        assert getattr(loaded, name).dtype == getattr(collected, name).dtype
    for name, values in collected.episode_fields.items():
        np.testing.assert_array_equal(loaded.episode_fields[name], values)
    assert dict(loaded.metadata) == dict(collected.metadata)
    with np.load(path, allow_pickle=False) as z:  # the file is readable without pickle, by plain numpy
        assert json.loads(str(z["metadata"][()]))["env_id"] == ENV_ID
        assert str(z["content_hash"][()]) == collected.content_hash


def test_atomic_save_leaves_old_file_on_crash(make_tiny, tmp_path, monkeypatch):
    path = tmp_path / "demo.npz"
    old = make_tiny()
    save_dataset(old, path)
    old_bytes = path.read_bytes()

    def crash_midway(file, **arrays):
        file.write(b"PK\x03\x04 half a zip ...")
        raise RuntimeError("simulated crash while writing")

    monkeypatch.setattr(np, "savez_compressed", crash_midway)
    with pytest.raises(RuntimeError, match="simulated crash"):
        save_dataset(make_tiny(lengths=(5, 5)), path)
    assert path.read_bytes() == old_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.npz"], "temp file left behind"
    monkeypatch.undo()
    assert load_dataset(path) == old

    fresh = tmp_path / "fresh.npz"
    monkeypatch.setattr(np, "savez_compressed", crash_midway)
    with pytest.raises(RuntimeError):
        save_dataset(old, fresh)
    assert not fresh.exists()


def test_missing_file_is_file_not_found_with_hint(tmp_path):
    with pytest.raises(FileNotFoundError, match="regenerate"):
        load_dataset(tmp_path / "nope.npz")


def test_truncated_file_is_refused_clearly(make_tiny, tmp_path):
    path = save_dataset(make_tiny(), tmp_path / "demo.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"truncated or not a labkit dataset .*regenerate"):
        load_dataset(path)


def test_not_a_dataset_is_refused(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(DatasetError, match="not a labkit dataset"):
        load_dataset(text)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(DatasetError, match="not a labkit dataset"):
        load_dataset(other)


def test_flipped_bytes_are_detected(point_line_demos, tmp_path):
    path = save_dataset(point_line_demos, tmp_path / "demo.npz")
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 16):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"(hash mismatch|truncated or not a labkit dataset)") as err:
        load_dataset(path)
    assert "regenerate" in str(err.value)


def _rewrite(path: Path, **changes):
    """Re-save an npz with some entries replaced, keeping the stored hash (as a careless edit would)."""
    with np.load(path, allow_pickle=False) as z:
        contents = {k: z[k] for k in z.files}
    contents.update(changes)
    np.savez_compressed(path, **contents)


def test_modified_contents_give_hash_mismatch_with_regenerate_command(make_tiny, tmp_path):
    ds = make_tiny()
    path = save_dataset(ds, tmp_path / "demo.npz")
    _rewrite(path, rewards=np.asarray(ds.rewards) * 2)
    with pytest.raises(DatasetError, match="hash mismatch: file was modified") as err:
        load_dataset(path)
    assert COMMAND in str(err.value)


def test_wrong_env_id_is_refused(make_tiny, tmp_path):
    path = save_dataset(make_tiny(), tmp_path / "demo.npz")
    with pytest.raises(DatasetError, match=r"made for env 'test/PointLine-v0' but you asked for 'labkit/TwoRoutes-v0'"):
        load_dataset(path, expected_env_id="labkit/TwoRoutes-v0")


def test_newer_format_version_is_refused(make_tiny, tmp_path):
    ds = make_tiny()
    path = save_dataset(ds, tmp_path / "demo.npz")
    metadata = dict(ds.metadata, version=FORMAT_VERSION + 1)
    _rewrite(path, metadata=np.array(json.dumps(metadata)))
    newer = rf"format version {FORMAT_VERSION + 1} is newer than this labkit \({FORMAT_VERSION}\); upgrade labkit"
    with pytest.raises(DatasetError, match=newer):
        load_dataset(path)
    path2 = save_dataset(ds, tmp_path / "demo2.npz")
    with pytest.raises(DatasetError, match="version 7 was asked for"):
        load_dataset(path2, expected_version=7)


def test_inconsistent_file_contents_are_refused(make_tiny, tmp_path):
    ds = make_tiny()
    path = save_dataset(ds, tmp_path / "demo.npz")
    _rewrite(path, actions=np.asarray(ds.actions)[:-1])
    with pytest.raises(DatasetError, match=r"inconsistent contents: actions have 6 rows but observations have 7"):
        load_dataset(path)
