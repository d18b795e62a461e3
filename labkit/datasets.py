"""The small datasets and checkpoints that ship in ``data/``, and the commands that remake them.

Each entry says what the file is, how to remake it (``python -m labkit make-data NAME``) and which
env it belongs to. ``load_demos(NAME)`` loads and validates a shipped dataset; a missing or corrupt
file fails with a one-line message that gives the remake command. ``data/README.md`` lists every
file with its content hash; ``tests/test_shipped_data.py`` checks that the list and the files agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["SHIPPED", "DATA_DIR", "data_path", "load_demos", "load_shipped_prior", "make_data", "Shipped"]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Shipped:
    """One shipped file: ``data/<file>``, made by ``make()``."""

    file: str
    env_id: str
    description: str
    make: Callable[[Path], None]

    @property
    def command(self) -> str:
        return f"python -m labkit make-data {Path(self.file).stem}"


def _two_routes_demos(path: Path) -> None:
    from labkit.data import collect_episodes, save_dataset
    from labkit.envs import make
    from labkit.envs.experts import TwoRoutesExpert

    env = make("labkit/TwoRoutes-v0")
    ds = collect_episodes(env, TwoRoutesExpert(), n_episodes=200, seed=0, expert_name="TwoRoutesExpert(noise=0.1)",
                          created_with=SHIPPED["two_routes_demos"].command)
    save_dataset(ds, path)


def _two_routes_mixed(path: Path) -> None:
    from labkit.data import save_dataset
    from labkit.finetune.mixed import collect_mixed_dataset

    ds = collect_mixed_dataset(seed=0, created_with=SHIPPED["two_routes_mixed"].command)
    save_dataset(ds, path)


#: Optimiser steps for the shipped TwoRoutes prior: enough for ~99% success on TwoRoutes, both routes.
TWO_ROUTES_PRIOR_ITERATIONS = 3_000


def _shipped_prior(name: str, demos_name: str, env_id: str, iterations: int) -> Callable[[Path], None]:
    """A maker for ``data/<name>.pt``: ``train_prior`` defaults on a shipped dataset, seed 0, one thread."""

    def make(path: Path) -> None:
        import torch

        from labkit.priors import train_prior
        from labkit.train import save_checkpoint

        torch.set_num_threads(1)  # the same float sums on every machine
        demos = load_demos(demos_name)
        prior = train_prior(demos, env_id, iterations=iterations, seed=0)
        save_checkpoint(prior, path, {"env_id": env_id, "dataset": demos_name, "dataset_hash": demos.content_hash,
                                      "iterations": iterations, "seed": 0, "made_with": SHIPPED[name].command})

    return make


def _push_block_demos(path: Path) -> None:
    from labkit.data import collect_episodes, save_dataset
    from labkit.envs import make
    from labkit.envs.experts import PushBlockExpert

    env = make("labkit/PushBlock-v0")
    ds = collect_episodes(env, PushBlockExpert(), n_episodes=200, seed=0, expert_name="PushBlockExpert()",
                          created_with=SHIPPED["push_block_demos"].command)
    save_dataset(ds, path)


#: Optimiser steps for the shipped PushBlock prior: enough to push, too few to push precisely.
PUSH_BLOCK_PRIOR_ITERATIONS = 3_000


SHIPPED: dict[str, Shipped] = {
    "two_routes_demos": Shipped(
        "two_routes_demos.npz", "labkit/TwoRoutes-v0",
        "200 scripted-expert episodes on TwoRoutes, both routes (~50/50), 100% success",
        _two_routes_demos,
    ),
    "two_routes_mixed": Shipped(
        "two_routes_mixed.npz", "labkit/TwoRoutes-v0",
        "mixed quality for offline RL: 100 expert, 100 noisy-expert (noise 1.0), 150 failing (expert to the split, then "
        "straight up into the cup) "
        "episodes with rewards; episode field 'quality'",
        _two_routes_mixed,
    ),
    "two_routes_prior": Shipped(
        "two_routes_prior.pt", "labkit/TwoRoutes-v0",
        "diffusion prior (labkit.priors.train_prior defaults: To=2, H=8, Ta=4, DDIM 10 steps, MLP 128) trained "
        "3,000 iterations on two_routes_demos: ~99% success on TwoRoutes, ~47% on TwoRoutesBlocked (the right "
        "route closed)",
        _shipped_prior("two_routes_prior", "two_routes_demos", "labkit/TwoRoutes-v0", TWO_ROUTES_PRIOR_ITERATIONS),
    ),
    "push_block_demos": Shipped(
        "push_block_demos.npz", "labkit/PushBlock-v0",
        "200 PushBlockExpert episodes on PushBlock, all kept (failures too: ~75% success, flagged per episode)",
        _push_block_demos,
    ),
    "push_block_prior": Shipped(
        "push_block_prior.pt", "labkit/PushBlock-v0",
        "diffusion prior (labkit.priors.train_prior defaults: To=2, H=8, Ta=4, DDIM 10 steps, MLP 128) trained "
        "3,000 iterations on push_block_demos; good but not good enough (23% success over 100 episodes)",
        _shipped_prior("push_block_prior", "push_block_demos", "labkit/PushBlock-v0", PUSH_BLOCK_PRIOR_ITERATIONS),
    ),
}


def _entry(name: str) -> Shipped:
    if name not in SHIPPED:
        raise KeyError(f"no shipped data named {name!r}; known: {', '.join(SHIPPED)}")
    return SHIPPED[name]


def data_path(name: str) -> Path:
    """``data/<file>`` of a shipped entry (which may not exist yet)."""
    return DATA_DIR / _entry(name).file


def load_demos(name: str):
    """Load a shipped demonstration dataset, validated (shapes, hash, env id).

    :raises FileNotFoundError: the file is missing; the message says how to remake it.
    :raises labkit.data.DatasetError: the file is corrupt or for another env.
    """
    from labkit.data import DatasetError, load_dataset

    entry, path = _entry(name), data_path(name)
    if not path.exists():
        raise FileNotFoundError(f"shipped dataset {path} is missing; remake it with: {entry.command}")
    try:
        return load_dataset(path, expected_env_id=entry.env_id)
    except DatasetError as exc:
        if entry.command in str(exc):
            raise
        raise DatasetError(f"{str(exc).split('; regenerate')[0]}; remake it with: {entry.command}") from None


def make_data(names: list[str] | None = None) -> int:
    """Remake shipped files (all when ``names`` is empty); print each path and hash."""
    import hashlib

    names = names or list(SHIPPED)
    for name in names:
        entry = _entry(name)
        path = DATA_DIR / entry.file
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"making {name} -> {path} ...", flush=True)
        entry.make(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"  {entry.file}: {path.stat().st_size / 1024:.0f} KiB, sha256 {digest[:16]}")
    return 0


def load_shipped_prior(name: str = "push_block_prior"):
    """Load a shipped prior checkpoint (``labkit.priors.load_prior``), checked against its env.

    :raises FileNotFoundError: the file is missing; the message says how to remake it.
    """
    from labkit.priors import load_prior

    entry = _entry(name)
    return load_prior(data_path(name), env_id=entry.env_id, regenerate_hint=entry.command)
