"""labkit.data.minari: the optional Minari bridge (install hint; real round trip if installed; a stand-in)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import labkit.data.minari as bridge
from labkit.data import from_minari, to_minari

ENV_ID = "test/PointLine-v0"


def test_minari_bridge_explains_how_to_install(make_tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "minari", None)  # makes "import minari" fail
    with pytest.raises(ImportError, match=r"pip install 'minari\[create\]==0.5.4' h5py"):
        bridge.to_minari(make_tiny(), "labkit/test/tiny-v0")
    with pytest.raises(ImportError, match="minari"):
        bridge.from_minari("labkit/test/tiny-v0")


def test_minari_round_trip(point_line_demos, tmp_path, monkeypatch):
    pytest.importorskip(
        "minari", reason="minari is optional (pip install 'minari[create]==0.5.4' h5py); real round trip not exercised"
    )
    import minari

    collected = point_line_demos
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    dataset_id = "labkittest/pointline/expert-v0"
    try:
        exported = to_minari(collected, dataset_id)
        assert exported.total_episodes == len(collected)
        back = from_minari(dataset_id, expert="route-expert")
        np.testing.assert_allclose(back.observations, collected.observations)
        np.testing.assert_allclose(back.actions, collected.actions)
        np.testing.assert_array_equal(back.episode_ends, collected.episode_ends)
        np.testing.assert_array_equal(back.episode_fields["success"], collected.episode_fields["success"])
        np.testing.assert_array_equal(back.episode_fields["route"], collected.episode_fields["route"])
    finally:
        minari.delete_dataset(dataset_id)


def test_minari_mapping_with_a_stand_in_module(point_line_demos, make_tiny, monkeypatch):
    """Checks labkit's side of the bridge (T+1 observations, infos, seeds) against a minimal stand-in
    that follows the documented Minari 0.5 shapes; the real library is tested in the test above."""
    import types
    from dataclasses import dataclass, field

    collected = point_line_demos

    @dataclass
    class Buffer:  # minari.data_collector.EpisodeBuffer
        id: int | None = None
        seed: int | None = None
        observations: object = None
        actions: object = None
        rewards: list = field(default_factory=list)
        terminations: list = field(default_factory=list)
        truncations: list = field(default_factory=list)
        infos: dict | None = None

    stored = {}

    class FakeMinariDataset:
        def __init__(self, buffers, kwargs):
            self.buffers, self.kwargs = buffers, kwargs
            self.total_episodes = len(buffers)
            self.spec = types.SimpleNamespace(env_spec=kwargs["env"], algorithm_name=kwargs["algorithm_name"])

        def iterate_episodes(self):
            for b in self.buffers:
                yield types.SimpleNamespace(
                    id=b.id,
                    seed=b.seed,
                    observations=np.asarray(b.observations),
                    actions=np.asarray(b.actions),
                    rewards=np.asarray(b.rewards),
                    terminations=np.asarray(b.terminations),
                    truncations=np.asarray(b.truncations),
                    infos=b.infos,
                )

    def create_dataset_from_buffers(dataset_id, buffer, **kwargs):
        for b in buffer:
            assert len(b.observations) == len(b.actions) + 1 == len(b.rewards) + 1
            assert all(len(v) == len(b.observations) for v in b.infos.values())
        stored[dataset_id] = FakeMinariDataset(buffer, kwargs)
        return stored[dataset_id]

    fake = types.ModuleType("minari")
    fake.create_dataset_from_buffers = create_dataset_from_buffers
    fake.load_dataset = lambda dataset_id: stored[dataset_id]
    fake.data_collector = types.ModuleType("minari.data_collector")
    fake.data_collector.EpisodeBuffer = Buffer
    monkeypatch.setitem(sys.modules, "minari", fake)
    monkeypatch.setitem(sys.modules, "minari.data_collector", fake.data_collector)

    exported = to_minari(collected, "labkittest/pointline/expert-v0")
    assert exported.kwargs["algorithm_name"] == "route-expert"
    assert exported.kwargs["observation_space"].shape == (2,) and exported.kwargs["action_space"].shape == (1,)
    assert set(exported.buffers[0].infos) == {"is_success", "route"}
    back = from_minari("labkittest/pointline/expert-v0")
    for name in ("observations", "actions", "rewards", "terminations", "truncations", "episode_ends"):
        np.testing.assert_array_equal(getattr(back, name), getattr(collected, name))
    for name, values in collected.episode_fields.items():
        np.testing.assert_array_equal(back.episode_fields[name], values)
    assert back.metadata["expert"] == "route-expert" and back.metadata["seed"] == 0
    assert from_minari("labkittest/pointline/expert-v0", env_id=ENV_ID).metadata["env_id"] == ENV_ID
    with pytest.raises(ValueError, match="final_observation"):
        to_minari(make_tiny(), "labkittest/tiny-v0")
