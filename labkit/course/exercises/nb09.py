"""Notebook 09's exercises: returns-to-go, the Q-Transformer's per-dimension targets, a stitched return.

Each is compared with the kit's own code (``labkit.pretrain.returns_to_go``,
``labkit.pretrain.per_dimension_targets``, ``labkit.experiments.stitching.stitched_replay``, which
re-runs the stitched path in MuJoCo) on the shipped data, random tensors or the stitching data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from labkit.course.checks import close, exercise
from labkit.experiments.sequence import load_data
from labkit.experiments.stitching import stitched_replay
from labkit.pretrain.q_transformer import per_dimension_targets
from labkit.pretrain.sequences import returns_to_go
from labkit.store import load


@exercise(
    "09.returns_to_go",
    hint="R_t = r_t + R_{t+1}, from the episode's last step backwards (a reversed cumulative sum); shape (T,)",
)
def _returns_to_go(fn: Any) -> tuple[bool, str]:
    data = load("two_routes_mixed")
    quality = np.asarray(data.episode_fields["quality"])
    for q in ("expert", "noisy", "failing"):
        i = int(np.flatnonzero(quality == q)[0])
        r = np.asarray(data.episode(i)["rewards"], np.float64)
        ok, detail = close(fn(r.copy()), returns_to_go(r, np.array([len(r)])), atol=1e-5)
        if not ok:
            return False, f"a {q} episode: {detail}"
    return True, "matches labkit.pretrain.returns_to_go on an expert, a noisy and a failing episode"


@exercise(
    "09.qt_targets",
    hint="dimensions 1..d-1: the max over the NEXT dimension's cells (no reward, no discount); "
    "the last: r + gamma (1 - done) max_b Q'_1(s', b); shape (B, d)",
)
def _qt_targets(fn: Any) -> tuple[bool, str]:
    g = torch.Generator().manual_seed(9)
    q_s, q_next = torch.randn(5, 3, 7, generator=g), torch.randn(5, 7, generator=g)  # (B, d, n), (B, n)
    r, done = torch.randn(5, generator=g), (torch.rand(5, generator=g) < 0.4).float()  # (B,), (B,)
    want = per_dimension_targets(q_s, q_next, r, done, 0.9)  # (B, d)
    got = fn(q_s.clone(), q_next.clone(), r.clone(), done.clone(), 0.9)
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else got
    ok, detail = close(got, want.numpy(), atol=1e-5)
    return ok, "matches labkit.pretrain.per_dimension_targets" if ok else detail


@exercise(
    "09.stitched_return",
    hint="find h where the failing episode with the same reset_seed has the suffix's first observation; "
    "add the failing episode's rewards before h to the suffix's rewards",
)
def _stitched_return(fn: Any) -> tuple[bool, str]:
    data = load_data("stitch")
    quality = np.asarray(data.episode_fields["quality"])
    for i in np.flatnonzero(quality == "expert_suffix")[:2]:
        want = stitched_replay(data, int(i))["return"]  # re-simulated in MuJoCo
        got = float(fn(data, int(i)))
        if abs(got - want) > 1e-3:
            return False, f"suffix episode {int(i)}: you give {got:.3f}, the replay in MuJoCo collects {want:.3f}"
    return True, "matches the return of the stitched path replayed in MuJoCo"
