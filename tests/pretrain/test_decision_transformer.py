"""Decision Transformer: token layout, causal masking, padding, and that it learns to obey the return token."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.data import EpisodeDataset
from labkit.pretrain.decision_transformer import DecisionTransformer, DTConfig, train_decision_transformer
from labkit.pretrain.gpt import causal_mask


def _model(**kw) -> DecisionTransformer:
    torch.manual_seed(0)
    m = DecisionTransformer(DTConfig(obs_dim=3, action_dim=2, context=4, n_layer=2, n_embd=32, **kw))
    m.normalizer_obs.fit(torch.randn(100, 3))
    return m.eval()


def _batch(B=2, K=4):
    g = torch.Generator().manual_seed(1)
    return (
        torch.randn(B, K, 3, generator=g),
        torch.rand(B, K, 2, generator=g) * 2 - 1,
        torch.randn(B, K, 1, generator=g),
        torch.arange(K).expand(B, K).clone(),
    )


def test_token_layout_is_R_s_a_per_step():
    m = _model()
    s, a, r, t = _batch()
    base = m.tokens(s, a, r, t)
    assert base.shape == (2, 12, 32)  # (B, 3K, C)
    for k in range(4):
        for which, kind in enumerate(("R", "s", "a")):
            s2, a2, r2 = s.clone(), a.clone(), r.clone()
            {"R": r2, "s": s2, "a": a2}[kind][:, k] += 1.0
            changed = (m.tokens(s2, a2, r2, t) - base).abs().sum(-1)[0] > 1e-6  # (3K,)
            assert changed.nonzero().flatten().tolist() == [3 * k + which], (kind, k)


def test_causal_mask_lower_triangular():
    m = causal_mask(4)
    assert m.tolist() == [
        [True, False, False, False],
        [True, True, False, False],
        [True, True, True, False],
        [True, True, True, True],
    ]


@pytest.mark.parametrize("head", ["bins", "mse"])
def test_a_future_token_cannot_change_an_earlier_output(head):
    m = _model(action_head=head)
    s, a, r, t = _batch()
    out, _ = m(s, a, r, t)
    for k in range(4):  # change a_k (the token right after s_k), and everything of step k + 1
        s2, a2, r2 = s.clone(), a.clone(), r.clone()
        a2[:, k] = -a2[:, k]
        if k + 1 < 4:
            s2[:, k + 1] += 5.0
            r2[:, k + 1] += 5.0
        out2, _ = m(s2, a2, r2, t)
        assert torch.allclose(out[:, : k + 1], out2[:, : k + 1], atol=1e-6), k  # a_0..a_k predictions unchanged
        if k + 1 < 4:
            assert not torch.allclose(out[:, k + 1], out2[:, k + 1])  # ... while later ones do see it


def test_attention_weights_respect_causality_and_padding():
    m = _model()
    s, a, r, t = _batch()
    mask = torch.tensor([[False, True, True, True], [True, True, True, True]])
    _, maps = m(s, a, r, t, mask, return_attention=True)
    w = maps[0]  # (B, nh, 3K, 3K)
    assert w.shape == (2, 1, 12, 12)
    assert torch.all(w[..., torch.triu(torch.ones(12, 12, dtype=torch.bool), 1)] == 0)  # nothing from the future
    assert torch.all(w[0, :, 3:, :3] == 0)  # no real token attends to the padded first step
    assert torch.allclose(w.sum(-1), torch.ones(2, 1, 12))


def test_padding_does_not_change_the_real_outputs():
    m = _model()
    s, a, r, t = _batch(B=1)
    mask = torch.tensor([[False, False, True, True]])
    out, _ = m(s, a, r, t, mask)
    s2, a2, r2 = s.clone(), a.clone(), r.clone()
    s2[:, :2], a2[:, :2], r2[:, :2] = 9.0, 0.5, 9.0  # rubbish in the padded slots
    out2, _ = m(s2, a2, r2, t, mask)
    assert torch.allclose(out[:, 2:], out2[:, 2:], atol=1e-6)
    out3, _ = m(s[:, 2:], a[:, 2:], r[:, 2:], t[:, 2:])  # the same as a shorter, unpadded window
    assert torch.allclose(out[:, 2:], out3, atol=1e-5)


@pytest.mark.slow
def test_it_learns_to_follow_the_return_token():
    """Toy data: episodes whose return is +1 always act (+0.8, 0), those with -1 act (-0.8, 0)."""
    n_ep, T = 40, 5
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(n_ep * T, 3)).astype(np.float32)
    sign = np.repeat(np.where(np.arange(n_ep) % 2 == 0, 1.0, -1.0), T)
    act = np.stack([0.8 * sign, np.zeros_like(sign)], 1).astype(np.float32)
    rew = np.zeros(n_ep * T, np.float32)
    ends = np.arange(1, n_ep + 1) * T
    rew[ends - 1] = sign[ends - 1]
    term = np.zeros(n_ep * T, bool)
    term[ends - 1] = True
    ds = EpisodeDataset(
        obs,
        act,
        rew,
        term,
        np.zeros_like(term),
        ends,
        metadata={"env_id": "toy", "expert": "hand", "seed": 0, "created_with": "test"},
    )
    torch.manual_seed(0)
    m = DecisionTransformer(DTConfig(3, 2, context=3, n_layer=1, n_embd=32, return_scale=1.0, dropout=0.0))
    train_decision_transformer(m, ds, iterations=300, progress=False)
    s = torch.as_tensor(rng.normal(size=(8, 1, 3)), dtype=torch.float32)  # states it never saw: only R can decide
    for target, want in ((1.0, 0.8), (-1.0, -0.8)):
        a = m.act(s, torch.zeros(8, 1, 2), torch.full((8, 1, 1), target), torch.zeros(8, 1, dtype=torch.long))
        assert torch.allclose(a[:, 0], torch.full((8,), want), atol=0.06), (target, a[:, 0])


def test_config_validation_says_what_to_fix():
    with pytest.raises(ValueError, match="action_head"):
        DTConfig(3, 2, action_head="gauss")
    with pytest.raises(ValueError, match="divisible"):
        DecisionTransformer(DTConfig(3, 2, n_embd=30, n_head=4))
