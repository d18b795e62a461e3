"""The stitching dataset: no episode is optimal, yet a stitched path of two episodes is (replayed in MuJoCo)."""

from __future__ import annotations

import numpy as np
import pytest

import labkit as lk
from labkit.experiments.offline import group_returns
from labkit.experiments.stitching import HandoverStart, collect_stitching_dataset, stitched_replay, stitching_facts


@pytest.fixture(scope="module")
def small():
    return collect_stitching_dataset(n_failing=6, n_expert=3, n_noisy=3, progress=False)


def test_no_episode_from_the_start_is_optimal(small):
    expert = group_returns(lk.load("two_routes_mixed"))["expert"]["mean_return"]
    facts = stitching_facts(small)
    assert facts["from_start"] == 6 and facts["from_start_successes"] == 0
    assert facts["from_start_best_return"] < 0.0 < expert  # every episode from the start fails, with a loss
    assert facts["closest_successful_start"] > 0.1  # successes all start at the split point, not at the start
    assert facts["best_return"] < expert  # even the best suffix collects less than a full expert episode


def test_a_stitched_path_is_optimal_and_exact(small):
    expert = group_returns(lk.load("two_routes_mixed"))["expert"]["mean_return"]
    best_single = stitching_facts(small)["best_return"]
    quality = np.asarray(small.episode_fields["quality"])
    for i in np.flatnonzero(quality == "expert_suffix"):
        joined = stitched_replay(small, int(i))
        assert joined["success"] and joined["max_gap"] == 0.0  # the join is a state of both episodes
        assert joined["return"] > best_single + 0.3  # better than any single episode in the data
        assert joined["return"] > 0.97 * expert  # and as good as a full expert episode
        assert 1 <= joined["handover_step"] < 20


def test_suffix_starts_where_its_failing_episode_was(small):
    quality = np.asarray(small.episode_fields["quality"])
    seeds = np.asarray(small.episode_fields["reset_seed"])
    i = int(np.flatnonzero(quality == "noisy_suffix")[0])
    fail = int(np.flatnonzero((quality == "failing") & (seeds == seeds[i]))[0])
    first = np.asarray(small.episode(i)["observations"])[0]
    assert np.any(np.all(np.asarray(small.episode(fail)["observations"]) == first, axis=1))


def test_handover_start_reports_its_step():
    env = HandoverStart(lk.make("labkit/TwoRoutes-v0"))
    obs, info = env.reset(seed=20_000)
    assert info["handover_step"] > 0 and obs[1] > -0.23  # at the split point's height
    env.close()


def test_replay_refuses_a_failing_episode(small):
    with pytest.raises(ValueError, match="suffix"):
        stitched_replay(small, 0)
