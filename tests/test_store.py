"""labkit.store: ``lk.load`` / ``lk.save`` round trips, and a one-line error for every way a load can fail."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import labkit as lk
import labkit.data.shipped as shipped
from labkit.data import DatasetError
from labkit.train import CheckpointError


def _one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg, msg
    return msg


def test_shipped_names_load_validated(shipped_prior):
    demos = lk.load("two_routes_demos")
    assert isinstance(demos, lk.EpisodeDataset) and demos.metadata["env_id"] == "labkit/TwoRoutes-v0"
    assert isinstance(shipped_prior, lk.DiffusionPolicy) and shipped_prior.env_id == "labkit/TwoRoutes-v0"
    assert not shipped_prior.training
    assert lk.load("two_routes_demos", env_id="labkit/TwoRoutes-v0") == demos


def test_dataset_round_trip(point_line_demos, tmp_path):
    path = lk.save(point_line_demos, tmp_path / "demos.npz")
    assert path == tmp_path / "demos.npz"
    back = lk.load(path)
    assert back == point_line_demos and back.content_hash == point_line_demos.content_hash
    assert lk.load(str(path), env_id="test/PointLine-v0") == point_line_demos
    with pytest.raises(FileNotFoundError, match="directory .*sub does not exist; create it first") as err:
        lk.save(point_line_demos, tmp_path / "sub" / "demos.npz")  # as before: datasets need an existing folder
    _one_line(err)


@pytest.mark.parametrize("kind", ["diffusion", "gaussian"])
def test_policy_round_trip_keeps_samples_env_id_and_meta(tiny_policy, tmp_path, kind):
    policy = tiny_policy(kind, 8, 2, env_id="labkit/TwoRoutes-v0")
    path = lk.save(policy, tmp_path / "runs" / "policy.pt", meta={"made_with": "tests/test_store.py"})
    back = lk.load(path, env_id="labkit/TwoRoutes-v0", obs_dim=8, action_dim=2)
    assert type(back) is type(policy) and back.config == policy.config and back.env_id == "labkit/TwoRoutes-v0"
    obs = torch.randn(3, 2, 8)
    a = policy.predict_action(obs, generator=torch.Generator().manual_seed(1))
    b = back.predict_action(obs, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert torch.load(path, weights_only=True)["meta"] == {
        "made_with": "tests/test_store.py",
        "env_id": "labkit/TwoRoutes-v0",
    }


def test_unknown_names_and_wrong_suffixes_are_one_line(point_line_demos, tiny_policy, tmp_path):
    for bad in ("two_routes_demo", "two_routes_demos.csv", tmp_path / "model.zip"):
        with pytest.raises(ValueError, match="Cannot load .*give a shipped name .*two_routes_demos") as err:
            lk.load(bad)
        assert ".npz (dataset) or .pt (policy checkpoint)" in _one_line(err)
    with pytest.raises(ValueError, match=r"datasets are saved as \.npz files") as err:
        lk.save(point_line_demos, tmp_path / "demos.pt")
    _one_line(err)
    with pytest.raises(ValueError, match=r"policies are saved as \.pt checkpoints") as err:
        lk.save(tiny_policy("gaussian"), tmp_path / "policy.npz")
    _one_line(err)
    with pytest.raises(ValueError, match="meta= is for policies"):
        lk.save(point_line_demos, tmp_path / "demos.npz", meta={"note": 1})
    with pytest.raises(TypeError, match="labkit.save takes an EpisodeDataset or a trained labkit policy"):
        lk.save(torch.nn.Linear(2, 2), tmp_path / "linear.pt")
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_files_for_another_env_or_other_sizes_are_refused(tiny_policy, point_line_demos, tmp_path):
    with pytest.raises(ValueError, match="'two_routes_demos' was made for 'labkit/TwoRoutes-v0', not 'labkit/Push"):
        lk.load("two_routes_demos", env_id="labkit/PushBlock-v0")
    path = lk.save(tiny_policy("diffusion", 8, 2, env_id="labkit/TwoRoutes-v0"), tmp_path / "p.pt")
    with pytest.raises(CheckpointError, match="trained on env 'labkit/TwoRoutes-v0', not 'labkit/PushBlock-v0'") as err:
        lk.load(path, env_id="labkit/PushBlock-v0")
    _one_line(err)
    with pytest.raises(CheckpointError, match="obs_dim=8, but 13 was expected"):
        lk.load(path, obs_dim=13)
    data = lk.save(point_line_demos, tmp_path / "d.npz")
    with pytest.raises(DatasetError, match="made for env 'test/PointLine-v0' but you asked for"):
        lk.load(data, env_id="labkit/TwoRoutes-v0")


def test_missing_files_are_one_line_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no dataset at .*nope.npz") as err:
        lk.load(tmp_path / "nope.npz")
    _one_line(err)
    with pytest.raises(FileNotFoundError, match="No checkpoint at .*nope.pt") as err:
        lk.load(tmp_path / "nope.pt")
    _one_line(err)


def test_damaged_files_are_one_line_and_do_not_mention_weights_only(point_line_demos, tiny_policy, tmp_path):
    data = lk.save(point_line_demos, tmp_path / "d.npz")
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(DatasetError, match="truncated or not a labkit dataset") as err:
        lk.load(data)
    _one_line(err)
    ckpt = lk.save(tiny_policy("diffusion"), tmp_path / "p.pt")
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    for path in (ckpt, garbage):
        with pytest.raises(CheckpointError, match="not a labkit checkpoint, or it is truncated or corrupt") as err:
            lk.load(path)
        msg = _one_line(err)
        assert "weights_only" not in msg and "Delete it" in msg and "labkit.save" in msg


def test_missing_or_damaged_shipped_files_name_their_remake_command(tmp_path, monkeypatch):
    src = shipped.data_path("two_routes_prior")
    monkeypatch.setattr(shipped, "DATA_DIR", tmp_path)
    for name in ("two_routes_prior", "two_routes_demos"):
        with pytest.raises(FileNotFoundError, match=f"python -m labkit make-data {name}") as err:
            lk.load(name)
        _one_line(err)
    (tmp_path / "two_routes_prior.pt").write_bytes(src.read_bytes()[: src.stat().st_size // 3])
    with pytest.raises(CheckpointError, match="Regenerate it with: python -m labkit make-data two_routes_prior") as err:
        lk.load("two_routes_prior")
    assert "weights_only" not in _one_line(err)
    np.testing.assert_equal(src.exists(), True)  # the real file is untouched


def test_a_shipped_file_of_another_kind_names_its_loader():
    import pytest

    import labkit as lk

    with pytest.raises(ValueError, match="load_diffuser"):
        lk.load("planning_diffuser")
