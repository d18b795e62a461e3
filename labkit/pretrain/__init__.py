"""B1, RL pre-training of generative policies, offline: IQL critics, IDQL, Diffusion-QL (notebook 08),
Decision Transformer and Q-Transformer (notebook 09).

From a mixed-quality dataset (``labkit.load("two_routes_mixed")``)::

    critic = IQLCritic(obs_dim, action_dim); train_iql(critic, episodes)
    idql = IDQLPolicy(behaviour_diffusion_policy, critic, n_samples=32)   # runs with labkit.evaluate
    q, log = train_diffusion_ql(diffusion_policy, episodes)                 # trains the policy itself

    dt = DecisionTransformer(DTConfig(obs_dim, action_dim)); train_decision_transformer(dt, episodes)
    evaluate_return_conditioned(dt, "labkit/TwoRoutes-v0", 100, target_return=12.0)
    qt = QTransformer(QTConfig(obs_dim, action_dim)); train_q_transformer(qt, episodes)
    labkit.evaluate(qt, "labkit/TwoRoutes-v0", 100)                        # greedy per-dimension actions
"""

from labkit.pretrain.decision_transformer import DecisionTransformer, DTConfig, train_decision_transformer
from labkit.pretrain.diffusion_ql import DiffusionQLConfig, train_diffusion_ql
from labkit.pretrain.gpt import CausalTransformer, GPTConfig, causal_mask
from labkit.pretrain.idql import IDQLPolicy
from labkit.pretrain.iql import IQLConfig, IQLCritic, expectile_loss, train_iql
from labkit.pretrain.q_transformer import (
    QTConfig,
    QTransformer,
    bellman_table,
    conservative_penalty,
    per_dimension_targets,
    train_q_transformer,
)
from labkit.pretrain.return_conditioned import ReturnConditioned, evaluate_return_conditioned
from labkit.pretrain.sequences import ActionBins, ContextWindows, episode_index, returns_to_go

__all__ = [
    "ActionBins",
    "CausalTransformer",
    "ContextWindows",
    "DTConfig",
    "DecisionTransformer",
    "DiffusionQLConfig",
    "GPTConfig",
    "QTConfig",
    "QTransformer",
    "ReturnConditioned",
    "bellman_table",
    "causal_mask",
    "conservative_penalty",
    "episode_index",
    "evaluate_return_conditioned",
    "per_dimension_targets",
    "returns_to_go",
    "train_decision_transformer",
    "train_q_transformer",
    "IDQLPolicy",
    "IQLConfig",
    "IQLCritic",
    "expectile_loss",
    "train_diffusion_ql",
    "train_iql",
]
