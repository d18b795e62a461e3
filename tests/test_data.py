"""Tests for labkit.data: episode format, atomic save, validated load, windows, collection, Minari bridge."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from labkit.data import (
    FORMAT_VERSION,
    ChunkDataset,
    DatasetError,
    EpisodeDataset,
    EpisodeRecorder,
    collect_episodes,
    concat_datasets,
    load_dataset,
    save_dataset,
    sb3_expert,
    window_indices,
)

ENV_ID = "test/PointLine-v0"
COMMAND = "python -m labkit make-data --env test/PointLine-v0 --episodes 8"


class PointLine(gym.Env):
    """A 1-D point starting near 0 that must reach +1 (route "right") or -1 (route "left").

    obs = [x, t / max_steps]; action in [-1, 1] moves x by 0.3 * action.
    """

    metadata = {"render_modes": []}

    def __init__(self, max_steps: int = 12):
        self.max_steps = max_steps
        self.observation_space = gym.spaces.Box(-2.0, 2.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def _obs(self):
        return np.array([self.x, self.t / self.max_steps], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(-0.1, 0.1))
        self.t = 0
        return self._obs(), {"is_success": False, "route": "none"}

    def step(self, action):
        self.x = float(np.clip(self.x + 0.3 * float(np.clip(action[0], -1, 1)), -2, 2))
        self.t += 1
        done = abs(self.x) >= 1.0
        route = ("right" if self.x > 0 else "left") if done else "none"
        info = {"is_success": done, "route": route}
        return self._obs(), (1.0 if done else -0.01), done, self.t >= self.max_steps and not done, info


class RouteExpert:
    """Picks a side per episode from its rng; sometimes dawdles (so some episodes time out)."""

    def reset(self, rng):
        self.side = rng.choice([-1.0, 1.0])
        self.speed = rng.choice([1.0, 0.2])

    def __call__(self, obs, rng):
        return np.array([self.side * self.speed], dtype=np.float32)


def make_collected(n_episodes=8, seed=0, **kwargs):
    return collect_episodes(
        PointLine(), RouteExpert(), n_episodes=n_episodes, seed=seed, expert_name="route-expert",
        env_id=ENV_ID, created_with=COMMAND, progress=False, **kwargs,
    )


def make_tiny(lengths=(3, 4), env_id=ENV_ID):
    """Hand-made dataset: observation = global step index, action = 10 + step index."""
    n = sum(lengths)
    steps = np.arange(n, dtype=np.float32)
    ends = np.cumsum(lengths)
    terms = np.zeros(n, bool)
    terms[ends - 1] = True
    return EpisodeDataset(
        observations=np.stack([steps, -steps], axis=1),
        actions=(10 + steps)[:, None],
        rewards=np.ones(n),
        terminations=terms,
        truncations=np.zeros(n, bool),
        episode_ends=ends,
        episode_fields={
            "success": np.arange(len(lengths)) % 2 == 0,
            "route": np.array(["left", "right", "none", "left"][: len(lengths)]),
        },
        metadata={"env_id": env_id, "expert": "hand", "seed": 0, "created_with": COMMAND},
    )


@pytest.fixture(scope="module")
def collected():
    return make_collected()


# ---- dataset and file format ----------------------------------------------------------------------


def test_collected_dataset_shapes_and_metadata(collected):
    ds = collected
    assert len(ds) == 8
    assert ds.observations.shape == (ds.n_steps, 2) and ds.observations.dtype == np.float32
    assert ds.actions.shape == (ds.n_steps, 1) and ds.actions.dtype == np.float32
    assert ds.episode_ends.dtype == np.int64 and ds.episode_ends[-1] == ds.n_steps
    assert ds.episode_fields["success"].dtype == bool
    assert ds.episode_fields["final_observation"].shape == (8, 2)
    assert ds.episode_fields["reset_seed"].tolist() == list(range(8))
    md = ds.metadata
    assert (md["env_id"], md["expert"], md["seed"], md["version"]) == (ENV_ID, "route-expert", 0, FORMAT_VERSION)
    assert (md["obs_dim"], md["action_dim"], md["n_episodes"], md["created_with"]) == (2, 1, 8, COMMAND)
    with pytest.raises(ValueError):
        ds.observations[0, 0] = 5.0  # frozen
    with pytest.raises(TypeError):
        ds.metadata["env_id"] = "other"  # frozen


def test_collect_records_observation_before_action_and_is_reproducible(collected):
    env = PointLine()
    first_obs, _ = env.reset(seed=3)
    ep = collected.episode(3)
    np.testing.assert_array_equal(ep["observations"][0], first_obs)
    # replaying the recorded actions reproduces the next observations and the final one
    for t, action in enumerate(ep["actions"]):
        obs, reward, terminated, truncated, info = env.step(action)
        assert reward == pytest.approx(ep["rewards"][t])
        if t + 1 < len(ep["actions"]):
            np.testing.assert_allclose(ep["observations"][t + 1], obs)
    np.testing.assert_allclose(ep["final_observation"], obs)
    assert ep["success"] == info["is_success"] and ep["route"] == info["route"]
    assert bool(ep["terminations"][-1]) == ep["success"]
    assert make_collected().content_hash == collected.content_hash  # same seed, same data


def test_success_and_routes_are_consistent(collected):
    s = collected.summary()
    assert s["episodes"] == 8 and s["steps"] == collected.n_steps
    assert sum(s["route_counts"].values()) == 8
    success = collected.episode_fields["success"]
    routes = collected.episode_fields["route"]
    assert set(routes[success]) <= {"left", "right"} and set(routes[~success]) <= {"none"}
    assert s["success_rate"] == pytest.approx(success.mean())
    assert 0 < success.sum() < 8, "the fake expert should both succeed and time out in 8 episodes"
    assert s["route_counts"].get("none", 0) == (~success).sum()


def test_round_trip_preserves_everything(collected, tmp_path):
    path = save_dataset(collected, tmp_path / "demo.npz")
    loaded = load_dataset(path, expected_env_id=ENV_ID, expected_version=FORMAT_VERSION)
    assert loaded.content_hash == collected.content_hash
    assert loaded == collected
    for name in ("observations", "actions", "rewards", "terminations", "truncations", "episode_ends"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(collected, name))
        assert getattr(loaded, name).dtype == getattr(collected, name).dtype
    for name, values in collected.episode_fields.items():
        np.testing.assert_array_equal(loaded.episode_fields[name], values)
    assert dict(loaded.metadata) == dict(collected.metadata)
    with np.load(path, allow_pickle=False) as z:  # the file is readable without pickle, by plain numpy
        assert json.loads(str(z["metadata"][()]))["env_id"] == ENV_ID
        assert str(z["content_hash"][()]) == collected.content_hash


def test_hash_depends_on_contents_and_metadata():
    a, b = make_tiny(), make_tiny()
    assert a.content_hash == b.content_hash
    assert make_tiny(lengths=(4, 3)).content_hash != a.content_hash
    assert make_tiny(env_id="other/Env-v0").content_hash != a.content_hash


def test_atomic_save_leaves_old_file_on_crash(tmp_path, monkeypatch):
    path = tmp_path / "demo.npz"
    old = make_tiny()
    save_dataset(old, path)
    old_bytes = path.read_bytes()

    def crash_midway(file, **arrays):
        file.write(b"PK\x03\x04 half a zip ...")
        raise RuntimeError("simulated crash while writing")

    monkeypatch.setattr(np, "savez_compressed", crash_midway)
    with pytest.raises(RuntimeError, match="simulated crash"):
        save_dataset(make_tiny(lengths=(5, 5)), path)
    assert path.read_bytes() == old_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.npz"], "temp file left behind"
    monkeypatch.undo()
    assert load_dataset(path) == old

    fresh = tmp_path / "fresh.npz"
    monkeypatch.setattr(np, "savez_compressed", crash_midway)
    with pytest.raises(RuntimeError):
        save_dataset(old, fresh)
    assert not fresh.exists()


def test_missing_file_is_file_not_found_with_hint(tmp_path):
    with pytest.raises(FileNotFoundError, match="regenerate"):
        load_dataset(tmp_path / "nope.npz")


def test_truncated_file_is_refused_clearly(tmp_path):
    path = save_dataset(make_tiny(), tmp_path / "demo.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"truncated or not a labkit dataset .*regenerate"):
        load_dataset(path)


def test_not_a_dataset_is_refused(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(DatasetError, match="not a labkit dataset"):
        load_dataset(text)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(DatasetError, match="not a labkit dataset"):
        load_dataset(other)


def test_flipped_bytes_are_detected(tmp_path):
    path = save_dataset(make_collected(), tmp_path / "demo.npz")
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 16):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"(hash mismatch|truncated or not a labkit dataset)") as err:
        load_dataset(path)
    assert "regenerate" in str(err.value)


def _rewrite(path: Path, **changes):
    """Re-save an npz with some entries replaced, keeping the stored hash (as a careless edit would)."""
    with np.load(path, allow_pickle=False) as z:
        contents = {k: z[k] for k in z.files}
    contents.update(changes)
    np.savez_compressed(path, **contents)


def test_modified_contents_give_hash_mismatch_with_regenerate_command(tmp_path):
    ds = make_tiny()
    path = save_dataset(ds, tmp_path / "demo.npz")
    _rewrite(path, rewards=np.asarray(ds.rewards) * 2)
    with pytest.raises(DatasetError, match="hash mismatch: file was modified") as err:
        load_dataset(path)
    assert COMMAND in str(err.value)


def test_wrong_env_id_is_refused(tmp_path):
    path = save_dataset(make_tiny(), tmp_path / "demo.npz")
    with pytest.raises(DatasetError, match=r"made for env 'test/PointLine-v0' but you asked for 'labkit/TwoRoutes-v0'"):
        load_dataset(path, expected_env_id="labkit/TwoRoutes-v0")


def test_newer_format_version_is_refused(tmp_path):
    ds = make_tiny()
    path = save_dataset(ds, tmp_path / "demo.npz")
    metadata = dict(ds.metadata, version=FORMAT_VERSION + 1)
    _rewrite(path, metadata=np.array(json.dumps(metadata)))
    newer = rf"format version {FORMAT_VERSION + 1} is newer than this labkit \({FORMAT_VERSION}\); upgrade labkit"
    with pytest.raises(DatasetError, match=newer):
        load_dataset(path)
    path2 = save_dataset(ds, tmp_path / "demo2.npz")
    with pytest.raises(DatasetError, match="version 7 was asked for"):
        load_dataset(path2, expected_version=7)


def test_inconsistent_file_contents_are_refused(tmp_path):
    ds = make_tiny()
    path = save_dataset(ds, tmp_path / "demo.npz")
    _rewrite(path, actions=np.asarray(ds.actions)[:-1])
    with pytest.raises(DatasetError, match=r"inconsistent contents: actions have 6 rows but observations have 7"):
        load_dataset(path)


def _tiny_kwargs():
    ds = make_tiny()
    return dict(
        observations=ds.observations, actions=ds.actions, rewards=ds.rewards,
        terminations=ds.terminations, truncations=ds.truncations, episode_ends=ds.episode_ends,
        episode_fields=dict(ds.episode_fields), metadata=dict(ds.metadata),
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
def test_inconsistent_arrays_refused_at_construction(change, message):
    kwargs = _tiny_kwargs()
    change(kwargs)
    with pytest.raises(DatasetError, match=message):
        EpisodeDataset(**kwargs)


def test_episode_access():
    ds = make_tiny()
    ep = ds.episode(1)
    np.testing.assert_array_equal(ep["observations"][:, 0], [3, 4, 5, 6])
    assert ep["route"] == "right" and ep["success"] is False
    assert ds.episode(-1)["route"] == "right"
    with pytest.raises(IndexError):
        ds.episode(2)
    assert [len(e["actions"]) for e in ds] == [3, 4]
    assert ds.episode_lengths.tolist() == [3, 4] and ds.episode_starts.tolist() == [0, 3]


def test_filter_concat_summary():
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


def test_recorder_guards():
    rec = EpisodeRecorder()
    with pytest.raises(ValueError, match="no steps"):
        rec.end_episode({"success": True})
    rec.add_step([0.0, 0.0], [1.0], 0.0, False, False)
    with pytest.raises(ValueError, match="still open"):
        rec.to_dataset({})
    with pytest.raises(ValueError, match="shape"):
        rec.add_step([0.0, 0.0, 0.0], [1.0], 0.0, False, False)
    rec.end_episode({"success": True, "route": "left"})
    rec.add_step([0.0, 0.0], [1.0], 0.0, True, False)
    with pytest.raises(ValueError, match="same keys"):
        rec.end_episode({"success": True})
    rec.discard_episode()
    ds = rec.to_dataset({"env_id": ENV_ID, "expert": "x", "seed": 0, "created_with": ""})
    assert len(ds) == 1 and ds.n_steps == 1


# ---- windows ---------------------------------------------------------------------------------------


def test_window_contents_at_episode_edges():
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


def test_window_arguments_are_checked():
    with pytest.raises(ValueError, match="horizon must be >= n_obs_steps"):
        ChunkDataset(make_tiny(), n_obs_steps=3, horizon=2)
    with pytest.raises(ValueError, match="n_obs_steps must be >= 1"):
        ChunkDataset(make_tiny(), n_obs_steps=0, horizon=2)


def test_sample_is_deterministic_and_fast(collected):
    chunks = ChunkDataset(collected, n_obs_steps=2, horizon=8)
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


def test_dataloader_and_normaliser_views(collected):
    chunks = ChunkDataset(collected, n_obs_steps=2, horizon=4)
    loader = torch.utils.data.DataLoader(chunks, batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(0))
    batch = next(iter(loader))
    assert batch["obs"].shape == (5, 2, 2) and batch["actions"].shape == (5, 4, 1)
    assert chunks.all_obs().shape == (collected.n_steps, 2)
    assert torch.equal(chunks.all_actions(), torch.from_numpy(np.array(collected.actions)))


# ---- SB3 expert --------------------------------------------------------------------------------------


def test_sb3_expert_collects_any_gymnasium_task():
    from stable_baselines3 import PPO

    env = gym.make("Pendulum-v1")
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=16, seed=0, device="cpu")
    expert = sb3_expert(model)
    ds = collect_episodes(env, expert, n_episodes=2, seed=5, expert_name=expert.name, created_with="test",
                          progress=False, max_steps=6)
    assert ds.metadata["env_id"] == "Pendulum-v1" and ds.metadata["expert"] == "sb3:PPO"
    assert ds.n_steps == 12 and ds.truncations[ds.episode_ends - 1].all()
    assert ds.episode_fields["success"].tolist() == [False, False]
    assert ds.episode_fields["route"].tolist() == ["none", "none"]
    predicted, _ = model.predict(ds.observations[3], deterministic=True)
    np.testing.assert_allclose(ds.actions[3], predicted, rtol=1e-6)


# ---- Minari bridge --------------------------------------------------------------------------------------


def test_minari_bridge_explains_how_to_install(monkeypatch):
    from labkit.data import minari_bridge

    monkeypatch.setitem(sys.modules, "minari", None)  # makes "import minari" fail
    with pytest.raises(ImportError, match=r"pip install 'minari\[create\]==0.5.4' h5py"):
        minari_bridge.to_minari(make_tiny(), "labkit/test/tiny-v0")
    with pytest.raises(ImportError, match="minari"):
        minari_bridge.from_minari("labkit/test/tiny-v0")


def test_minari_round_trip(collected, tmp_path, monkeypatch):
    pytest.importorskip("minari", reason="minari is optional (pip install 'minari[create]==0.5.4' h5py); real round trip not exercised")
    import minari

    from labkit.data import from_minari, to_minari

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


def test_minari_mapping_with_a_stand_in_module(collected, monkeypatch):
    """Checks labkit's side of the bridge (T+1 observations, infos, seeds) against a minimal stand-in
    that follows the documented Minari 0.5 shapes; the real library is tested in the test above."""
    import types
    from dataclasses import dataclass, field

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
                    id=b.id, seed=b.seed, observations=np.asarray(b.observations), actions=np.asarray(b.actions),
                    rewards=np.asarray(b.rewards), terminations=np.asarray(b.terminations),
                    truncations=np.asarray(b.truncations), infos=b.infos,
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

    from labkit.data import from_minari, to_minari

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
