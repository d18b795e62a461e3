"""labkit.train.checkpoint: atomic checkpoints that rebuild the policy, and one clear refusal per problem."""

from __future__ import annotations

import json

import pytest
import torch

from labkit.train import CheckpointError, TensorBatchSampler, load_checkpoint, save_checkpoint, train_policy


@pytest.fixture
def small_policy(tiny_policy):
    def make(kind: str = "diffusion"):
        g = torch.Generator().manual_seed(0)
        data = TensorBatchSampler(torch.randn(64, 2, 3, generator=g), torch.rand(64, 8, 2, generator=g) * 2 - 1)
        return tiny_policy(kind), data

    return make


@pytest.mark.parametrize("kind", ["diffusion", "gaussian"])
def test_checkpoint_round_trip_gives_identical_samples(small_policy, tmp_path, kind):
    policy, data = small_policy(kind)
    train_policy(policy, data, iterations=5, batch_size=16, progress=False)
    meta = {"env_id": "labkit/TwoRoutes-v0", "regenerate": "python -m labkit train two_routes", "steps": 5}
    path = save_checkpoint(policy, tmp_path / "sub" / "policy.pt", meta)
    assert [p.name for p in path.parent.iterdir()] == ["policy.pt"], "temporary file left behind"
    loaded, loaded_meta = load_checkpoint(
        path, expected_env_id="labkit/TwoRoutes-v0", expected_obs_dim=3, expected_action_dim=2
    )
    assert type(loaded) is type(policy) and loaded_meta == meta and not loaded.training
    obs = torch.randn(4, 2, 3)
    assert torch.equal(
        policy.sample_actions(obs, generator=torch.Generator().manual_seed(5)),
        loaded.sample_actions(obs, generator=torch.Generator().manual_seed(5)),
    )
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "labkit-checkpoint" and raw["version"] == 1 and raw["kind"] == kind
    json.dumps(raw["config"]), json.dumps(raw["meta"])  # primitives only


def test_checkpoint_refusals(small_policy, tmp_path):
    policy, _ = small_policy()
    path = save_checkpoint(policy, tmp_path / "p.pt", {"env_id": "labkit/Reach-v0"})

    with pytest.raises(FileNotFoundError, match=r"missing\.pt.*Regenerate it with: make data"):
        load_checkpoint(tmp_path / "missing.pt", regenerate_hint="make data")

    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt") as err:
        load_checkpoint(truncated)
    assert "weights_only" not in str(err.value) and "\n" not in str(err.value)  # torch's advice is not ours
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="truncated or corrupt") as err:
        load_checkpoint(garbage)
    assert "weights_only" not in str(err.value)

    with pytest.raises(CheckpointError, match=r"trained on env 'labkit/Reach-v0', not 'labkit/Push-v0'"):
        load_checkpoint(path, expected_env_id="labkit/Push-v0")
    with pytest.raises(CheckpointError, match="obs_dim=3, but 5 was expected"):
        load_checkpoint(path, expected_obs_dim=5)
    with pytest.raises(CheckpointError, match="action_dim=2, but 7 was expected"):
        load_checkpoint(path, expected_action_dim=7)

    other = tmp_path / "other.pt"
    torch.save({"format": "something-else", "weights": torch.zeros(2)}, other)
    with pytest.raises(CheckpointError, match="not a labkit checkpoint"):
        load_checkpoint(other)
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "version": 99}, other)
    with pytest.raises(CheckpointError, match="version 99.*Upgrade labkit"):
        load_checkpoint(other)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({**payload, "meta": Evil()}, other)
    with pytest.raises(CheckpointError, match="refusing to load") as err:
        load_checkpoint(other)
    assert "weights_only" not in str(err.value)

    with pytest.raises(TypeError, match="JSON"):
        save_checkpoint(policy, tmp_path / "bad.pt", {"obj": object()})


def test_env_id_travels_in_the_checkpoint(tiny_policy, tmp_path):
    policy = tiny_policy("gaussian", env_id="labkit/TwoRoutes-v0")
    path = save_checkpoint(policy, tmp_path / "p.pt")
    loaded, meta = load_checkpoint(path, expected_env_id="labkit/TwoRoutes-v0")
    assert meta["env_id"] == loaded.env_id == loaded.config.env_id == "labkit/TwoRoutes-v0"
    assert "env_id" not in torch.load(path, weights_only=True)["config"]  # kept once, in meta
