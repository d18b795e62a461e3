"""labkit.data.transitions: (s, a, r, s', done) rows cut from episodes."""

from __future__ import annotations

import numpy as np
import torch

from labkit.data import transitions_from_episodes


def test_next_obs_is_the_next_row_or_the_final_observation(point_line_demos):
    ds = point_line_demos
    tr = transitions_from_episodes(ds)
    assert len(tr) == ds.n_steps and tr.obs.shape == (ds.n_steps, 2)
    last = ds.episode_ends - 1
    np.testing.assert_array_equal(tr.next_obs[last].numpy(), np.asarray(ds.episode_fields["final_observation"]))
    inner = np.setdiff1d(np.arange(ds.n_steps), last)
    np.testing.assert_array_equal(tr.next_obs[inner].numpy(), np.asarray(ds.observations)[inner + 1])
    # dones are terminations only: a time-limit cut is bootstrapped
    np.testing.assert_array_equal(tr.dones.numpy().astype(bool), np.asarray(ds.terminations))
    assert ds.truncations.any() and not tr.dones[np.array(ds.truncations)].any()
    batch = tr.sample(16, torch.Generator().manual_seed(0))
    assert set(batch) == {"obs", "actions", "rewards", "next_obs", "dones"} and batch["obs"].shape == (16, 2)


def test_without_final_observation_the_last_row_is_repeated(make_tiny):
    ds = make_tiny()  # no final_observation field
    tr = transitions_from_episodes(ds)
    last = ds.episode_ends - 1
    assert torch.equal(tr.next_obs[last], tr.obs[last])
