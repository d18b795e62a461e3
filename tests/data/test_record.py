"""labkit.data.record: the recorder refuses what would make an inconsistent dataset."""

from __future__ import annotations

import pytest

from labkit.data import EpisodeRecorder


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
    ds = rec.to_dataset({"env_id": "test/PointLine-v0", "expert": "x", "seed": 0, "created_with": ""})
    assert len(ds) == 1 and ds.n_steps == 1
