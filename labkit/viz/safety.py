"""Figures of notebook 12 (policy safety): hazards over the TwoRoutes scene, methods, frontier, delay.

Every builder returns a ``go.Figure`` and never calls ``.show()``. Colours follow the method names
(``palette.color_of``). ``hazards`` is anything with ``centers`` (J, 2), ``radii`` (J,) and
``cost(positions (..., 2)) -> (...,)`` (``labkit.safety.Hazards``); this module does not import it.

- ``hazard_shapes``: walls, cup, goal and the hazard disks as layout shapes;
- ``hazard_scene`` / ``method_dropdown``: episodes coloured by whether they entered a hazard, one
  scene per constraint method behind a dropdown;
- ``frontier_slider``: the return/cost frontier of cached PPO-Lagrangian runs, with a cost-limit slider;
- ``delay_figure`` / ``delay_slider``: success against the inference delay d, and episodes per d;
- ``elicit_figure``: the start states an elicitation search tried, coloured by their cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from labkit.viz.palette import color_of
from labkit.viz.trajectories import two_routes_shapes

__all__ = [
    "delay_figure",
    "delay_slider",
    "elicit_figure",
    "frontier_slider",
    "hazard_scene",
    "hazard_shapes",
    "method_dropdown",
]

SAFE_COLOR, UNSAFE_COLOR = "#1f77b4", "#9467bd"


def _joined(paths: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Paths (T_i, 2) as one NaN-separated (x, y) pair of arrays: one trace for many episodes."""
    if not paths:
        return np.zeros(0), np.zeros(0)
    xs = np.concatenate([np.append(p[:, 0], np.nan) for p in paths])
    ys = np.concatenate([np.append(p[:, 1], np.nan) for p in paths])
    return xs, ys


def hazard_shapes(hazards: Any | None, goal=(0.0, 0.35), goal_radius: float = 0.05) -> list[dict]:
    """Walls, cup, goal (``viz.two_routes_shapes``) and the hazard disks (if any), as plotly layout shapes."""
    shapes = two_routes_shapes(goal=goal, goal_radius=goal_radius)
    for (x, y), r in zip(*((hazards.centers, hazards.radii) if hazards is not None else ((), ()))):
        shapes.append(
            dict(
                type="circle",
                x0=x - r,
                y0=y - r,
                x1=x + r,
                y1=y + r,
                fillcolor="rgba(150,60,200,0.35)",
                line=dict(color="rgba(150,60,200,0.9)", width=1, dash="dot"),
            )
        )
    return shapes


def _scene_traces(trajectories: Sequence[np.ndarray], hazards: Any, max_traces: int) -> list[go.Scatter]:
    """Two traces: safe episodes (blue) and episodes that entered a hazard (purple), NaN-separated."""
    groups: dict[bool, list[np.ndarray]] = {False: [], True: []}
    for traj in trajectories[:max_traces]:
        xy = np.asarray(traj)[:, :2]
        groups[bool(hazards.cost(xy).any())].append(xy)
    traces = []
    for unsafe, name, color in [(False, "stayed out", SAFE_COLOR), (True, "entered a hazard", UNSAFE_COLOR)]:
        xs, ys = _joined(groups[unsafe])
        traces.append(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=f"{name} ({len(groups[unsafe])})",
                line=dict(color=color, width=1.2),
                opacity=0.6,
            )
        )
    return traces


def _scene_layout(fig: go.Figure, hazards: Any, title: str) -> go.Figure:
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=460,
        width=520,
        shapes=hazard_shapes(hazards),
        xaxis=dict(range=[-0.55, 0.55], title="x (m)", constrain="domain"),
        yaxis=dict(range=[-0.55, 0.55], title="y (m)", scaleanchor="x", scaleratio=1),
        legend=dict(orientation="h", y=-0.15),
    )
    return fig


def hazard_scene(
    trajectories: Sequence[np.ndarray], hazards: Any, *, title: str = "Episodes and hazards", max_traces: int = 100
) -> go.Figure:
    """Trajectories (T, obs_dim) (x, y = columns 0, 1) over the scene, coloured by whether they entered a hazard."""
    return _scene_layout(go.Figure(_scene_traces(trajectories, hazards, max_traces)), hazards, title)


def method_dropdown(
    trajectories: Mapping[str, Sequence[np.ndarray]],
    hazards: Any,
    *,
    captions: Mapping[str, str] | None = None,
    max_traces: int = 100,
) -> go.Figure:
    """One scene per method (``{"none": trajs, ...}``), a dropdown picks the method shown."""
    names = list(trajectories)
    fig = go.Figure()
    for k, name in enumerate(names):
        for tr in _scene_traces(trajectories[name], hazards, max_traces):
            tr.visible = k == 0
            fig.add_trace(tr)
    captions = captions or {}
    buttons = []
    for k, name in enumerate(names):
        visible = [j // 2 == k for j in range(2 * len(names))]
        buttons.append(
            dict(
                label=name, method="update", args=[{"visible": visible}, {"title": f"{name}: {captions.get(name, '')}"}]
            )
        )
    _scene_layout(fig, hazards, f"{names[0]}: {captions.get(names[0], '')}")
    fig.update_layout(updatemenus=[dict(buttons=buttons, direction="down", x=0.0, y=1.12, xanchor="left")])
    return fig


def frontier_slider(
    runs: Sequence[Mapping[str, Any]], *, title: str = "Return against cost, PPO-Lagrangian"
) -> go.Figure:
    """Cached runs ``{"cost_limit", "cost", "return", "label"}`` (limit None: unconstrained); a slider picks a limit.

    Every run is a grey point; the runs at the slider's cost limit are drawn large and blue, and a
    dashed vertical line marks the limit, so one sees whether those runs land left of it.
    """
    limits = sorted({float(r["cost_limit"]) for r in runs if r["cost_limit"] is not None})
    cost = np.array([r["cost"] for r in runs], float)
    ret = np.array([r["return"] for r in runs], float)
    text = [r.get("label", "") for r in runs]
    fig = go.Figure(
        [go.Scatter(x=cost, y=ret, mode="markers", text=text, name="all runs", marker=dict(color="#bbbbbb", size=8))]
    )
    for d in limits:
        sel = [i for i, r in enumerate(runs) if r["cost_limit"] is not None and float(r["cost_limit"]) == d]
        fig.add_trace(
            go.Scatter(
                x=cost[sel],
                y=ret[sel],
                mode="markers",
                text=[text[i] for i in sel],
                visible=False,
                name=f"limit d = {d:g}",
                marker=dict(color="#1f77b4", size=13, line=dict(color="black", width=1)),
            )
        )
    steps: list[dict[str, Any]] = []
    for k, d in enumerate(limits):
        visible = [True] + [j == k for j in range(len(limits))]
        line = [dict(type="line", x0=d, x1=d, y0=0, y1=1, yref="paper", line=dict(dash="dash", color="#1f77b4"))]
        steps.append(dict(method="update", label=f"{d:g}", args=[{"visible": visible}, {"shapes": line}]))
    if limits:
        fig.data[1].visible = True
        fig.update_layout(
            shapes=steps[0]["args"][1]["shapes"],  # the first limit's dashed line
            sliders=[dict(active=0, steps=steps, currentvalue=dict(prefix="cost limit d = "), pad=dict(t=50))],
        )
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=430,
        xaxis_title="episode cost (hazard entries per episode)",
        yaxis_title="episode return (unshaped)",
    )
    return fig


def delay_figure(table: Sequence[Mapping[str, Any]], *, title: str = "Success against inference delay") -> go.Figure:
    """Rows ``{"method", "delay", "success", "seed"}`` -> one line per method (mean over seeds, min-max bars)."""
    fig = go.Figure()
    methods = list(dict.fromkeys(r["method"] for r in table))
    for m in methods:
        delays = sorted({r["delay"] for r in table if r["method"] == m})
        vals = [[r["success"] for r in table if r["method"] == m and r["delay"] == d] for d in delays]
        mean = np.array([np.mean(v) for v in vals])
        lo, hi = np.array([np.min(v) for v in vals]), np.array([np.max(v) for v in vals])
        fig.add_trace(
            go.Scatter(
                x=delays,
                y=mean,
                mode="lines+markers",
                name=m,
                line=dict(color=color_of(m), width=2),
                error_y=dict(type="data", symmetric=False, array=hi - mean, arrayminus=mean - lo),
            )
        )
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=380,
        xaxis_title="inference delay d (control steps)",
        yaxis_title="success rate",
        yaxis=dict(range=[0, 1.05]),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def delay_slider(
    trajectories: Mapping[tuple[str, int], Sequence[np.ndarray]],
    hazards: Any | None = None,
    *,
    captions: Mapping[tuple[str, int], str] | None = None,
    max_traces: int = 40,
) -> go.Figure:
    """Episodes of each (method, delay) over the scene; a slider over d shows both methods at that delay.

    :param trajectories: ``{("naive", d): [(T + 1, obs_dim), ...], ("rtc", d): [...]}``.
    """
    delays = sorted({d for _, d in trajectories})
    methods = list(dict.fromkeys(m for m, _ in trajectories))
    fig, order = go.Figure(), []
    for d in delays:
        for m in methods:
            trajs = [np.asarray(t)[:, :2] for t in trajectories.get((m, d), [])[:max_traces]]
            xs, ys = _joined(trajs)
            cap = (captions or {}).get((m, d), "")
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=f"{m} {cap}",
                    visible=d == delays[0],
                    line=dict(color=color_of(m), width=1.2),
                    opacity=0.55,
                )
            )
            order.append(d)
    steps = [dict(method="update", label=str(d), args=[{"visible": [o == d for o in order]}]) for d in delays]
    shapes = hazard_shapes(hazards)
    fig.update_layout(
        title="Episodes under an inference delay d (slider)",
        template="plotly_white",
        height=480,
        width=540,
        shapes=shapes,
        sliders=[dict(active=0, steps=steps, currentvalue=dict(prefix="delay d = "), pad=dict(t=40))],
        xaxis=dict(range=[-0.55, 0.55], title="x (m)", constrain="domain"),
        yaxis=dict(range=[-0.55, 0.55], title="y (m)", scaleanchor="x", scaleratio=1),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def elicit_figure(
    starts: np.ndarray,
    costs: np.ndarray,
    rounds: np.ndarray,
    hazards: Any,
    *,
    title: str = "Elicited start states (colour: episode cost)",
) -> go.Figure:
    """Every start tried by the search, coloured by its episode cost; round 0 (uniform) as circles, later as crosses."""
    fig = go.Figure()
    for late, symbol, name in [(False, "circle", "uniform round"), (True, "x", "search rounds")]:
        sel = (rounds > 0) == late
        fig.add_trace(
            go.Scatter(
                x=starts[sel, 0],
                y=starts[sel, 1],
                mode="markers",
                name=name,
                marker=dict(
                    symbol=symbol,
                    size=8,
                    color=costs[sel],
                    colorscale="Plasma",
                    cmin=0,
                    cmax=max(1.0, float(costs.max())),
                    showscale=not late,
                    colorbar=dict(title="cost"),
                ),
            )
        )
    return _scene_layout(fig, hazards, title)
