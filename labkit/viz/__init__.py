"""Plotly figure builders, inline videos, one palette.

Every builder returns a ``plotly.graph_objects.Figure`` and never calls ``.show()``: the notebook
decides. A method keeps its colour everywhere (``palette.color_of``). Videos are small H.264 MP4s
embedded inline.

- ``curves``: learning curves with a band over seeds; ``curves_slider``: one setting at a time, by slider;
- ``trajectories_figure``, ``route_bar``, ``crossing_histogram``: paths and routes in TwoRoutes' plane;
- ``action_value_figure``, ``action_cloud_figure``, ``idql_temperature_figure``: actions on a critic's
  landscape, action clouds, a slider over IDQL's temperature;
- ``success_by_variant_figure``, ``latency_success_figure``, ``loss_figure``: notebook 11 (distillation);
- ``reward_maps_figure``, ``reward_correlation_figure``, ``alpha_slider_figure``, ``learned_vs_true_figure``:
  notebook 04 (learned rewards over the plane, their correlation with the truth, the VLM's alpha);
- ``denoising_explorer``: a slider from noise to actions; ``finetune``: residual sizes, steered
  noise, a slider over noise shifts, failure distances; ``show_video(s)``: inline videos;
- ``sequence``: achieved-vs-target return, attention of one decision, method comparisons, a slider
  over target returns (notebook 09).
- ``latent_map_figure``, ``neighbours_figure``, ``distance_over_episode_figure``, ``reward_scatter_figure``,
  ``compounding_figure`` (a rollout-length slider), ``disagreement_map_figure``: notebook 05 (world models).
"""

from labkit.viz.actions import action_cloud_figure, action_value_figure, idql_temperature_figure
from labkit.viz.curves import curves, curves_slider
from labkit.viz.demos import action_direction_figure
from labkit.viz.denoising import chunks_to_paths, denoising_explorer
from labkit.viz.distill import latency_success_figure, loss_figure, success_by_variant_figure
from labkit.viz.finetune import final_error_figure, noise_shift_figure, residual_magnitude_figure, steered_noise_figure
from labkit.viz.objectives import ppo_clip_figure
from labkit.viz.palette import color_of
from labkit.viz.rewards import (
    alpha_slider_figure,
    learned_vs_true_figure,
    reward_correlation_figure,
    reward_maps_figure,
    reward_scene_shapes,
)
from labkit.viz.sequence import (
    attention_figure,
    comparison_figure,
    target_return_figure,
    target_slider_figure,
    token_labels,
)
from labkit.viz.trajectories import crossing_histogram, route_bar, trajectories_figure, two_routes_shapes
from labkit.viz.video import encode_mp4, show_video, show_videos
from labkit.viz.world_models import (
    compounding_figure,
    disagreement_map_figure,
    distance_over_episode_figure,
    latent_map_figure,
    neighbours_figure,
    reward_scatter_figure,
    stall_figure,
)

__all__ = [
    "reward_scatter_figure",
    "neighbours_figure",
    "latent_map_figure",
    "distance_over_episode_figure",
    "disagreement_map_figure",
    "compounding_figure",
    "stall_figure",
    "action_cloud_figure",
    "alpha_slider_figure",
    "action_direction_figure",
    "action_value_figure",
    "attention_figure",
    "chunks_to_paths",
    "color_of",
    "comparison_figure",
    "crossing_histogram",
    "curves",
    "curves_slider",
    "denoising_explorer",
    "encode_mp4",
    "final_error_figure",
    "idql_temperature_figure",
    "latency_success_figure",
    "learned_vs_true_figure",
    "loss_figure",
    "noise_shift_figure",
    "ppo_clip_figure",
    "residual_magnitude_figure",
    "reward_correlation_figure",
    "reward_maps_figure",
    "reward_scene_shapes",
    "route_bar",
    "show_video",
    "show_videos",
    "steered_noise_figure",
    "success_by_variant_figure",
    "target_return_figure",
    "target_slider_figure",
    "token_labels",
    "trajectories_figure",
    "two_routes_shapes",
]
