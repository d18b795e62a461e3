"""Notebook 09's figures: built from small inputs, with what the notebook relies on."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from labkit import viz


def test_token_labels_and_attention_figure():
    labels = viz.token_labels(2)
    assert labels == ["R[t-1]", "s[t-1]", "a[t-1]", "R[t]", "s[t]", "a[t]"]
    fig = viz.attention_figure(np.full((3, 6), 1 / 6), labels)
    assert isinstance(fig, go.Figure) and fig.data[0].z.shape == (3, 6)
    with pytest.raises(ValueError, match="tokens"):
        viz.attention_figure(np.ones((3, 5)), labels)


def test_target_return_figure_bands_over_seeds():
    rows = [{"target": t, "return": t / 2 + s, "seed": s, "label": "mixed"} for t in (0.0, 6.0, 12.0) for s in (0, 1)]
    fig = viz.target_return_figure(rows, data_best=12.6, data_worst=-1.3)
    assert [tr.name for tr in fig.data if tr.name] == ["mixed", "achieved = asked"]


def test_comparison_and_slider_figures():
    summary = [{"dataset": d, "method": m, "normalised return": 0.5} for d in ("mixed", "stitch") for m in ("a", "b")]
    assert len(viz.comparison_figure(summary).data) == 2
    paths = {0.0: [np.zeros((5, 8))], 12.0: [np.ones((5, 8)), np.ones((4, 8))]}
    fig = viz.target_slider_figure(paths)
    assert len(fig.layout.sliders[0].steps) == 2 and len(fig.data) == 3
