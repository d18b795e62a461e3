"""Figures of notebook 11 (policy distillation): generalists per variant, latency against success, losses.

Plotly builders that never call ``.show()``; colours from ``viz.palette.color_of`` (a data source or a
sampler keeps its colour).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.palette import color_of

__all__ = ["latency_success_figure", "loss_figure", "success_by_variant_figure"]

#: sampler kind -> the name its colour is looked up by
_KIND_NAMES = {"ddpm": "DDPM", "ddim": "DDIM", "consistency": "consistency"}


def success_by_variant_figure(
    per_seed: Sequence[Mapping[str, Mapping[str, float]]],
    *,
    title: str = "Generalists: success per variant (mean and range over seeds)",
) -> go.Figure:
    """Grouped bars with error bars: ``per_seed[i][source][variant] = success`` for each seed ``i``."""
    if not per_seed:
        raise ValueError("per_seed must hold at least one seed's {source: {variant: success}}.")
    sources = list(per_seed[0])
    variants = list(per_seed[0][sources[0]])
    fig = go.Figure()
    for source in sources:
        vals = np.array([[run[source][v] for v in variants] for run in per_seed])  # (n_seeds, n_variants)
        mean, per_seed_mean = vals.mean(0), vals.mean(1)  # (n_variants,), (n_seeds,)
        fig.add_trace(
            go.Bar(
                name=source,
                x=[*variants, "mean"],
                y=[*mean, mean.mean()],
                marker_color=color_of(source),
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=[*(vals.max(0) - mean), per_seed_mean.max() - mean.mean()],
                    arrayminus=[*(mean - vals.min(0)), mean.mean() - per_seed_mean.min()],
                ),
            )
        )
    fig.update_layout(
        barmode="group",
        title=title,
        template="plotly_white",
        height=380,
        yaxis_title="success rate",
        yaxis_range=[0, 1.05],
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def _average_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One point per label: ms per action, success and left share averaged over the rows (seeds) of that label."""
    by: dict[str, dict[str, Any]] = {}
    for r in rows:
        agg = by.setdefault(
            r["label"],
            {
                "label": r["label"],
                "kind": r["kind"],
                "steps": r["steps"],
                "ms_per_action": [],
                "success": [],
                "left": [],
            },
        )
        for key in ("ms_per_action", "success", "left"):
            agg[key].append(r[key])
    return [{**a, **{k: float(np.mean(a[k])) for k in ("ms_per_action", "success", "left")}} for a in by.values()]


def latency_success_figure(
    rows: Sequence[Mapping[str, Any]],
    *,
    budget_hz: float = 20.0,
    steps: Sequence[int] | None = None,
    title: str = "Success and route balance against milliseconds per action (batch 1)",
) -> go.Figure:
    """Two panels over ms per action (log x): success, and the left route's share of successes.

    A slider chooses the number of steps K: DDIM-K and consistency-K are highlighted, DDPM-100 stays;
    every other setting is a faint dot. The dashed line is the control budget (1000 / ``budget_hz``
    ms per action); the shaded band is 35-65 % (both routes kept).

    :param rows: from ``labkit.experiments.distill.run_consistency``: ``label``, ``kind``, ``steps``,
        ``ms_per_action``, ``success``, ``left`` (rows of the same label, e.g. seeds, are averaged).
    """
    points = _average_rows(rows)
    ks = sorted({p["steps"] for p in points if p["kind"] != "ddpm"}) if steps is None else list(steps)
    panels = ((1, "success"), (2, "left"))
    fig = make_subplots(rows=1, cols=2, subplot_titles=("success rate", "left route's share of successes"))
    for col, key in panels:  # context: every setting, faint
        fig.add_trace(
            go.Scatter(
                x=[p["ms_per_action"] for p in points],
                y=[p[key] for p in points],
                mode="markers",
                marker=dict(color="#cccccc", size=7),
                text=[p["label"] for p in points],
                hoverinfo="text+x+y",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    for p in (p for p in points if p["kind"] == "ddpm"):
        for col, key in panels:
            fig.add_trace(
                go.Scatter(
                    x=[p["ms_per_action"]],
                    y=[p[key]],
                    mode="markers+text",
                    text=[p["label"]],
                    textposition="top center",
                    marker=dict(color=color_of(_KIND_NAMES["ddpm"]), size=12),
                    showlegend=False,
                ),
                row=1,
                col=col,
            )
    fixed = len(fig.data)
    groups = []
    for k in ks:
        idx = []
        for p in (p for p in points if p["steps"] == k and p["kind"] in ("ddim", "consistency")):
            for col, key in panels:
                idx.append(len(fig.data))
                fig.add_trace(
                    go.Scatter(
                        x=[p["ms_per_action"]],
                        y=[p[key]],
                        mode="markers+text",
                        text=[p["label"]],
                        textposition="top center",
                        visible=k == ks[0],
                        showlegend=False,
                        marker=dict(color=color_of(_KIND_NAMES[p["kind"]]), size=14, symbol="diamond"),
                    ),
                    row=1,
                    col=col,
                )
        groups.append(idx)
    budget = 1000.0 / budget_hz
    for col, _ in panels:
        fig.add_vline(
            x=budget,
            line=dict(dash="dash", color="#333"),
            row=1,
            col=col,
            annotation_text=f"{budget_hz:g} Hz budget" if col == 1 else None,
        )
    fig.add_hrect(y0=0.35, y1=0.65, fillcolor="rgba(44,160,44,0.12)", line_width=0, row=1, col=2)
    n = len(fig.data)
    slider_steps = []
    for k, idx in zip(ks, groups):
        visible = [True] * fixed + [False] * (n - fixed)
        for i in idx:
            visible[i] = True
        slider_steps.append(dict(method="restyle", label=str(k), args=[{"visible": visible}]))
    xs = [p["ms_per_action"] for p in points] + [budget]
    fig.update_xaxes(
        type="log", title_text="ms per action (log)", range=[np.log10(min(xs)) - 0.3, np.log10(max(xs)) + 0.3]
    )
    fig.update_yaxes(range=[-0.05, 1.1])
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=430,
        sliders=[dict(active=0, steps=slider_steps, currentvalue=dict(prefix="denoising steps K = "), pad=dict(t=50))],
    )
    return fig


def loss_figure(
    curves: Mapping[str, Sequence[float]],
    *,
    title: str,
    x_title: str = "iteration",
    y_title: str = "loss",
    smooth: int = 25,
    log_y: bool = True,
) -> go.Figure:
    """Moving-average curves, one per name (a loss per iteration, or any per-update series)."""
    fig = go.Figure()
    for name, ys in curves.items():
        arr = np.asarray(ys, float)
        k = max(1, min(smooth, len(arr)))
        fig.add_scatter(
            y=np.convolve(arr, np.ones(k) / k, mode="valid"), name=name, mode="lines", line=dict(color=color_of(name))
        )
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, template="plotly_white", height=330)
    if log_y:
        fig.update_yaxes(type="log")
    return fig
