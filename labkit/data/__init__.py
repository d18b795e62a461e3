"""Episode datasets: the format, recording, files, training windows, transitions, the shipped catalogue.

    import labkit as lk
    ds = lk.collect(lk.experts.TwoRoutesExpert(), "labkit/TwoRoutes-v0", 100, seed=0,
                    expert_name="scripted", created_with="python -m labkit make-data ...")
    lk.save(ds, "data/demo.npz")
    ds = lk.load("data/demo.npz", env_id="labkit/TwoRoutes-v0")
    windows = lk.ChunkDataset(ds, n_obs_steps=2, horizon=16)
    batch = windows.sample(256, generator)   # {"obs": (256, 2, obs_dim), "actions": (256, 16, act_dim)}

- ``episodes.py``: ``EpisodeDataset`` (flat arrays, validation, content hash), ``concat_datasets``;
- ``record.py``: ``EpisodeRecorder``;  ``files.py``: ``save_dataset`` / ``load_dataset``;
- ``windows.py``: ``ChunkDataset`` (Diffusion Policy's observation/action windows);
- ``transitions.py``: ``(s, a, r, s', done)`` rows for offline RL;
- ``shipped.py``: the catalogue of ``data/``;  ``minari.py``: the optional Minari bridge.
"""

from labkit.data.episodes import FORMAT_VERSION, DatasetError, EpisodeDataset, concat_datasets
from labkit.data.files import load_dataset, save_dataset
from labkit.data.minari import from_minari, to_minari
from labkit.data.record import EpisodeRecorder
from labkit.data.shipped import SHIPPED, Shipped, UnknownShippedError, data_path, load_demos
from labkit.data.transitions import Transitions, transitions_from_episodes
from labkit.data.windows import ChunkDataset, window_indices

__all__ = [
    "FORMAT_VERSION",
    "SHIPPED",
    "ChunkDataset",
    "DatasetError",
    "EpisodeDataset",
    "EpisodeRecorder",
    "Shipped",
    "Transitions",
    "UnknownShippedError",
    "concat_datasets",
    "data_path",
    "from_minari",
    "load_dataset",
    "load_demos",
    "save_dataset",
    "to_minari",
    "transitions_from_episodes",
    "window_indices",
]
