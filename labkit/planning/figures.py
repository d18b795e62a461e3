"""Plotly builders for notebook 06 (each returns a ``go.Figure`` and never calls ``.show()``).

The plane, walls, cup and goal come from ``labkit.viz.trajectories_figure``; routes keep the kit's route
colours (``labkit.viz.palette.ROUTE_COLORS``), methods their palette colour (``viz.color_of``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.envs.skill_marks import MARKS
from labkit.viz import color_of, trajectories_figure
from labkit.viz.palette import ROUTE_COLORS

from .trajectories import plan_route

__all__ = [
    "coverage_figure",
    "denoising_figure",
    "guidance_slider_figure",
    "marks_shapes",
    "plans_figure",
    "saycan_scores_figure",
]

_ROUTES = {"left": ROUTE_COLORS["left"], "right": ROUTE_COLORS["right"], "through": "#d62728"}
_MARK_COLORS = {
    "goal": "rgba(51,191,89,0.5)",
    "blue mark": "rgba(40,90,220,0.5)",
    "red mark": "rgba(220,50,50,0.5)",
    "home": "rgba(120,120,120,0.4)",
}


def _polyline(plans: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Many plans (H, >= 2) as one trace: x and y joined with NaN breaks."""
    if not len(plans):
        return np.zeros(0), np.zeros(0)
    xs = np.concatenate([np.r_[p[:, 0], np.nan] for p in plans])
    ys = np.concatenate([np.r_[p[:, 1], np.nan] for p in plans])
    return xs, ys


def plans_figure(states: np.ndarray, title: str = "Sampled plans", max_plans: int = 100) -> go.Figure:
    """Plans (B, H, >= 2) in the plane, coloured by their route (:func:`plan_route`)."""
    states = np.asarray(states)[:max_plans]
    return trajectories_figure(list(states), [plan_route(s) for s in states], title=title)


def denoising_figure(chain: np.ndarray, title: str = "Denoising a batch of plans") -> go.Figure:
    """A slider over the denoising iterates: ``chain`` (K + 1, B, H, >= 2) in raw units (x, y first)."""
    chain = np.asarray(chain)
    K1 = chain.shape[0]
    fig = go.Figure(layout=trajectories_figure([], [], title=title).layout)
    for k in range(K1):
        xs, ys = _polyline(list(chain[k]))
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                marker=dict(size=2),
                line=dict(width=1, color=color_of("diffuser")),
                visible=(k == K1 - 1),
                name=f"iterate {k}",
                showlegend=False,
            )
        )
    steps = [dict(method="update", label=str(k), args=[{"visible": [j == k for j in range(K1)]}]) for k in range(K1)]
    fig.update_layout(sliders=[dict(active=K1 - 1, steps=steps, currentvalue=dict(prefix="denoising iterate: "))])
    return fig


def guidance_slider_figure(plans_by_scale: Mapping[float, np.ndarray], title: str = "Guidance scale") -> go.Figure:
    """A slider over guidance scales: ``{scale: plans (B, H, >= 2)}``, each drawn by route."""
    scales = list(plans_by_scale)
    fig = go.Figure(layout=trajectories_figure([], [], title=title).layout)
    for i, s in enumerate(scales):
        plans = list(np.asarray(plans_by_scale[s]))
        routes = [plan_route(p) for p in plans]
        for route, color in _ROUTES.items():
            sel = [p for p, r in zip(plans, routes) if r == route]
            xs, ys = _polyline(sel)
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    line=dict(color=color, width=1),
                    opacity=0.6,
                    name=f"{route} ({len(sel)})",
                    visible=(i == 0),
                )
            )
    n = len(_ROUTES)
    steps = [
        dict(method="update", label=f"{s:g}", args=[{"visible": [j // n == i for j in range(n * len(scales))]}])
        for i, s in enumerate(scales)
    ]
    fig.update_layout(sliders=[dict(active=0, steps=steps, currentvalue=dict(prefix="guidance scale: "))])
    return fig


def saycan_scores_figure(options: Sequence[str], scores: Mapping[str, np.ndarray], title: str = "") -> go.Figure:
    """Grouped bars of ``{"llm": (K,), "affordance": (K,), "combined": (K,)}`` over the options (combined
    renormalised to sum to one)."""
    fig = go.Figure()
    for name, vals in scores.items():
        v = np.asarray(vals, float)
        if name == "combined":
            v = v / max(float(v.sum()), 1e-12)
        fig.add_trace(go.Bar(name=name, x=list(options), y=v))
    fig.update_layout(barmode="group", title=title, template="plotly_white", height=330, yaxis_title="score")
    return fig


def marks_shapes(radius: float = 0.05) -> list[dict]:
    """Circles for the marks of ``labkit/TwoRoutesSkills-v0`` (add to a figure's ``shapes``)."""
    return [
        dict(
            type="circle",
            x0=x - radius,
            y0=y - radius,
            x1=x + radius,
            y1=y + radius,
            fillcolor=_MARK_COLORS[name],
            line=dict(width=0),
        )
        for name, (x, y) in MARKS.items()
    ]


def coverage_figure(counts: Mapping[str, np.ndarray], title: str = "Cells visited during training") -> go.Figure:
    """Side-by-side maps of ``{method: visit counts (n, n)}`` (row = y), on a log scale."""
    names = list(counts)
    fig = make_subplots(1, len(names), subplot_titles=names, horizontal_spacing=0.04)
    for i, name in enumerate(names):
        c = np.asarray(counts[name], float)
        centres = (np.arange(c.shape[0]) + 0.5) / c.shape[0] - 0.5
        fig.add_trace(go.Heatmap(z=np.log10(1 + c), x=centres, y=centres, coloraxis="coloraxis"), 1, i + 1)
    fig.update_layout(
        title=title, template="plotly_white", height=320, coloraxis=dict(colorbar=dict(title="log10(1+n)"))
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig
