"""Diffusion-QL (Wang et al., 2023): train the diffusion policy itself to maximise a learned Q.

    L_pi = L_diffusion(s, a)  -  alpha * Q(s, a_pi) / mean|Q|.detach(),   a_pi = DDPM chain(s)

with the gradient of the second term flowing back through the (short, K-step) sampling chain
(``labkit.diffusion.denoise(..., grad=True)``), and a twin Q learned by TD with actions from the
current policy::

    y = r + gamma (1 - done) min_i Q_target_i(s', a'),   a' ~ pi(s')
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from labkit.data.episodes import EpisodeDataset
from labkit.data.transitions import transitions_from_episodes
from labkit.data.windows import ChunkDataset
from labkit.diffusion.chain import denoise
from labkit.models.critics import TwinQ
from labkit.models.ema import polyak_update
from labkit.policies.diffusion import DiffusionPolicy
from labkit.pretrain.iql import IQLCritic
from labkit.runtime import check_int, check_seed
from labkit.train.log import TrainLog
from labkit.train.loop import training

__all__ = ["DiffusionQLConfig", "train_diffusion_ql"]


@dataclass
class DiffusionQLConfig:
    """Hyper-parameters of :func:`train_diffusion_ql`."""

    alpha: float = 1.0
    """Weight of the Q term relative to the diffusion (BC) loss; Q is divided by mean|Q|."""
    gamma: float = 0.99
    """Discount factor."""
    num_inference_steps: int = 5
    """K, DDPM steps of the sampler that gradients flow through."""
    actor_lr: float = 3e-4
    """Adam learning rate of the diffusion policy."""
    critic_lr: float = 3e-4
    """Adam learning rate of the twin Q."""
    batch_size: int = 256
    """Transitions per update."""
    target_tau: float = 0.005
    """Polyak rate of the target Q and target policy."""
    hidden_dim: int = 256
    """Width of the Q-networks."""
    n_layers: int = 2
    """Hidden layers of the Q-networks."""
    grad_clip: float = 5.0
    """Max gradient norm of the actor and critic."""
    bc_warmup: int = 0
    """Iterations of pure BC (alpha = 0) before the Q term switches on."""

    def __post_init__(self) -> None:
        if self.alpha < 0:
            raise ValueError(f"alpha must be >= 0. Got {self.alpha}.")
        if self.num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be >= 1. Got {self.num_inference_steps}.")


def _actions_with_grad(policy: DiffusionPolicy, obs: torch.Tensor, sched, generator, grad: bool) -> torch.Tensor:
    """Executed-now raw actions (B, A) sampled from ``policy`` for raw obs (B, D), To = 1."""
    cond = policy.encode_obs(obs[:, None])  # (B, 1, D) -> (B, D)
    shape = (len(obs), policy.config.horizon, policy.config.action_dim)
    x0, _, _ = denoise(policy.denoiser, cond, sched, shape, grad=grad, generator=generator)  # (B, H, A) normalised
    return policy.normalizer_act.unnormalize(x0[:, 0])  # (B, A) raw


def train_diffusion_ql(
    policy: DiffusionPolicy,
    data: EpisodeDataset,
    config: DiffusionQLConfig | None = None,
    *,
    iterations: int = 20_000,
    seed: int = 0,
    fit_normalizers: bool = True,
    critic: IQLCritic | None = None,
    progress: bool = True,
) -> tuple[TwinQ, TrainLog]:
    """Train ``policy`` with Diffusion-QL on ``data`` (in place); returns the learned twin Q and a log.

    The policy must condition on one observation (``n_obs_steps == 1``); a chunk longer than one
    step is trained with the diffusion loss as a whole, while Q judges its first action.
    Its ``num_inference_steps`` and ``sampler`` are set to ``config.num_inference_steps`` and
    ``"ddpm"`` so that evaluation samples with the same short chain the Q-gradient was taken through.

    :param fit_normalizers: fit the policy's normalisers on ``data`` first.
    :param critic: a trained :class:`IQLCritic` to use, frozen, for the Q term instead of learning a
        twin Q by TD on the policy's own actions (a cheaper, more conservative variant: IQL's Q was
        fitted on the data's actions only). Its ``q_target`` is returned. On a small budget, pass
        it with a policy already trained by BC (``fit_normalizers=False``) and a small ``alpha``:
        ``labkit.experiments.offline`` does, because a fresh TD critic has not yet propagated
        values there and a full-weight Q term pulls a fresh policy off the data's actions.
    :return: ``(q, log)``; ``log.losses`` has ``bc``, ``q_term``, ``critic`` per iteration.
    """
    iterations, seed = check_int("iterations", iterations), check_seed(seed)
    cfg = config or DiffusionQLConfig()
    pc = policy.config
    if pc.n_obs_steps != 1:
        raise ValueError(f"Diffusion-QL here needs a policy with n_obs_steps=1. Got {pc.n_obs_steps}.")
    tr = transitions_from_episodes(data)
    windows = ChunkDataset(data, n_obs_steps=1, horizon=pc.horizon)  # row t <-> transition t
    if fit_normalizers:
        policy.fit_normalizers(windows.all_obs(), windows.all_actions())
    pc.num_inference_steps = cfg.num_inference_steps
    pc.sampler = "ddpm"  # evaluate with the chain the Q-gradient went through (not DDIM)
    sched = policy.make_scheduler("ddpm", cfg.num_inference_steps)
    if critic is not None:
        q = critic.q_target
    else:
        q = TwinQ(pc.obs_dim, pc.action_dim, cfg.hidden_dim, cfg.n_layers)
        q.scaler.fit(tr.obs)
    q_target = copy.deepcopy(q).requires_grad_(False)
    policy_target = copy.deepcopy(policy).requires_grad_(False)
    opt_pi = torch.optim.Adam(policy.parameters(), lr=cfg.actor_lr)
    opt_q = torch.optim.Adam(q.parameters(), lr=cfg.critic_lr)
    gen = torch.Generator().manual_seed(seed)
    log = TrainLog(meta={"method": "Diffusion-QL", "seed": seed})
    policy.train()
    with training(log, total=iterations, desc="Diffusion-QL", progress=progress) as bar:
        for it in range(iterations):
            idx = torch.randint(len(tr), (cfg.batch_size,), generator=gen)  # (B,)
            batch, win = tr.gather(idx), windows.gather(idx)
            if critic is None:  # Critic: TD with next actions from the (target) diffusion policy.
                with torch.no_grad():
                    a_next = _actions_with_grad(policy_target, batch["next_obs"], sched, gen, grad=False)  # (B, A)
                    y = batch["rewards"] + cfg.gamma * (1 - batch["dones"]) * q_target.min_q(batch["next_obs"], a_next)
                q1, q2 = q(batch["obs"], batch["actions"])
                critic_loss = F.mse_loss(q1, y) + F.mse_loss(q2, y)
                opt_q.zero_grad(set_to_none=True)
                critic_loss.backward()
                nn.utils.clip_grad_norm_(q.parameters(), cfg.grad_clip)
                opt_q.step()
            else:
                critic_loss = torch.zeros(())
            # Actor: diffusion loss + alpha * (-Q) through the sampling chain.
            bc = policy.compute_loss(win, generator=gen)
            alpha = cfg.alpha if it >= cfg.bc_warmup else 0.0
            if alpha > 0:
                a_pi = _actions_with_grad(policy, batch["obs"], sched, gen, grad=True)  # (B, A)
                q_pi = q.min_q(batch["obs"], a_pi)  # (B,)  gradients reach the policy only (opt_pi)
                q_term = -q_pi.mean() / q_pi.abs().mean().detach().clamp(min=1e-6)
            else:
                q_term = torch.zeros(())
            actor_loss = bc + alpha * q_term
            opt_pi.zero_grad(set_to_none=True)
            actor_loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), cfg.grad_clip)
            opt_pi.step()
            if critic is None:
                polyak_update(q_target, q, cfg.target_tau)
                polyak_update(policy_target, policy, cfg.target_tau)
            log.add(bc=bc.item(), q_term=q_term.item(), critic=critic_loss.item())
            log.iterations_done += 1
            bar.update(1)
            if it % 100 == 0:
                bar.set_postfix(bc=f"{bc.item():.3f}", q=f"{q_term.item():.2f}", refresh=False)
    policy.eval()
    q.eval()
    return q, log
