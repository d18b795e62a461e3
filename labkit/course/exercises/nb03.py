"""Notebook 03's exercises: the forward noising q(x_t | x_0) and one DDIM step, against the kit's schedulers."""

from __future__ import annotations

from typing import Any

import torch

from labkit.course.checks import close, exercise
from labkit.diffusion.scheduler import DDIMScheduler
from labkit.policies.presets import make_policy


def _reference_policy() -> Any:
    """An untrained diffusion policy with notebook 03's preset (its config and training scheduler)."""
    return make_policy("diffusion", obs_dim=8, action_dim=2, preset="chunked")


@exercise(
    "03.add_noise",
    hint="x_t = sqrt(abar_t) * x0 + sqrt(1 - abar_t) * noise, with abar_t = alphas_cumprod[t] reshaped to (B, 1, 1)",
)
def _add_noise(fn: Any) -> tuple[bool, str]:
    gen = torch.Generator().manual_seed(3)
    policy = _reference_policy()
    scheduler = policy.noise_scheduler  # the one DiffusionPolicy.compute_loss noises with
    x0 = torch.rand(6, policy.config.horizon, policy.config.action_dim, generator=gen) * 2 - 1  # (B, H, A) in [-1, 1]
    noise = torch.randn(x0.shape, generator=gen)
    T = scheduler.num_train_timesteps
    t = torch.cat([torch.tensor([0, T - 1]), torch.randint(1, T - 1, (4,), generator=gen)])  # (B,): both ends too
    expected = scheduler.add_noise(x0, noise, t)
    got = fn(x0.clone(), noise.clone(), t.clone(), scheduler.alphas_cumprod.clone())
    got = got.detach() if isinstance(got, torch.Tensor) else got
    ok, detail = close(got, expected, atol=1e-5)
    return ok, ("matches the scheduler's add_noise at every t" if ok else detail)


@exercise(
    "03.ddim_step",
    hint="x0_hat = (x_t - sqrt(1 - abar_t) * eps_hat) / sqrt(abar_t), then x_s = sqrt(abar_s) * x0_hat "
    "+ sqrt(1 - abar_s) * eps_hat",
)
def _ddim_step(fn: Any) -> tuple[bool, str]:
    gen = torch.Generator().manual_seed(4)
    preset = _reference_policy().config
    shape = (6, preset.horizon, preset.action_dim)  # (B, H, A)
    # the library clips x0_hat to the action range; without clipping the step is exactly the formula
    scheduler = DDIMScheduler(preset.num_train_timesteps, clip_sample=False)
    scheduler.set_timesteps(preset.num_inference_steps)
    for t in scheduler.timesteps.tolist():
        s = scheduler.previous_timestep(t)
        x_t, eps_hat = torch.randn(shape, generator=gen), torch.randn(shape, generator=gen)
        expected = scheduler.step(eps_hat, t, x_t).prev_sample  # eta = 0: deterministic
        got = fn(x_t.clone(), eps_hat.clone(), scheduler.alpha_bar(t), scheduler.alpha_bar(s))
        got = got.detach() if isinstance(got, torch.Tensor) else got
        ok, detail = close(got, expected, atol=1e-5, rtol=1e-4)  # at t = T - 1, x0_hat is huge unclipped
        if not ok:
            return False, f"step t={t} -> s={s}: {detail}"
    return True, f"matches labkit's DDIMScheduler.step on all {len(scheduler.timesteps)} steps, the last one to x0_hat"
