"""Plotly figure builders, inline videos and notebook widgets.

Every builder returns a ``plotly.graph_objects.Figure`` and never calls ``.show()``: the notebook
decides. Videos are encoded to small H.264 MP4s and embedded inline.
"""

from labkit.viz.figures import learning_curves, route_bar, trajectories_figure
from labkit.viz.values import (action_cloud_figure, action_value_figure, crossing_histogram, crossing_x,
                               sample_first_actions, success_band_figure)
from labkit.viz.video import show_video, show_videos

__all__ = ["learning_curves", "trajectories_figure", "route_bar", "show_video", "show_videos",
           "action_value_figure", "sample_first_actions", "success_band_figure", "action_cloud_figure",
           "crossing_x", "crossing_histogram"]
