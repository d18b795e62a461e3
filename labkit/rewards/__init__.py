"""Rewards from generative models trained on demonstrations (taxonomy A3 5.1, notebook 04).

Each reward model is trained on a task's expert demonstrations (or renders of them) and plugs into
stock Stable-Baselines3 through :class:`LearnedRewardVecEnv`:

- :mod:`.diffusion_reward` Diffusion Reward: conditional DDPM of the next state; entropy or likelihood;
- :mod:`.video_prediction` VIPER-style: log-likelihood under a mixture-density next-state predictor;
- :mod:`.vlm` VLM-RMs mechanism with a CLIP-style model trained here (frozen MiniLM text tower);
- :mod:`.episode_similarity` RoboCLIP-style sparse similarity of the episode to one demonstration;
- :mod:`.tabulated` a position-only reward looked up in a table (no rendering in the RL loop);
- :mod:`.exploration` the online novelty terms (RND, ensemble disagreement);
- :mod:`.wrapper` the VecEnv / gymnasium wrappers, which refuse a model trained for another env.
"""

from .base import LearnedReward, RewardMismatchError, load_reward_model, save_reward_model
from .captions import CAPTIONS, caption_indices, captions_of
from .diffusion_reward import DiffusionReward, DiffusionRewardConfig, train_diffusion_reward
from .episode_similarity import EpisodeSimilarityReward, make_episode_similarity_reward
from .exploration import BonusConfig, DisagreementBonus, RNDBonus
from .render import StateRenderer
from .tabulated import TabulatedReward, tabulate
from .text_tower import embed_texts, load_text_tower
from .video_prediction import VideoPredictionConfig, VideoPredictionReward, train_video_prediction_reward
from .vlm import VLMConfig, VLMReward, goal_baseline_projection, train_vlm_reward
from .windows import episode_states, transition_windows
from .wrapper import LearnedRewardVecEnv, LearnedRewardWrapper

MODEL_CLASSES = {
    "DiffusionReward": DiffusionReward,
    "VideoPredictionReward": VideoPredictionReward,
    "VLMReward": VLMReward,
}
"""Reward model classes by name, for :func:`load_reward_model`."""

__all__ = [
    "LearnedReward",
    "RewardMismatchError",
    "save_reward_model",
    "load_reward_model",
    "MODEL_CLASSES",
    "DiffusionReward",
    "DiffusionRewardConfig",
    "train_diffusion_reward",
    "VideoPredictionReward",
    "VideoPredictionConfig",
    "train_video_prediction_reward",
    "VLMReward",
    "VLMConfig",
    "train_vlm_reward",
    "goal_baseline_projection",
    "EpisodeSimilarityReward",
    "make_episode_similarity_reward",
    "TabulatedReward",
    "tabulate",
    "BonusConfig",
    "RNDBonus",
    "DisagreementBonus",
    "StateRenderer",
    "embed_texts",
    "load_text_tower",
    "CAPTIONS",
    "caption_indices",
    "captions_of",
    "episode_states",
    "transition_windows",
    "LearnedRewardVecEnv",
    "LearnedRewardWrapper",
]
