"""IDQL (Hansen-Estruch et al., 2023): a behaviour diffusion policy's proposals, re-ranked by an IQL critic.

Sample N candidates from a diffusion *behaviour* policy (plain BC on all the data), score each
candidate's first executed action with the critic, and draw one with probabilities
``softmax(Q / temperature)`` (the default) or keep the best (``selection="argmax"``, greedier and
more exposed to the critic's errors on rare candidates). The selection is
``labkit.policies.select_by_value``, shared with sample-and-select (notebook 07).
"""

from __future__ import annotations

from typing import Any, Protocol, cast

import torch
from torch import nn

from labkit.policies.base import BaseChunkPolicy, ChunkConfig, check_choice
from labkit.policies.select import repeat_rows, select_by_value

__all__ = ["IDQLPolicy"]


class _QCritic(Protocol):
    """What ``IDQLPolicy`` calls on its critic (an ``nn.Module``)."""

    def q_value(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor: ...


class IDQLPolicy(nn.Module):
    """Sample-and-select: N candidates from a behaviour diffusion policy, re-ranked by a critic.

    Works with ``labkit.evaluate`` like any chunk policy (``predict_action`` and
    ``config``). The critic scores a candidate chunk by its first executed action (index To - 1)
    from the current observation ``obs[:, -1]``.

    :param behaviour: a trained ``DiffusionPolicy`` (plain BC on all the data).
    :param critic: an ``IQLCritic`` (or any module with ``q_value(obs (B, D), actions (B, A)) -> (B,)``).
    :param n_samples: N, candidates per decision.
    :param selection: ``"softmax"`` (draw one with probabilities ``softmax(Q / temperature)``, the
        default) or ``"argmax"`` (the best candidate). Argmax trusts the critic's ranking of every
        candidate, including the rare off-data ones a diffusion sampler produces, where Q is an
        extrapolation; on ``two_routes_mixed`` it picks those and succeeds ~10% of the time, while
        softmax (temperature 0.3) succeeds ~90%.
    :param temperature: softmax temperature. With ``normalize`` (the default) it is in units of the
        critic's ``advantage_scale`` (the standard deviation of Q - V over its training data, fitted by
        ``train_iql``), so the same temperature acts alike whether returns are about 10 or about 1000;
        otherwise it is in units of Q. (Dividing by the spread of Q over each state's candidates
        instead was tried and fails: where all candidates are nearly equal it turns noise in Q into
        a near-argmax choice.)
    :param normalize: measure the temperature in advantage units (see above).
    """

    def __init__(
        self,
        behaviour: BaseChunkPolicy,
        critic: nn.Module,
        n_samples: int = 32,
        selection: str = "softmax",
        temperature: float = 1.0,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        check_choice("selection", selection, ("argmax", "softmax"))
        if n_samples < 1 or temperature <= 0:
            raise ValueError(f"n_samples must be >= 1 and temperature > 0. Got {n_samples} and {temperature}.")
        self.behaviour, self.critic = behaviour, critic
        self.n_samples, self.selection, self.temperature = n_samples, selection, temperature
        self.normalize = bool(normalize)
        if self.normalize and selection == "softmax" and not hasattr(critic, "advantage_scale"):
            raise ValueError(
                "normalize=True needs a critic with advantage_scale (an IQLCritic trained by train_iql); "
                "pass normalize=False to give the temperature in units of Q."
            )

    @property
    def effective_temperature(self) -> float:
        """The temperature in units of Q: ``temperature * critic.advantage_scale`` when normalised."""
        scale = (
            float(cast(torch.Tensor, self.critic.advantage_scale))
            if self.normalize and hasattr(self.critic, "advantage_scale")
            else 1.0
        )
        return self.temperature * scale

    @property
    def config(self) -> ChunkConfig:
        """The behaviour policy's config (horizons, dimensions)."""
        return self.behaviour.config

    @torch.no_grad()
    def propose(
        self, obs: torch.Tensor, generator: torch.Generator | None = None, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The N candidates and their scores before selection: (B, To, D) -> chunks (B, N, H, A), Q (B, N).

        A candidate's score is the critic's Q of its first executed action (index To - 1) at ``obs[:, -1]``.
        Cache these to re-select cheaply at another temperature (``selection_probabilities``).
        """
        cfg = self.config
        obs = torch.as_tensor(obs, dtype=torch.float32)
        if obs.ndim == 2:
            obs = obs[:, None]  # (B, D) -> (B, 1, D)
        B, N = obs.shape[0], self.n_samples
        rep = repeat_rows(obs, N)  # (B*N, To, D)
        chunks = self.behaviour.sample_actions(rep, generator=generator, **kwargs)  # (B*N, H, A)
        first = chunks[:, cfg.n_obs_steps - 1]  # (B*N, A) the action executed now
        scores = cast(_QCritic, self.critic).q_value(rep[:, -1], first).reshape(B, N)  # (B, N)
        return chunks.reshape(B, N, *chunks.shape[1:]), scores

    @torch.no_grad()
    def sample_actions(
        self, obs: torch.Tensor, generator: torch.Generator | None = None, **kwargs: Any
    ) -> torch.Tensor:
        """Selected chunks (B, H, A) for observation histories (B, To, D); kwargs go to the behaviour sampler."""
        chunks, scores = self.propose(obs, generator=generator, **kwargs)  # (B, N, H, A), (B, N)
        chosen, _ = select_by_value(
            chunks,
            scores,
            selection=self.selection,
            temperature=self.effective_temperature,
            generator=generator,
        )
        return chosen  # (B, H, A)

    def predict_action(self, obs: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """(B, To, D) -> (B, Ta, A): the executable part of the selected chunk."""
        chunk = self.sample_actions(obs, **kwargs)
        start = self.config.n_obs_steps - 1
        return chunk[:, start : start + self.config.n_action_steps]  # (B, Ta, A)
