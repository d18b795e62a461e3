"""Where demonstrated actions point: polar histograms of action directions, one per group, with a slider."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from labkit.viz.palette import COLORS

__all__ = ["action_direction_figure"]


def _circular_mean(angles: np.ndarray) -> float:
    rad = np.radians(angles)
    return float(np.degrees(np.arctan2(np.sin(rad).mean(), np.cos(rad).mean())))


def action_direction_figure(
    groups: Mapping[str, np.ndarray], *, bins: int = 36, title: str = "Action directions below the obstacle"
) -> go.Figure:
    """Polar histograms of action angles (degrees, 90 = straight up), with each group's mean direction.

    :param groups: ``{label: (M,) angles}``, e.g. from ``labkit.analysis.action_directions``; with more
        than one group a slider switches between them (e.g. demonstrations made with different noise).
    """
    if not groups:
        raise ValueError("action_direction_figure needs at least one group of angles.")
    fig = go.Figure()
    for k, (label, angles) in enumerate(groups.items()):
        angles = np.asarray(angles, dtype=float)
        counts, edges = np.histogram(angles, bins=bins, range=(-180, 180))
        mean = _circular_mean(angles) if len(angles) else 0.0
        fig.add_trace(
            go.Barpolar(
                r=counts,
                theta=(edges[:-1] + edges[1:]) / 2,
                marker_color=COLORS[0],
                name=f"{label}: {len(angles)} steps",
                visible=k == 0,
            )
        )
        fig.add_trace(
            go.Scatterpolar(
                r=[0, max(int(counts.max()), 1)],
                theta=[mean, mean],
                mode="lines",
                line=dict(color=COLORS[1], width=4),
                name=f"mean action ({mean:.0f} deg)",
                visible=k == 0,
            )
        )
    layout: dict = dict(title=title, height=440, polar=dict(angularaxis=dict(rotation=0, direction="counterclockwise")))
    if len(groups) > 1:
        steps = []
        for k, label in enumerate(groups):
            visible = [False] * (2 * len(groups))
            visible[2 * k : 2 * k + 2] = [True, True]
            steps.append(dict(method="update", label=str(label), args=[{"visible": visible}]))
        layout["sliders"] = [dict(active=0, steps=steps, pad=dict(t=30))]
    fig.update_layout(**layout)
    return fig
