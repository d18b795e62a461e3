"""Actions on a critic's landscape (notebook 08) and clouds of actions before/after fine-tuning (notebook 10)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch

from labkit.viz.palette import color_of

__all__ = ["action_cloud_figure", "action_value_figure"]


def _add_clouds(fig: go.Figure, clouds: Mapping[str, np.ndarray], **marker: Any) -> None:
    """One scatter trace per ``{name: (n, 2) actions}``, coloured by the kit's palette."""
    for name, acts in clouds.items():
        acts = np.asarray(acts)  # (n, 2)
        fig.add_scatter(
            x=acts[:, 0], y=acts[:, 1], mode="markers", name=name, marker=dict(size=5, color=color_of(name), **marker)
        )


def _action_square(
    fig: go.Figure, title: str, limit: float, width: int, height: int, x_title: str, y_title: str
) -> go.Figure:
    """Square, equally scaled action axes in [-limit, limit]."""
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=height,
        width=width,
        legend=dict(orientation="h", y=-0.18),
        xaxis=dict(title=x_title, range=[-limit, limit], constrain="domain"),
        yaxis=dict(title=y_title, range=[-limit, limit], scaleanchor="x", scaleratio=1),
    )
    return fig


@torch.no_grad()
def action_value_figure(
    critic: Any,
    obs: np.ndarray,
    actions: Mapping[str, np.ndarray],
    *,
    grid: int = 61,
    title: str = "Q(s, a) at one state, and where each policy's actions go",
) -> go.Figure:
    """A heatmap of ``critic.q_value(obs, a)`` over the action square [-1, 1]^2, with action clouds on top.

    :param critic: anything with ``q_value(obs (B, D), actions (B, 2)) -> (B,)`` (an ``IQLCritic``).
    :param obs: one observation (D,).
    :param actions: ``{policy name: (n, 2) actions}``, e.g. from ``labkit.analysis.first_actions``.
    """
    ax = np.linspace(-1, 1, grid)
    ux, uy = np.meshgrid(ax, ax)  # (G, G) each
    a = torch.as_tensor(np.stack([ux.ravel(), uy.ravel()], 1), dtype=torch.float32)  # (G*G, 2)
    o = torch.as_tensor(np.asarray(obs, np.float32)).reshape(1, -1).expand(len(a), -1)  # (G*G, D)
    q = critic.q_value(o, a).reshape(grid, grid).numpy()  # (G, G)
    fig = go.Figure(go.Heatmap(x=ax, y=ax, z=q, colorscale="Viridis", colorbar=dict(title="Q"), opacity=0.85))
    _add_clouds(fig, actions, line=dict(width=0.5, color="white"))
    return _action_square(fig, title, 1.05, 560, 460, "action x (left <- -> right)", "action y (up)")


def action_cloud_figure(
    clouds: Mapping[str, np.ndarray], *, title: str = "First actions at the split point"
) -> go.Figure:
    """Scatter of action clouds ``{name: (n, 2)}`` in the action square (e.g. before and after fine-tuning)."""
    fig = go.Figure()
    _add_clouds(fig, clouds, opacity=0.6)
    return _action_square(fig, title, 1.3, 520, 420, "action x", "action y")
