"""End to end: every part of notebook 11 as one benchmark trial, with the smoke budget."""

import json

import pytest

from labkit.experiments import distill as X


@pytest.mark.slow
def test_every_part_runs_as_a_sweep_trial():
    rldg = X.run_part(0, "rldg", "smoke")
    assert set(rldg["mean_success"]) == {*X.DATA_SOURCES, "specialists"}
    assert all(set(v) == set(X.VARIANTS) for v in rldg["table_success"].values())
    rpd = X.run_part(0, "rpd", "smoke", reward="dense")
    assert rpd["reward"] == "dense" and rpd["RPD student"]["steps"][-1] >= X.BUDGETS["smoke"].rpd_steps
    cm = X.run_part(0, "consistency", "smoke")
    labels = [r["label"] for r in cm["rows"]]
    assert labels[0] == "DDPM-100" and "consistency-1" in labels and "DDIM-10" in labels
    assert cm["targets"]["speedup_vs_ddim10"] > 1.0  # one network call against ten, whatever the load
    json.dumps([rldg, rpd, cm])  # JSON-friendly, as labkit.sweep stores it
    with pytest.raises(ValueError, match="part"):
        X.run_part(0, "nope")
