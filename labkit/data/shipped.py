"""The small datasets and checkpoints that ship in ``data/``: what each file is and how to remake it.

This is the catalogue only; the makers live in ``labkit.experiments.shipped`` (they train and roll
out, which this layer cannot) and run with ``python -m labkit make-data NAME``. ``data/README.md``
lists every file with its SHA-256 and that command; a test checks that the list and the files agree.
Load any entry with ``labkit.load(NAME)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labkit.data.episodes import DatasetError, EpisodeDataset
from labkit.data.files import load_dataset

__all__ = ["DATA_DIR", "SHIPPED", "Shipped", "UnknownShippedError", "data_path", "entry", "load_demos"]

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"


class UnknownShippedError(ValueError):
    """A name that is not in the catalogue of shipped files."""


@dataclass(frozen=True)
class Shipped:
    """One shipped file: ``data/<file>``, of ``kind`` "dataset" (.npz) or "policy" (.pt checkpoint)."""

    file: str
    env_id: str
    kind: str
    description: str

    @property
    def name(self) -> str:
        return Path(self.file).stem

    @property
    def command(self) -> str:
        """The command that remakes the file."""
        return f"python -m labkit make-data {self.name}"


SHIPPED: dict[str, Shipped] = {
    s.name: s
    for s in (
        Shipped(
            "two_routes_demos.npz",
            "labkit/TwoRoutes-v0",
            "dataset",
            "200 scripted-expert episodes on TwoRoutes, both routes (~50/50), 100% success",
        ),
        Shipped(
            "two_routes_mixed.npz",
            "labkit/TwoRoutes-v0",
            "dataset",
            "mixed quality for offline RL: 100 expert, 100 noisy-expert (noise 1.0), 150 failing (expert to the "
            "split, then straight up into the cup) episodes with rewards; episode field 'quality'",
        ),
        Shipped(
            "two_routes_prior.pt",
            "labkit/TwoRoutes-v0",
            "policy",
            "diffusion prior (preset 'prior': To=2, H=8, Ta=4, DDIM 10 steps, MLP 128) trained 3,000 iterations on "
            "two_routes_demos: ~99% success on TwoRoutes, ~47% on TwoRoutesBlocked (the right route closed)",
        ),
        Shipped(
            "push_block_demos.npz",
            "labkit/PushBlock-v0",
            "dataset",
            "200 PushBlockExpert episodes on PushBlock, all kept (failures too: ~75% success, flagged per episode)",
        ),
        Shipped(
            "push_block_prior.pt",
            "labkit/PushBlock-v0",
            "policy",
            "diffusion prior (preset 'prior': To=2, H=8, Ta=4, DDIM 10 steps, MLP 128) trained 3,000 iterations on "
            "push_block_demos; good but not good enough (23% success over 100 episodes)",
        ),
        Shipped(
            "planning_diffuser.pt",
            "labkit/TwoRoutes-v0",
            "planner",
            "notebook 06: Diffuser (H=64, states+actions, MLP 512, 20 DDPM steps, x0-prediction) trained 4,000 "
            "iterations on two_routes_demos windows, and its value for the right-blocked world (load_diffuser)",
        ),
        Shipped(
            "planning_decision_diffuser.pt",
            "labkit/TwoRoutes-v0",
            "planner",
            "notebook 06: Decision Diffuser (H=32, states only, route/speed conditions, MLP 256) + inverse dynamics, "
            "on two_routes_demos plus slow right-route demos; slow-left held out (load_decision_diffuser)",
        ),
        Shipped(
            "planning_skills.pt",
            "labkit/TwoRoutesSkills-v0",
            "skills",
            "notebook 06: one SB3 PPO holding six skill primitives (routes round the cup, marks, home) with "
            "their values, 500k steps (load_skill_library)",
        ),
        Shipped(
            "planning_llm_cache.json",
            "labkit/TwoRoutesSkills-v0",
            "llm_cache",
            "notebook 06: SmolLM2-135M replies (labkit.llm CachedClient) to every SayCan and ELLM prompt of the "
            "notebook and its quick benchmark, so they replay real model answers without loading the model",
        ),
    )
}


def entry(name: str) -> Shipped:
    """The catalogue entry ``name``, or a one-line error listing the known names."""
    if name not in SHIPPED:
        raise UnknownShippedError(f"No shipped file named {name!r}; known: {', '.join(SHIPPED)}.")
    return SHIPPED[name]


def data_path(name: str) -> Path:
    """``data/<file>`` of a shipped entry (which may not exist yet)."""
    return DATA_DIR / entry(name).file


def load_demos(name: str) -> EpisodeDataset:
    """Load a shipped dataset, validated (shapes, hash, env id).

    :raises FileNotFoundError: the file is missing; the message says how to remake it.
    :raises DatasetError: the file is corrupt or for another env; the message gives the remake command.
    """
    item, path = entry(name), data_path(name)
    if item.kind != "dataset":
        raise UnknownShippedError(f"{name!r} is a {item.kind}, not a dataset: load it with labkit.load({name!r}).")
    if not path.exists():
        raise FileNotFoundError(f"shipped dataset {path} is missing; remake it with: {item.command}")
    try:
        return load_dataset(path, expected_env_id=item.env_id)
    except DatasetError as exc:
        if item.command in str(exc):
            raise
        raise DatasetError(f"{str(exc).split('; regenerate')[0]}; remake it with: {item.command}") from None
