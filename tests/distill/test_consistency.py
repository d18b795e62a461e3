"""Consistency distillation on a 1-D toy whose teacher is exact: the one-step sample must match it."""

import numpy as np
import pytest
import torch
from torch import nn

import labkit as lk
from labkit.distill import ConsistencyPolicy, distill_consistency
from labkit.policies import DiffusionPolicy, DiffusionPolicyConfig
from labkit.policies.consistency import consistency_target

MODES, STD = (-0.6, 0.6), 0.08  # the toy's clean actions: two narrow modes, normalised units


class MixtureEpsilon(nn.Module):
    """The exact noise prediction of a two-Gaussian mixture: eps(x_t, t) = -sqrt(1 - abar_t) * score(x_t)."""

    def __init__(self, abar: torch.Tensor):
        super().__init__()
        self.register_buffer("abar", abar.float())

    def time_mlp(self, t):  # the policy's sampler embeds timesteps first: hand them through, (K,) -> (K, 1)
        return t.float()[:, None]

    def forward(self, x, t, cond, time_emb=None):
        a = self.abar[t].view(-1, 1, 1)  # (B, 1, 1)
        mu = torch.tensor(MODES).view(1, 1, 1, -1)  # (1, 1, 1, 2)
        var = a[..., None] * STD**2 + (1 - a[..., None])  # (B, 1, 1, 1)
        logw = -0.5 * (x[..., None] - a.sqrt()[..., None] * mu) ** 2 / var  # (B, H, A, 2)
        post = torch.softmax(logw, dim=-1)
        score = (post * -(x[..., None] - a.sqrt()[..., None] * mu) / var).sum(-1)  # (B, H, A)
        return -(1 - a).sqrt() * score


def _toy() -> tuple[DiffusionPolicy, lk.EpisodeDataset]:
    rng = np.random.default_rng(0)
    n = 4000
    actions = (rng.choice(MODES, size=n) + STD * rng.normal(size=n)).astype(np.float32)[:, None]  # (N, 1)
    ds = lk.EpisodeDataset(
        np.zeros((n, 1), np.float32),
        actions,
        np.zeros(n),
        np.zeros(n, bool),
        np.ones(n, bool),
        np.arange(1, n + 1),
        metadata={"env_id": "toy", "expert": "mixture", "seed": 0, "created_with": "test"},
    )
    cfg = DiffusionPolicyConfig(
        obs_dim=1,
        action_dim=1,
        n_obs_steps=1,
        horizon=1,
        n_action_steps=1,
        obs_norm="gaussian",
        mlp_hidden_dim=64,
        mlp_n_layers=2,
        time_embed_dim=16,
        sampler="ddim",
        num_inference_steps=10,
    )
    teacher = DiffusionPolicy(cfg)
    teacher.normalizer_obs.fit(torch.zeros(2, 1))
    teacher.normalizer_act.center.fill_(0.0)  # normalised = raw: the exact teacher works in raw units
    teacher.normalizer_act.scale.fill_(1.0)
    teacher.normalizer_act.fitted.fill_(True)
    teacher.denoiser = MixtureEpsilon(teacher.noise_scheduler.alphas_cumprod)
    return teacher.eval(), ds


def _mode_stats(x: np.ndarray) -> tuple[float, float]:
    """Share of samples in the right mode, and the mean distance to the nearest mode."""
    return float((x > 0).mean()), float(np.min(np.abs(x[:, None] - np.array(MODES)[None]), axis=1).mean())


def test_one_step_sample_matches_the_teacher_distribution():
    teacher, ds = _toy()
    obs = torch.zeros(2000, 1, 1)
    ref = teacher.sample_actions(
        obs, generator=torch.Generator().manual_seed(1), sampler="ddim", num_inference_steps=10
    )
    ref = ref.flatten().numpy()
    student, log = distill_consistency(teacher, ds, iterations=400, batch_size=256, lr=3e-3, seed=0, progress=False)
    assert isinstance(student, ConsistencyPolicy) and not log.interrupted
    assert np.mean(log.loss[-50:]) < np.mean(log.loss[:50])
    one = student.sample_actions(obs, generator=torch.Generator().manual_seed(2), num_inference_steps=1)
    one = one.flatten().numpy()
    share_ref, _ = _mode_stats(ref)
    share, dist = _mode_stats(one)
    assert abs(share_ref - 0.5) < 0.05  # the exact teacher's DDIM-10 keeps both modes
    assert abs(share - share_ref) < 0.1, (share, share_ref)  # ... and so does the one-step student
    assert dist < 2.5 * STD, dist  # its samples sit on the modes, not between them
    w1 = float(np.abs(np.sort(one) - np.sort(ref)).mean())  # 1-D Wasserstein-1 distance
    untrained = ConsistencyPolicy(student.config)
    untrained.load_state_dict(student.state_dict())
    torch.nn.init.zeros_(untrained.network.out[-1].weight)  # a student that always answers "0"
    torch.nn.init.zeros_(untrained.network.out[-1].bias)
    base = untrained.eval().sample_actions(obs, generator=torch.Generator().manual_seed(2)).flatten().numpy()
    assert w1 < 0.1 and w1 < 0.3 * float(np.abs(np.sort(base) - np.sort(ref)).mean()), w1


def test_checkpoint_round_trip_through_lk_save_and_load(tmp_path):
    teacher, ds = _toy()
    student, _ = distill_consistency(teacher, ds, iterations=5, progress=False)
    path = lk.save(student, tmp_path / "cm.pt")
    loaded = lk.load(path)
    assert isinstance(loaded, ConsistencyPolicy)
    obs = torch.zeros(3, 1, 1)
    for k in (1, 2):
        a = student.predict_action(obs, generator=torch.Generator().manual_seed(0), num_inference_steps=k)
        b = loaded.predict_action(obs, generator=torch.Generator().manual_seed(0), num_inference_steps=k)
        assert a.shape == (3, 1, 1) and torch.allclose(a, b)


def test_the_target_is_x_s_at_the_end_of_the_path():
    x_s, s = torch.randn(4, 2, 1), torch.tensor([-1, 3, -1, 0])
    target = consistency_target(x_s, s, lambda x, t: torch.zeros_like(x) + t.float().view(-1, 1, 1))
    assert torch.equal(target[[0, 2]], x_s[[0, 2]]) and torch.equal(target[1], torch.full((2, 1), 3.0))


def test_bad_input_says_what_to_do(tiny_policy):
    teacher, ds = _toy()
    with pytest.raises(ValueError, match="num_inference_steps"):
        distill_consistency(teacher, ds, iterations=1, num_inference_steps=20, progress=False)
    with pytest.raises(ValueError, match="MLP denoiser"):
        distill_consistency(tiny_policy("gaussian", 1, 1), ds, iterations=1, progress=False)
    student, _ = distill_consistency(teacher, ds, iterations=1, progress=False)
    with pytest.raises(RuntimeError, match="distill_consistency"):
        student.compute_loss({"obs": torch.zeros(2, 1, 1), "actions": torch.zeros(2, 1, 1)})
