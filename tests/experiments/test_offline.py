"""labkit.experiments.offline (notebook 08): the shipped mixed-quality data and how it is scored."""

from __future__ import annotations

import numpy as np
import pytest

import labkit as lk
from labkit.experiments.offline import QUALITIES, group_returns, normalized_return, split_observations


@pytest.fixture(scope="module")
def mixed():
    return lk.load("two_routes_mixed")


def test_shipped_mixed_dataset_has_three_qualities(mixed):
    quality = np.asarray(mixed.episode_fields["quality"])
    success = np.asarray(mixed.episode_fields["success"])
    assert set(quality.tolist()) == set(QUALITIES) == {"expert", "noisy", "failing"}
    assert success[quality == "expert"].mean() == 1.0
    assert success[quality == "failing"].mean() == 0.0
    assert 0.5 < success[quality == "noisy"].mean() < 1.0
    assert len(mixed.rewards) == mixed.n_steps and np.isfinite(mixed.rewards).all()


def test_failing_episodes_reach_the_split_like_the_expert_and_scores_normalise(mixed):
    band = (-0.27, -0.22)  # just before the split: both still head for the split point
    expert, failing = split_observations(mixed, "expert", band), split_observations(mixed, "failing", band)
    assert len(expert) > 50 and len(failing) > 50
    # Same place, same speed on the way to the split: only what happens there differs.
    assert abs(expert[:, 3].mean() - failing[:, 3].mean()) < 0.1, (expert[:, 3].mean(), failing[:, 3].mean())
    ref = group_returns(mixed, field="quality")  # was quality_returns(ds)
    assert ref == group_returns(mixed)  # "quality" is the default field
    assert ref["expert"]["mean_return"] > ref["noisy"]["mean_return"] > ref["failing"]["mean_return"]
    assert {k: ref[k]["episodes"] for k in QUALITIES} == {"expert": 100, "noisy": 100, "failing": 150}
    assert normalized_return(ref["expert"]["mean_return"], mixed) == pytest.approx(1.0)
    assert normalized_return(ref["failing"]["mean_return"], mixed) == pytest.approx(0.0)


def test_group_returns_by_another_field_and_unknown_fields(mixed):
    by_route = group_returns(mixed, field="route")
    assert set(by_route) == {"left", "right", "none"}
    assert sum(g["episodes"] for g in by_route.values()) == len(mixed)
    with pytest.raises(KeyError, match="no per-episode field 'grade'.*quality"):
        group_returns(mixed, field="grade")
    with pytest.raises(KeyError, match="no episodes with quality='perfect'"):
        normalized_return(0.0, mixed, high="perfect")


def test_run_offline_suite_reports_every_method():
    from labkit.experiments.offline import OFFLINE_METHODS, run_offline_suite

    rec = run_offline_suite(0, bc_iterations=3, iql_iterations=3, dql_iterations=2, episodes=1)
    for name in OFFLINE_METHODS:
        assert 0.0 <= rec[f"{name}/success"] <= 1.0
        assert rec[f"{name}/train s"] >= 0.0


def test_suites_diffusion_ql_fine_tunes_diffusion_bc_against_the_iql_critic(mixed):
    from labkit.experiments.offline import DQL_CONFIG, train_offline_suite

    suite = train_offline_suite(mixed, bc_iterations=30, iql_iterations=3, dql_iterations=1, progress=False)
    bc, dql = suite.policies["diffusion BC"], suite.policies["Diffusion-QL"]
    assert dql is not bc and DQL_CONFIG.alpha < 1.0  # a copy, the Q term weighted below BC
    # One Adam step (lr 3e-4) away from the BC weights; the critic is the suite's, frozen (no TD loss).
    moved = max((a - b).abs().max().item() for a, b in zip(dql.parameters(), bc.parameters(), strict=True))
    assert moved < 1e-3, moved
    assert (np.asarray(suite.logs["Diffusion-QL"].losses["critic"]) == 0).all()
    assert bc.config.sampler == "ddim" and dql.config.sampler == "ddpm"


def test_split_action_stats_counts_the_up_mode_and_the_edge_and_refuses_bad_shapes():
    import numpy as np
    import pytest

    from labkit.experiments.offline import split_action_stats

    a = np.array([[0.0, 0.5], [0.9, 0.1], [-0.2, 0.99], [-0.5, -0.1]], dtype=np.float32)
    st = split_action_stats(a)
    assert st["up"] == 0.5 and st["edge"] == 0.25 and np.isnan(st["mean_q"])
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        split_action_stats(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="finite"):
        split_action_stats(np.array([[np.nan, 0.0]]))
