"""Notebook 11's exercises: RPD's extra loss term, the consistency target, scripted labels on RL states;
each checked against the kit's own code (``labkit.distill``, ``labkit.policies.consistency``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from labkit.course.checks import close, exercise
from labkit.distill import cosine_decay
from labkit.envs.experts import TwoRoutesExpert
from labkit.experiments.distill import ENV_ID, scripted_labels_for, variant_env
from labkit.policies.consistency import consistency_target
from labkit.rollout import collect


@exercise(
    "11.rpd_term",
    hint="lambda = start * (1 + cos(pi * min(step / anneal_steps, 1))) / 2, times the mean squared difference "
    "of the two (N, A) tensors",
)
def _rpd_term(fn: Any) -> tuple[bool, str]:
    gen = torch.Generator().manual_seed(0)
    mean, act = torch.randn(16, 2, generator=gen), torch.rand(16, 2, generator=gen) * 2 - 1
    for step, start, anneal in [(0, 1.0, 100), (30, 2.0, 100), (100, 1.0, 100), (500, 1.0, 100)]:
        expected = cosine_decay(step, start, anneal) * float(torch.mean((mean - act) ** 2))
        ok, detail = close(float(torch.as_tensor(fn(mean, act, step, start, anneal))), expected, atol=1e-5)
        if not ok:
            return False, f"at step {step} of {anneal} (start {start}): {detail}"
    return True, "matches lambda(k) * MSE as in labkit.distill.RPDPPO.train"


@exercise(
    "11.consistency_target",
    hint="where s == -1 the target is x_s itself (the end of the ODE path); elsewhere f_target(x_s, s); "
    "torch.where with s reshaped to (B, 1, 1), and s.clamp(min=0) inside f_target",
)
def _consistency_target(fn: Any) -> tuple[bool, str]:
    gen = torch.Generator().manual_seed(1)
    x_s = torch.randn(6, 4, 2, generator=gen)  # (B, H, A)
    s = torch.tensor([-1, 9, 19, -1, 49, 89])

    def f_target(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:  # any function of (x, t) will do
        if (t < 0).any():
            raise ValueError("f_target got a negative timestep: clamp s to >= 0 first")
        return torch.tanh(x) * (t.float().view(-1, 1, 1) + 1.0) / 100.0

    got = torch.as_tensor(fn(x_s, s, f_target))
    return close(got.numpy(), consistency_target(x_s, s, f_target).numpy(), atol=1e-6)


@exercise(
    "11.scripted_labels",
    hint="relabel_actions(rl_data, lambda i: TwoRoutesExpert(route=<episode i's route>, noise=noise), "
    "name='TwoRoutesExpert'); the route is rl_data.episode_fields['route'][i]",
)
def _scripted_labels(fn: Any) -> tuple[bool, str]:
    rl = collect(
        TwoRoutesExpert(route="right", noise=0.0),
        lambda: variant_env("shifted"),
        2,
        7,
        expert_name="stand-in",
        env_id=ENV_ID,
        progress=False,
    )
    got = fn(rl, 0.3)
    expected = scripted_labels_for(rl, 0.3)
    if not np.array_equal(np.asarray(got.observations), rl.observations):
        return False, "the states must stay those of rl_data"
    return close(np.asarray(got.actions), expected.actions, atol=1e-6)
