"""Paths in the plane (TwoRoutes), successful episodes by route, where rollouts cross a height."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from labkit.analysis import crossing_x
from labkit.viz.palette import ROUTE_COLORS, color_of

__all__ = ["crossing_histogram", "route_bar", "trajectories_figure", "two_routes_shapes"]


def two_routes_shapes(obstacle=(0.0, 0.0), goal=(0.0, 0.35), goal_radius=0.05) -> list[dict]:
    """Walls, the cup-shaped obstacle (three boxes, as in two_routes.xml) and the goal."""
    ox, oy = obstacle
    gx, gy = goal
    boxes = [((0.0, 0.04), (0.16, 0.03)), ((-0.13, -0.05), (0.03, 0.06)), ((0.13, -0.05), (0.03, 0.06))]
    shapes = [dict(type="rect", x0=-0.5, y0=-0.5, x1=0.5, y1=0.5, line=dict(color="#555", width=2))]
    for (cx, cy), (hx, hy) in boxes:
        shapes.append(
            dict(
                type="rect",
                x0=ox + cx - hx,
                y0=oy + cy - hy,
                x1=ox + cx + hx,
                y1=oy + cy + hy,
                fillcolor="rgba(204,77,64,0.8)",
                line=dict(width=0),
            )
        )
    shapes.append(
        dict(
            type="circle",
            x0=gx - goal_radius,
            y0=gy - goal_radius,
            x1=gx + goal_radius,
            y1=gy + goal_radius,
            fillcolor="rgba(51,191,89,0.5)",
            line=dict(width=0),
        )
    )
    return shapes


def trajectories_figure(
    trajectories: Sequence[np.ndarray],
    labels: Sequence[str] | None = None,
    *,
    title: str = "Trajectories in the plane",
    xy_index: tuple[int, int] = (0, 1),
    scene: str | None = "two_routes",
    scene_kwargs: dict | None = None,
    max_traces: int = 200,
) -> go.Figure:
    """Paths in the plane, coloured by label (e.g. the route each episode took).

    :param trajectories: per episode an array ``(T, obs_dim)``; columns ``xy_index`` are x and y.
    :param labels: per episode a label (``"left"``/``"right"``/...), used for colour and legend.
    :param scene: ``"two_routes"`` draws the walls, obstacle and goal of ``labkit/TwoRoutes-v0``.
    """
    labels = list(labels) if labels is not None else ["episode"] * len(trajectories)
    if len(labels) != len(trajectories):
        raise ValueError(
            f"need one label per trajectory. Got {len(labels)} labels for {len(trajectories)} trajectories."
        )
    fig = go.Figure()
    seen: set[str] = set()
    palette = dict(ROUTE_COLORS)
    for k, (traj, label) in enumerate(zip(trajectories[:max_traces], labels[:max_traces])):
        traj = np.asarray(traj)
        if traj.ndim != 2 or traj.shape[1] <= max(xy_index):
            raise ValueError(f"trajectory {k} must be (T, >= {max(xy_index) + 1}). Got {traj.shape}.")
        color = palette.setdefault(label, color_of(label) if label not in ROUTE_COLORS else ROUTE_COLORS[label])
        fig.add_trace(
            go.Scatter(
                x=traj[:, xy_index[0]],
                y=traj[:, xy_index[1]],
                mode="lines",
                line=dict(color=color, width=1.2),
                opacity=0.6,
                name=label,
                legendgroup=label,
                showlegend=label not in seen,
            )
        )
        seen.add(label)
    if scene == "two_routes":
        fig.update_layout(shapes=two_routes_shapes(**(scene_kwargs or {})))
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=430,
        width=470,
        xaxis=dict(range=[-0.55, 0.55], title="x (m)", constrain="domain"),
        yaxis=dict(range=[-0.55, 0.55], title="y (m)", scaleanchor="x", scaleratio=1),
    )
    return fig


def route_bar(results: Mapping[str, Mapping[str, int]], title: str = "Successful episodes by route") -> go.Figure:
    """Grouped bars: ``{"diffusion": {"left": 48, "right": 50}, "Gaussian BC": {...}}``."""
    routes = sorted({r for counts in results.values() for r in counts})
    fig = go.Figure()
    for route in routes:
        fig.add_trace(
            go.Bar(
                name=route,
                x=list(results),
                y=[results[m].get(route, 0) for m in results],
                marker_color=ROUTE_COLORS.get(route),
            )
        )
    fig.update_layout(barmode="group", title=title, template="plotly_white", height=350, yaxis_title="episodes")
    return fig


def crossing_histogram(
    groups: Mapping[str, Sequence[np.ndarray]], y_level: float = -0.12, *, title: str | None = None
) -> go.Figure:
    """Histograms of where each group's trajectories cross height ``y_level`` (the cup's mouth at -0.12 m).

    Crossings near x = 0 drive into the cup; successful routes cross at |x| ~ 0.25 m. Episodes that
    never reach the height are counted in the legend.
    """
    fig = go.Figure()
    for name, trajs in groups.items():
        xs = crossing_x(trajs, y_level)
        ok = xs[np.isfinite(xs)]
        fig.add_histogram(
            x=ok,
            name=f"{name} ({len(xs) - len(ok)} never reach it)",
            opacity=0.6,
            xbins=dict(start=-0.5, end=0.5, size=0.025),
            marker_color=color_of(name),
        )
    fig.update_layout(
        barmode="overlay",
        template="plotly_white",
        height=340,
        title=title or f"Where rollouts cross y = {y_level} m (the cup's mouth spans |x| < 0.16)",
        xaxis_title="x (m)",
        yaxis_title="episodes",
        legend=dict(orientation="h", y=-0.25),
    )
    return fig
