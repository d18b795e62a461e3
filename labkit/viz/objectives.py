"""Objectives drawn as curves: PPO's clipped surrogate, with a slider over the clip range (notebook 01)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from labkit.viz.palette import COLORS

__all__ = ["ppo_clip_figure"]


def ppo_clip_figure(
    clip_ranges: Sequence[float] = (0.05, 0.1, 0.2, 0.3, 0.5), *, ratio_range: tuple[float, float] = (0.0, 2.0)
) -> go.Figure:
    """PPO's per-sample objective ``min(r A, clip(r, 1 - eps, 1 + eps) A)`` against the ratio r, for A = +1 and -1.

    A slider picks eps (the clip range). Where the curve is flat the gradient is zero: PPO stops pushing
    the probability of an action once the ratio has left [1 - eps, 1 + eps] in the direction the
    advantage asks for. Works offline (no kernel needed).
    """
    r = np.linspace(*ratio_range, 401)
    fig = go.Figure()
    for k, eps in enumerate(clip_ranges):
        for j, adv in enumerate((1.0, -1.0)):
            obj = np.minimum(r * adv, np.clip(r, 1 - eps, 1 + eps) * adv)
            fig.add_scatter(
                x=r,
                y=obj,
                mode="lines",
                visible=k == 0,
                line=dict(color=COLORS[j], width=3),
                name=f"advantage A = {adv:+.0f}",
            )
        fig.add_scatter(
            x=r, y=r, mode="lines", visible=k == 0, line=dict(color="#999", dash="dot"), name="unclipped r A (A = +1)"
        )
    steps = []
    for k, eps in enumerate(clip_ranges):
        visible = [False] * (3 * len(clip_ranges))
        visible[3 * k : 3 * k + 3] = [True, True, True]
        steps.append(dict(method="update", label=f"{eps:g}", args=[{"visible": visible}]))
    fig.update_layout(
        title="PPO's clipped objective for one sample",
        xaxis_title="probability ratio r = pi_new / pi_old",
        yaxis_title="objective",
        template="plotly_white",
        height=380,
        sliders=[dict(active=0, steps=steps, currentvalue=dict(prefix="clip range eps = "), pad=dict(t=40))],
    )
    fig.add_vline(x=1.0, line=dict(color="#bbb"))
    return fig
