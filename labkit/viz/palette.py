"""One palette for the whole kit: a method keeps its colour in every notebook and figure.

``color_of("residual PPO on the prior")`` and ``color_of("residual PPO (SB3)")`` are the same red:
names are matched by the first keyword they contain (``METHOD_COLORS``, in order), so labels may add
details. A name with no keyword gets a colour from its hash (stable across runs and notebooks).
"""

from __future__ import annotations

import hashlib

__all__ = ["COLORS", "METHOD_COLORS", "ROUTE_COLORS", "color_of", "rgba"]

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f"]

#: keyword (lower case) -> colour; the first keyword contained in a name wins.
METHOD_COLORS: list[tuple[str, str]] = [
    ("mbpo", "#ff7f0e"),  # notebook 05: SAC trained on a world model's rollouts (before "sac")
    ("vip", "#2ca02c"),  # notebook 05's observations: frozen VIP latent, autoencoder latent, pixels, true state
    ("autoencoder", "#9467bd"),
    ("pixels", "#8c564b"),
    ("true state", "#000000"),
    ("dsrl", "#2ca02c"),
    ("residual", "#d62728"),
    ("dppo", "#9467bd"),
    ("gaussian ppo", "#e377c2"),
    ("gaussian", "#ff7f0e"),
    ("diffusion-ql", "#8c564b"),
    ("idql", "#17becf"),
    ("diffusion", "#1f77b4"),
    ("sample-and-select", "#bcbd22"),
    ("scratch", "#7f7f7f"),
    ("sac", "#17becf"),
    ("ppo", "#7f7f7f"),
    ("expert", "#000000"),
    ("prior", "#555555"),
]

ROUTE_COLORS = {"left": "#1f77b4", "right": "#ff7f0e", "none": "#7f7f7f"}


def color_of(name: str) -> str:
    """The kit's colour for a method or series name (see the module docstring)."""
    low = str(name).lower()
    for key, color in METHOD_COLORS:
        if key in low:
            return color
    digest = int(hashlib.md5(low.encode()).hexdigest(), 16)
    return COLORS[digest % len(COLORS)]


def rgba(hex_color: str, alpha: float) -> str:
    """``"#1f77b4"`` -> ``"rgba(31,119,180,alpha)"`` (for bands)."""
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
