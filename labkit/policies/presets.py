"""Named policy presets: the horizons and sampler settings every notebook, benchmark and test shares.

A preset fixes the observation history To, the predicted chunk H and the executed chunk Ta (and, for
diffusion, the denoiser and sampler). Which to choose depends on the task:

- **long open-loop chunks** (``"chunked"``) keep a multimodal plan consistent: a whole route round the
  obstacle is one sample, so the robot does not dither between modes. They react late to surprises.
- **short chunks, replanning every step** (``"feedback"``) suit feedback control (balancing,
  tracking), where the newest observation matters more than consistency: executing 8 actions open
  loop, a cloned pendulum balancer falls over; replanning every step it can catch the pole.

``PRESETS[name].why`` says in one line what each is for; ``describe_presets()`` prints the table.

    policy = make_policy("diffusion", obs_dim=8, action_dim=2, preset="chunked")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labkit.policies.base import BaseChunkPolicy, check_choice
from labkit.policies.diffusion import DiffusionPolicy, DiffusionPolicyConfig
from labkit.policies.gaussian import GaussianBCConfig, GaussianBCPolicy

__all__ = ["KINDS", "PRESETS", "Preset", "describe_presets", "make_policy"]

KINDS = ("diffusion", "gaussian")


@dataclass(frozen=True)
class Preset:
    """A named policy configuration.

    :ivar horizons: ``n_obs_steps`` (To), ``horizon`` (H), ``n_action_steps`` (Ta).
    :ivar diffusion: ``DiffusionPolicyConfig`` fields used when the kind is ``"diffusion"``.
    :ivar why: one line: what the preset is for and where the kit uses it.
    """

    name: str
    horizons: dict[str, int]
    why: str
    diffusion: dict[str, Any] = field(default_factory=dict)

    def config(self, kind: str, **overrides: Any) -> dict[str, Any]:
        """The config fields of a ``kind`` policy with this preset, then ``overrides``."""
        check_choice("kind", kind, KINDS)
        return {**self.horizons, **(self.diffusion if kind == "diffusion" else {}), **overrides}


_DDIM10 = dict(denoiser="mlp", num_train_timesteps=100, num_inference_steps=10, sampler="ddim")

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "chunked",
            dict(n_obs_steps=2, horizon=16, n_action_steps=8),
            "long open-loop chunks keep a multimodal plan (a whole route) consistent; notebook 03",
            _DDIM10,
        ),
        Preset(
            "prior",
            dict(n_obs_steps=2, horizon=8, n_action_steps=4),
            "half the chunk and a narrower net: cheap enough inside an RL loop; the shipped priors of notebook 07",
            {**_DDIM10, "mlp_hidden_dim": 128},
        ),
        Preset(
            "offline",
            dict(n_obs_steps=1, horizon=1, n_action_steps=1),
            "one observation, one action per decision: exactly what a one-step Q(s, a) judges; notebook 08",
            _DDIM10,
        ),
        Preset(
            "dppo",
            dict(n_obs_steps=1, horizon=4, n_action_steps=4),
            "a decision every 4 steps, sampled by DDPM so each denoising step is a Gaussian; notebook 10",
            {**_DDIM10, "sampler": "ddpm"},
        ),
        Preset(
            "feedback",
            dict(n_obs_steps=1, horizon=4, n_action_steps=1),
            "replan every step from the newest observation: feedback control (balancing, tracking)",
            _DDIM10,
        ),
    )
}


def _preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}. Got {name!r}.")
    return PRESETS[name]


def make_policy(
    kind: str, obs_dim: int, action_dim: int, *, preset: str = "chunked", env_id: str | None = None, **overrides: Any
) -> BaseChunkPolicy:
    """A fresh, untrained ``"diffusion"`` or ``"gaussian"`` policy with a preset's settings (overridable).

    :param kind: ``"diffusion"`` (``DiffusionPolicy``) or ``"gaussian"`` (``GaussianBCPolicy``).
    :param preset: a name in ``PRESETS`` (see the module docstring for when to use which).
    :param env_id: the env the policy is for (checked when it is plugged in, saved in checkpoints).
    :param overrides: any config field, e.g. ``mlp_hidden_dim=128`` or ``n_action_steps=4``.
    """
    fields = _preset(preset).config(kind, **overrides)
    if kind == "diffusion":
        return DiffusionPolicy(DiffusionPolicyConfig(obs_dim=obs_dim, action_dim=action_dim, env_id=env_id, **fields))
    return GaussianBCPolicy(GaussianBCConfig(obs_dim=obs_dim, action_dim=action_dim, env_id=env_id, **fields))


def describe_presets() -> str:
    """A markdown table of the presets: name, To / H / Ta, sampler, what for."""
    rows = ["| preset | To / H / Ta | diffusion sampler | what for |", "|---|---|---|---|"]
    for p in PRESETS.values():
        h = p.horizons
        sampler = f"{p.diffusion.get('sampler', '-')}-{p.diffusion.get('num_inference_steps', '')}"
        rows.append(
            f"| `{p.name}` | {h['n_obs_steps']} / {h['horizon']} / {h['n_action_steps']} | {sampler} | {p.why} |"
        )
    return "\n".join(rows)
