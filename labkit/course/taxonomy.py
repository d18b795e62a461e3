"""The review's taxonomy as data: two dimensions, their branches and leaves, and the notebook for each.

Source: Moroncelli et al., "The Duality of Generative AI and Reinforcement Learning in Robotics:
A Review" (arXiv 2410.16411). ``taxonomy_figure()`` draws it as a plotly sunburst; ``leaf_table()``
lists each leaf with its representative methods and a link to its notebook (marked *coming* until
the notebook exists in ``notebooks/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

__all__ = ["Leaf", "LEAVES", "NOTEBOOKS", "notebook_available", "taxonomy_figure", "leaf_table"]

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent.parent / "notebooks"

#: notebook stem -> one-line description (the curriculum's stable names)
NOTEBOOKS: dict[str, str] = {
    "00_map_and_setup": "the map of the field; an environment check",
    "01_rl_with_sb3": "RL foundations: SB3 PPO and SAC on a MuJoCo task",
    "02_demonstrations": "scripted and SB3 experts write demonstration datasets",
    "03_diffusion_policy": "a diffusion policy beside Gaussian behaviour cloning",
    "04_generative_rewards": "rewards from generative models trained on demonstrations",
    "04b_reward_design_with_llms": "reward functions written by a language model (Eureka, Text2Reward)",
    "05_representations_and_world_models": "latent states and world models",
    "06_planning_and_exploration": "diffusion planning and language sub-goals",
    "07_plug_priors_into_sb3": "residual RL, DSRL and sample-and-select on a diffusion prior",
    "08_offline_rl_diffusion": "Diffusion-QL / IDQL on mixed-quality data",
    "09_decision_transformer": "return-conditioned sequence models",
    "10_dppo_finetuning": "PPO through the denoising chain (DPPO)",
    "11_distillation": "experts to generalist and back; many-step to one-step",
    "12_safety_and_open_challenges": "constraint-aware sampling, forgetting, latency",
}


@dataclass(frozen=True)
class Leaf:
    """One leaf of the taxonomy: ``path`` from the dimension down, its methods and its notebook."""

    path: tuple[str, ...]
    methods: str
    notebook: str


F = "0. Foundations"
A = "A. Generative tools for RL"
B = "B. RL for generative policies"
#: Every notebook sits on one leaf, and every method on one leaf. The foundations are not part of the
#: review's taxonomy: they are what the rest builds on.
LEAVES: list[Leaf] = [
    Leaf(
        (F, "Foundations", "The map and a set-up"),
        "the review's two dimensions; MuJoCo, torch, widgets",
        "00_map_and_setup",
    ),
    Leaf((F, "Foundations", "RL with SB3"), "PPO, SAC: returns, clipped surrogate, entropy bonus", "01_rl_with_sb3"),
    Leaf((F, "Foundations", "Demonstrations"), "scripted and RL experts, datasets, multimodality", "02_demonstrations"),
    Leaf(
        (A, "A1 Base model", "LLM / VLM"),
        "LLMs write reward code (Eureka, Text2Reward); a pluggable model client",
        "04b_reward_design_with_llms",
    ),
    Leaf(
        (A, "A1 Base model", "Diffusion model"),
        "low-level behaviour generation (Diffusion Policy)",
        "03_diffusion_policy",
    ),
    Leaf(
        (A, "A1 Base model", "World model / VPM"),
        "state predictors, video prediction models",
        "05_representations_and_world_models",
    ),
    Leaf((A, "A2 Modality", "state -> actions"), "low-level state in, low-level actions out", "03_diffusion_policy"),
    Leaf(
        (A, "A2 Modality", "multi-modal -> states"),
        "frames and text in, state predictions out",
        "05_representations_and_world_models",
    ),
    Leaf(
        (A, "A3 Task", "5.1 Reward signal"),
        "Diffusion Reward, VIPER, VLM-RMs, RoboCLIP: rewards from models trained on demonstrations",
        "04_generative_rewards",
    ),
    Leaf(
        (A, "A3 Task", "5.2 State representation"),
        "representations from frames; Dreamer-style world models",
        "05_representations_and_world_models",
    ),
    Leaf(
        (A, "A3 Task", "5.3 Planning & exploration"),
        "Diffuser, Decision Diffuser, SayCan, ELLM",
        "06_planning_and_exploration",
    ),
    Leaf(
        (B, "B1 RL pre-training", "Transformer policy"),
        "Decision Transformer, Q-Transformer",
        "09_decision_transformer",
    ),
    Leaf(
        (B, "B1 RL pre-training", "Diffusion policy"),
        "Diffusion-QL, IDQL",
        "08_offline_rl_diffusion",
    ),
    Leaf(
        (B, "B1 RL pre-training", "Primitive generator"),
        "RL-trained skills that a planner sequences",
        "06_planning_and_exploration",
    ),
    Leaf((B, "B2 RL fine-tuning", "Policy-specific"), "DPPO: the denoising chain as an MDP", "10_dppo_finetuning"),
    Leaf(
        (B, "B2 RL fine-tuning", "Policy-agnostic"),
        "residual RL, DSRL (noise-space steering), PA-RL",
        "07_plug_priors_into_sb3",
    ),
    Leaf((B, "B3 Policy distillation", "Generalist -> expert"), "RPD", "11_distillation"),
    Leaf((B, "B3 Policy distillation", "Experts -> generalist"), "RLDG", "11_distillation"),
    Leaf((B, "B3 Policy distillation", "Many steps -> one"), "consistency policies (latency)", "11_distillation"),
    Leaf(
        (B, "Safety & open challenges", "Safety"), "SafeVLA; constraint-aware sampling", "12_safety_and_open_challenges"
    ),
    Leaf(
        (B, "Safety & open challenges", "Open challenges"),
        "latency, forgetting, grounding, scalability",
        "12_safety_and_open_challenges",
    ),
]


def notebook_available(stem: str) -> bool:
    """True when ``notebooks/<stem>.ipynb`` exists in this checkout."""
    return (NOTEBOOK_DIR / f"{stem}.ipynb").exists()


def taxonomy_figure(height: int = 620) -> go.Figure:
    """A plotly sunburst of the taxonomy; hover a leaf for its methods and notebook."""
    ids, labels, parents, hover, colors = [], [], [], [], []
    for leaf in LEAVES:
        for depth in range(len(leaf.path)):
            node_id = " / ".join(leaf.path[: depth + 1])
            if node_id in ids:
                continue
            ids.append(node_id)
            labels.append(leaf.path[depth])
            parents.append(" / ".join(leaf.path[:depth]))
            if depth == len(leaf.path) - 1:
                ready = notebook_available(leaf.notebook)
                state = "runnable" if ready else "coming"
                hover.append(f"<b>{leaf.path[-1]}</b><br>{leaf.methods}<br>notebook {leaf.notebook} ({state})")
                colors.append("#2ca02c" if ready else "#c7c7c7")
            else:
                hover.append(f"<b>{leaf.path[depth]}</b>")
                colors.append({A: "#1f77b4", B: "#d62728"}.get(leaf.path[0], "#7f7f7f"))
    fig = go.Figure(
        go.Sunburst(
            ids=ids,
            labels=labels,
            parents=parents,
            hovertext=hover,
            hoverinfo="text",
            marker=dict(colors=colors),
            insidetextorientation="radial",
            maxdepth=3,
        )
    )
    fig.update_layout(
        title="The duality of generative AI and RL in robotics (green: runnable here)",
        height=height,
        margin=dict(t=50, l=0, r=0, b=0),
    )
    return fig


def leaf_table() -> str:
    """A markdown table: leaf, representative methods, notebook link (or *coming*)."""
    rows = ["| dimension | branch | leaf | methods | notebook |", "|---|---|---|---|---|"]
    for leaf in LEAVES:
        nb = leaf.notebook
        link = f"[{nb}]({nb}.ipynb) ([page]({nb}.html))" if notebook_available(nb) else f"{nb} *(coming)*"
        rows.append(f"| {leaf.path[0]} | {leaf.path[1]} | {leaf.path[2]} | {leaf.methods} | {link} |")
    return "\n".join(rows)
