"""Rollout frames -> a small inline video in the notebook.

Uses mediapy (H.264 through the ffmpeg binary that ``imageio-ffmpeg`` ships, so no system ffmpeg
is needed). 240 x 240 frames at 20 fps encode in well under a second per episode.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["show_video", "show_videos", "encode_mp4"]


def _mediapy():
    import imageio_ffmpeg
    import mediapy

    mediapy.set_ffmpeg(imageio_ffmpeg.get_ffmpeg_exe())
    return mediapy


def _check(frames: Sequence[np.ndarray], name: str = "frames") -> np.ndarray:
    arr = np.asarray(frames)
    if arr.ndim != 4 or arr.shape[-1] != 3 or len(arr) == 0:
        raise ValueError(
            f"{name} must be a non-empty sequence of (H, W, 3) images. Got shape {arr.shape}; "
            "make the env with render_mode='rgb_array' and pass the frames evaluate() recorded."
        )
    return arr.astype(np.uint8, copy=False)


def show_video(frames: Sequence[np.ndarray], fps: int = 20, title: str | None = None, width: int | None = None):
    """Show ``frames`` (a list of ``(H, W, 3)`` uint8 images) as an inline video."""
    return _mediapy().show_video(_check(frames), fps=fps, title=title, width=width, codec="h264")


def show_videos(videos: dict[str, Sequence[np.ndarray]], fps: int = 20, width: int | None = None):
    """Show several videos side by side: ``{"title": frames, ...}``."""
    checked = {k: _check(v, f"videos[{k!r}]") for k, v in videos.items()}
    return _mediapy().show_videos(checked, fps=fps, width=width, codec="h264")


def encode_mp4(frames: Sequence[np.ndarray], fps: int = 20) -> bytes:
    """The MP4 bytes of ``frames`` (for saving or embedding elsewhere)."""
    return _mediapy().compress_video(_check(frames), fps=fps, codec="h264")
