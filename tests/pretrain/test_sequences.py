"""Returns-to-go by hand, context windows, action bins."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.data import EpisodeDataset
from labkit.pretrain.sequences import ActionBins, ContextWindows, episode_index, returns_to_go


def _tiny_dataset(rewards, ends, obs_dim=2):
    n = len(rewards)
    obs = np.arange(n * obs_dim, dtype=np.float32).reshape(n, obs_dim)
    act = np.linspace(-1, 1, n * 2, dtype=np.float32).reshape(n, 2)
    term = np.zeros(n, bool)
    term[np.asarray(ends) - 1] = True
    return EpisodeDataset(
        obs,
        act,
        rewards,
        term,
        np.zeros(n, bool),
        ends,
        metadata={"env_id": "toy", "expert": "hand", "seed": 0, "created_with": "test"},
    )


def test_returns_to_go_by_hand():
    rewards, ends = [1.0, 2.0, 3.0, 4.0, 5.0], [3, 5]
    assert np.allclose(returns_to_go(rewards, ends), [6.0, 5.0, 3.0, 9.0, 5.0])
    # gamma = 0.5: 1 + 0.5*2 + 0.25*3, 2 + 0.5*3, 3 | 4 + 0.5*5, 5
    assert np.allclose(returns_to_go(rewards, ends, gamma=0.5), [2.75, 3.5, 3.0, 6.5, 5.0])


def test_returns_to_go_rejects_bad_ends():
    with pytest.raises(ValueError, match="episode_ends"):
        returns_to_go([1.0, 2.0], [1])


def test_episode_index():
    ep, t = episode_index(np.array([3, 5]))
    assert ep.tolist() == [0, 0, 0, 1, 1] and t.tolist() == [0, 1, 2, 0, 1]


def test_context_windows_pad_on_the_left_and_never_cross_episodes():
    ds = _tiny_dataset([1.0, 2.0, 3.0, 4.0, 5.0], [3, 5])
    w = ContextWindows(ds, context=3)
    b = w.gather(torch.tensor([1, 2, 3]))  # steps: ep0 t=1, ep0 t=2, ep1 t=0
    assert b["mask"].tolist() == [[False, True, True], [True, True, True], [False, False, True]]
    assert b["rtg"][0, :, 0].tolist() == [0.0, 6.0, 5.0]  # padded slot zeroed, then R_0, R_1 of episode 0
    assert b["timesteps"][1].tolist() == [0, 1, 2]
    assert torch.equal(b["states"][2, 2], torch.as_tensor(np.array(ds.observations[3])))  # episode 1 starts fresh
    assert torch.all(b["states"][2, :2] == 0)


def test_action_bins_round_trip():
    bins = ActionBins(41)
    a = torch.tensor([[-1.0, 1.0], [0.0, 0.3], [-2.0, 2.0]])
    idx = bins.to_index(a)
    assert idx.tolist()[0] == [0, 40] and idx.tolist()[2] == [0, 40]
    assert torch.allclose(bins.to_value(idx)[1], a[1], atol=1 / 41)
    assert idx[1, 0] == 20 and abs(float(bins.centers[20])) < 1e-6  # an odd bin count has a cell at 0
