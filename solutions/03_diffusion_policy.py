# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Solutions · 03 Diffusion policy vs Gaussian behaviour cloning
#
# Each code cell replaces the exercise cell with the same id (`# EXERCISE 03.x` -> `# SOLUTION 03.x`);
# `python -m labkit run-notebooks --solutions` runs the notebook with all of them.

# %%
# SOLUTION 03.add_noise
def add_noise(x0, noise, t, alphas_cumprod):
    """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise: (B, H, A), (B, H, A), (B,), (T,) -> (B, H, A)."""
    abar = alphas_cumprod[t].to(x0.dtype).reshape(-1, *([1] * (x0.ndim - 1)))  # (B, 1, 1): one level per chunk
    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise


lk.check("03.add_noise", add_noise)

# %% [markdown]
# The only trap is broadcasting: $\bar\alpha_t$ is one number per chunk, so it must be reshaped to
# `(B, 1, 1)` before it multiplies a `(B, H, A)` chunk. Since $\bar\alpha_t + (1 - \bar\alpha_t) = 1$,
# a chunk of variance one stays of variance one at every $t$ (the schedule is *variance preserving*).
# No seeds involved; instant.

# %%
# SOLUTION 03.ddim_step
import math


def ddim_step(x_t, eps_hat, alpha_bar_t, alpha_bar_s):
    """One deterministic DDIM step x_t -> x_s: tensors (B, H, A) and two floats in, (B, H, A) out."""
    x0_hat = (x_t - math.sqrt(1 - alpha_bar_t) * eps_hat) / math.sqrt(alpha_bar_t)  # the clean-chunk estimate
    return math.sqrt(alpha_bar_s) * x0_hat + math.sqrt(1 - alpha_bar_s) * eps_hat  # re-noised to level s


lk.check("03.ddim_step", ddim_step)

# %% [markdown]
# At the last step $s = -1$, $\bar\alpha_s = 1$ and the step returns $\hat x_0$ itself. The library
# also clips $\hat x_0$ to $[-1, 1]$ and recomputes the noise from the clipped estimate,
# $\hat\epsilon = (x_t - \sqrt{\bar\alpha_t}\,\hat x_0) / \sqrt{1 - \bar\alpha_t}$: at the first step,
# where $\bar\alpha_t$ is almost 0, the unclipped $\hat x_0$ is huge, and clipping keeps the chain in
# the action range. No seeds involved; instant.
#
# **Exercise 3 (open question).**
#
# ```python
# diff1, _ = lk.behaviour_cloning("diffusion", demos, iterations=ITERATIONS, preset=PRESET, seed=0, n_action_steps=1)
# r1 = lk.evaluate(diff1, "labkit/TwoRoutes-v0", EPISODES, seed=1000)
# print(r1.success_rate, r1.route_counts)
# ```
#
# Perhaps surprisingly, it hardly dithers on this task. We ran it (full budget, seeds 0 and 1, the
# evaluation of section 2): success stayed as high as with the `chunked` preset, both routes stayed in
# use in about the same proportions, and episodes were no longer. The reason is in the observation:
# it holds the robot's velocity, and the policy sees `n_obs_steps` of them. Once the robot has moved
# sideways for a single step, the state itself says which route it is on, and conditioned on that
# state the demonstrations are unimodal; only the exact split point is ambiguous, and one step of
# motion resolves it. Long chunks matter when the observation does not reveal the commitment (a
# wrapper that hides the velocity, with `n_obs_steps=1`, would make this task such a case), with
# noisy observations, or with a slow policy; in Diffusion Policy's real-robot tasks they also smooth
# the motion. Both seeds we tried gave the same picture. Training takes as long as section 1's diffusion run (about two minutes on an idle
# 2-core machine for the benchmark's budget, section 6 prints it; several minutes when the machine is
# shared); the evaluation is slower than section 2's, because the policy is called every step
# instead of every `Ta` steps.
#
# **Exercise 4 (open question).** `rows[0][1] / rows[2][1]` is the measured speed-up (section 4
# prints it). DDIM-10 makes a tenth of DDPM-100's denoiser calls, so the ideal ratio is the ratio of
# the steps; the benchmark (section 6), timed on an otherwise idle machine, comes close to it. It is
# not exactly that ratio because each call also pays a fixed cost that does not shrink with the step
# count (encoding and normalising the observation, the first noise draw, un-normalising the chunk,
# Python overhead), which pulls the ratio below the ratio of the steps, while DDPM's per-step noise
# draws add a little to its side; and on a shared 2-core machine single timings scatter in both
# directions (a busy machine can show a ratio well above the ideal one). Instant (it reuses section 4).
