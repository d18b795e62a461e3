# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Diffusion policy vs Gaussian behaviour cloning
#
# **Place on the map:** A1 *diffusion model* as a generator of low-level behaviour, and the
# pre-requisite of B (every later notebook fine-tunes, steers or distils this policy).
#
# **Goals.** (1) Train a Gaussian behaviour-cloning policy and a diffusion policy on the same
# demonstrations. (2) Compare success and *route balance*. (3) Open the denoising process with a
# slider: watch noise become the two routes. (4) Trade denoising steps (DDPM vs DDIM) against latency
# and success. (5) Write the forward noising and one DDIM step yourself.
#
# **Prerequisites.** Notebook 02 (the bimodal demonstrations, and why a Gaussian averages them). The
# idea of a denoising diffusion model helps but is recapped below.
#
# **Time.** About 50 minutes to read, run and do the exercises; the first code cell prints the measured
# compute time (training the two policies is most of it). With `LABKIT_SMOKE=1` it runs in seconds,
# with untrained policies: the numbers then mean nothing.
#
# **Key equations.** A diffusion policy models an action chunk $x_0$ (`actions`, normalised to
# $[-1, 1]$, shape `(B, H, A)`) given the observation history $o$ (`obs`, encoded as `cond`). The
# *forward process* noises $x_0$ in one jump to any step $t \in \{0, \dots, T-1\}$
# ($T$ = `num_train_timesteps`), with $\bar\alpha_t$ = `noise_scheduler.alphas_cumprod[t]` falling from
# almost 1 to almost 0:
#
# $$q(x_t \mid x_0) = \mathcal{N}\big(\sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I\big), \qquad
# x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \epsilon,\quad \epsilon \sim \mathcal{N}(0, I)$$
#
# (`noisy = noise_scheduler.add_noise(x0, noise, t)`). The denoiser $\epsilon_\theta$ (`denoiser`)
# learns to predict the noise, the **epsilon-prediction loss** of `DiffusionPolicy.compute_loss`:
#
# $$L(\theta) = \mathbb{E}_{(o, x_0) \sim \mathcal{D},\ t,\ \epsilon}\,
# \big\|\epsilon - \epsilon_\theta(x_t, t, o)\big\|^2 \qquad (\texttt{pred = denoiser(noisy, t, cond)}).$$
#
# Sampling starts from $x_{T-1} \sim \mathcal{N}(0, I)$ and walks down a list of steps $t \to s$
# (`scheduler.timesteps`, $s$ = `previous_timestep(t)`, $\bar\alpha_{-1} = 1$). Each step first
# estimates the clean chunk, $\hat x_0 = (x_t - \sqrt{1 - \bar\alpha_t}\,\epsilon_\theta) / \sqrt{\bar\alpha_t}$
# (`pred_original_sample`, clipped to $[-1, 1]$). **DDPM** (`DDPMScheduler.step`) then draws from the
# Gaussian posterior, with $\beta_{ts} = 1 - \bar\alpha_t / \bar\alpha_s$:
#
# $$x_s = \underbrace{\frac{\sqrt{\bar\alpha_s}\,\beta_{ts}}{1 - \bar\alpha_t}}_{\mathtt{coef\_x0}} \hat x_0
# + \underbrace{\frac{\sqrt{\bar\alpha_t / \bar\alpha_s}\,(1 - \bar\alpha_s)}{1 - \bar\alpha_t}}_{\mathtt{coef\_xt}} x_t
# + \sigma_{ts} z, \qquad \sigma_{ts}^2 = \frac{1 - \bar\alpha_s}{1 - \bar\alpha_t}\beta_{ts}\ (\texttt{var}),\quad z \sim \mathcal{N}(0, I).$$
#
# **DDIM** (`DDIMScheduler.step`, $\eta = 0$) is deterministic: it re-noises $\hat x_0$ with the
# *predicted* noise, to the level of $s$, so it can skip many steps at once:
#
# $$x_s = \sqrt{\bar\alpha_s}\, \hat x_0 + \sqrt{1 - \bar\alpha_s}\; \epsilon_\theta(x_t, t, o).$$
#
# The **Gaussian BC** policy minimises $-\log \mathcal{N}(x_0;\ \mu_\theta(o), \sigma_\theta(o)^2)$,
# whose mean goes to $\mathbb{E}[x_0 \mid o]$ (notebook 02's key equation).

# %%
import json

import numpy as np
import plotly.graph_objects as go
import torch
from IPython.display import Markdown, display

import labkit as lk
from labkit import viz
from labkit.course.timing import RESULTS
from labkit.policies import describe_presets, with_sampling
from labkit.rollout import measure_latency

SMOKE = lk.smoke_mode()
print(lk.course.compute_time("03_diffusion_policy"))
PRESET = "chunked"  # the reference preset: every other notebook says why its own differs from this one
ITERATIONS = 60 if SMOKE else 6_000
EPISODES = 6 if SMOKE else 100
N_SAMPLES = 64  # chunks sampled at the split for the denoising explorer
demos = lk.load("two_routes_demos")
print(demos, f"\nsmoke={SMOKE}: {ITERATIONS} training iterations, {EPISODES} evaluation episodes")

# %% [markdown]
# ## 1. Two policies, one dataset, one preset
# Both policies see the last `n_obs_steps` (To) observations and predict a **chunk** of `horizon` (H)
# actions, of which `n_action_steps` (Ta) are executed before asking again (Diffusion Policy's
# receding horizon). The cell draws the timeline from the preset and prints how long one chunk
# commits the robot at the task's control rate.
#
# **Preset.** This notebook's preset, `chunked`, is the kit's reference: long open-loop chunks, so a
# whole route round the cup is one consistent sample. The table lists every preset and why the later
# notebooks use a different one.

# %%
h = lk.PRESETS[PRESET].horizons
To, H, Ta = h["n_obs_steps"], h["horizon"], h["n_action_steps"]


def cell(label):
    """One column of the timeline."""
    return f"{label:>8}"


print("obs:     " + "".join(cell(f"o[t{k - To + 1:+d}]" if k < To - 1 else "o[t]") for k in range(To)))
print("chunk:   " + "".join(cell(f"a[t{k - To + 1:+d}]" if k != To - 1 else "a[t]") for k in range(H)))
print("execute: " + " " * 8 * (To - 1) + "".join(cell(f"a[t{k:+d}]" if k else "a[t]") for k in range(Ta)))
control_dt = lk.make("labkit/TwoRoutes-v0").unwrapped.dt
print(f"To / H / Ta = {To} / {H} / {Ta}: at {1 / control_dt:.0f} Hz a chunk commits the robot for {Ta * control_dt:.1f} s")
display(Markdown(describe_presets()))

# %% [markdown]
# * **Gaussian BC** predicts a mean chunk and a standard deviation, trained by maximum likelihood.
#   Where demonstrations go left *or* right, the best single Gaussian puts its mean in between.
# * **Diffusion policy** learns to *denoise* with the epsilon loss above. Sampling starts from pure
#   noise and removes it step by step (DDPM: every one of the `num_train_timesteps` steps, stochastic;
#   DDIM: `num_inference_steps` deterministic ones), landing on one of the modes of the data.
#
# Both train with the same loop (AdamW, cosine schedule, EMA weights; Ctrl-C keeps what was learned).

# %%
gauss, gauss_run = lk.behaviour_cloning("gaussian", demos, iterations=ITERATIONS, preset=PRESET, seed=0)
diff, diff_run = lk.behaviour_cloning("diffusion", demos, iterations=ITERATIONS, preset=PRESET, seed=0)
cfg = diff.config
DIFF = f"diffusion ({cfg.sampler.upper()}-{cfg.num_inference_steps})"  # the preset's sampler
print(f"diffusion: T = num_train_timesteps = {cfg.num_train_timesteps}; sampling with {cfg.sampler.upper()}-"
      f"{cfg.num_inference_steps}; denoiser {cfg.denoiser}")

fig = go.Figure()
for name, run in [("Gaussian BC (NLL)", gauss_run), ("diffusion (noise MSE)", diff_run)]:
    k = max(1, len(run.loss) // 200)
    smooth = np.convolve(run.loss, np.ones(k) / k, mode="valid")
    fig.add_scatter(y=smooth, name=f"{name}: {run.seconds:.0f} s", mode="lines")
fig.update_layout(title="Training losses (moving average)", xaxis_title="iteration", yaxis_title="loss",
                  template="plotly_white", height=330)
fig

# %% [markdown]
# ## 2. Success and route balance
# `EPISODES` episodes each, with the same start states. A route counts only when the episode
# succeeds. The demonstrations use each route about half of the time: a policy that learned them
# should too.

# %%
results = {
    "Gaussian BC": lk.evaluate(gauss, "labkit/TwoRoutes-v0", EPISODES, seed=1000, record_episodes=2),
    DIFF: lk.evaluate(diff, "labkit/TwoRoutes-v0", EPISODES, seed=1000, record_episodes=2),
}
print("demonstrations:", demos.summary().get("route_counts", {}))
for name, r in results.items():
    print(f"{name:>20}: success {r.success_rate:.0%}, successful routes {r.route_counts}")
viz.route_bar({name: r.route_counts for name, r in results.items()})

# %%
viz.trajectories_figure(
    [t for r in results.values() for t in r.trajectories[:40]],
    [f"{name}: {route}" for name, r in results.items() for route in r.routes[:40]],
    title="Where each policy drives (up to 40 episodes each)",
)

# %% [markdown]
# ## 3. The denoising explorer
# Put the robot where the demonstrations split (just below the cup) and sample `N_SAMPLES` chunks
# with DDPM, keeping every intermediate $x_t$. Drag the slider from *noise* to *actions*: each line is
# a sampled chunk drawn as the path it would drive. Early on, $x_t$ is almost pure $\epsilon$; the
# last steps, where $\bar\alpha_t$ is near 1, contract the cloud onto two bundles. The Gaussian's
# samples are shown below for comparison.

# %%
env = lk.make("labkit/TwoRoutes-v0", seed=0)
split_obs = env.unwrapped.observation_at([0.0, -0.2], velocity=[0.0, 0.3])  # at the split, moving up
obs_hist = torch.as_tensor(np.stack([split_obs] * To), dtype=torch.float32)[None].repeat(N_SAMPLES, 1, 1)  # (N, To, 8)
gen = torch.Generator().manual_seed(0)
_, chain = diff.sample_actions(obs_hist, generator=gen, sampler="ddpm", num_inference_steps=cfg.num_train_timesteps,
                               return_chain=True)  # chain: (T + 1, N, H, A), from x_{T-1} to x_0
chain = chain[::5] if len(chain) > 30 else chain  # every 5th step keeps the slider light
viz.denoising_explorer(chain.numpy(), split_obs[:2], unnormalize=lambda x: diff.normalizer_act.unnormalize(torch.as_tensor(x)).numpy(),
                   title=f"Diffusion: {N_SAMPLES} sampled chunks, from noise (step 0) to actions")

# %%
g_chunks = gauss.sample_actions(obs_hist, generator=torch.Generator().manual_seed(0)).numpy()
paths = viz.chunks_to_paths(g_chunks, split_obs[:2])
viz.trajectories_figure(list(paths), ["Gaussian sample"] * len(paths),
                    title=f"Gaussian BC: {N_SAMPLES} sampled chunks at the split").update_layout(
    xaxis=dict(range=[-0.3, 0.3]), yaxis=dict(range=[-0.5, 0.1]))

# %% [markdown]
# ## 4. How many denoising steps? DDPM vs DDIM
# DDPM removes noise in many small stochastic steps; DDIM takes bigger deterministic steps along the
# same learned field. Each step is one call of the denoiser, so fewer steps means less latency per
# decision. Does success survive?

# %%
T = cfg.num_train_timesteps
settings = [("ddpm", T), ("ddpm", T // 5), ("ddim", T // 10), ("ddim", T // 20), ("ddim", 2)]
rows = []
for sampler, k in settings:
    lat = measure_latency(diff, demos.obs_dim, sampler=sampler, num_inference_steps=k, calls=10 if SMOKE else 30)
    r = lk.evaluate(with_sampling(diff, sampler=sampler, num_inference_steps=k), "labkit/TwoRoutes-v0",
                 4 if SMOKE else 50, seed=2000, progress=False)
    rows.append((f"{sampler.upper()}-{k}", lat, r.success_rate))
    print(f"{sampler.upper()}-{k:<3} latency {lat:6.2f} ms per call   success {r.success_rate:.0%}")
budget = 1000 * Ta * control_dt
print(f"one call every Ta = {Ta} steps at {1 / control_dt:.0f} Hz: a budget of {budget:.0f} ms per call; "
      f"DDIM-{T // 10} is {rows[0][1] / rows[2][1]:.1f}x faster than DDPM-{T} here")
fig = go.Figure(go.Scatter(x=[r[1] for r in rows], y=[r[2] for r in rows], text=[r[0] for r in rows],
                           mode="markers+text", textposition="top center", marker=dict(size=12)))
fig.update_layout(title="Latency per call (batch 1) vs success", xaxis_title="ms per call (log)", xaxis_type="log",
                  yaxis_title="success rate", yaxis_range=[-0.05, 1.1], template="plotly_white", height=360)
fig

# %% [markdown]
# Every setting fits the budget printed above; on a real robot at a higher rate, with a vision
# encoder, the step count is what decides.
#
# ## 5. Side by side

# %%
viz.show_videos({f"Gaussian BC ({results['Gaussian BC'].routes[0]})": results["Gaussian BC"].frames[0],
             f"diffusion ({results[DIFF].routes[0]})": results[DIFF].frames[0],
             f"diffusion ({results[DIFF].routes[1]})": results[DIFF].frames[1]}, fps=20)

# %% [markdown]
# ## 6. The benchmark: the same comparison over seeds
# `benchmarks/diffusion_policy.py` repeats this comparison with more training, over several seeds;
# the cell prints its results file (`benchmarks/results/diffusion_policy.json`), the numbers to
# compare yours with.

# %%
bench_file = RESULTS.parent / "diffusion_policy.json"
if bench_file.exists():
    bench = json.loads(bench_file.read_text())
    print(f"{bench_file.name}: {bench['iterations']} iterations, {bench['episodes']} episodes, seeds {bench['seeds']}, "
          f"{bench['machine']['cpus']} CPUs, {bench['machine']['date']}")
    for row in bench["summary"]:
        line = (f"{row['policy']:>10}: success {row['success']:.0%}, routes left {row['left share']:.0%} / right "
                f"{row['right share']:.0%}, training {row['train s']:.0f} s")
        if row["policy"] == "diffusion":
            line += (f"; DDPM-100 {row['DDPM-100 ms']:.1f} ms vs DDIM-10 {row['DDIM-10 ms']:.1f} ms per call "
                     f"({row['DDPM-100 ms'] / row['DDIM-10 ms']:.1f}x)")
        print(line)
else:
    print("no benchmark results yet: python benchmarks/diffusion_policy.py writes them")

# %% [markdown]
# ## 7. Saving and loading the policy
# A labkit checkpoint stores the config, the weights and the normalisers; a loaded policy samples the
# same chunks from the same generator seed.

# %%
import tempfile
from pathlib import Path

path = Path(tempfile.mkdtemp()) / "diffusion.pt"
lk.save(diff, path)
loaded = lk.load(path, env_id="labkit/TwoRoutes-v0")
a = diff.sample_actions(obs_hist[:4], generator=torch.Generator().manual_seed(1))
b = loaded.sample_actions(obs_hist[:4], generator=torch.Generator().manual_seed(1))
assert torch.allclose(a, b), "the loaded checkpoint should sample the same chunks"
print("the loaded checkpoint samples the same chunks:", tuple(a.shape))

# %% [markdown]
# ## Summary
# * A Gaussian fitted to bimodal demonstrations keeps one mean per state: at the split it can only
#   average (and stall) or lean to one side. Trained long enough, it leans: it reaches the goal but
#   almost always by the same route, so one of the demonstrated behaviours is lost (the benchmark
#   above shows it on every seed). Trained briefly, it also stalls (see `benchmarks/diffusion_policy.py --quick`).
# * A diffusion policy learns the noise with a plain regression loss, yet samples *one of the modes*
#   each time: the slider shows noise contracting onto two bundles, and its rollouts use both routes.
# * DDIM with a handful of steps keeps success at a fraction of DDPM's latency: the cost is the number
#   of denoiser calls.
#
# ## Exercises
# 1. *(10 minutes)* **03.add_noise.** Write the forward process `add_noise(x0, noise, t, alphas_cumprod)`:
#    chunks $x_0$ `(B, H, A)`, noise $\epsilon$ of the same shape, integer steps `t` `(B,)` and the
#    schedule $\bar\alpha$ `(T,)` in; $x_t$ out. The check compares it with the training scheduler of a
#    `chunked` diffusion policy (`policy.noise_scheduler.add_noise`) at steps from clean to pure noise.
# 2. *(15 minutes)* **03.ddim_step.** Write one deterministic DDIM step
#    `ddim_step(x_t, eps_hat, alpha_bar_t, alpha_bar_s)`: estimate $\hat x_0$, then re-noise it to the
#    level of $s$. The check runs it on every step of a `DDIMScheduler` with the preset's
#    `num_inference_steps` and compares with `DDIMScheduler.step` (built with `clip_sample=False`:
#    the library also clips $\hat x_0$ to $[-1, 1]$, which you may leave out).
# 3. *(open question, a few minutes of compute)* Train the diffusion policy with `n_action_steps=1`
#    (`behaviour_cloning(..., n_action_steps=1)`): re-deciding every step, does it dither at the split?
#    Compare success and routes.
# 4. *(open question)* From the rows of section 4, the DDIM speed-up is the ratio of the latencies.
#    Compare it with the ratio of the numbers of denoiser calls and with the benchmark's ratio. Why is
#    it not exactly the ratio of the calls?

# %%
# EXERCISE 03.add_noise
def add_noise(x0, noise, t, alphas_cumprod):
    """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise: (B, H, A), (B, H, A), (B,), (T,) -> (B, H, A)."""
    raise NotImplementedError  # your code here


lk.check("03.add_noise", add_noise)

# %%
# EXERCISE 03.ddim_step
def ddim_step(x_t, eps_hat, alpha_bar_t, alpha_bar_s):
    """One deterministic DDIM step x_t -> x_s: tensors (B, H, A) and two floats in, (B, H, A) out."""
    raise NotImplementedError  # your code here


lk.check("03.ddim_step", ddim_step)

# %% [markdown]
# ## Read next
# * Chi et al., *Diffusion Policy: Visuomotor Policy Learning via Action Diffusion*,
#   [arXiv:2303.04137](https://arxiv.org/abs/2303.04137): the method of this notebook (chunks,
#   receding horizon, the noise-prediction loss on actions).
# * Ho et al., *Denoising Diffusion Probabilistic Models*, [arXiv:2006.11239](https://arxiv.org/abs/2006.11239):
#   the forward process, the epsilon loss and the DDPM step.
# * Song et al., *Denoising Diffusion Implicit Models*, [arXiv:2010.02502](https://arxiv.org/abs/2010.02502):
#   the deterministic DDIM step and why it can skip steps.
# * Nichol and Dhariwal, *Improved Denoising Diffusion Probabilistic Models*,
#   [arXiv:2102.09672](https://arxiv.org/abs/2102.09672): the cosine noise schedule the kit uses.
# * Repositories: [real-stanford/diffusion_policy](https://github.com/real-stanford/diffusion_policy)
#   (the reference implementation), [huggingface/lerobot](https://github.com/huggingface/lerobot)
#   (diffusion policy on real robots), [huggingface/diffusers](https://github.com/huggingface/diffusers)
#   (the schedulers whose vocabulary `labkit.diffusion` follows).
