"""Many denoising steps into one: consistency distillation of a diffusion policy (Consistency Policy).

``distill_consistency(teacher, demos)`` builds a ``labkit.policies.ConsistencyPolicy`` with the
teacher's horizons and normalisers, attaches the teacher (whose DDIM ODE the loss follows; see
``labkit/policies/consistency.py`` for the loss) and trains it with ``labkit.train.train_policy``:
AdamW, cosine schedule, EMA weights, a progress bar, and Ctrl-C keeps what was learned.
"""

from __future__ import annotations

import torch

from labkit.data.episodes import EpisodeDataset
from labkit.data.windows import ChunkDataset
from labkit.policies.consistency import ConsistencyPolicy, ConsistencyPolicyConfig
from labkit.policies.diffusion import DiffusionPolicy
from labkit.runtime import check_int, check_seed
from labkit.train.log import TrainLog
from labkit.train.loop import train_policy

__all__ = ["distill_consistency"]


def distill_consistency(
    teacher: DiffusionPolicy,
    demos: EpisodeDataset,
    *,
    iterations: int = 2_000,
    batch_size: int = 256,
    lr: float = 1e-3,
    n_grid: int = 10,
    num_inference_steps: int = 1,
    dsm_weight: float = 0.0,
    target_ema: float = 0.0,
    warm_start: bool = False,
    seed: int = 0,
    progress: bool = True,
) -> tuple[ConsistencyPolicy, TrainLog]:
    """Distil ``teacher`` into a ``ConsistencyPolicy`` on the windows of ``demos``; returns ``(student, log)``.

    :param teacher: a trained ``DiffusionPolicy`` with an MLP denoiser (it is only read).
    :param demos: the episodes the teacher was trained on (their windows supply x_0 and the observations).
    :param iterations: optimiser steps.
    :param n_grid: N, the teacher's DDIM steps the student learns to skip.
    :param num_inference_steps: the student's default K at sampling time.
    :param dsm_weight: weight of the denoising term (0 = pure consistency distillation).
    :param target_ema: target-network decay (0 = stop-gradient copy of the student).
    :param warm_start: start from the teacher's weights (it predicts noise, the student the clean
        chunk: on TwoRoutes a cold start distils better).
    :return: the student (eval mode, teacher detached, EMA weights) and the ``TrainLog``
        (``log.interrupted`` after Ctrl-C).
    """
    iterations, seed = check_int("iterations", iterations), check_seed(seed)
    tcfg = teacher.config
    if not isinstance(teacher, DiffusionPolicy) or tcfg.denoiser != "mlp":
        raise ValueError(
            "distill_consistency needs a DiffusionPolicy with an MLP denoiser (make_policy('diffusion', ...)). "
            f"Got {type(teacher).__name__} with denoiser={getattr(tcfg, 'denoiser', None)!r}."
        )
    if demos.obs_dim != tcfg.obs_dim or demos.action_dim != tcfg.action_dim:
        raise ValueError(
            f"demos have obs/action sizes {demos.obs_dim}/{demos.action_dim}, the teacher "
            f"{tcfg.obs_dim}/{tcfg.action_dim}: pass the teacher's own training data."
        )
    cfg = ConsistencyPolicyConfig(
        obs_dim=tcfg.obs_dim,
        action_dim=tcfg.action_dim,
        n_obs_steps=tcfg.n_obs_steps,
        horizon=tcfg.horizon,
        n_action_steps=tcfg.n_action_steps,
        obs_norm=tcfg.obs_norm,
        env_id=tcfg.env_id,
        num_train_timesteps=tcfg.num_train_timesteps,
        beta_schedule=tcfg.beta_schedule,
        n_grid=n_grid,
        num_inference_steps=num_inference_steps,
        dsm_weight=dsm_weight,
        target_ema=target_ema,
        time_embed_dim=tcfg.time_embed_dim,
        mlp_hidden_dim=tcfg.mlp_hidden_dim,
        mlp_n_layers=tcfg.mlp_n_layers,
    )
    torch.manual_seed(seed)  # the initial weights
    student = ConsistencyPolicy(cfg)
    student.normalizer_obs.load_state_dict(teacher.normalizer_obs.state_dict())
    student.normalizer_act.load_state_dict(teacher.normalizer_act.state_dict())
    if warm_start:
        student.network.load_state_dict(teacher.denoiser.state_dict())
    teacher.eval()
    student.attach_teacher(teacher)
    windows = ChunkDataset(demos, n_obs_steps=cfg.n_obs_steps, horizon=cfg.horizon)
    try:
        log = train_policy(
            student,
            windows,
            iterations=iterations,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            progress=progress,
            device="cpu",
        )
    finally:
        student.attach_teacher(None)
    log.meta.update(method="consistency distillation", n_grid=n_grid, dsm_weight=dsm_weight)
    return student.eval(), log
