"""The denoising explorer: watch sampled action chunks move from noise to the modes of the data.

Action chunks are hard to read as numbers; in the plane they are easy: a chunk of velocity commands
``(H, 2)``, integrated from the robot's position, is the short path it would drive. The explorer
draws many sampled chunks as such paths at every denoising step, with a plotly slider over the steps
(it works in JupyterLab and in exported HTML, no kernel needed).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from labkit.viz.trajectories import two_routes_shapes

__all__ = ["chunks_to_paths", "denoising_explorer"]


def chunks_to_paths(chunks: np.ndarray, start_xy: np.ndarray, step_length: float = 0.025) -> np.ndarray:
    """Integrate velocity-command chunks into paths.

    :param chunks: ``(N, H, 2)`` actions in [-1, 1] (values outside are clipped, as the env does).
    :param start_xy: ``(2,)`` where the paths start.
    :param step_length: metres per env step at full command (TwoRoutes: 0.5 m/s x 0.05 s = 0.025).
    :returns: ``(N, H + 1, 2)`` positions.
    """
    chunks = np.clip(np.asarray(chunks, dtype=float), -1.0, 1.0)
    if chunks.ndim != 3 or chunks.shape[-1] != 2:
        raise ValueError(f"chunks must be (N, H, 2). Got {chunks.shape}.")
    steps = np.cumsum(chunks * step_length, axis=1)  # (N, H, 2)
    start = np.broadcast_to(np.asarray(start_xy, float), (len(chunks), 1, 2))
    return np.concatenate([start, start + steps], axis=1)


def denoising_explorer(
    chain: np.ndarray,
    start_xy: np.ndarray,
    *,
    unnormalize=None,
    step_length: float = 0.025,
    title: str = "Denoising explorer",
    scene: str | None = "two_routes",
    zoom: float = 0.3,
) -> go.Figure:
    """A figure with a slider over denoising steps; each frame shows every sampled chunk as a path.

    :param chain: ``(K + 1, N, H, 2)`` samples from ``x_T`` (noise) to ``x_0`` (actions), as returned by
        ``DiffusionPolicy.sample_actions(..., return_chain=True)`` (normalised units).
    :param start_xy: ``(2,)`` the robot's position when the chunks were sampled.
    :param unnormalize: maps a normalised ``(N, H, 2)`` array to raw actions (e.g. the policy's
        ``normalizer_act.unnormalize``); default: identity.
    :param zoom: half-width (m) of the view around ``start_xy``.
    """
    chain = np.asarray(chain)
    if chain.ndim != 4 or chain.shape[-1] != 2:
        raise ValueError(f"chain must be (K + 1, N, H, 2). Got {chain.shape}.")
    n_steps = chain.shape[0]
    frames, sliders_steps = [], []
    for k in range(n_steps):
        acts = unnormalize(chain[k]) if unnormalize is not None else chain[k]
        paths = chunks_to_paths(np.asarray(acts), start_xy, step_length)  # (N, H + 1, 2)
        # One trace for all paths: NaN rows separate them (fast to draw).
        xs = np.concatenate([np.append(p[:, 0], np.nan) for p in paths])
        ys = np.concatenate([np.append(p[:, 1], np.nan) for p in paths])
        ends = paths[:, -1]
        frames.append(
            go.Frame(
                name=str(k),
                data=[
                    go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="rgba(31,119,180,0.35)", width=1.5)),
                    go.Scatter(x=ends[:, 0], y=ends[:, 1], mode="markers", marker=dict(color="#1f77b4", size=5)),
                ],
            )
        )
        label = "noise" if k == 0 else ("actions" if k == n_steps - 1 else str(k))
        sliders_steps.append(
            dict(
                method="animate",
                label=label,
                args=[
                    [str(k)],
                    dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0)),
                ],
            )
        )
    fig = go.Figure(
        data=list(frames[0].data)
        + [
            go.Scatter(
                x=[start_xy[0]],
                y=[start_xy[1]],
                mode="markers",
                marker=dict(color="black", size=10, symbol="x"),
                name="robot",
            )
        ],
        frames=frames,
    )
    fig.update_traces(showlegend=False)
    if scene == "two_routes":
        fig.update_layout(shapes=two_routes_shapes())
    x0, y0 = float(start_xy[0]), float(start_xy[1])
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=480,
        width=520,
        xaxis=dict(range=[x0 - zoom, x0 + zoom], title="x (m)"),
        yaxis=dict(range=[y0 - zoom, y0 + zoom], title="y (m)", scaleanchor="x", scaleratio=1),
        sliders=[dict(active=0, steps=sliders_steps, currentvalue=dict(prefix="denoising step: "), pad=dict(t=40))],
        updatemenus=[
            dict(
                type="buttons",
                showactive=False,
                x=0.0,
                y=-0.08,
                xanchor="left",
                buttons=[
                    dict(
                        label="play",
                        method="animate",
                        args=[None, dict(frame=dict(duration=150, redraw=True), fromcurrent=True)],
                    )
                ],
            )
        ],
    )
    return fig
