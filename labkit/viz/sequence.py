"""Figures for notebook 09: return curves, attention heatmaps, method comparisons, a target-return slider.

Every builder returns a ``plotly.graph_objects.Figure`` and never calls ``.show()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from labkit.viz.palette import color_of, rgba
from labkit.viz.trajectories import two_routes_shapes

__all__ = ["target_return_figure", "attention_figure", "comparison_figure", "target_slider_figure", "token_labels"]


def target_return_figure(
    rows: Sequence[Mapping[str, float]],
    *,
    data_best: float,
    data_worst: float | None = None,
    title: str = "Achieved return against the return asked for",
) -> go.Figure:
    """Mean achieved return (band: min-max over seeds) against the target, with y = x and the data's best.

    :param rows: dicts with ``target``, ``return`` (mean over episodes) and optionally ``seed`` and
        ``label`` (one line per label, e.g. the data set).
    :param data_best: the best episode return in the training data (a horizontal line).
    """
    fig = go.Figure()
    labels = list(dict.fromkeys(str(r.get("label", "DT")) for r in rows))
    targets_all = sorted({float(r["target"]) for r in rows})
    for label in labels:
        mine = [r for r in rows if str(r.get("label", "DT")) == label]
        xs = sorted({float(r["target"]) for r in mine})
        vals = [[float(r["return"]) for r in mine if float(r["target"]) == x] for x in xs]
        mean, lo, hi = (np.array([f(v) for v in vals]) for f in (np.mean, np.min, np.max))
        color = color_of(label)
        if any(len(v) > 1 for v in vals):
            fig.add_scatter(
                x=xs + xs[::-1],
                y=list(hi) + list(lo[::-1]),
                fill="toself",
                line=dict(width=0),
                fillcolor=rgba(color, 0.2),
                showlegend=False,
                hoverinfo="skip",
            )
        fig.add_scatter(x=xs, y=mean, mode="lines+markers", name=label, line=dict(color=color))
    lim = [min(targets_all), max(targets_all)]
    fig.add_scatter(x=lim, y=lim, mode="lines", name="achieved = asked", line=dict(color="#999", dash="dot"))
    fig.add_hline(y=data_best, line=dict(color="#2ca02c", dash="dash"), annotation_text="best episode in the data")
    if data_worst is not None:
        fig.add_hline(y=data_worst, line=dict(color="#d62728", dash="dash"), annotation_text="failing episodes")
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=420,
        width=620,
        xaxis_title="target return (first return-to-go token)",
        yaxis_title="achieved return",
    )
    return fig


def token_labels(n_steps: int) -> list[str]:
    """``["R[t-K+1]", "s[t-K+1]", "a[t-K+1]", ..., "R[t]", "s[t]", "a[t]"]`` for a K-step window."""
    out = []
    for j in range(n_steps):
        lag = n_steps - 1 - j
        tag = "t" if lag == 0 else f"t-{lag}"
        out += [f"R[{tag}]", f"s[{tag}]", f"a[{tag}]"]
    return out


def attention_figure(
    weights: np.ndarray,
    labels: Sequence[str],
    *,
    query: str = "s[t]",
    title: str = "Where the decision looks: attention of the current state token",
) -> go.Figure:
    """Heatmap of one query token's attention weights: rows = layers (x heads), columns = context tokens.

    :param weights: (L, T) weights of the query token over the T tokens (each row sums to 1).
    :param labels: T token names (:func:`token_labels`).
    """
    w = np.asarray(weights)
    if w.ndim != 2 or w.shape[1] != len(labels):
        raise ValueError(f"weights must be (layers, {len(labels)} tokens). Got {w.shape}.")
    fig = go.Figure(
        go.Heatmap(
            z=w,
            x=list(labels),
            y=[f"layer {i + 1}" for i in range(w.shape[0])],
            colorscale="Blues",
            zmin=0.0,
            colorbar=dict(title="weight"),
        )
    )
    fig.update_layout(
        title=f"{title} ({query})",
        template="plotly_white",
        height=120 + 60 * w.shape[0],
        width=max(520, 22 * len(labels)),
        xaxis=dict(tickangle=-60),
        yaxis=dict(autorange="reversed"),
    )
    return fig


def comparison_figure(
    summary: Sequence[Mapping[str, float]], *, metric: str = "normalised return", title: str | None = None
) -> go.Figure:
    """Grouped bars of ``metric`` per method, one group per data set; error bars = min-max over seeds.

    :param summary: dicts with ``dataset``, ``method``, ``metric`` and optionally ``metric min``/``max``.
    """
    fig = go.Figure()
    datasets = list(dict.fromkeys(str(r["dataset"]) for r in summary))
    methods = list(dict.fromkeys(str(r["method"]) for r in summary))
    for ds in datasets:
        rows = {str(r["method"]): r for r in summary if str(r["dataset"]) == ds}
        y = [float(rows[m][metric]) if m in rows else None for m in methods]
        err_hi = [
            float(rows[m].get(f"{metric} max", rows[m][metric])) - float(rows[m][metric]) if m in rows else 0
            for m in methods
        ]
        err_lo = [
            float(rows[m][metric]) - float(rows[m].get(f"{metric} min", rows[m][metric])) if m in rows else 0
            for m in methods
        ]
        fig.add_bar(
            x=methods,
            y=y,
            name=ds,
            marker_color=color_of(ds),
            error_y=dict(type="data", array=err_hi, arrayminus=err_lo, visible=True),
        )
    fig.update_layout(
        title=title or f"{metric} by method (mean over seeds; bars: min-max)",
        barmode="group",
        template="plotly_white",
        height=420,
        width=760,
        yaxis_title=metric,
    )
    return fig


def target_slider_figure(
    trajectories: Mapping[float, Sequence[np.ndarray]],
    *,
    max_paths: int = 20,
    title: str = "Where the Decision Transformer drives, by target return",
) -> go.Figure:
    """A plotly slider over target returns; each step shows that target's rollouts in the plane.

    :param trajectories: ``{target: [observations (T, obs_dim) per episode]}`` (cached results).
    """
    targets = sorted(trajectories)
    fig = go.Figure()
    spans = []
    for target in targets:
        paths = list(trajectories[target])[:max_paths]
        first = len(fig.data)
        for p in paths:
            p = np.asarray(p)
            fig.add_scatter(
                x=p[:, 0],
                y=p[:, 1],
                mode="lines",
                line=dict(color=color_of("Decision Transformer"), width=1.2),
                opacity=0.6,
                showlegend=False,
                visible=target == targets[-1],
            )
        spans.append((first, len(fig.data)))
    steps = []
    for target, (a, b) in zip(targets, spans):
        visible = [a <= i < b for i in range(len(fig.data))]
        steps.append(dict(method="update", label=f"{target:g}", args=[{"visible": visible}]))
    fig.update_layout(
        sliders=[dict(active=len(targets) - 1, steps=steps, currentvalue=dict(prefix="target return: "))],
        shapes=two_routes_shapes(),
        title=title,
        template="plotly_white",
        height=520,
        width=470,
        xaxis=dict(range=[-0.55, 0.55], title="x (m)", constrain="domain"),
        yaxis=dict(range=[-0.55, 0.55], title="y (m)", scaleanchor="x", scaleratio=1),
    )
    return fig
