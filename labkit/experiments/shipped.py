"""The makers of the files in ``data/``: ``python -m labkit make-data [NAME ...]`` runs them.

Each maker remakes its file bit for bit (seeded, one torch thread): ``tests/integration/test_shipped_data.py``
checks the hashes listed in ``data/README.md``; the catalogue itself is ``labkit.data.SHIPPED``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import torch

from labkit.data.files import save_dataset
from labkit.data.shipped import DATA_DIR, SHIPPED, entry, load_demos
from labkit.envs.experts import PushBlockExpert, TwoRoutesExpert
from labkit.envs.registry import make
from labkit.experiments.offline import collect_mixed_dataset
from labkit.experiments.planning_dd import make_decision_diffuser
from labkit.experiments.planning_diffusion import make_diffuser
from labkit.experiments.planning_language import make_llm_cache, make_skill_library
from labkit.rollout import collect
from labkit.train.bc import behaviour_cloning
from labkit.train.checkpoint import save_checkpoint

__all__ = ["MAKERS", "PRIOR_ITERATIONS", "make_data"]

#: Optimiser steps of the shipped priors: TwoRoutes ~99% success with both routes; PushBlock good, not precise.
PRIOR_ITERATIONS = {"two_routes_prior": 3_000, "push_block_prior": 3_000}


def _demos(name: str, env_id: str, expert: Callable, expert_name: str) -> Callable[[Path], None]:
    def maker(path: Path) -> None:
        env = make(env_id)
        ds = collect(expert, env, 200, seed=0, expert_name=expert_name, created_with=entry(name).command)
        save_dataset(ds, path)

    return maker


def _two_routes_mixed(path: Path) -> None:
    save_dataset(collect_mixed_dataset(seed=0, created_with=entry("two_routes_mixed").command), path)


def _prior(name: str, demos_name: str) -> Callable[[Path], None]:
    """A maker for ``data/<name>.pt``: the ``"prior"`` preset on a shipped dataset, seed 0, one thread."""

    def maker(path: Path) -> None:
        torch.set_num_threads(1)  # the same float sums on every machine
        demos, env_id, iterations = load_demos(demos_name), entry(name).env_id, PRIOR_ITERATIONS[name]
        prior, _ = behaviour_cloning(
            "diffusion", demos, iterations=iterations, preset="prior", seed=0, progress=False, device="cpu"
        )
        save_checkpoint(
            prior,
            path,
            {
                "env_id": env_id,
                "dataset": demos_name,
                "dataset_hash": demos.content_hash,
                "iterations": iterations,
                "seed": 0,
                "made_with": entry(name).command,
            },
        )

    return maker


MAKERS: dict[str, Callable[[Path], None]] = {
    "two_routes_demos": _demos(
        "two_routes_demos", "labkit/TwoRoutes-v0", TwoRoutesExpert(), "TwoRoutesExpert(noise=0.1)"
    ),
    "two_routes_mixed": _two_routes_mixed,
    "two_routes_prior": _prior("two_routes_prior", "two_routes_demos"),
    "push_block_demos": _demos("push_block_demos", "labkit/PushBlock-v0", PushBlockExpert(), "PushBlockExpert()"),
    "push_block_prior": _prior("push_block_prior", "push_block_demos"),
    "planning_diffuser": make_diffuser,
    "planning_decision_diffuser": make_decision_diffuser,
    "planning_skills": make_skill_library,
    "planning_llm_cache": make_llm_cache,  # after planning_skills: SayCan's prompts follow the skills' values
}
assert set(MAKERS) == set(SHIPPED), "every shipped file needs a maker"


def make_data(names: list[str] | None = None, out_dir: Path | None = None) -> int:
    """Remake shipped files (all when ``names`` is empty) into ``out_dir`` (default ``data/``); print each hash.

    :raises labkit.data.UnknownShippedError: a name not in the catalogue (checked before anything runs).
    """
    names = list(names or SHIPPED)
    for name in names:
        entry(name)
    out = Path(out_dir) if out_dir is not None else DATA_DIR
    for name in names:
        path = out / entry(name).file
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"making {name} -> {path} ...", flush=True)
        MAKERS[name](path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"  {entry(name).file}: {path.stat().st_size / 1024:.0f} KiB, sha256 {digest[:16]}")
    return 0
