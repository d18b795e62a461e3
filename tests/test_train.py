"""Tests for labkit.train: the training loop, interrupts, checkpoints, and the kit's core lesson."""

from __future__ import annotations

import json

import pytest
import torch

from labkit.diffusion import DiffusionPolicy, DiffusionPolicyConfig, GaussianBCConfig, GaussianBCPolicy
from labkit.train import CheckpointError, TensorBatchSampler, load_checkpoint, save_checkpoint, train_policy


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from intra-op threads, and threads thrash on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


HORIZONS = dict(obs_dim=1, action_dim=1, n_obs_steps=1, horizon=1, n_action_steps=1)


def two_mode_data(n: int = 2000, seed: int = 0) -> TensorBatchSampler:
    """Observations uniform in [-1, 1]; the demonstrated action is +1 or -1 with equal odds."""
    g = torch.Generator().manual_seed(seed)
    obs = torch.rand(n, 1, 1, generator=g) * 2 - 1  # (N, To=1, obs_dim=1)
    actions = (torch.randint(0, 2, (n, 1, 1), generator=g) * 2 - 1).float()  # (N, H=1, A=1)
    return TensorBatchSampler(obs, actions)


def fitted(policy, data: TensorBatchSampler):
    policy.fit_normalizers(data.obs.reshape(-1, data.obs.shape[-1]), data.actions.reshape(-1, data.actions.shape[-1]))
    return policy


def small_policy(kind: str = "diffusion", **kw):
    if kind == "diffusion":
        cfg = DiffusionPolicyConfig(obs_dim=3, action_dim=2, mlp_hidden_dim=32, mlp_n_layers=2, num_inference_steps=10, **kw)
        policy = DiffusionPolicy(cfg)
    else:
        policy = GaussianBCPolicy(GaussianBCConfig(obs_dim=3, action_dim=2, hidden_dim=32, n_layers=2, **kw))
    g = torch.Generator().manual_seed(0)
    data = TensorBatchSampler(torch.randn(64, 2, 3, generator=g), torch.rand(64, 8, 2, generator=g) * 2 - 1)
    return fitted(policy, data), data


def test_two_modes_diffusion_keeps_them_gaussian_averages():
    """The lesson of the kit: demonstrations +1 / -1; diffusion samples both, Gaussian BC predicts ~0."""
    data = two_mode_data()
    test_obs = torch.rand(1000, 1, 1, generator=torch.Generator().manual_seed(1)) * 2 - 1

    torch.manual_seed(0)
    diffusion = DiffusionPolicy(DiffusionPolicyConfig(**HORIZONS, mlp_hidden_dim=128, mlp_n_layers=2))
    # action limits +-2 (as from an env's action space): the modes sit inside the clipping range,
    # so an untrained model cannot pass by having its samples clipped onto +-1
    diffusion.fit_normalizers(data.obs.reshape(-1, 1), torch.tensor([[-2.0], [2.0]]))
    untrained = diffusion.sample_actions(test_obs, generator=torch.Generator().manual_seed(2), sampler="ddim").flatten()
    assert ((untrained.abs() - 1).abs() < 0.2).float().mean() < 0.2
    result = train_policy(diffusion, data, iterations=400, lr=2e-3, progress=False)
    assert not result.interrupted and result.iterations_done == 400
    a = diffusion.sample_actions(test_obs, generator=torch.Generator().manual_seed(2), sampler="ddim", num_inference_steps=20).flatten()
    near_mode = ((a.abs() - 1).abs() < 0.2).float().mean().item()
    assert near_mode > 0.85, f"diffusion samples should sit on the two modes; {near_mode:.0%} do"
    positive = (a > 0).float().mean().item()
    assert 0.3 < positive < 0.7, f"both modes should be sampled; {positive:.0%} are positive"

    torch.manual_seed(0)
    gaussian = fitted(GaussianBCPolicy(GaussianBCConfig(**HORIZONS, hidden_dim=64, n_layers=2)), data)
    train_policy(gaussian, data, iterations=150, lr=2e-3, progress=False)
    mean = gaussian.sample_actions(test_obs, deterministic=True).flatten()
    assert mean.abs().max() < 0.3, "Gaussian BC should put its mean between the modes"
    g_samples = gaussian.sample_actions(test_obs, generator=torch.Generator().manual_seed(2)).flatten()
    assert ((g_samples.abs() - 1).abs() < 0.2).float().mean() < 0.5


def test_training_reduces_loss_and_is_seeded():
    runs = []
    for _ in range(2):
        policy, data = small_policy()
        torch.manual_seed(123)
        for p in policy.parameters():  # same initial weights for both runs
            torch.nn.init.normal_(p, std=0.05)
        result = train_policy(policy, data, iterations=60, batch_size=32, progress=False, seed=3)
        runs.append(result.losses)
    assert runs[0] == runs[1]
    assert sum(runs[0][-10:]) < sum(runs[0][:10])


class InterruptingData:
    """A dataset whose sample() raises KeyboardInterrupt at call number ``k`` (0-based)."""

    def __init__(self, inner: TensorBatchSampler, k: int) -> None:
        self.inner, self.k, self.calls = inner, k, 0

    def __len__(self) -> int:
        return len(self.inner)

    def sample(self, batch_size: int, generator: torch.Generator):
        if self.calls == self.k:
            raise KeyboardInterrupt
        self.calls += 1
        return self.inner.sample(batch_size, generator)


@pytest.mark.parametrize("ema_decay", [0.9, None])
def test_keyboard_interrupt_keeps_weights(tmp_path, ema_decay):
    policy, data = small_policy()
    before = [p.detach().clone() for p in policy.parameters()]
    path = tmp_path / "ckpt.pt"
    with pytest.warns(UserWarning, match="interrupted after 5 of 100") as record:
        result = train_policy(
            policy, InterruptingData(data, k=5), iterations=100, batch_size=16, progress=False,
            ema_decay=ema_decay, checkpoint_path=path,
        )
    assert len(record) == 1
    assert result.interrupted and result.iterations_done == 5 and len(result.losses) == 5
    assert any(not torch.equal(b, p) for b, p in zip(before, policy.parameters())), "trained weights were lost"
    loaded, _ = load_checkpoint(path)  # the interrupted run still saved a usable checkpoint
    for a, b in zip(loaded.state_dict().values(), policy.state_dict().values()):
        assert torch.equal(a, b)


def test_ema_weights_end_up_in_policy():
    import copy

    raw, data = small_policy()
    averaged = copy.deepcopy(raw)
    train_policy(raw, data, iterations=20, batch_size=16, progress=False, ema_decay=None)
    train_policy(averaged, data, iterations=20, batch_size=16, progress=False, ema_decay=0.9)
    # same start, same batches, same noise: only the EMA copy at the end can make them differ
    assert any(not torch.equal(a, b) for a, b in zip(raw.parameters(), averaged.parameters()))
    assert torch.equal(raw.normalizer_act.center, averaged.normalizer_act.center)


def test_torch_dataset_is_accepted():
    class MapStyle(torch.utils.data.Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return {"obs": torch.full((2, 3), float(i)), "actions": torch.zeros(8, 2)}

    policy, _ = small_policy()
    assert train_policy(policy, MapStyle(), iterations=3, batch_size=4, progress=False).iterations_done == 3


@pytest.mark.parametrize("kind", ["diffusion", "gaussian"])
def test_checkpoint_round_trip_gives_identical_samples(tmp_path, kind):
    policy, data = small_policy(kind)
    train_policy(policy, data, iterations=5, batch_size=16, progress=False)
    meta = {"env_id": "labkit/TwoRoutes-v0", "regenerate": "python -m labkit train two_routes", "steps": 5}
    path = save_checkpoint(policy, tmp_path / "sub" / "policy.pt", meta)
    assert [p.name for p in path.parent.iterdir()] == ["policy.pt"], "temporary file left behind"
    loaded, loaded_meta = load_checkpoint(path, expected_env_id="labkit/TwoRoutes-v0", expected_obs_dim=3, expected_action_dim=2)
    assert type(loaded) is type(policy) and loaded_meta == meta and not loaded.training
    obs = torch.randn(4, 2, 3)
    assert torch.equal(
        policy.sample_actions(obs, generator=torch.Generator().manual_seed(5)),
        loaded.sample_actions(obs, generator=torch.Generator().manual_seed(5)),
    )
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "labkit-checkpoint" and raw["version"] == 1 and raw["kind"] == kind
    json.dumps(raw["config"]), json.dumps(raw["meta"])  # primitives only


def test_checkpoint_refusals(tmp_path):
    policy, _ = small_policy()
    path = save_checkpoint(policy, tmp_path / "p.pt", {"env_id": "labkit/Reach-v0"})

    with pytest.raises(FileNotFoundError, match=r"missing\.pt.*Regenerate it with: make data"):
        load_checkpoint(tmp_path / "missing.pt", regenerate_hint="make data")

    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(truncated)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_checkpoint(garbage)

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
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_checkpoint(other)

    with pytest.raises(TypeError, match="JSON"):
        save_checkpoint(policy, tmp_path / "bad.pt", {"obj": object()})
