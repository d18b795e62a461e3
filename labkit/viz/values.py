"""Where policies' actions land on a critic's landscape (notebook 08), and success bands (notebook 10)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch

__all__ = ["sample_first_actions", "action_value_figure", "success_band_figure", "action_cloud_figure", "crossing_x",
           "crossing_histogram"]

_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


@torch.no_grad()
def sample_first_actions(policy, obs: np.ndarray, n: int = 200, seed: int = 0, **kwargs) -> np.ndarray:
    """``n`` actions (n, A) a chunk policy executes first in observation ``obs`` (D,) (one history row)."""
    To = policy.config.n_obs_steps
    hist = torch.as_tensor(np.asarray(obs, np.float32)).reshape(1, 1, -1).repeat(n, To, 1)  # (n, To, D)
    gen = torch.Generator().manual_seed(seed)
    return policy.predict_action(hist, generator=gen, **kwargs)[:, 0].numpy()  # (n, A)


@torch.no_grad()
def action_value_figure(critic, obs: np.ndarray, actions: Mapping[str, np.ndarray], *, grid: int = 61,
                        title: str = "Q(s, a) at one state, and where each policy's actions go") -> go.Figure:
    """A heatmap of ``critic.q_value(obs, a)`` over the action square [-1, 1]^2, with action clouds on top.

    :param critic: anything with ``q_value(obs (B, D), actions (B, 2)) -> (B,)`` (an ``IQLCritic``).
    :param obs: one observation (D,).
    :param actions: ``{policy name: (n, 2) actions}``, e.g. from :func:`sample_first_actions`.
    """
    ax = np.linspace(-1, 1, grid)
    ux, uy = np.meshgrid(ax, ax)  # (G, G) each
    a = torch.as_tensor(np.stack([ux.ravel(), uy.ravel()], 1), dtype=torch.float32)  # (G*G, 2)
    o = torch.as_tensor(np.asarray(obs, np.float32)).reshape(1, -1).expand(len(a), -1)  # (G*G, D)
    q = critic.q_value(o, a).reshape(grid, grid).numpy()  # (G, G)
    fig = go.Figure(go.Heatmap(x=ax, y=ax, z=q, colorscale="Viridis", colorbar=dict(title="Q"), opacity=0.85))
    for k, (name, acts) in enumerate(actions.items()):
        acts = np.asarray(acts)
        fig.add_scatter(x=acts[:, 0], y=acts[:, 1], mode="markers", name=name,
                        marker=dict(size=5, color=_COLORS[k % len(_COLORS)], line=dict(width=0.5, color="white")))
    fig.update_layout(title=title, template="plotly_white", height=460, width=560,
                      xaxis=dict(title="action x (left <- -> right)", range=[-1.05, 1.05], constrain="domain"),
                      yaxis=dict(title="action y (up)", range=[-1.05, 1.05], scaleanchor="x", scaleratio=1),
                      legend=dict(orientation="h", y=-0.18))
    return fig


def success_band_figure(runs: Mapping[str, Sequence[Sequence[dict]]], *, x: str = "env_steps", y: str = "success_rate",
                        points: int = 60, title: str = "Training success (last 100 episodes)") -> go.Figure:
    """Mean and min-max band over seeds of ``y`` against ``x``, one colour per method.

    :param runs: ``{method: [history of seed 0, history of seed 1, ...]}``, histories as in ``PPOResult.history``.
    """
    fig = go.Figure()
    for k, (name, histories) in enumerate(runs.items()):
        color = _COLORS[k % len(_COLORS)]
        curves = [(np.array([r[x] for r in h], float), np.array([r[y] for r in h], float)) for h in histories if h]
        if not curves:
            continue
        hi = min(c[0][-1] for c in curves)
        grid = np.linspace(min(c[0][0] for c in curves), hi, points)
        ys = np.stack([np.interp(grid, cx, np.nan_to_num(cy, nan=0.0)) for cx, cy in curves])  # (seeds, points)
        lo_, mid, up = ys.min(0), ys.mean(0), ys.max(0)
        fig.add_scatter(x=np.r_[grid, grid[::-1]], y=np.r_[up, lo_[::-1]], fill="toself", line=dict(width=0),
                        fillcolor=color, opacity=0.2, hoverinfo="skip", showlegend=False, legendgroup=name)
        fig.add_scatter(x=grid, y=mid, mode="lines", line=dict(color=color, width=2), legendgroup=name,
                        name=f"{name} ({len(curves)} seed{'s' if len(curves) > 1 else ''})")
    fig.update_layout(title=title, xaxis_title=x.replace("_", " "), yaxis_title=y.replace("_", " "),
                      template="plotly_white", height=380, yaxis=dict(range=[-0.02, 1.02]),
                      legend=dict(orientation="h", y=-0.2))
    return fig


def action_cloud_figure(clouds: Mapping[str, np.ndarray], *, title: str = "First actions at the split point"
                        ) -> go.Figure:
    """Scatter of action clouds ``{name: (n, 2)}`` in the action square (e.g. before and after fine-tuning)."""
    fig = go.Figure()
    for k, (name, acts) in enumerate(clouds.items()):
        acts = np.asarray(acts)
        fig.add_scatter(x=acts[:, 0], y=acts[:, 1], mode="markers", name=name, opacity=0.6,
                        marker=dict(size=5, color=_COLORS[k % len(_COLORS)]))
    fig.update_layout(title=title, template="plotly_white", height=420, width=520,
                      xaxis=dict(title="action x", range=[-1.3, 1.3], constrain="domain"),
                      yaxis=dict(title="action y", range=[-1.3, 1.3], scaleanchor="x", scaleratio=1),
                      legend=dict(orientation="h", y=-0.18))
    return fig


def crossing_x(trajectories: Sequence[np.ndarray], y_level: float = 0.0) -> np.ndarray:
    """x where each trajectory (T, >= 2) first reaches height ``y_level`` (NaN if it never does)."""
    out = []
    for traj in trajectories:
        traj = np.asarray(traj)
        hit = np.flatnonzero(traj[:, 1] >= y_level)
        out.append(traj[hit[0], 0] if len(hit) else np.nan)
    return np.array(out)


def crossing_histogram(groups: Mapping[str, Sequence[np.ndarray]], y_level: float = -0.12, *,
                       title: str | None = None) -> go.Figure:
    """Histograms of where each group's trajectories cross height ``y_level`` (the cup's mouth at -0.12 m).

    Crossings near x = 0 drive into the cup; successful routes cross at |x| ~ 0.25 m. Episodes that
    never reach the height are counted in the legend.
    """
    fig = go.Figure()
    for k, (name, trajs) in enumerate(groups.items()):
        xs = crossing_x(trajs, y_level)
        ok = xs[np.isfinite(xs)]
        fig.add_histogram(x=ok, name=f"{name} ({len(xs) - len(ok)} never reach it)", opacity=0.6,
                          xbins=dict(start=-0.5, end=0.5, size=0.025), marker_color=_COLORS[k % len(_COLORS)])
    fig.update_layout(barmode="overlay", template="plotly_white", height=340,
                      title=title or f"Where rollouts cross y = {y_level} m (the cup's mouth spans |x| < 0.16)",
                      xaxis_title="x (m)", yaxis_title="episodes", legend=dict(orientation="h", y=-0.25))
    return fig
