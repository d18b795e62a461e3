"""Actions on a critic's landscape and IDQL's temperature (notebook 08); action clouds before/after fine-tuning (10)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch

from labkit.policies.select import selection_probabilities
from labkit.viz.palette import color_of

__all__ = ["action_cloud_figure", "action_value_figure", "idql_temperature_figure"]


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
def _q_heatmap(critic: Any, obs: np.ndarray, grid: int) -> go.Heatmap:
    """``critic.q_value(obs, a)`` over the action square [-1, 1]^2 on a (grid, grid) lattice."""
    ax = np.linspace(-1, 1, grid)
    ux, uy = np.meshgrid(ax, ax)  # (G, G) each
    a = torch.as_tensor(np.stack([ux.ravel(), uy.ravel()], 1), dtype=torch.float32)  # (G*G, 2)
    o = torch.as_tensor(np.asarray(obs, np.float32)).reshape(1, -1).expand(len(a), -1)  # (G*G, D)
    q = critic.q_value(o, a).reshape(grid, grid).numpy()  # (G, G)
    return go.Heatmap(x=ax, y=ax, z=q, colorscale="Viridis", colorbar=dict(title="Q"), opacity=0.85)


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
    fig = go.Figure(_q_heatmap(critic, obs, grid))
    _add_clouds(fig, actions, line=dict(width=0.5, color="white"))
    return _action_square(fig, title, 1.05, 560, 460, "action x (left <- -> right)", "action y (up)")


def action_cloud_figure(
    clouds: Mapping[str, np.ndarray], *, title: str = "First actions at the split point"
) -> go.Figure:
    """Scatter of action clouds ``{name: (n, 2)}`` in the action square (e.g. before and after fine-tuning)."""
    fig = go.Figure()
    _add_clouds(fig, clouds, opacity=0.6)
    return _action_square(fig, title, 1.3, 520, 420, "action x", "action y")


def idql_temperature_figure(
    candidates: np.ndarray,
    values: np.ndarray,
    temperatures: Sequence[float] = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
    *,
    critic: Any = None,
    obs: np.ndarray | None = None,
    seed: int = 0,
    active: int = 0,
    grid: int = 41,
    title: str = "IDQL: which of the cached candidates each temperature picks",
) -> go.Figure:
    """A slider over IDQL's temperature, re-selecting among candidates already sampled and scored.

    Each of the M rows holds N candidate actions and their Q-values; for every temperature (and
    ``argmax``, the cold limit) one candidate per row is drawn with probabilities
    ``softmax(values / temperature)`` (``labkit.policies.selection_probabilities``), with the same
    random numbers at every step, so the slider changes only the temperature. Nothing is resampled:
    the figure moves live and works offline (no kernel needed).

    :param candidates: (M, N, 2) first actions of N proposals at M decisions.
    :param values: (M, N) their scores (Q).
    :param critic: with ``obs`` (D,), draw ``critic.q_value(obs, a)`` as a heatmap behind (all rows at ``obs``).
    :param seed: of the uniform numbers behind the draws.
    :param active: the step shown first (an index into ``temperatures``; ``len(temperatures)`` is argmax).
    """
    cand, val = np.asarray(candidates, dtype=float), np.asarray(values, dtype=float)
    if cand.ndim != 3 or cand.shape[2] != 2 or val.shape != cand.shape[:2]:
        raise ValueError(f"candidates must be (M, N, 2) and values (M, N). Got {cand.shape} and {val.shape}.")
    m, n = val.shape
    u = np.random.default_rng(seed).uniform(size=(m, 1))  # (M, 1): one uniform per row, shared by all steps
    v = torch.as_tensor(val)
    fig = go.Figure()
    if critic is not None and obs is not None:
        fig.add_trace(_q_heatmap(critic, obs, grid))
    fixed = len(fig.data)
    flat = cand.reshape(-1, 2)
    fig.add_scatter(
        x=flat[:, 0],
        y=flat[:, 1],
        mode="markers",
        name=f"all {n} candidates per decision",
        marker=dict(size=4, color="rgba(200,200,200,0.55)"),
    )
    fixed += 1
    steps, captions = [], []
    settings: list[tuple[str, dict[str, Any]]] = [
        (f"{t:g}", dict(selection="softmax", temperature=float(t))) for t in temperatures
    ]
    settings.append(("argmax", dict(selection="argmax")))
    for k, (label, kw) in enumerate(settings):
        probs = selection_probabilities(v, **kw).numpy()  # (M, N)
        index = np.minimum((np.cumsum(probs, axis=1) < u).sum(axis=1), n - 1)  # (M,) inverse-CDF draw
        chosen = cand[np.arange(m), index]  # (M, 2)
        n_eff = float(np.mean(1.0 / np.sum(probs**2, axis=1)))
        fig.add_scatter(
            x=chosen[:, 0],
            y=chosen[:, 1],
            mode="markers",
            visible=k == 0,
            name="chosen",
            marker=dict(size=7, color=color_of("IDQL"), line=dict(width=0.8, color="white")),
        )
        visible = [True] * fixed + [j == k for j in range(len(settings))]
        caption = (
            f"{title}<br><sup>temperature {label}: effective candidates 1/sum(p^2) = {n_eff:.1f} of {n}<br>"
            f"mean Q of the chosen {val[np.arange(m), index].mean():.2f} (of all candidates {val.mean():.2f})</sup>"
        )
        steps.append(dict(method="update", label=label, args=[{"visible": visible}, {"title.text": caption}]))
        captions.append(caption)
    if not 0 <= active < len(settings):
        raise ValueError(f"active must index the {len(settings)} steps (temperatures, then argmax). Got {active}.")
    for k, trace in enumerate(fig.data[fixed:]):
        trace.visible = k == active
    fig = _action_square(fig, captions[active], 1.05, 600, 640, "action x (left <- -> right)", "action y (up)")
    fig.update_layout(
        margin=dict(t=110),
        legend=dict(orientation="h", y=-0.14),
        sliders=[dict(active=active, steps=steps, currentvalue=dict(prefix="temperature = "), y=-0.24, yanchor="top")],
    )
    return fig
