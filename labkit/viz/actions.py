"""Actions on a critic's landscape (notebook 08) and clouds of actions before/after fine-tuning (notebook 10)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
import torch

from labkit.viz.palette import color_of

__all__ = ["action_cloud_figure", "action_value_figure"]


@torch.no_grad()
def action_value_figure(
    critic,
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
    for name, acts in actions.items():
        acts = np.asarray(acts)
        fig.add_scatter(
            x=acts[:, 0],
            y=acts[:, 1],
            mode="markers",
            name=name,
            marker=dict(size=5, color=color_of(name), line=dict(width=0.5, color="white")),
        )
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=460,
        width=560,
        xaxis=dict(title="action x (left <- -> right)", range=[-1.05, 1.05], constrain="domain"),
        yaxis=dict(title="action y (up)", range=[-1.05, 1.05], scaleanchor="x", scaleratio=1),
        legend=dict(orientation="h", y=-0.18),
    )
    return fig


def action_cloud_figure(
    clouds: Mapping[str, np.ndarray], *, title: str = "First actions at the split point"
) -> go.Figure:
    """Scatter of action clouds ``{name: (n, 2)}`` in the action square (e.g. before and after fine-tuning)."""
    fig = go.Figure()
    for name, acts in clouds.items():
        acts = np.asarray(acts)
        fig.add_scatter(
            x=acts[:, 0],
            y=acts[:, 1],
            mode="markers",
            name=name,
            opacity=0.6,
            marker=dict(size=5, color=color_of(name)),
        )
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=420,
        width=520,
        xaxis=dict(title="action x", range=[-1.3, 1.3], constrain="domain"),
        yaxis=dict(title="action y", range=[-1.3, 1.3], scaleanchor="x", scaleratio=1),
        legend=dict(orientation="h", y=-0.18),
    )
    return fig
