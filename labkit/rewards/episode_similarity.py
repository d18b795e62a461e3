"""RoboCLIP's idea with the self-trained encoder: one sparse reward per episode, similarity to ONE demo.

RoboCLIP (Sontakke et al. 2023) embeds the whole episode video with a frozen video-language model
(S3D) and, when the episode ends, pays the similarity to the embedding of a single demonstration
video (or of a text); every other step pays 0. Here the video encoder is the image tower of
:mod:`.vlm` applied to ``n_frames`` evenly spaced frames, pooled over ``n_segments`` consecutive
segments (so the embedding keeps the coarse order start -> middle -> end, which S3D sees too)::

    e(episode) = normalise( concat_j mean_{frames f in segment j} x(f) )        (n_segments * 384,)
    r_T        = e(episode) . e(demo)        at the last step;   r_t = 0 before

Compared with the per-step rewards of this package it is as sparse as the task's own success
signal, but graded: an episode that ends near the demonstration's path is paid more.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .base import LearnedReward
from .vlm import VLMReward
from .windows import episode_states

__all__ = ["EpisodeSimilarityReward", "make_episode_similarity_reward"]


class EpisodeSimilarityReward(LearnedReward):
    """Sparse episode-end similarity to one demonstration, with a trained :class:`~.vlm.VLMReward`'s encoder.

    :param encoder: the trained vision-language reward whose image tower embeds frames.
    :param demo_states: the demonstration's states ``(T, obs_dim)``.
    :param n_frames: frames per episode that are rendered and embedded (evenly spaced).
    :param n_segments: temporal segments pooled separately.
    """

    name = "episode_similarity"
    context = 0
    episodic = True
    demo_emb: torch.Tensor

    def __init__(self, encoder: VLMReward, demo_states: np.ndarray, n_frames: int = 16, n_segments: int = 4) -> None:
        super().__init__(encoder.env_id, encoder.obs_dim)
        if n_segments < 1 or n_frames % n_segments != 0:
            raise ValueError(f"n_frames must be a positive multiple of n_segments. Got {n_frames}, {n_segments}.")
        demo_states = np.asarray(demo_states, dtype=np.float32)
        if demo_states.ndim != 2 or demo_states.shape[1] != encoder.obs_dim:
            raise ValueError(f"demo_states must be (T, {encoder.obs_dim}). Got {demo_states.shape}.")
        self.encoder, self.n_frames, self.n_segments = encoder, int(n_frames), int(n_segments)
        self.config = {"n_frames": n_frames, "n_segments": n_segments}
        self.register_buffer("demo_emb", self.embed_episode(demo_states))

    def embed_episode(self, states: np.ndarray) -> torch.Tensor:
        """Unit video embedding ``(n_segments * 384,)`` of an episode's states ``(T, obs_dim)``."""
        idx = np.linspace(0, len(states) - 1, self.n_frames).round().astype(int)  # (n_frames,)
        x = self.encoder.embed_positions(states[idx, :2])  # (n_frames, 384)
        segs = x.reshape(self.n_segments, -1, x.shape[-1]).mean(
            1
        )  # (n_segments, n_frames/n_segments, 384) -> (n_segments, 384)
        return F.normalize(segs.flatten(), dim=0)  # (n_segments * 384,)

    def step_reward(self, window: np.ndarray, actions: np.ndarray | None = None) -> dict[str, np.ndarray]:
        self._check_window(window)
        zeros = np.zeros(len(window))
        return {"total": zeros, "model": zeros}

    def episode_reward(self, episodes: list[np.ndarray]) -> np.ndarray:
        return np.array([float(self.embed_episode(np.asarray(e)) @ self.demo_emb) for e in episodes])


def make_episode_similarity_reward(encoder: VLMReward, demos, episode: int = 0, **kwargs) -> EpisodeSimilarityReward:
    """The RoboCLIP-style reward for demonstration number ``episode`` of ``demos`` (its states + final state)."""
    states = episode_states(demos)
    if not 0 <= episode < len(states):
        raise ValueError(f"episode must be in [0, {len(states)}). Got {episode}.")
    return EpisodeSimilarityReward(encoder, states[episode], **kwargs)
