"""Learning curves: the mean over seeds and a band, one colour per method (``viz.palette``).

    viz.curves({"DSRL": [log_seed0, log_seed1], "PPO from scratch": [...]})      # TrainLogs
    viz.curves({"PPO": [(steps, returns), ...]}, y_title="return")                # or (x, y) pairs
    viz.curves(runs, band="iqm")   # the IQM over seeds and its 95% bootstrap CI (labkit.stats)
    viz.curves_slider({"1": {"DPPO": runs_1}, "10": {"DPPO": runs_10}}, prefix="fine-tuned steps = ")

Seeds may be evaluated at different steps: they are interpolated onto the union of their steps,
within the range all of them cover; NaN points (e.g. no episode finished yet) are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from labkit.stats import bootstrap_ci, iqm
from labkit.train.log import TrainLog
from labkit.viz.palette import color_of, rgba

__all__ = ["BANDS", "curves", "curves_slider", "iqm_band"]

BANDS = ("minmax", "std", "iqm", "none")


def iqm_band(ys: np.ndarray, *, confidence: float = 0.95, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of ``ys`` (n_seeds, n_points): the IQM over seeds and its bootstrap CI, each (n_points,)."""
    ys = np.asarray(ys, float)
    if ys.ndim != 2 or ys.shape[0] == 0:
        raise ValueError(f"ys must be (n_seeds, n_points) with at least one seed. Got shape {ys.shape}.")
    centre = np.array([iqm(col) for col in ys.T])
    cis = [bootstrap_ci(col, iqm, confidence=confidence, seed=seed) for col in ys.T]
    return centre, np.array([c[0] for c in cis]), np.array([c[1] for c in cis])


def _pairs(run: Any, x: str, y: str) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(run, TrainLog):
        xs, ys = run.curve(y, x)
    elif isinstance(run, Sequence) and run and isinstance(run[0], Mapping):  # a history: list of rows
        xs, ys = [r[x] for r in run], [r[y] for r in run]
    else:
        xs, ys = run
    xa, ya = np.asarray(xs, float), np.asarray(ys, float)
    keep = np.isfinite(xa) & np.isfinite(ya)
    return xa[keep], ya[keep]


def curves(
    runs: Mapping[str, Sequence[Any]],
    *,
    y: str = "success_rate",
    x: str = "env_steps",
    band: str = "minmax",
    confidence: float = 0.95,
    title: str = "Learning curves",
    x_title: str = "environment steps",
    y_title: str | None = None,
) -> go.Figure:
    """Mean curve and a band across seeds for each method.

    :param runs: ``{method: [seed 0, seed 1, ...]}``, each a ``TrainLog``, a history (list of row
        dicts) or an ``(xs, ys)`` pair.
    :param y, x: the history keys to plot (``TrainLog`` and histories).
    :param band: ``"minmax"`` (range over seeds), ``"std"`` (mean +- one standard deviation),
        ``"iqm"`` (the line is the interquartile mean over seeds at each step, the band its
        ``confidence`` bootstrap interval, as ``labkit.stats``; Agarwal et al., 2021) or ``"none"``.
    :param confidence: the level of the ``"iqm"`` band.
    """
    if band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(repr(b) for b in BANDS)}. Got {band!r}.")
    fig = go.Figure()
    for name, seeds in runs.items():
        pairs = [p for p in (_pairs(r, x, y) for r in seeds) if len(p[0])]
        if not pairs:
            continue
        color = color_of(name)
        lo_x, hi_x = max(p[0][0] for p in pairs), min(p[0][-1] for p in pairs)
        grid = np.unique(np.concatenate([p[0] for p in pairs]))
        grid = grid[(grid >= lo_x) & (grid <= hi_x)] if hi_x > lo_x else grid[:1]
        ys = np.stack([np.interp(grid, px, py) for px, py in pairs])  # (n_seeds, n_points)
        mean = ys.mean(0)
        if band == "iqm":
            mean, lo, hi = iqm_band(ys, confidence=confidence)
        elif band == "std":
            lo, hi = mean - ys.std(0), mean + ys.std(0)
        else:
            lo, hi = ys.min(0), ys.max(0)
        if len(pairs) > 1 and band != "none":
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([grid, grid[::-1]]),
                    y=np.concatenate([hi, lo[::-1]]),
                    fill="toself",
                    mode="lines",  # no markers on the band (plotly adds them to short traces)
                    fillcolor=rgba(color, 0.2),
                    line=dict(width=0),
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=name,
                )
            )
        label = f"{name} ({len(pairs)} seed{'s' if len(pairs) > 1 else ''}{', IQM' if band == 'iqm' else ''})"
        fig.add_trace(
            go.Scatter(
                x=grid,
                y=mean,
                mode="lines+markers",
                name=label,
                legendgroup=name,
                line=dict(color=color, width=2),
                marker=dict(size=4),
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title=x_title,
        yaxis_title=y_title or y.replace("_", " "),
        template="plotly_white",
        hovermode="x unified",
        height=380,
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def curves_slider(
    settings: Mapping[str, Mapping[str, Sequence[Any]]],
    *,
    prefix: str = "",
    title: str = "Learning curves",
    **kwargs: Any,
) -> go.Figure:
    """:func:`curves` for each of several settings, one at a time, picked with a slider (works offline).

    :param settings: ``{slider label: {method: [seed 0, seed 1, ...]}}`` (cached runs, so the slider
        moves instantly; no kernel needed).
    :param prefix: shown before the current label, e.g. ``"fine-tuned denoising steps = "``.
    :param kwargs: passed to :func:`curves` (``y``, ``x``, ``band``, ``x_title``, ``y_title``).
    """
    if not settings:
        raise ValueError("settings is empty: give at least one {label: {method: runs}}.")
    figs = [curves(runs, title=title, **kwargs) for runs in settings.values()]
    fig = go.Figure(layout=figs[0].layout)
    spans = []
    for k, f in enumerate(figs):
        start = len(fig.data)
        for trace in f.data:
            trace.visible = k == 0
            fig.add_trace(trace)
        spans.append((start, len(fig.data)))
    steps = []
    for label, (lo, hi) in zip(settings, spans):
        visible = [lo <= i < hi for i in range(len(fig.data))]
        steps.append(dict(method="update", label=str(label), args=[{"visible": visible}]))
    fig.update_layout(  # the legend above the plot, the slider below it
        sliders=[dict(active=0, steps=steps, currentvalue=dict(prefix=prefix), pad=dict(t=50))],
        legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom"),
        margin=dict(t=110),
        height=480,
    )
    return fig
