"""Figures for plugged-in priors: how big the residual is, where DSRL steers the noise, how far failures end."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from labkit.viz.palette import COLORS, ROUTE_COLORS, rgba
from labkit.viz.trajectories import two_routes_shapes

__all__ = ["final_error_figure", "noise_shift_figure", "residual_magnitude_figure", "steered_noise_figure"]


def residual_magnitude_figure(
    histories: dict[str, np.ndarray], *, bins: int = 40, title: str = "Size of the residual correction during training"
) -> go.Figure:
    """Mean |scale * residual| (and its 10-90% range over envs and steps) against env steps.

    :param histories: ``{"seed 0": ResidualVecEnv.residual_history(), ...}``, each (steps, n_envs).
    :param bins: number of points along the x-axis.
    """
    fig = go.Figure()
    for k, (name, h) in enumerate(histories.items()):
        h = np.asarray(h, float)  # (steps, n_envs)
        if h.ndim != 2 or len(h) == 0:
            continue
        n_envs, color = h.shape[1], COLORS[k % len(COLORS)]  # one colour per seed, not per method
        edges = np.linspace(0, len(h), min(bins, len(h)) + 1).astype(int)
        x = np.array([edges[i + 1] * n_envs for i in range(len(edges) - 1)])  # env steps at each bin's end
        parts = [h[a:b].ravel() for a, b in zip(edges[:-1], edges[1:])]
        mean = np.array([p.mean() for p in parts])
        lo, hi = np.array([np.percentile(p, 10) for p in parts]), np.array([np.percentile(p, 90) for p in parts])
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([x, x[::-1]]),
                y=np.concatenate([hi, lo[::-1]]),
                fill="toself",
                mode="lines",  # no markers on the band (plotly adds them to short traces)
                fillcolor=rgba(color, 0.15),
                line=dict(width=0),
                hoverinfo="skip",
                showlegend=False,
                legendgroup=name,
            )
        )
        fig.add_trace(go.Scatter(x=x, y=mean, name=name, legendgroup=name, line=dict(color=color, width=2)))
    fig.update_layout(
        title=title,
        xaxis_title="environment steps",
        yaxis_title="|correction| (action units)",
        template="plotly_white",
        height=360,
        hovermode="x unified",
    )
    return fig


def steered_noise_figure(
    noise: np.ndarray,
    *,
    bound: float | None = None,
    early_fraction: float = 0.2,
    title: str = "Noise chosen by the DSRL agent vs the prior's N(0, 1)",
) -> go.Figure:
    """Histograms of the steered noise (early vs late in training) against the N(0, 1) density.

    A dropdown picks all coordinates pooled or one coordinate of x_T (the chunk's H * A numbers).

    :param noise: ``NoiseSpaceVecEnv.steered_noise()``, (decisions * n_envs, H * A), in time order.
    :param bound: the agent's noise bound (drawn as dotted lines), if given.
    :param early_fraction: the first this fraction of decisions is "early", the last "late".
    """
    noise = np.asarray(noise, float)
    if noise.ndim != 2 or len(noise) < 2:
        raise ValueError(f"noise must be (decisions, H * A) with at least 2 rows. Got shape {noise.shape}.")
    n, d = noise.shape
    cut = max(1, int(early_fraction * n))
    early, late = noise[:cut], noise[-cut:]
    span = bound if bound is not None else float(np.abs(noise).max())
    grid = np.linspace(-span - 0.5, span + 0.5, 200)
    density = np.exp(-(grid**2) / 2) / np.sqrt(2 * np.pi)
    fig = go.Figure()
    views = [("all coordinates", slice(None))] + [(f"coordinate {j}", slice(j, j + 1)) for j in range(d)]
    for v, (_, cols) in enumerate(views):
        vis = v == 0
        xbins = dict(start=-span, end=span, size=2 * span / 30)
        fig.add_trace(
            go.Histogram(
                x=early[:, cols].ravel(),
                histnorm="probability density",
                name="early in training",
                marker_color=rgba(COLORS[0], 0.55),
                xbins=xbins,
                visible=vis,
            )
        )
        fig.add_trace(
            go.Histogram(
                x=late[:, cols].ravel(),
                histnorm="probability density",
                name="late in training",
                marker_color=rgba(COLORS[1], 0.55),
                xbins=xbins,
                visible=vis,
            )
        )
    fig.add_trace(
        go.Scatter(
            x=grid, y=density, name="N(0, 1): what the prior was trained with", line=dict(color="black", width=2)
        )
    )
    buttons = []
    for v, (label, _) in enumerate(views):
        visible = [False] * (2 * len(views)) + [True]
        visible[2 * v] = visible[2 * v + 1] = True
        buttons.append(dict(label=label, method="update", args=[{"visible": visible}]))
    fig.update_layout(
        barmode="overlay",
        title=title,
        xaxis_title="noise value",
        yaxis_title="density",
        template="plotly_white",
        height=380,
        updatemenus=[dict(buttons=buttons, x=1.0, xanchor="right", y=1.18, yanchor="top")],
    )
    if bound is not None:
        for b in (-bound, bound):
            fig.add_vline(x=b, line=dict(dash="dot", color="#777"))
    return fig


def final_error_figure(
    results: dict,
    *,
    tolerance: float | None = None,
    error_slice: slice = slice(10, 12),
    scale: float = 100.0,
    unit: str = "cm",
    bin_size: float = 1.5,
    max_error: float = 40.0,
    title: str = "Where failed episodes end",
) -> go.Figure:
    """Overlaid histograms of how far *failed* episodes end from the target, one per policy.

    :param results: ``{name: labkit.EvalResult}``; each trajectory is (T + 1, obs_dim).
    :param error_slice: the observation entries holding target minus object (PushBlock: ``obs[10:12]``).
    :param scale: multiply distances (m) by this for display (100: centimetres).
    :param tolerance: the success radius (m), drawn as a dotted line, if given.
    """
    fig = go.Figure()
    for name, res in results.items():
        final = np.array([np.linalg.norm(t[-1][error_slice]) for t in res.trajectories]) * scale  # (episodes,)
        failed = final[~np.asarray(res.successes, bool)]
        median = float(np.median(failed)) if len(failed) else 0.0
        fig.add_histogram(
            x=failed,
            name=f"{name}: {len(failed)} failures, median {median:.1f} {unit}",
            xbins=dict(start=0, end=max_error, size=bin_size),
            opacity=0.6,
        )
    if tolerance is not None:
        fig.add_vline(
            x=tolerance * scale, line=dict(dash="dot"), annotation_text=f"tolerance {tolerance * scale:g} {unit}"
        )
    fig.update_layout(
        barmode="overlay",
        title=title,
        xaxis_title=f"final distance to the target ({unit})",
        yaxis_title="episodes",
        template="plotly_white",
        height=330,
    )
    return fig


def noise_shift_figure(
    results: dict,
    *,
    xy_index: tuple[int, int] = (0, 1),
    scene: str | None = "two_routes",
    blocked: str | None = None,
    title: str = "The frozen prior, its initial noise shifted: x_T = z + shift",
) -> go.Figure:
    """Paths of the prior's episodes for each noise shift, a slider picking the shift (works offline).

    :param results: ``labkit.finetune.noise_shift_rollouts(...)``: ``{shift: EvalResult}``, each
        trajectory (T + 1, obs_dim) with the position in columns ``xy_index``.
    :param scene: ``"two_routes"`` draws TwoRoutes' walls, cup and goal.
    :param blocked: ``"right"`` or ``"left"``: also draw TwoRoutesBlocked's barrier on that side (orange).
    """
    if not results:
        raise ValueError("results is empty: pass noise_shift_rollouts(...)'s {shift: EvalResult}.")
    shifts = sorted(results)
    start = min(range(len(shifts)), key=lambda k: abs(shifts[k]))  # the prior itself, shift 0, if present
    fig, owner, labels = go.Figure(), [], []
    for k, shift in enumerate(shifts):
        res = results[shift]
        for traj, route, ok in zip(res.trajectories, res.routes, res.successes):
            traj = np.asarray(traj)
            label = f"{route}, {'success' if ok else 'no success'}"
            fig.add_scatter(
                x=traj[:, xy_index[0]],
                y=traj[:, xy_index[1]],
                mode="lines",
                line=dict(color=ROUTE_COLORS.get(str(route), "#777"), width=1.5, dash="solid" if ok else "dot"),
                opacity=0.7,
                name=label,
                legendgroup=label,
                visible=k == start,
                showlegend=False,
            )
            owner.append(k)
        counts = {r: int(np.sum(res.routes == r)) for r in sorted(set(map(str, res.routes)))}
        labels.append(f"{shift:+g}: {res.success_rate:.0%} success, routes {counts}")
    steps = [
        dict(
            method="update",
            label=f"{shift:+g}",
            args=[{"visible": [o == k for o in owner]}, {"title.text": f"{title}<br><sub>shift {labels[k]}</sub>"}],
        )
        for k, shift in enumerate(shifts)
    ]
    fig.update_layout(
        title=f"{title}<br><sub>shift {labels[start]}</sub>",
        template="plotly_white",
        height=500,
        width=500,
        xaxis=dict(range=[-0.55, 0.55], title="x (m)", constrain="domain"),
        yaxis=dict(range=[-0.55, 0.55], title="y (m)", scaleanchor="x", scaleratio=1),
        sliders=[dict(active=start, steps=steps, currentvalue=dict(prefix="noise shift = "), pad=dict(t=40))],
    )
    if scene == "two_routes":
        shapes = two_routes_shapes()
        if blocked is not None:  # between the cup's side (|x| = 0.16) and the wall (|x| = 0.5), just below its rim
            x0, x1 = (0.16, 0.5) if blocked == "right" else (-0.5, -0.16)
            shapes.append(
                dict(type="rect", x0=x0, x1=x1, y0=-0.04, y1=0.0, fillcolor="rgba(255,140,0,0.85)", line=dict(width=0))
            )
        fig.update_layout(shapes=shapes)
    return fig
