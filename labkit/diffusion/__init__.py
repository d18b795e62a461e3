"""Diffusion in diffusers' vocabulary: DDPM/DDIM schedulers, and the denoising chain as Gaussian steps.

    from labkit.diffusion import DDIMScheduler
    sched = DDIMScheduler(num_train_timesteps=100); sched.set_timesteps(10)
    x = sched.step(model_output, t, x).prev_sample

- ``scheduler.py``: ``add_noise``, ``set_timesteps``, ``step(...)`` returning ``prev_sample`` plus the
  step's Gaussian ``mean`` and ``std`` (what DPPO needs);
- ``chain.py``: run the chain with or without gradients, and the per-step log-probabilities.

The networks are in ``labkit.models``; the policies built from them in ``labkit.policies``.
"""

from labkit.diffusion.chain import denoise, gaussian_log_prob, step_distributions, step_log_probs
from labkit.diffusion.scheduler import DDIMScheduler, DDPMScheduler, SchedulerOutput, make_betas

__all__ = [
    "DDIMScheduler",
    "DDPMScheduler",
    "SchedulerOutput",
    "denoise",
    "gaussian_log_prob",
    "make_betas",
    "step_distributions",
    "step_log_probs",
]
