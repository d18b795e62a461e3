"""Notebook 08's exercises: IQL's expectile and TD losses, IDQL's selection weights, the normalised return.

Each is compared with the kit's own code (``labkit.pretrain``, ``labkit.policies.selection_probabilities``,
``labkit.experiments.offline.normalized_return``) on random inputs or the shipped data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from labkit.course.checks import close, exercise
from labkit.data.shipped import load_demos
from labkit.experiments.offline import group_returns, normalized_return
from labkit.policies.select import selection_probabilities
from labkit.pretrain.iql import IQLConfig, IQLCritic, expectile_loss


def _number(x: Any) -> float:
    return float(x.detach()) if isinstance(x, torch.Tensor) else float(x)


@exercise(
    "08.expectile_loss",
    hint="weight each u^2 by tau where u >= 0 and by 1 - tau where u < 0 (torch.where), then take the mean",
)
def _expectile_loss(fn: Any) -> tuple[bool, str]:
    gen = torch.Generator().manual_seed(8)
    for tau in (0.5, 0.7, 0.9):
        u = torch.randn(64, generator=gen) * 2.0  # (B,) differences Q - V
        got, expected = _number(fn(u.clone(), tau)), float(expectile_loss(u, tau))
        if abs(got - expected) > 1e-5 * max(1.0, abs(expected)):
            return False, f"tau = {tau}: you give {got:.4f}, labkit.pretrain.expectile_loss gives {expected:.4f}"
    return True, "matches labkit.pretrain.expectile_loss for tau = 0.5, 0.7, 0.9"


@exercise(
    "08.td_target",
    hint="y = r + gamma * (1 - done) * V(s'): no future value after a terminal step; element by element, shape (B,)",
)
def _td_target(fn: Any) -> tuple[bool, str]:
    torch.manual_seed(8)
    critic = IQLCritic(8, 2, IQLConfig(hidden_dim=16, gamma=0.95))
    gen = torch.Generator().manual_seed(9)
    n = 32
    batch = {
        "obs": torch.randn(n, 8, generator=gen),
        "actions": torch.rand(n, 2, generator=gen) * 2 - 1,
        "rewards": torch.randn(n, generator=gen),
        "next_obs": torch.randn(n, 8, generator=gen),
        "dones": (torch.rand(n, generator=gen) < 0.3).float(),
    }
    with torch.no_grad():
        next_v = critic.v(batch["next_obs"])  # (B,)
        target = torch.as_tensor(
            fn(batch["rewards"].clone(), batch["dones"].clone(), next_v.clone(), critic.config.gamma),
            dtype=torch.float32,
        )
        if target.shape != (n,):
            return False, f"expected one target per transition, shape ({n},); got {tuple(target.shape)}"
        q1, q2 = critic.q(batch["obs"], batch["actions"])  # (B,), (B,)
        mine = F.mse_loss(q1, target) + F.mse_loss(q2, target)
        _, theirs = critic.losses(batch)
    ok, _ = close(float(mine), float(theirs), atol=1e-5)
    if ok:
        return True, "your targets give the same Q loss as IQLCritic.losses"
    return False, f"the Q loss with your targets is {float(mine):.4f}, IQLCritic.losses gives {float(theirs):.4f}"


@exercise(
    "08.idql_weights",
    hint=(
        "w_i = exp(Q_i / T) / sum_j exp(Q_j / T) over each row; subtract each row's max before exp "
        "(or use torch.softmax) so that a small T does not overflow"
    ),
)
def _idql_weights(fn: Any) -> tuple[bool, str]:
    gen = torch.Generator().manual_seed(10)
    q = 5.0 + torch.randn(6, 32, generator=gen)  # (B, N) Q-values of N candidates, about the size of the critic's
    for temperature in (1.0, 0.3, 0.01):
        got = torch.as_tensor(fn(q.clone(), temperature), dtype=torch.float32)
        expected = selection_probabilities(q, selection="softmax", temperature=temperature)
        if got.shape != expected.shape:
            return False, f"expected one weight per candidate, of shape {tuple(expected.shape)} got {tuple(got.shape)}"
        if not torch.isfinite(got).all():
            return False, f"temperature {temperature}: your weights hold inf or nan (exp overflowed)"
        if not torch.allclose(got, expected, atol=1e-5):
            return False, f"temperature {temperature}: not labkit.policies.selection_probabilities' weights yet"
    return True, "matches labkit.policies.selection_probabilities (temperatures 1, 0.3 and 0.01)"


@exercise(
    "08.noisy_score",
    hint="(mean return of the noisy episodes - that of the failing ones) / (experts' - failing ones'), from ref",
)
def _noisy_score(answer: Any) -> tuple[bool, str]:
    data = load_demos("two_routes_mixed")
    expected = normalized_return(group_returns(data)["noisy"]["mean_return"], data)
    ok, _ = close(np.asarray(answer, dtype=float), expected, atol=1e-6)
    return ok, ("the noisy expert's normalised return" if ok else f"you give {float(answer):.3f}")
