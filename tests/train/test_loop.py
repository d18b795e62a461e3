"""labkit.train.loop: the training scaffold, the BC loop, interrupts, EMA, and the kit's core lesson.

Checkpoints are tests/train/test_checkpoint.py, TrainLog tests/train/test_log.py, behaviour_cloning
tests/train/test_bc.py.
"""

from __future__ import annotations

import time
import warnings

import pytest
import torch

from labkit.policies import DiffusionPolicy, DiffusionPolicyConfig, GaussianBCConfig, GaussianBCPolicy
from labkit.train import TensorBatchSampler, TrainLog, load_checkpoint, train_policy, training

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


@pytest.fixture
def small_policy(tiny_policy):
    """``small_policy(kind)`` -> (a tiny To=2, H=8 policy fitted to its data, 64 random windows of that data)."""

    def make(kind: str = "diffusion", **kw):
        g = torch.Generator().manual_seed(0)
        data = TensorBatchSampler(torch.randn(64, 2, 3, generator=g), torch.rand(64, 8, 2, generator=g) * 2 - 1)
        return fitted(tiny_policy(kind, fit=False, **kw), data), data

    return make


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
    log = train_policy(diffusion, data, iterations=400, lr=2e-3, progress=False)
    assert isinstance(log, TrainLog) and not log.interrupted and log.iterations_done == 400
    assert log.loss is log.losses["loss"] and len(log.loss) == 400 and log.seconds > 0
    a = diffusion.sample_actions(
        test_obs, generator=torch.Generator().manual_seed(2), sampler="ddim", num_inference_steps=20
    ).flatten()
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


def test_training_reduces_loss_and_is_seeded(small_policy):
    runs = []
    for _ in range(2):
        policy, data = small_policy()
        torch.manual_seed(123)
        for p in policy.parameters():  # same initial weights for both runs
            torch.nn.init.normal_(p, std=0.05)
        log = train_policy(policy, data, iterations=60, batch_size=32, progress=False, seed=3)
        runs.append(log.loss)
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
def test_keyboard_interrupt_keeps_weights(small_policy, tmp_path, ema_decay):
    policy, data = small_policy()
    before = [p.detach().clone() for p in policy.parameters()]
    path = tmp_path / "ckpt.pt"
    with pytest.warns(UserWarning, match="train interrupted after 5 iterations") as record:
        result = train_policy(
            policy,
            InterruptingData(data, k=5),
            iterations=100,
            batch_size=16,
            progress=False,
            ema_decay=ema_decay,
            checkpoint_path=path,
        )
    assert len(record) == 1
    assert result.interrupted and result.iterations_done == 5 and len(result.loss) == 5
    assert any(not torch.equal(b, p) for b, p in zip(before, policy.parameters(), strict=True)), (
        "trained weights were lost"
    )
    loaded, _ = load_checkpoint(path)  # the interrupted run still saved a usable checkpoint
    for a, b in zip(loaded.state_dict().values(), policy.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_ema_weights_end_up_in_policy(small_policy):
    import copy

    raw, data = small_policy()
    averaged = copy.deepcopy(raw)
    train_policy(raw, data, iterations=20, batch_size=16, progress=False, ema_decay=None)
    train_policy(averaged, data, iterations=20, batch_size=16, progress=False, ema_decay=0.9)
    # same start, same batches, same noise: only the EMA copy at the end can make them differ
    assert any(not torch.equal(a, b) for a, b in zip(raw.parameters(), averaged.parameters(), strict=True))
    assert torch.equal(raw.normalizer_act.center, averaged.normalizer_act.center)


def test_torch_dataset_is_accepted(small_policy):
    class MapStyle(torch.utils.data.Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return {"obs": torch.full((2, 3), float(i)), "actions": torch.zeros(8, 2)}

    policy, _ = small_policy()
    assert train_policy(policy, MapStyle(), iterations=3, batch_size=4, progress=False).iterations_done == 3


# ---------------------------------------------------------------- the scaffold every trainer runs in


def test_training_scaffold_keeps_the_work_done_before_ctrl_c():
    log = TrainLog()
    weights = torch.zeros(3)
    with pytest.warns(UserWarning, match="IQL critic interrupted after 2 iterations; keeping what was learned"):
        with training(log, total=10, desc="IQL critic", progress=False) as bar:
            for it in range(10):
                if it == 2:
                    raise KeyboardInterrupt  # what Ctrl-C / the notebook's stop button does mid-loop
                weights += 1.0
                log.add(loss=1.0 / (it + 1))
                log.iterations_done += 1
                bar.update(1)
                time.sleep(0.01)
    # The exception did not escape, and what was learned is still here.
    assert log.interrupted and log.iterations_done == 2 and log.loss == [1.0, 0.5]
    assert torch.equal(weights, torch.full((3,), 2.0)) and log.seconds >= 0.02


def test_training_scaffold_counts_env_steps_and_times_a_clean_run():
    log = TrainLog()
    with pytest.warns(UserWarning, match="PPO interrupted after 640 env steps"):
        with training(log, total=None, desc="PPO", progress=False):
            log.env_steps = 640
            raise KeyboardInterrupt
    clean = TrainLog()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning without an interrupt
        with training(clean, total=1, desc="x", progress=False):
            pass
    assert not clean.interrupted and clean.seconds >= 0
    with pytest.raises(ValueError, match="boom"):  # other errors are not swallowed
        with training(TrainLog(), total=1, desc="x", progress=False):
            raise ValueError("boom")
