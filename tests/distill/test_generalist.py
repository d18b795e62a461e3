"""Experts -> generalist: the condition in env and data, relabelling, and a condition that steers the policy."""

import numpy as np
import pytest
import torch

import labkit as lk
from labkit.distill import ConditionObservation, one_hot, relabel_actions, with_condition
from labkit.experiments import distill as X


def _demos(variant: str, n: int = 3, noise: float = 0.0):
    expert = lk.experts.TwoRoutesExpert(route=X.SCRIPTED_ROUTE[variant], noise=noise)
    return lk.collect(
        expert, lambda: X.variant_env(variant), n, 0, expert_name="scripted", env_id=X.ENV_ID, progress=False
    )


def test_condition_in_env_and_data():
    env = X.variant_env("right", conditioned=True)
    obs, _ = env.reset(seed=0)
    assert isinstance(env, ConditionObservation)
    assert obs.shape == (8 + len(X.VARIANTS),) and env.observation_space.contains(obs)
    assert np.array_equal(obs[8:], X.variant_condition("right")) and X.variant_condition("right").sum() == 1
    ds = with_condition(_demos("left", 1), one_hot(0, 5))
    assert ds.obs_dim == 13 and np.all(ds.observations[:, 8:] == one_hot(0, 5))
    with pytest.raises(ValueError, match="index"):
        one_hot(5, 5)


def test_relabel_with_the_same_noiseless_expert_reproduces_the_actions():
    demos = _demos("left", 2)
    same = relabel_actions(demos, lambda i: lk.experts.TwoRoutesExpert(route="left", noise=0.0), name="again")
    assert np.allclose(same.actions, demos.actions, atol=1e-6) and same.metadata["labels"] == "again"
    other = relabel_actions(demos, lambda i: lk.experts.TwoRoutesExpert(route="right", noise=0.0), name="other")
    assert np.array_equal(other.observations, demos.observations) and not np.allclose(other.actions, demos.actions)


def test_the_condition_changes_the_generalists_actions():
    policy, _ = X.train_generalist(
        {"left": _demos("left", 4, 0.1), "right": _demos("right", 4, 0.1)}, iterations=400, seed=0, progress=False
    )
    env = X.variant_env("left")
    env.reset(seed=0)
    split = env.unwrapped.observation_at([0.0, -0.2], velocity=[0.0, 0.3])  # below the cup, where routes part
    first_x = {}
    for name in ("left", "right"):
        obs = torch.as_tensor(np.concatenate([split, X.variant_condition(name)]), dtype=torch.float32)
        hist = obs.expand(64, 1, -1)  # (64, To=1, 13)
        chunk = policy.predict_action(hist, generator=torch.Generator().manual_seed(0))  # (64, Ta, 2)
        first_x[name] = chunk[:, :, 0].mean().item()  # mean sideways velocity over the executed chunk
    assert first_x["left"] < -0.05 and first_x["right"] > 0.05, first_x  # opposite ways from the same state
    assert first_x["right"] - first_x["left"] > 0.25, first_x
