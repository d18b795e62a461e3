"""labkit.data.windows: Diffusion Policy's observation/action windows, clamped inside episodes."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from labkit.data import ChunkDataset, window_indices


def test_window_contents_at_episode_edges(make_tiny):
    # episodes: steps 0..2 and 3..6; observation[:, 0] = step, action = 10 + step
    chunks = ChunkDataset(make_tiny(), n_obs_steps=2, horizon=4)
    assert len(chunks) == 7
    expected = {  # t: (observation steps, action steps), clamped inside the episode
        0: ([0, 0], [0, 0, 1, 2]),
        1: ([0, 1], [0, 1, 2, 2]),
        2: ([1, 2], [1, 2, 2, 2]),
        3: ([3, 3], [3, 3, 4, 5]),
        5: ([4, 5], [4, 5, 6, 6]),
        6: ([5, 6], [5, 6, 6, 6]),
    }
    for t, (obs_steps, act_steps) in expected.items():
        item = chunks[t]
        assert item["obs"].shape == (2, 2) and item["actions"].shape == (4, 1)
        assert item["obs"][:, 0].tolist() == obs_steps, f"obs window at t={t}"
        assert item["obs"][:, 1].tolist() == [-s for s in obs_steps]
        assert item["actions"][:, 0].tolist() == [10 + s for s in act_steps], f"action window at t={t}"


def test_window_indices_single_obs_step():
    obs_idx, act_idx = window_indices(np.array([0, 2]), np.array([2, 5]), n_obs_steps=1, horizon=3)
    assert obs_idx.tolist() == [[0], [1], [2], [3], [4]]
    assert act_idx.tolist() == [[0, 1, 1], [1, 1, 1], [2, 3, 4], [3, 4, 4], [4, 4, 4]]


def test_window_arguments_are_checked(make_tiny):
    with pytest.raises(ValueError, match="horizon must be >= n_obs_steps"):
        ChunkDataset(make_tiny(), n_obs_steps=3, horizon=2)
    with pytest.raises(ValueError, match="n_obs_steps must be >= 1"):
        ChunkDataset(make_tiny(), n_obs_steps=0, horizon=2)


def test_sample_is_deterministic_and_fast(point_line_demos):
    chunks = ChunkDataset(point_line_demos, n_obs_steps=2, horizon=8)
    a = chunks.sample(64, torch.Generator().manual_seed(0))
    b = chunks.sample(64, torch.Generator().manual_seed(0))
    c = chunks.sample(64, torch.Generator().manual_seed(1))
    assert a["obs"].shape == (64, 2, 2) and a["actions"].shape == (64, 8, 1)
    assert a["obs"].dtype == torch.float32
    assert torch.equal(a["obs"], b["obs"]) and torch.equal(a["actions"], b["actions"])
    assert not torch.equal(a["actions"], c["actions"])
    # a sampled window equals the indexed one
    index = torch.randint(len(chunks), (64,), generator=torch.Generator().manual_seed(0))
    assert torch.equal(a["obs"][5], chunks[int(index[5])]["obs"])

    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(500):
        chunks.sample(256, generator)
    rate = 500 / (time.perf_counter() - start)
    assert rate > 1000, f"sample() too slow: {rate:.0f} batches/s"


def test_dataloader_and_normaliser_views(point_line_demos):
    chunks = ChunkDataset(point_line_demos, n_obs_steps=2, horizon=4)
    loader = torch.utils.data.DataLoader(chunks, batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(0))
    batch = next(iter(loader))
    assert batch["obs"].shape == (5, 2, 2) and batch["actions"].shape == (5, 4, 1)
    assert chunks.all_obs().shape == (point_line_demos.n_steps, 2)
    assert torch.equal(chunks.all_actions(), torch.from_numpy(np.array(point_line_demos.actions)))
