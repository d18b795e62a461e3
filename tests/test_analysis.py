"""labkit.analysis: where actions point, a policy's first actions at one state, where paths cross a height."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.analysis import action_directions, crossing_x, first_actions


def test_action_directions_inside_a_box():
    obs = np.array([[0.0, -0.2] + [0.0] * 6, [0.0, -0.2] + [0.0] * 6, [0.3, 0.3] + [0.0] * 6])
    acts = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(sorted(action_directions(obs, acts, (-0.1, 0.1), (-0.3, -0.1))), [0.0, 180.0])
    with pytest.raises(ValueError, match=r"actions \(N, 2\)"):
        action_directions(obs, acts[:2], (-0.1, 0.1), (-0.3, -0.1))


def test_first_actions_are_seeded_samples_of_the_executed_action(tiny_policy):
    policy = tiny_policy("diffusion", 8, 2)  # was viz.sample_first_actions
    obs = np.zeros(8, np.float32)
    a, b, c = (first_actions(policy, obs, n=16, seed=s) for s in (0, 0, 1))
    assert a.shape == (16, 2) and np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.unique(a, axis=0).shape[0] > 1  # many samples, not one repeated


def test_crossing_x():
    up = np.stack([np.linspace(-0.2, 0.2, 5), np.linspace(-0.2, 0.2, 5)], 1)
    never = np.zeros((3, 2)) - 1.0
    np.testing.assert_allclose(crossing_x([up, never], 0.0), [0.0, np.nan])
