"""Pure-torch diffusion for action chunks: schedulers, denoisers, policies, normaliser, EMA.

Typical use::

    from labkit.diffusion import DiffusionPolicy, DiffusionPolicyConfig
    policy = DiffusionPolicy(DiffusionPolicyConfig(obs_dim=4, action_dim=2))
    policy.fit_normalizers(obs, actions)           # raw (N, 4), (N, 2)
    loss = policy.compute_loss({"obs": o, "actions": a})   # (B, 2, 4), (B, 8, 2)
    chunk = policy.predict_action(o, generator=torch.Generator().manual_seed(0))  # (B, 4, 2)
"""

from labkit.diffusion.denoisers import MLPDenoiser, SinusoidalEmbedding, UNet1DDenoiser
from labkit.diffusion.ema import EMA
from labkit.diffusion.gaussian import GaussianBCConfig, GaussianBCPolicy
from labkit.diffusion.normalizer import Normalizer
from labkit.diffusion.policy import ChunkConfig, ChunkPolicy, DiffusionPolicy, DiffusionPolicyConfig
from labkit.diffusion.scheduler import DDIMScheduler, DDPMScheduler, SchedulerOutput

POLICY_CLASSES: dict[str, type[ChunkPolicy]] = {
    DiffusionPolicy.kind: DiffusionPolicy,
    GaussianBCPolicy.kind: GaussianBCPolicy,
}
"""Policy classes by ``kind`` (the name stored in checkpoints)."""

__all__ = [
    "DDPMScheduler",
    "DDIMScheduler",
    "SchedulerOutput",
    "MLPDenoiser",
    "UNet1DDenoiser",
    "SinusoidalEmbedding",
    "Normalizer",
    "EMA",
    "ChunkConfig",
    "ChunkPolicy",
    "DiffusionPolicyConfig",
    "DiffusionPolicy",
    "GaussianBCConfig",
    "GaussianBCPolicy",
    "POLICY_CLASSES",
]
