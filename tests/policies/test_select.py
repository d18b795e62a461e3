"""labkit.policies.select: propose N, score, pick one (argmax, softmax with a generator, normalised values)."""

from __future__ import annotations

import pytest
import torch

from labkit.policies import repeat_rows, select_by_value


def test_repeat_rows_is_the_proposal_layout():
    x = torch.tensor([[1.0], [2.0]])
    assert repeat_rows(x, 3)[:, 0].tolist() == [1, 1, 1, 2, 2, 2]


def test_argmax_keeps_the_best_candidate_per_row():
    cand = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(2, 4, 3)  # (B, C, ...)
    values = torch.tensor([[0.1, 0.9, 0.3, 0.2], [5.0, -1.0, 2.0, 7.0]])
    chosen, index = select_by_value(cand, values)
    assert index.tolist() == [1, 3]
    assert torch.equal(chosen, torch.stack([cand[0, 1], cand[1, 3]]))


def test_softmax_draws_with_the_generator_by_softmax_probabilities():
    values = torch.tensor([[0.0, 1.0, 2.0]]).expand(20_000, 3)
    cand = torch.arange(3.0).expand(20_000, 3)
    _, a = select_by_value(
        cand, values, selection="softmax", temperature=1.0, generator=torch.Generator().manual_seed(0)
    )
    _, b = select_by_value(
        cand, values, selection="softmax", temperature=1.0, generator=torch.Generator().manual_seed(0)
    )
    _, c = select_by_value(
        cand, values, selection="softmax", temperature=1.0, generator=torch.Generator().manual_seed(1)
    )
    assert torch.equal(a, b) and not torch.equal(a, c)
    freq = torch.bincount(a, minlength=3).float() / len(a)
    torch.testing.assert_close(freq, torch.softmax(torch.tensor([0.0, 1.0, 2.0]), 0), atol=0.015, rtol=0)
    # a low temperature is (almost) argmax
    _, cold = select_by_value(
        cand[:100], values[:100], selection="softmax", temperature=1e-3, generator=torch.Generator().manual_seed(0)
    )
    assert (cold == 2).all()


def test_normalize_makes_the_temperature_unitless():
    base = torch.tensor([[0.0, 1.0, 3.0]]).expand(5_000, 3)
    cand = torch.arange(3.0).expand(5_000, 3)
    draws = []
    for scale in (1.0, 1000.0):  # returns of ~1 or ~1000: the same choice frequencies once normalised
        _, idx = select_by_value(
            cand,
            base * scale,
            selection="softmax",
            temperature=0.5,
            normalize=True,
            generator=torch.Generator().manual_seed(0),
        )
        draws.append(idx)
    assert torch.equal(draws[0], draws[1])
    _, raw = select_by_value(
        cand, base * 1000.0, selection="softmax", temperature=0.5, generator=torch.Generator().manual_seed(0)
    )
    assert (raw == 2).all() and not (draws[0] == 2).all()  # unnormalised, large values are greedy
    # equal values: the spread is clamped (no division by zero), the draw stays uniform
    _, flat = select_by_value(
        cand, torch.ones(5_000, 3), selection="softmax", normalize=True, generator=torch.Generator().manual_seed(0)
    )
    assert set(flat.tolist()) == {0, 1, 2}


def test_bad_arguments():
    cand, values = torch.zeros(2, 3, 1), torch.zeros(2, 3)
    with pytest.raises(ValueError, match="selection must be one of"):
        select_by_value(cand, values, selection="best")
    with pytest.raises(ValueError, match="temperature must be > 0"):
        select_by_value(cand, values, selection="softmax", temperature=0.0)
    with pytest.raises(ValueError, match="disagree"):
        select_by_value(cand, torch.zeros(2, 4))


def test_selection_probabilities_are_the_softmax_and_argmax_its_cold_limit():
    from labkit.policies import selection_probabilities

    values = torch.tensor([[0.0, 1.0, 2.0], [3.0, -1.0, 0.5]])
    probs = selection_probabilities(values, temperature=0.5)
    torch.testing.assert_close(probs, torch.softmax(values / 0.5, dim=1))
    torch.testing.assert_close(probs.sum(1), torch.ones(2))
    hard = selection_probabilities(values, selection="argmax")
    assert hard.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    torch.testing.assert_close(selection_probabilities(values, temperature=1e-4), hard)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        selection_probabilities(values, temperature=0.0)
