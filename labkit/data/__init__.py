"""Demonstration datasets: record episodes, save/load them safely, cut them into training windows.

    from labkit.data import collect_episodes, save_dataset, load_dataset, ChunkDataset
    ds = collect_episodes(env, expert, n_episodes=100, seed=0, expert_name="scripted",
                          created_with="python -m labkit make-data ...")
    save_dataset(ds, "data/demo.npz")
    ds = load_dataset("data/demo.npz", expected_env_id="labkit/TwoRoutes-v0")
    windows = ChunkDataset(ds, n_obs_steps=2, horizon=16)
    batch = windows.sample(256, generator)   # {"obs": (256, 2, obs_dim), "actions": (256, 16, act_dim)}

The Minari bridge (``labkit.data.minari_bridge.to_minari`` / ``from_minari``) needs the optional
``minari`` package and is imported on demand.
"""

from labkit.data.episodes import (
    FORMAT_VERSION,
    EpisodeBuffer,
    EpisodeDataset,
    EpisodeRecorder,
    SB3Expert,
    collect_episodes,
    concat_datasets,
    load_dataset,
    save_dataset,
    sb3_expert,
)
from labkit.data.errors import DatasetError
from labkit.data.minari_bridge import from_minari, to_minari
from labkit.data.windows import ChunkDataset, window_indices

__all__ = [
    "FORMAT_VERSION",
    "ChunkDataset",
    "DatasetError",
    "EpisodeBuffer",
    "EpisodeDataset",
    "EpisodeRecorder",
    "SB3Expert",
    "collect_episodes",
    "concat_datasets",
    "from_minari",
    "load_dataset",
    "save_dataset",
    "sb3_expert",
    "to_minari",
    "window_indices",
]
