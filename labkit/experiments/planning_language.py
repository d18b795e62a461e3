"""Notebook 06, language half: the SB3 skill library (the "can"), SayCan over it, and the language client.

Shared with ``benchmarks/planning.py``; the makers of ``data/planning_skills.pt`` and of
``data/planning_llm_cache.json`` (SmolLM2's replies to every prompt the notebook and the quick benchmark
ask, so both replay real model answers without loading the model).

    lib = load_skill_library()
    client = language_client()                       # SmolLM2 behind the shipped reply cache
    suite = saycan_suite(client, lib)                 # {"say" | "can" | "saycan": {"success_rate", "logs"}}
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from labkit.data.shipped import data_path, entry
from labkit.envs.skill_marks import BARRIERS, SKILLS
from labkit.llm import CachedClient, ScriptedClient, get_client
from labkit.llm.base import LLMClient, LLMUnavailableError
from labkit.planning.ellm import caption_state, suggest_goals
from labkit.planning.saycan import INSTRUCTIONS, Instruction, SayCanPlanner, keyword_scores, run_instruction
from labkit.planning.skills import SkillLibrary, SkillLibraryConfig, train_skill_library

__all__ = [
    "CAPTIONS",
    "FILMED",
    "LLM_CACHE_NAME",
    "SKILLS_NAME",
    "affordance_map",
    "ellm_suggester",
    "keyword_client",
    "language_client",
    "load_skill_library",
    "make_llm_cache",
    "make_skill_library",
    "run_all_language_prompts",
    "run_saycan",
    "saycan_suite",
    "skill_success_table",
]

SKILLS_NAME = "planning_skills"
LLM_CACHE_NAME = "planning_llm_cache"
#: Every state caption ELLM can ask about (one per region of the plane).
CAPTIONS: tuple[str, ...] = tuple(
    caption_state(np.array(p)) for p in ((0, -0.35), (0, 0.3), (-0.3, 0), (0.3, 0), (0, -0.2), (0, 0))
)
#: The episode the notebook films: (instruction index, barrier, reset seed).
FILMED = (1, "left", 5)


def _no_model(*_: Any) -> Any:
    raise LLMUnavailableError(
        f"this prompt is not in data/{entry(LLM_CACHE_NAME).file} and the model is switched off (smoke mode or "
        f"offline=True); run with offline=False to ask the model, or remake the cache: {entry(LLM_CACHE_NAME).command}"
    )


def language_client(
    spec: str | None = None, *, offline: bool = False, cache: str | Path | None = None, read_only: bool = True
) -> LLMClient:
    """The notebook's language model behind the shipped reply cache (``data/planning_llm_cache.json``).

    :param spec: a ``labkit.llm`` spec (None: ``LABKIT_LLM``, default the local SmolLM2); cached replies are
        keyed by the model's name, so another model simply misses the cache and runs.
    :param offline: never run a model: a prompt missing from the cache raises ``LLMUnavailableError``
        (smoke mode, tests).
    :param cache: another cache file (the maker writes a fresh one).
    :param read_only: do not add new replies to the file (keeps the shipped file as shipped).
    """
    base = get_client(spec)  # the local client loads its weights on the first call, not here
    if offline:
        base = ScriptedClient(_no_model, scorer=_no_model, label=base.name)
    return CachedClient(base, cache or data_path(LLM_CACHE_NAME), read_only=read_only)


def keyword_client() -> LLMClient:
    """A deterministic stand-in language model (``labkit.planning.saycan.keyword_scores``)."""
    return ScriptedClient(["done"], scorer=keyword_scores, label="keyword stand-in")


def make_skill_library(path: Path) -> None:
    """Maker of ``data/planning_skills.pt``: PPO, ``SkillLibraryConfig()`` (500k steps, seed 0), one thread."""
    torch.set_num_threads(1)
    train_skill_library(SkillLibraryConfig(), progress=False).save(path)


def make_llm_cache(path: Path) -> None:
    """Maker of ``data/planning_llm_cache.json``: the local SmolLM2 answers every prompt of the notebook and
    of the quick benchmark (SayCan suite over the shipped skills, ELLM goal suggestions), one thread."""
    torch.set_num_threads(1)
    if path.exists():
        path.unlink()  # a fresh cache: exactly the replies to these prompts, in this order
    client = language_client(cache=path, read_only=False)
    run_all_language_prompts(client, load_skill_library())


def load_skill_library(path: str | Path | None = None) -> SkillLibrary:
    """The shipped skill library (or the one saved at ``path``); a missing file names its maker."""
    return SkillLibrary.load(path or data_path(SKILLS_NAME), hint=f"remake it with: {entry(SKILLS_NAME).command}")


def affordance_map(lib: SkillLibrary, skill: str, barrier: str, n: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Affordance of ``skill`` at rest on an n x n grid: ``(centres (n,), values (n, n))``, NaN where blocked."""
    env = lib.make_env()
    env.reset(seed=0, options={"barrier": barrier, "skill": skill})
    centres = np.linspace(-0.45, 0.45, n)
    out = np.full((n, n), np.nan)
    k = SKILLS.index(skill)
    for r, y in enumerate(centres):
        for c, x in enumerate(centres):
            p = np.array([x, y])
            if env.is_free(p):
                env.sim.set_state(p, np.zeros(2))
                out[r, c] = lib.affordances(env)[k]
    env.close()
    return centres, out


def skill_success_table(lib: SkillLibrary, n: int = 300, seed: int = 10_000) -> dict[str, Any]:
    """Each skill from random starts and barriers: success rate, and how well the affordance ranks success (AUC)."""
    env = lib.make_env()
    rows = []
    for i in range(n):
        _, info = env.reset(seed=seed + i)
        a = float(lib.affordances(env)[SKILLS.index(info["skill"])])
        rows.append((info["skill"], a, lib.run_skill(env, info["skill"])["success"]))
    env.close()
    aff, ok = np.array([r[1] for r in rows]), np.array([r[2] for r in rows], bool)
    pos, neg = aff[ok], aff[~ok]
    auc = float("nan")
    if len(pos) and len(neg):
        auc = float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
    per = {k: [r[2] for r in rows if r[0] == k] for k in SKILLS}
    return {
        "auc": auc,
        "success": float(ok.mean()),
        "per_skill": {k: {"n": len(v), "success": float(np.mean(v)) if v else float("nan")} for k, v in per.items()},
        "n": n,
    }


def run_saycan(
    planner: SayCanPlanner, lib: SkillLibrary, instruction: Instruction, barrier: str, seed: int = 0, **kw: Any
):
    """One instruction with ``barrier`` in place; the reset seed depends on the instruction and the barrier
    only (``seed + 10 * index + barrier index``), so any subset of the suite replays the same episodes."""
    i = INSTRUCTIONS.index(instruction) if instruction in INSTRUCTIONS else 0
    return run_instruction(planner, lib, instruction, barrier, seed=seed + 10 * i + BARRIERS.index(barrier), **kw)


def saycan_suite(
    client: Any,
    lib: SkillLibrary,
    modes: Sequence[str] = ("say", "can", "saycan"),
    instructions: Sequence[Instruction] = INSTRUCTIONS,
    barriers: Sequence[str] = BARRIERS,
    seed: int = 0,
    max_calls: int = 6,
) -> dict[str, dict[str, Any]]:
    """Every instruction x barrier for each planner mode: ``{mode: {"success_rate", "logs", "seconds", ...}}``."""
    out, shared = {}, {}  # type: ignore[var-annotated]  # one prompt cache: Say only and SayCan ask alike
    for mode in modes:
        planner = SayCanPlanner(client if mode != "can" else None, mode=mode, cache=shared)
        t0, c0 = time.perf_counter(), time.process_time()
        logs = [run_saycan(planner, lib, ins, b, seed, max_calls=max_calls) for ins in instructions for b in barriers]
        out[mode] = {
            "success_rate": float(np.mean([lg.success for lg in logs])),
            "logs": logs,
            "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0,
            "prompts_so_far": len(shared),
        }
    return out


def ellm_suggester(client: Any = None, k: int = 4):
    """``caption -> goals``: the top-k goals under the language model (every goal if ``client`` is None)."""
    table: dict[str, list[str]] = {}

    def suggest(caption: str) -> list[str]:
        if caption not in table:
            table[caption] = suggest_goals(client, caption, k=k)
        return table[caption]

    return suggest


def run_all_language_prompts(client: Any, lib: SkillLibrary) -> dict[str, Any]:
    """Ask every question the notebook and the quick benchmark ask (what the cache maker records)."""
    suite = saycan_suite(client, lib)
    i, barrier, seed = FILMED
    planner = SayCanPlanner(client, mode="saycan")
    filmed = run_instruction(planner, lib, INSTRUCTIONS[i], barrier, seed=seed)
    suggest = ellm_suggester(client)
    return {"suite": suite, "filmed": filmed, "goals": {c: suggest(c) for c in CAPTIONS}}
