"""Q-Transformer: the per-dimension backup on a two-state toy, the conservative term, causality, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.data import EpisodeDataset
from labkit.pretrain.q_transformer import (
    QTConfig,
    QTransformer,
    conservative_penalty,
    n_step_transitions,
    per_dimension_targets,
    train_q_transformer,
)


def test_per_dimension_backup_by_hand():
    """Two states: s (now) and s' (next). Two action dims, three cells each."""
    # Target net at s with the data's cells fed in: row 0 = Q'_1(s, .), row 1 = Q'_2(s, a_1, .).
    q_s = torch.tensor([[[0.1, 0.5, 0.2], [0.3, 0.9, 0.4]]])  # (B=1, d=2, n=3)
    q_next_first = torch.tensor([[1.0, 2.0, 1.5]])  # (B, n): Q'_1(s', .)
    y = per_dimension_targets(q_s, q_next_first, torch.tensor([0.25]), torch.tensor([0.0]), gamma=0.5)
    # dim 1: no reward, no discount: max_b Q'_2(s, a_1, b) = 0.9; dim 2: r + gamma max_b Q'_1(s', b) = 0.25 + 1.0
    assert torch.allclose(y, torch.tensor([[0.9, 1.25]]))
    y_done = per_dimension_targets(q_s, q_next_first, torch.tensor([0.25]), torch.tensor([1.0]), gamma=0.5)
    assert torch.allclose(y_done, torch.tensor([[0.9, 0.25]]))  # s' terminal: no bootstrap
    y_mc = per_dimension_targets(
        q_s, q_next_first, torch.tensor([0.25]), torch.tensor([0.0]), gamma=0.5, mc_return=torch.tensor([1.1])
    )
    assert torch.allclose(y_mc, torch.tensor([[1.1, 1.25]]))  # the Monte-Carlo return is a lower bound


def test_conservative_penalty_only_touches_unseen_cells():
    q = torch.tensor([[[1.0, 3.0, 5.0]]])  # (1, 1, 3)
    taken = torch.tensor([[1]])
    # cells 0 and 2 are unseen: ((1 - 0)^2 + (5 - 0)^2) / 2
    assert conservative_penalty(q, taken, q_min=0.0).item() == pytest.approx(13.0)
    assert conservative_penalty(q, taken, q_min=1.0).item() == pytest.approx(8.0)


def test_a_later_dimension_cannot_change_an_earlier_row():
    torch.manual_seed(0)
    m = QTransformer(QTConfig(obs_dim=4, action_dim=3, n_bins=5)).eval()
    m.normalizer_obs.fit(torch.randn(50, 4))
    obs = torch.randn(2, 4)
    a = torch.tensor([[0, 1, 2], [4, 3, 2]])
    q = m(obs, a)
    assert q.shape == (2, 3, 5)
    b = a.clone()
    b[:, 1:] = torch.tensor([[4, 4], [0, 0]])  # change dims 2 and 3: rows 0 and 1 only see dims < 2
    q2 = m(obs, b)
    assert torch.allclose(q[:, 0], q2[:, 0]) and torch.allclose(q[:, 1], q2[:, 1])
    assert not torch.allclose(q[:, 2], q2[:, 2])  # row 2 sees a_2


def _two_state_toy(n: int = 600, seed: int = 0) -> EpisodeDataset:
    """s0 --(a)--> s1 (reward 0) --(a)--> end with reward 1 only if a = (+1, -1) there, else 0.

    Uniformly random actions at both states, so every cell is seen. Q*(s1, a) = 1[a = (+1, -1)],
    Q*(s0, a) = gamma for every a.
    """
    rng = np.random.default_rng(seed)
    cells = np.array([-1.0, 0.0, 1.0], np.float32)
    obs, act, rew = [], [], []
    for _ in range(n):
        a0, a1 = cells[rng.integers(0, 3, 2)], cells[rng.integers(0, 3, 2)]
        obs += [[1.0, 0.0], [0.0, 1.0]]
        act += [a0, a1]
        rew += [0.0, float(a1[0] == 1.0 and a1[1] == -1.0)]
    ends = np.arange(1, n + 1) * 2
    term = np.zeros(2 * n, bool)
    term[ends - 1] = True
    return EpisodeDataset(
        np.array(obs, np.float32),
        np.array(act, np.float32),
        np.array(rew, np.float32),
        term,
        np.zeros_like(term),
        ends,
        episode_fields={"final_observation": np.zeros((n, 2), np.float32)},
        metadata={"env_id": "toy", "expert": "uniform", "seed": seed, "created_with": "test"},
    )


@pytest.mark.slow
def test_q_learning_finds_the_best_cell_and_the_discounted_value():
    data = _two_state_toy()
    torch.manual_seed(0)
    m = QTransformer(
        QTConfig(
            2,
            2,
            n_bins=3,
            n_layer=1,
            n_embd=32,
            value_scale=1.0,
            gamma=0.9,
            conservative_weight=0.0,
            mc_lower_bound=False,
            lr=3e-3,
            batch_size=128,
            target_tau=0.05,
        )
    )
    train_q_transformer(m, data, iterations=600, progress=False)
    s0, s1 = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    assert m.greedy_bins(s1).tolist() == [[2, 0]]  # (+1, -1)
    assert m(s1, torch.tensor([[2, 0]]))[0, 1, 0].item() == pytest.approx(1.0, abs=0.1)  # Q*(s1, (+1, -1))
    assert m(s1)[0, 0].max().item() == pytest.approx(1.0, abs=0.1)  # max over dim 1 carries the best dim-2 value
    assert m(s0)[0, 0].max().item() == pytest.approx(0.9, abs=0.1)  # gamma * V*(s1)


def test_n_step_transitions_by_hand():

    r = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    obs = np.arange(8, dtype=np.float32).reshape(4, 2)
    term = np.array([False, False, True, False])  # episode 0: steps 0-2 (terminated), episode 1: step 3 (truncated)
    ds = EpisodeDataset(
        obs,
        np.zeros((4, 2), np.float32),
        r,
        term,
        ~term & (np.arange(4) == 3),
        [3, 4],
        episode_fields={"final_observation": np.array([[9, 9], [7, 7]], np.float32)},
        metadata={"env_id": "toy", "expert": "hand", "seed": 0, "created_with": "test"},
    )
    out = n_step_transitions(ds, n=2, gamma=0.5)
    assert np.allclose(out["reward"], [1 + 0.5 * 2, 2 + 0.5 * 3, 3, 4])
    assert np.allclose(out["discount"], [0.25, 0.25, 0.5, 0.5])
    assert out["done"].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert out["next_obs"].tolist() == [[4, 5], [9, 9], [9, 9], [7, 7]]
