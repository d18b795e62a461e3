"""Networks only: MLPs, denoisers, critics, the normaliser that travels with a policy, EMA weights.

Nothing here knows about environments, datasets or training loops.
"""

from labkit.models.critics import TwinQ, ValueNet
from labkit.models.denoisers import MLPDenoiser, SinusoidalEmbedding, UNet1DDenoiser
from labkit.models.ema import EMA, polyak_update
from labkit.models.mlp import ObsScaler, mlp
from labkit.models.normalizer import Normalizer

__all__ = [
    "EMA",
    "MLPDenoiser",
    "Normalizer",
    "ObsScaler",
    "SinusoidalEmbedding",
    "TwinQ",
    "UNet1DDenoiser",
    "ValueNet",
    "mlp",
    "polyak_update",
]
