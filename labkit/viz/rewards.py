"""Figures of notebook 04: reward maps over the plane, correlation bars, the VLM alpha slider, learned vs true.

Every builder returns a ``plotly.graph_objects.Figure`` and never calls ``.show()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.palette import color_of
from labkit.viz.trajectories import two_routes_shapes

__all__ = [
    "reward_scene_shapes",
    "reward_maps_figure",
    "reward_correlation_figure",
    "alpha_slider_figure",
    "learned_vs_true_figure",
]


def reward_scene_shapes() -> list[dict]:
    """Plotly shapes of TwoRoutes' walls and cup, and the goal as an outline (so a heat map shows under it)."""
    return [
        {**s, "fillcolor": "rgba(0,0,0,0)", "line": dict(color="#2a2", width=2)} if s["type"] == "circle" else s
        for s in two_routes_shapes()
    ]


def _scene(fig: go.Figure, n: int) -> None:
    """Draw the walls, cup and goal on each of ``n`` subplots (axes x, x2, ...)."""
    for k in range(n):
        ax = "" if k == 0 else str(k + 1)
        for s in reward_scene_shapes():
            fig.add_shape(**{**s, "xref": f"x{ax}", "yref": f"y{ax}"})


def reward_maps_figure(
    maps: Mapping[str, Mapping[str, np.ndarray]],
    *,
    title: str = "Learned rewards over the plane",
    cols: int = 3,
    standardise: bool = True,
) -> go.Figure:
    """One heat map per reward: ``{"name": reward_heatmap(...)}`` (``x``, ``y``, ``reward`` (Ny, Nx)).

    :param standardise: show each map as z-scores over its own grid, so one colour scale fits all.
    """
    names = list(maps)
    rows = int(np.ceil(len(names) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names, horizontal_spacing=0.04, vertical_spacing=0.1)
    for k, name in enumerate(names):
        m = maps[name]
        z = np.asarray(m["reward"], dtype=float)
        if standardise:
            z = (z - z.mean()) / max(z.std(), 1e-9)
        fig.add_trace(
            go.Heatmap(
                x=m["x"],
                y=m["y"],
                z=z,
                coloraxis="coloraxis",
                hovertemplate="x %{x:.2f}<br>y %{y:.2f}<br>reward %{z:.2f}<extra>" + name + "</extra>",
            ),
            row=k // cols + 1,
            col=k % cols + 1,
        )
    _scene(fig, len(names))
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=330 * rows,
        width=330 * cols,
        coloraxis=dict(colorscale="Viridis", colorbar=dict(title="z" if standardise else "r")),
    )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, scaleanchor="x")
    return fig


def reward_correlation_figure(
    correlations: Mapping[str, Mapping[str, float]],
    *,
    title: str = "Pearson correlation with the true progress (held-out episodes)",
) -> go.Figure:
    """Grouped bars: ``{"reward name": {"per_step": r, "per_episode": r}}``."""
    fig = go.Figure()
    names = list(correlations)
    for key in ["per_step", "per_episode"]:
        fig.add_trace(
            go.Bar(
                x=names,
                y=[correlations[n].get(key, np.nan) for n in names],
                name=key.replace("_", " "),
                marker_color=color_of(key),
                text=[f"{correlations[n].get(key, np.nan):.2f}" for n in names],
                textposition="outside",
            )
        )
    fig.update_layout(
        title=title,
        barmode="group",
        template="plotly_white",
        height=380,
        yaxis=dict(title="Pearson r", range=[-1.05, 1.05]),
    )
    return fig


def alpha_slider_figure(
    x: np.ndarray,
    y: np.ndarray,
    reward_by_alpha: Mapping[float, np.ndarray],
    *,
    title: str = "Self-trained VLM reward: the goal-baseline projection",
) -> go.Figure:
    """A heat map with a slider over precomputed alphas: ``{alpha: (Ny, Nx) reward}``."""
    alphas = sorted(reward_by_alpha)
    fig = go.Figure()
    for a in alphas:
        fig.add_trace(
            go.Heatmap(
                x=x,
                y=y,
                z=reward_by_alpha[a],
                visible=a == alphas[0],
                colorscale="Viridis",
                colorbar=dict(title="r"),
                name=f"alpha {a:.2f}",
            )
        )
    steps = [
        dict(
            method="update",
            label=f"{a:.2f}",
            args=[{"visible": [b == a for b in alphas]}, {"title": f"{title} (alpha = {a:.2f})"}],
        )
        for a in alphas
    ]
    fig.update_layout(
        sliders=[dict(active=0, currentvalue=dict(prefix="alpha = "), steps=steps, pad=dict(t=30))],
        title=f"{title} (alpha = {alphas[0]:.2f})",
        template="plotly_white",
        height=470,
        width=470,
        shapes=reward_scene_shapes(),
    )
    fig.update_yaxes(scaleanchor="x")
    return fig


def learned_vs_true_figure(
    episodes: Sequence[tuple[int, bool, float, float]],
    *,
    window: int = 20,
    title: str = "Training episodes: learned and true return",
) -> go.Figure:
    """Moving averages of the learned and the true episode return against env steps (two y axes)."""
    e = np.asarray(episodes, dtype=float)  # (n, 4): step, success, learned, true
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    if len(e):
        k = np.ones(min(window, len(e))) / min(window, len(e))
        smooth = lambda v: np.convolve(v, k, mode="valid")  # noqa: E731
        steps = e[len(k) - 1 :, 0]
        fig.add_trace(
            go.Scatter(x=steps, y=smooth(e[:, 2]), name="learned return", line=dict(color=color_of("learned return")))
        )
        fig.add_trace(
            go.Scatter(x=steps, y=smooth(e[:, 3]), name="true return", line=dict(color=color_of("true return"))),
            secondary_y=True,
        )
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=smooth(e[:, 1]),
                name="success (training episodes)",
                line=dict(color=color_of("success"), dash="dot"),
            ),
            secondary_y=True,
        )
    fig.update_layout(title=title, template="plotly_white", height=360, xaxis_title="environment steps")
    fig.update_yaxes(title_text="learned", secondary_y=False)
    fig.update_yaxes(title_text="true return / success", secondary_y=True)
    return fig
