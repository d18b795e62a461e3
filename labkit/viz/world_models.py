"""Figures of notebook 05 (world models): latent maps, nearest frames, VIP distance and reward, model rollouts.

Every builder returns a ``plotly.graph_objects.Figure`` and never calls ``.show()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.palette import color_of
from labkit.viz.trajectories import trajectories_figure, two_routes_shapes

__all__ = [
    "latent_map_figure",
    "neighbours_figure",
    "distance_over_episode_figure",
    "reward_scatter_figure",
    "compounding_figure",
    "disagreement_map_figure",
    "pca_2d",
    "stall_figure",
]

ARENA = dict(range=[-0.52, 0.52], zeroline=False)


def pca_2d(z: np.ndarray) -> np.ndarray:
    """Project ``z`` ``(N, d)`` on its two principal directions -> ``(N, 2)``."""
    zc = z - z.mean(0)
    _, _, vt = np.linalg.svd(zc, full_matrices=False)
    return zc @ vt[:2].T


def latent_map_figure(latents: Mapping[str, np.ndarray], positions: np.ndarray, title: str = "") -> go.Figure:
    """2-D PCA of each representation's latents, coloured by the robot's x (left) and y (right).

    :param latents: ``{"VIP": z (N, d), "autoencoder": z (N, d)}``; a dropdown switches between them.
    :param positions: ``(N, 2)`` the robot's position in each frame.
    """
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("coloured by x (left / right route)", "coloured by y (progress)")
    )
    names = list(latents)
    for k, name in enumerate(names):
        p = pca_2d(np.asarray(latents[name]))
        for col, dim, scale in [(1, 0, "RdBu"), (2, 1, "Viridis")]:
            fig.add_trace(
                go.Scattergl(
                    x=p[:, 0],
                    y=p[:, 1],
                    mode="markers",
                    visible=k == 0,
                    name=name,
                    marker=dict(size=3, color=positions[:, dim], colorscale=scale, showscale=False),
                    hovertext=[f"x={a:.2f}, y={b:.2f}" for a, b in positions],
                ),
                row=1,
                col=col,
            )
    buttons = [
        dict(label=name, method="update", args=[{"visible": [n == name for n in names for _ in range(2)]}])
        for name in names
    ]
    fig.update_layout(
        title=title or "Latent space (first two principal components)",
        height=420,
        showlegend=False,
        updatemenus=[dict(buttons=buttons, x=1.0, y=1.18, xanchor="right")],
    )
    return fig


def neighbours_figure(queries: np.ndarray, neighbours: np.ndarray, row_labels: Sequence[str] = ()) -> go.Figure:
    """A grid of frames: each row a query frame then its nearest neighbours in latent space.

    :param queries: ``(Q, 3, S, S)`` uint8; ``neighbours``: ``(Q, K, 3, S, S)`` uint8.
    """
    q, k = neighbours.shape[:2]
    fig = make_subplots(
        rows=q,
        cols=k + 1,
        horizontal_spacing=0.01,
        vertical_spacing=0.02,
        column_titles=["query"] + [f"#{i + 1}" for i in range(k)],
    )
    for r in range(q):
        for c, img in enumerate([queries[r], *neighbours[r]]):
            fig.add_trace(go.Image(z=img.transpose(1, 2, 0)), row=r + 1, col=c + 1)  # (3, S, S) -> (S, S, 3)
    fig.update_xaxes(visible=False).update_yaxes(visible=False)
    fig.update_layout(
        height=130 * q + 60,
        width=120 * (k + 1) + 40,
        margin=dict(l=10, r=10, t=40, b=10),
        title=" | ".join(row_labels) if row_labels else None,
    )
    return fig


def distance_over_episode_figure(curves: Mapping[str, np.ndarray], title: str = "") -> go.Figure:
    """Distance to the goal frame along one episode, one line per representation (scaled to start at 1)."""
    fig = go.Figure()
    for name, d in curves.items():
        d = np.asarray(d, float)
        fig.add_trace(go.Scatter(y=d / max(d[0], 1e-9), mode="lines", name=name, line=dict(color=color_of(name))))
    fig.update_layout(
        title=title or "Distance to the goal frame along an episode",
        xaxis_title="step",
        yaxis_title="d(o_t, g) / d(o_0, g)",
        height=360,
    )
    return fig


def reward_scatter_figure(
    true_reward: np.ndarray, vip_reward: np.ndarray, labels: np.ndarray | None = None, title: str = ""
) -> go.Figure:
    """VIP reward against the task's reward, one dot per transition (colour: ``labels``, e.g. the policy)."""
    fig = go.Figure()
    groups = np.asarray(labels) if labels is not None else np.array(["all"] * len(true_reward))
    for g in dict.fromkeys(groups.tolist()):
        m = groups == g
        fig.add_trace(
            go.Scattergl(
                x=np.asarray(true_reward)[m],
                y=np.asarray(vip_reward)[m],
                mode="markers",
                marker=dict(size=4, opacity=0.6, color=color_of(str(g))),
                name=str(g),
            )
        )
    fig.update_layout(
        title=title or "VIP reward vs the task's reward",
        xaxis_title="true reward (progress)",
        yaxis_title="VIP reward d(o, g) - d(o', g)",
        height=400,
    )
    return fig


def compounding_figure(real_xy: np.ndarray, pred_xy: np.ndarray, title: str = "") -> go.Figure:
    """Real vs imagined paths from the same starts and actions, with a slider over the rollout length.

    :param real_xy: ``(N, T + 1, 2)`` the real positions; ``pred_xy``: ``(N, K, T + 1, 2)`` each member's
        open-loop prediction (its mean, fed back into itself).
    """
    n, k, t1, _ = pred_xy.shape
    fig = go.Figure(layout=dict(shapes=two_routes_shapes()))

    def traces(h: int) -> list[go.Scatter]:
        out = []
        for i in range(n):
            out.append(
                go.Scatter(
                    x=real_xy[i, : h + 1, 0],
                    y=real_xy[i, : h + 1, 1],
                    mode="lines+markers",
                    line=dict(color=color_of("expert"), width=2),
                    marker=dict(size=3),
                    name="real" if i == 0 else None,
                    showlegend=i == 0,
                    legendgroup="real",
                )
            )
            for m in range(k):
                out.append(
                    go.Scatter(
                        x=pred_xy[i, m, : h + 1, 0],
                        y=pred_xy[i, m, : h + 1, 1],
                        mode="lines",
                        line=dict(color=color_of("model"), width=1),
                        opacity=0.6,
                        legendgroup="model",
                        name="model members" if i == 0 and m == 0 else None,
                        showlegend=i == 0 and m == 0,
                    )
                )
        return out

    for tr in traces(t1 - 1):
        fig.add_trace(tr)
    frames = [go.Frame(data=traces(h), name=str(h), traces=list(range(n * (k + 1)))) for h in range(1, t1)]
    fig.frames = frames
    fig.update_layout(
        title=title or "Imagined (blue, one line per member) vs real (black) paths, same starts and actions",
        xaxis=dict(ARENA, title="x (m)"),
        yaxis=dict(ARENA, title="y (m)", scaleanchor="x"),
        height=520,
        width=560,
        sliders=[
            dict(
                active=t1 - 2,
                currentvalue=dict(prefix="rollout length k = "),
                steps=[
                    dict(
                        method="animate",
                        label=str(h),
                        args=[[str(h)], dict(mode="immediate", frame=dict(duration=0, redraw=False))],
                    )
                    for h in range(1, t1)
                ],
            )
        ],
    )
    return fig


def disagreement_map_figure(
    grid_x: np.ndarray, grid_y: np.ndarray, spread: np.ndarray, visited: np.ndarray | None = None, title: str = ""
) -> go.Figure:
    """Ensemble disagreement over the plane (heat map) with the states the agent visited (dots)."""
    fig = go.Figure(go.Heatmap(x=grid_x, y=grid_y, z=spread, colorscale="Magma", colorbar=dict(title="spread")))
    fig.update_layout(shapes=two_routes_shapes())
    if visited is not None:
        fig.add_trace(
            go.Scattergl(
                x=visited[:, 0],
                y=visited[:, 1],
                mode="markers",
                name="visited",
                marker=dict(size=2, color="white", opacity=0.4),
            )
        )
    fig.update_layout(
        title=title or "Where the model members disagree",
        xaxis=dict(ARENA, title="x (m)"),
        yaxis=dict(ARENA, title="y (m)", scaleanchor="x"),
        height=480,
        width=520,
    )
    return fig


def stall_figure(
    trajectories: Sequence[np.ndarray], success: Sequence[bool], spike_xy: np.ndarray, title: str = ""
) -> go.Figure:
    """Greedy TwoRoutes episodes (each ``(T + 1, >= 2)``) coloured by outcome, and in red the points ``(M, 2)``
    where the agent's own data saw the reward jump (``labkit.experiments.world_models.tdmpc_probe``)."""
    spike_xy = np.asarray(spike_xy).reshape(-1, 2)
    labels = ["success" if s else "failure" for s in success]
    fig = trajectories_figure(list(trajectories), labels, title=title or "Greedy episodes and the reward's jumps")
    fig.add_trace(
        go.Scatter(
            x=spike_xy[:, 0], y=spike_xy[:, 1], mode="markers", marker=dict(color="red", size=4),
            name="|reward| > 1 in its data",
        )
    )  # fmt: skip
    return fig
