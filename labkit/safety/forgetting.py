"""Forgetting of pre-trained capabilities during RL fine-tuning, and two terms that prevent it.

Wołczyk et al. (ICML 2024): fine-tuning a pre-trained policy on a changed task improves it on the
states the new task visits (CLOSE) and can destroy what it did well on states it no longer visits
(FAR), because the network is shared. Their fixes keep the policy near the pre-trained one with a
KL term ``KL(pi_pre(.|s) || pi(.|s))``; they differ in *where* the states s come from:

- ``"bc"`` (behaviour cloning): s from the **pre-training data**, which covers FAR states too;
- ``"ks"`` (kickstarting): s from the **current rollouts**, i.e. CLOSE states only.

``RegularisedPPO`` is stock SB3 PPO plus one auxiliary phase after every PPO update (as PPG adds its
auxiliary phase): ``reg_epochs`` passes over the chosen states minimising ``reg_coef * KL``, with the
same optimiser. Nothing else of PPO changes. ``pretrain_bc`` fits an SB3 policy to demonstrations
by maximum likelihood, so the "pre-trained policy" is a PPO policy from the start.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import torch
from stable_baselines3 import PPO
from torch.distributions import Distribution, kl_divergence

from labkit.runtime import check_int, check_seed
from labkit.train.log import TrainLog
from labkit.train.loop import training

__all__ = ["RegularisedPPO", "pretrain_bc"]


class RegularisedPPO(PPO):
    """PPO whose policy is pulled towards a frozen teacher after every update.

    :param reg: ``None`` (plain PPO), ``"bc"`` (KL on ``demo_obs``) or ``"ks"`` (KL on the rollout's states).
    :param reg_coef: weight of the KL term.
    :param reg_epochs: passes over the states per auxiliary phase.
    :param demo_obs: (N, obs_dim) pre-training states (needed for ``"bc"``).
    :param teacher: the frozen pre-trained SB3 policy (default: a copy of this model's policy
        when ``set_teacher()`` is called, e.g. right after loading the pre-trained weights).
    Other arguments are PPO's.
    """

    def __init__(
        self,
        *args,
        reg: str | None = None,
        reg_coef: float = 0.1,
        reg_epochs: int = 1,
        demo_obs: np.ndarray | None = None,
        teacher=None,
        **kwargs,
    ) -> None:
        if reg not in (None, "bc", "ks"):
            raise ValueError(f"reg must be None, 'bc' or 'ks'. Got {reg!r}.")
        if reg == "bc" and demo_obs is None:
            raise ValueError("reg='bc' needs demo_obs=... (the pre-training states, shape (N, obs_dim)).")
        if reg_coef < 0 or reg_epochs < 0:
            raise ValueError(f"reg_coef and reg_epochs must be >= 0. Got {reg_coef}, {reg_epochs}.")
        super().__init__(*args, **kwargs)
        self.reg, self.reg_coef, self.reg_epochs = reg, float(reg_coef), int(reg_epochs)
        self.demo_obs = None if demo_obs is None else torch.as_tensor(np.asarray(demo_obs), dtype=torch.float32)
        self.teacher = teacher
        self.reg_log: list[float] = []  # mean KL per auxiliary phase

    def set_teacher(self) -> None:
        """Freeze a copy of the current policy as the teacher (call after loading pre-trained weights)."""
        # A fresh policy of the same class (deepcopy fails on the tensors SB3 caches in the policy).
        self.teacher = self.policy_class(
            self.observation_space, self.action_space, self.lr_schedule, **self.policy_kwargs
        )
        self.teacher.load_state_dict(self.policy.state_dict())
        self.teacher.to(self.device).eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def train(self) -> None:
        super().train()  # the PPO update, unchanged
        if self.reg is None or self.reg_coef == 0 or self.reg_epochs == 0:
            return
        if self.teacher is None:
            raise ValueError(
                "RegularisedPPO has no teacher: call model.set_teacher() after loading the pre-trained policy."
            )
        if self.reg == "bc":
            assert self.demo_obs is not None  # checked in __init__
            states = self.demo_obs  # (N, obs_dim) pre-training data: CLOSE and FAR states
        else:
            obs = self.rollout_buffer.observations  # (n_steps, n_envs, obs_dim) this rollout: CLOSE states
            states = torch.as_tensor(obs.reshape(-1, obs.shape[-1]), dtype=torch.float32)  # (n_steps * n_envs, obs_dim)
        gen = torch.Generator().manual_seed(int(self.num_timesteps))
        kls = []
        self.policy.set_training_mode(True)
        for _ in range(self.reg_epochs):
            for idx in torch.randperm(len(states), generator=gen).split(self.batch_size):
                s = states[idx].to(self.device)
                with torch.no_grad():
                    target = cast(Distribution, self.teacher.get_distribution(s).distribution)
                student = cast(Distribution, self.policy.get_distribution(s).distribution)  # a diagonal Gaussian
                kl = kl_divergence(target, student).sum(-1).mean()
                self.policy.optimizer.zero_grad()
                (self.reg_coef * kl).backward()
                torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()
                kls.append(kl.item())
        self.reg_log.append(float(np.mean(kls)))
        self.logger.record("train/reg_kl", self.reg_log[-1])


def pretrain_bc(
    model: PPO,
    obs: np.ndarray,
    actions: np.ndarray,
    *,
    epochs: int = 80,
    lr: float = 1e-3,
    batch_size: int = 256,
    seed: int = 0,
    progress: bool = True,
) -> TrainLog:
    """Fit ``model.policy`` (actor: mean and log-std) to demonstrations by maximum likelihood.

    :param obs: (N, obs_dim) demonstration states; ``actions``: (N, action_dim).
    :returns: a ``TrainLog`` with one ``loss`` (mean negative log-likelihood) per epoch; Ctrl-C keeps
        what was learned (``log.interrupted``).
    """
    O = torch.as_tensor(np.asarray(obs), dtype=torch.float32)  # noqa: E741 - (N, obs_dim)
    A = torch.as_tensor(np.asarray(actions), dtype=torch.float32)  # (N, action_dim)
    if O.ndim != 2 or A.ndim != 2 or len(O) != len(A):
        raise ValueError(
            f"obs and actions must be (N, obs_dim) and (N, action_dim). Got {tuple(O.shape)}, {tuple(A.shape)}."
        )
    epochs = check_int("epochs", epochs)
    opt = torch.optim.Adam(model.policy.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(check_seed(seed))
    log = TrainLog(meta={"what": "BC pre-training of an SB3 policy", "epochs": epochs})
    model.policy.set_training_mode(True)
    with training(log, total=epochs, desc="BC pre-training", progress=progress, unit="epoch") as bar:
        for _ in range(epochs):
            total = 0.0
            for idx in torch.randperm(len(O), generator=gen).split(batch_size):
                loss = -model.policy.get_distribution(O[idx]).log_prob(A[idx]).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            log.add(loss=total / len(O))
            log.iterations_done += 1
            bar.update(1)
    model.policy.set_training_mode(False)
    return log
