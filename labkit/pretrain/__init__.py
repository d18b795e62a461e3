"""B1, RL pre-training of generative policies, offline: IQL critics, IDQL, Diffusion-QL (notebook 08).

From a mixed-quality dataset (``labkit.load("two_routes_mixed")``)::

    critic = IQLCritic(obs_dim, action_dim); train_iql(critic, episodes)
    idql = IDQLPolicy(behaviour_diffusion_policy, critic, n_samples=32)   # runs with labkit.evaluate
    q, log = train_diffusion_ql(diffusion_policy, episodes)                 # trains the policy itself
"""

from labkit.pretrain.diffusion_ql import DiffusionQLConfig, train_diffusion_ql
from labkit.pretrain.idql import IDQLPolicy
from labkit.pretrain.iql import IQLConfig, IQLCritic, expectile_loss, train_iql

__all__ = [
    "DiffusionQLConfig",
    "IDQLPolicy",
    "IQLConfig",
    "IQLCritic",
    "expectile_loss",
    "train_diffusion_ql",
    "train_iql",
]
