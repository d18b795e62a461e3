"""Propose N, score them with a value, pick one: the step IDQL and sample-and-select share.

    candidates (B, C, ...) --score--> values (B, C) --select_by_value--> chosen (B, ...), index (B,)

``"argmax"`` keeps the best-scored candidate; ``"softmax"`` draws one with probabilities
``softmax(values / temperature)``: less exposed to a critic's errors on rare candidates. With
``normalize=True`` the values are first divided by their spread over the candidates of each state
(the standard deviation, at least ``1e-6``), so the temperature is unitless: the same temperature
acts alike whether returns are about 10 or about 1000.
"""

from __future__ import annotations

import torch

from labkit.policies.base import check_choice

__all__ = ["repeat_rows", "select_by_value", "selection_probabilities"]


def repeat_rows(x: torch.Tensor, n: int) -> torch.Tensor:
    """Each row ``n`` times, consecutively: (B, ...) -> (B * n, ...) (the layout proposals use)."""
    return x.repeat_interleave(n, dim=0)


def selection_probabilities(
    values: torch.Tensor, *, selection: str = "softmax", temperature: float = 1.0, normalize: bool = False
) -> torch.Tensor:
    """The probability of choosing each candidate: (B, C) values -> (B, C) probabilities (rows sum to 1).

    ``"softmax"``: ``softmax(values / temperature)`` over each row (after dividing by the row's standard
    deviation with ``normalize``); ``"argmax"``: one-hot on the best candidate (the limit temperature -> 0).
    """
    check_choice("selection", selection, ("argmax", "softmax"))
    if selection == "argmax":
        return torch.nn.functional.one_hot(values.argmax(dim=1), values.shape[1]).to(values.dtype)  # (B, C)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0. Got {temperature}.")
    if normalize:
        values = values / values.std(dim=1, keepdim=True).clamp(min=1e-6)  # (B, C) unitless
    return torch.softmax(values / temperature, dim=1)  # (B, C)


def select_by_value(
    candidates: torch.Tensor,
    values: torch.Tensor,
    *,
    selection: str = "argmax",
    temperature: float = 1.0,
    normalize: bool = False,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick one candidate per row by its value.

    :param candidates: (B, C, ...) C proposals per row.
    :param values: (B, C) their scores (higher is better).
    :param selection: ``"argmax"`` or ``"softmax"``.
    :param temperature: softmax temperature (> 0), in units of the values, or unitless with ``normalize``.
    :param normalize: divide the values by their standard deviation over each row's candidates first.
    :param generator: for the softmax draw.
    :return: ``(chosen (B, ...), index (B,))``.
    """
    check_choice("selection", selection, ("argmax", "softmax"))
    if candidates.shape[:2] != values.shape:
        raise ValueError(
            f"candidates (B, C, ...) and values (B, C) disagree. Got {tuple(candidates.shape)} and "
            f"{tuple(values.shape)}."
        )
    if selection == "argmax":
        index = values.argmax(dim=1)  # (B,)
    else:
        probs = selection_probabilities(values, selection=selection, temperature=temperature, normalize=normalize)
        index = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (B,)
    return candidates[torch.arange(len(index)), index], index
