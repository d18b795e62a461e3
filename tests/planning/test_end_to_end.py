"""End to end on the shipped files (< 60 s idle): guided Diffuser plans tracked in the blocked world, SayCan over
the skill library with the cached language model, one short ELLM exploration run with MiniLM."""

import pytest

import labkit as lk
from labkit.experiments import planning_diffusion as XD
from labkit.experiments import planning_explore as XE
from labkit.experiments import planning_language as XL
from labkit.planning import INSTRUCTIONS, rollout_plans


@pytest.mark.slow
def test_shipped_planners_skills_and_cached_language_model_end_to_end():
    model, value, _ = XD.load_diffuser()
    planner = XD.diffuser_planner(model, value, scale=XD.GUIDED["scale"], t_stopgrad=int(XD.GUIDED["t_stopgrad"]))
    r = rollout_plans(lambda: lk.make("labkit/TwoRoutesBlocked-v0"), planner, 10, mode="track", seed=1000)
    assert r.result.success_rate >= 0.7, r.result.summary()

    lib = XL.load_skill_library()
    client = XL.language_client(offline=True)  # never loads the model: a prompt missing from the cache fails
    suite = XL.saycan_suite(client, lib, instructions=INSTRUCTIONS[:2])
    rates = {mode: s["success_rate"] for mode, s in suite.items()}
    assert rates["saycan"] >= max(rates["say"], rates["can"]), rates
    assert client.misses == 0

    run = XE.run_exploration(0, "ellm", 1_024, eval_episodes=2)
    assert 0.0 < run["coverage"] <= 1.0 and len(run["counts"]) == 10
