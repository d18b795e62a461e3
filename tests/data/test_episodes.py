"""labkit.data.episodes: the dataset class, its validation, hash, episode access, filter, concat, summary.

Files are tests/data/test_files.py; collecting episodes with ``lk.collect`` is tests/test_rollout.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from labkit.data import DatasetError, EpisodeDataset, concat_datasets


def test_collected_dataset_is_frozen(point_line_demos):
    with pytest.raises(ValueError):
        point_line_demos.observations[0, 0] = 5.0  # frozen
    with pytest.raises(TypeError):
        point_line_demos.metadata["env_id"] = "other"  # frozen


def test_hash_depends_on_contents_and_metadata(make_tiny):
    a, b = make_tiny(), make_tiny()
    assert a.content_hash == b.content_hash
    assert make_tiny(lengths=(4, 3)).content_hash != a.content_hash
    assert make_tiny(env_id="other/Env-v0").content_hash != a.content_hash


def _tiny_kwargs(make_tiny):
    ds = make_tiny()
    return dict(
        observations=ds.observations,
        actions=ds.actions,
        rewards=ds.rewards,
        terminations=ds.terminations,
        truncations=ds.truncations,
        episode_ends=ds.episode_ends,
        episode_fields=dict(ds.episode_fields),
        metadata=dict(ds.metadata),
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda k: k.update(actions=k["actions"][:-1]), "actions have 6 rows but observations have 7"),
        (lambda k: k.update(observations=k["observations"][:, 0]), "observations must be 2-D"),
        (lambda k: k.update(rewards=k["rewards"][:-2]), r"rewards has shape \(5,\), expected \(7,\)"),
        (lambda k: k.update(episode_ends=np.array([4, 3, 7])), "strictly increasing"),
        (lambda k: k.update(episode_ends=np.array([3, 6])), "must end at the number of steps N=7"),
        (lambda k: k["episode_fields"].update(success=np.array([True, False, True])), "episode field 'success'"),
        (lambda k: k["metadata"].pop("created_with"), r"metadata is missing \['created_with'\]"),
        (lambda k: k["metadata"].update(obs_dim=5), "metadata says obs_dim=5 but the arrays give 2"),
        (lambda k: k.update(terminations=np.full(7, 2)), "terminations must be booleans"),
        (lambda k: k["episode_fields"].update(bad=np.array([{}, {}], dtype=object)), "never use"),
        (lambda k: k.update(observations=np.full((7, 2), np.nan)), "NaN"),
    ],
)
def test_inconsistent_arrays_refused_at_construction(make_tiny, change, message):
    kwargs = _tiny_kwargs(make_tiny)
    change(kwargs)
    with pytest.raises(DatasetError, match=message):
        EpisodeDataset(**kwargs)


def test_episode_access(make_tiny):
    ds = make_tiny()
    ep = ds.episode(1)
    np.testing.assert_array_equal(ep["observations"][:, 0], [3, 4, 5, 6])
    assert ep["route"] == "right" and ep["success"] is False
    assert ds.episode(-1)["route"] == "right"
    with pytest.raises(IndexError):
        ds.episode(2)
    assert [len(e["actions"]) for e in ds] == [3, 4]
    assert ds.episode_lengths.tolist() == [3, 4] and ds.episode_starts.tolist() == [0, 3]


def test_filter_concat_summary(make_tiny):
    ds = make_tiny(lengths=(3, 4, 2, 5))
    only_success = ds.filter(ds.episode_fields["success"])  # episodes 0 and 2
    assert len(only_success) == 2 and only_success.n_steps == 5
    np.testing.assert_array_equal(only_success.observations[:, 0], [0, 1, 2, 7, 8])
    assert only_success.episode_ends.tolist() == [3, 5]
    assert only_success.summary()["success_rate"] == 1.0
    assert only_success.metadata["n_episodes"] == 2 and "filter" in only_success.metadata["history"][-1]
    assert len(ds.filter([3, 0])) == 2 and ds.filter([3, 0]).episode(0)["route"] == "left"
    empty = ds.filter(np.zeros(4, bool))
    assert len(empty) == 0 and empty.n_steps == 0 and empty.summary()["success_rate"] is None

    both = concat_datasets([make_tiny(), ds])
    assert len(both) == 6 and both.n_steps == 7 + 14
    assert both.episode_ends.tolist() == [3, 7, 10, 14, 16, 21]
    np.testing.assert_array_equal(both.episode(3)["observations"], ds.episode(1)["observations"])
    assert both.episode_fields["route"].tolist() == ["left", "right", "left", "right", "none", "left"]
    assert len(both.metadata["sources"]) == 2 and both.metadata["sources"][1]["hash"] == ds.content_hash
    assert make_tiny().concat(ds) == both

    s = both.summary()
    assert (s["episodes"], s["steps"]) == (6, 21)
    assert s["route_counts"] == {"left": 3, "none": 1, "right": 2}
    assert s["success_rate"] == pytest.approx(3 / 6)  # [T, F] + [T, F, T, F]
    assert s["mean_length"] == pytest.approx(21 / 6) and s["mean_return"] == pytest.approx(21 / 6)

    with pytest.raises(DatasetError, match="different env_id"):
        concat_datasets([make_tiny(), make_tiny(env_id="other/Env-v0")])
