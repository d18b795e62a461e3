"""Generative models as the agent's state and as its world (taxonomy A3 5.2, notebook 05).

Part 1, a state from pixels (frames from ``labkit.envs.PixelObservation``):

- ``encoders``: a small CNN encoder / decoder for ``(3, 64, 64)`` frames;
- ``frames``: ``FrameDataset``, episodes of frames without actions (VIP's quadruple sampler);
- ``vip``: VIP's time-contrastive value objective (``vip_loss``, ``train_vip``);
- ``autoencoder``: the reconstruction baseline (``train_autoencoder``);
- ``representation``: ``Representation``, a frozen encoder that knows its task and frame size;
- ``wrappers``: ``LatentObservation`` (the latent as an SB3 agent's observation), ``VIPReward``;
- ``probes``: the position read off a latent, nearest-neighbour frames.

Part 2, a model of the world that trains SB3 SAC (MBPO-style):

- ``ensemble``: ``ProbabilisticEnsemble``, K Gaussian MLPs over ``[s' - s, r]``;
- ``mbpo``: ``MixedReplayBuffer`` (real + imagined batches) and ``ModelRolloutCallback`` (fit, branch);
- ``rollouts``: open-loop imagination, for the compounding-error view.

A latent world model that plans (TD-MPC-style):

- ``tdmpc``: ``TDMPCAgent`` (encoder, latent dynamics, reward, twin critics, policy; MPPI planning),
  ``WindowReplay`` (windows of H real steps) and ``train_tdmpc``, its training loop.
"""

from labkit.world_models.autoencoder import AutoencoderConfig, train_autoencoder
from labkit.world_models.encoders import ConvDecoder, ConvEncoder, EncoderConfig
from labkit.world_models.ensemble import EnsembleConfig, ProbabilisticEnsemble
from labkit.world_models.frames import FrameDataset
from labkit.world_models.mbpo import MBPOConfig, MixedReplayBuffer, ModelRolloutCallback
from labkit.world_models.probes import nearest_frames, position_probe
from labkit.world_models.representation import Representation, RepresentationMismatchError, RepresentationSpec
from labkit.world_models.rollouts import open_loop
from labkit.world_models.tdmpc import TDMPCAgent, TDMPCConfig, WindowReplay, train_tdmpc
from labkit.world_models.vip import VIPConfig, train_vip, vip_loss
from labkit.world_models.wrappers import LatentObservation, VIPReward, frame_size_of, task_of

__all__ = [
    "AutoencoderConfig",
    "ConvDecoder",
    "ConvEncoder",
    "EncoderConfig",
    "EnsembleConfig",
    "FrameDataset",
    "LatentObservation",
    "MBPOConfig",
    "MixedReplayBuffer",
    "ModelRolloutCallback",
    "ProbabilisticEnsemble",
    "Representation",
    "RepresentationMismatchError",
    "RepresentationSpec",
    "TDMPCAgent",
    "TDMPCConfig",
    "VIPConfig",
    "VIPReward",
    "WindowReplay",
    "frame_size_of",
    "nearest_frames",
    "open_loop",
    "position_probe",
    "task_of",
    "train_autoencoder",
    "train_tdmpc",
    "train_vip",
    "vip_loss",
]
