"""Notebook 06's exercises: inpainting a plan, the route share of sampled plans, SayCan's choice rule, each
against the kit's own code (``Diffuser.apply_conditioning``, ``plan_route``, ``SayCanPlanner``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from labkit.course.checks import exercise
from labkit.planning import Diffuser, DiffuserConfig, SayCanPlanner, build_prompt, keyword_scores, plan_route


@exercise("06.inpaint", hint="set x[:, k, :state_dim] = known[k] for every step k; leave the actions alone")
def _inpaint(fn: Any) -> tuple[bool, str]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 8, 6, generator=g)  # (B, H, D): 4 state + 2 action columns
    known = {0: torch.randn(3, 4, generator=g), -1: torch.randn(3, 4, generator=g)}
    ref = Diffuser(DiffuserConfig(horizon=8, hidden_dim=8, n_layers=1)).apply_conditioning(x.clone(), known)
    got = fn(x.clone(), known, 4)
    if got is None:
        return False, "return the inpainted plans"
    got = torch.as_tensor(got, dtype=torch.float32)
    if got.shape != ref.shape:
        return False, f"expected shape {tuple(ref.shape)}, got {tuple(got.shape)}"
    if not torch.allclose(got[..., 4:], ref[..., 4:]):
        return False, "the action columns changed: only the state columns of the known steps are written"
    if not torch.allclose(got, ref):
        return False, "some known states are not held (negative steps count from the end: -1 is the last)"
    return True, "matches Diffuser.apply_conditioning"


@exercise("06.route_share", hint="count the plans whose first state with y >= 0 has x < 0 (labkit.planning.plan_route)")
def _route_share(answer: Any) -> tuple[bool, str]:
    plans, share = answer
    if share is None:
        return False, "set share_left"
    plans = np.asarray(plans)
    if plans.ndim != 3 or len(plans) == 0:
        return False, f"plans must be (B, H, >= 2). Got {plans.shape}"
    routes = [plan_route(p) for p in plans]
    want = routes.count("left") / len(routes)
    return abs(float(share) - want) < 1e-6, f"{routes.count('left')} of {len(routes)} plans go left"


@exercise("06.saycan_choice", hint="multiply the language probabilities by the affordances, then take the argmax")
def _saycan_choice(fn: Any) -> tuple[bool, str]:
    rng = np.random.default_rng(0)
    planner = SayCanPlanner(client=_Keyword(), mode="saycan")
    K = len(planner.options)
    for trial in range(20):
        p, aff = rng.dirichlet(np.ones(K)), rng.uniform(0, 1, K - 1)
        planner.cache.clear()
        planner.cache[_PROMPT] = p  # the language model's answer in this trial
        want = planner.options.index(planner.choose(_INSTRUCTION, [], aff))
        got = fn(p, np.r_[aff, planner.done_affordance])
        if got is None or int(got) != want:
            return False, f"trial {trial}: expected option {want} ({planner.options[want]!r}), got {got}"
    return True, "agrees with SayCanPlanner over 20 random trials"


class _Keyword:
    """The deterministic stand-in language model (never asked here: the cache holds the trial's answer)."""

    def score(self, prompt: str, options: Any) -> list[float]:
        return keyword_scores(prompt, options)


_INSTRUCTION = "go to the goal."
_PROMPT = build_prompt(_INSTRUCTION, [])
