"""A hand-made dataset for the tests of labkit.data, where every value is known."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.data import EpisodeDataset

POINT_LINE_ID = "test/PointLine-v0"
COMMAND = "python -m labkit make-data --env test/PointLine-v0 --episodes 8"


def _make_tiny(lengths=(3, 4), env_id=POINT_LINE_ID) -> EpisodeDataset:
    """observation = (global step index, -step index), action = 10 + step index; episodes of ``lengths``."""
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


@pytest.fixture(scope="session")
def make_tiny():
    """Factory ``make_tiny(lengths=(3, 4), env_id="test/PointLine-v0")`` of hand-made datasets."""
    return _make_tiny
