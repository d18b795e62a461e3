"""Plotly figure builders: learning curves with a band across seeds, trajectories in the plane."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

__all__ = ["learning_curves", "trajectories_figure", "route_bar", "COLORS", "ROUTE_COLORS"]

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
ROUTE_COLORS = {"left": "#1f77b4", "right": "#ff7f0e", "none": "#7f7f7f"}


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def learning_curves(
    runs: Mapping[str, Sequence[tuple[Sequence[float], Sequence[float]]]],
    *,
    title: str = "Learning curves",
    x_title: str = "environment steps",
    y_title: str = "evaluation return",
    band: str = "minmax",
) -> go.Figure:
    """Mean curve and a band across seeds for each method.

    :param runs: ``{"PPO": [(steps_seed0, values_seed0), (steps_seed1, values_seed1), ...], ...}``.
        Seeds may be evaluated at different steps: they are interpolated onto a common grid.
    :param band: ``"minmax"`` (range over seeds) or ``"std"`` (mean +- one standard deviation).
    """
    if band not in ("minmax", "std"):
        raise ValueError(f"band must be 'minmax' or 'std'. Got {band!r}.")
    fig = go.Figure()
    for k, (name, seeds) in enumerate(runs.items()):
        seeds = [(np.asarray(x, float), np.asarray(y, float)) for x, y in seeds if len(x)]
        if not seeds:
            continue
        color = COLORS[k % len(COLORS)]
        lo_x = max(x[0] for x, _ in seeds)
        hi_x = min(x[-1] for x, _ in seeds)
        grid = np.unique(np.concatenate([x for x, _ in seeds]))
        grid = grid[(grid >= lo_x) & (grid <= hi_x)] if hi_x > lo_x else grid[:1]
        ys = np.stack([np.interp(grid, x, y) for x, y in seeds])  # (n_seeds, n_points)
        mean = ys.mean(0)
        if band == "std":
            lo, hi = mean - ys.std(0), mean + ys.std(0)
        else:
            lo, hi = ys.min(0), ys.max(0)
        if len(seeds) > 1:
            fig.add_trace(go.Scatter(x=np.concatenate([grid, grid[::-1]]), y=np.concatenate([hi, lo[::-1]]),
                                     fill="toself", fillcolor=_rgba(color, 0.2), line=dict(width=0),
                                     hoverinfo="skip", showlegend=False, legendgroup=name))
        label = f"{name} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''})"
        fig.add_trace(go.Scatter(x=grid, y=mean, mode="lines+markers", name=label, legendgroup=name,
                                 line=dict(color=color, width=2), marker=dict(size=4)))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, template="plotly_white",
                      hovermode="x unified", height=380, legend=dict(orientation="h", y=-0.2))
    return fig


def _two_routes_shapes(obstacle=(0.0, 0.0), goal=(0.0, 0.35), goal_radius=0.05) -> list[dict]:
    """Walls, the cup-shaped obstacle (three boxes, as in two_routes.xml) and the goal."""
    ox, oy = obstacle
    gx, gy = goal
    boxes = [((0.0, 0.04), (0.16, 0.03)), ((-0.13, -0.05), (0.03, 0.06)), ((0.13, -0.05), (0.03, 0.06))]
    shapes = [dict(type="rect", x0=-0.5, y0=-0.5, x1=0.5, y1=0.5, line=dict(color="#555", width=2))]
    for (cx, cy), (hx, hy) in boxes:
        shapes.append(dict(type="rect", x0=ox + cx - hx, y0=oy + cy - hy, x1=ox + cx + hx, y1=oy + cy + hy,
                           fillcolor="rgba(204,77,64,0.8)", line=dict(width=0)))
    shapes.append(dict(type="circle", x0=gx - goal_radius, y0=gy - goal_radius, x1=gx + goal_radius,
                       y1=gy + goal_radius, fillcolor="rgba(51,191,89,0.5)", line=dict(width=0)))
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
        raise ValueError(f"need one label per trajectory. Got {len(labels)} labels for {len(trajectories)} trajectories.")
    fig = go.Figure()
    seen: set[str] = set()
    palette = dict(ROUTE_COLORS)
    for k, (traj, label) in enumerate(zip(trajectories[:max_traces], labels[:max_traces])):
        traj = np.asarray(traj)
        if traj.ndim != 2 or traj.shape[1] <= max(xy_index):
            raise ValueError(f"trajectory {k} must be (T, >= {max(xy_index) + 1}). Got {traj.shape}.")
        color = palette.setdefault(label, COLORS[len(palette) % len(COLORS)])
        fig.add_trace(go.Scatter(x=traj[:, xy_index[0]], y=traj[:, xy_index[1]], mode="lines",
                                 line=dict(color=color, width=1.2), opacity=0.6, name=label,
                                 legendgroup=label, showlegend=label not in seen))
        seen.add(label)
    if scene == "two_routes":
        fig.update_layout(shapes=_two_routes_shapes(**(scene_kwargs or {})))
    fig.update_layout(title=title, template="plotly_white", height=430, width=470,
                      xaxis=dict(range=[-0.55, 0.55], title="x (m)", constrain="domain"),
                      yaxis=dict(range=[-0.55, 0.55], title="y (m)", scaleanchor="x", scaleratio=1))
    return fig


def route_bar(results: Mapping[str, Mapping[str, int]], title: str = "Successful episodes by route") -> go.Figure:
    """Grouped bars: ``{"diffusion": {"left": 48, "right": 50}, "Gaussian BC": {...}}``."""
    routes = sorted({r for counts in results.values() for r in counts})
    fig = go.Figure()
    for route in routes:
        fig.add_trace(go.Bar(name=route, x=list(results), y=[results[m].get(route, 0) for m in results],
                             marker_color=ROUTE_COLORS.get(route)))
    fig.update_layout(barmode="group", title=title, template="plotly_white", height=350,
                      yaxis_title="episodes")
    return fig
