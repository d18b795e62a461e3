# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 12 · Policy safety and the open challenges, measured
#
# **Place on the map:** the review's closing section, *policy safety and open challenges* (SafeVLA;
# adaptation and forgetting; latency; scalability and grounding). Each challenge the kit can make small
# becomes a measurement on the point robot of notebooks 02-07: constraint-aware sampling from a
# diffusion policy (A, generative models as priors), safe RL on top of a prior (B2, RL fine-tuning),
# forgetting during fine-tuning (B2), and inference latency against the control rate (B3, distillation).
#
# **Goals.** (1) Keep a diffusion policy out of a forbidden region *without retraining it*: compare
# projection at every denoising step, gradient guidance and correcting only the final sample.
# (2) Write a constrained MDP (reward *and* cost) and solve it with PPO-Lagrangian on stock
# Stable-Baselines3, with and without the diffusion prior underneath; read the return/cost frontier
# with a cost-limit slider; search for the start states where the policy is still unsafe.
# (3) Watch a fine-tuned policy forget what it could do on states it no longer visits, and keep it with
# a behaviour-cloning term. (4) Delay the policy's inference by d control steps while the robot keeps
# moving: see naive chunk switching break and real-time chunking (freeze + inpaint) hold.
# (5) Know what a laptop cannot measure.
#
# **Prerequisites.** Notebook 03 (diffusion policy, action chunks, DDIM), notebook 07 (residual RL on a
# frozen prior), notebook 01 (PPO). Notebook 11 (distillation) makes one-step policies; part 4 times
# DDIM with few steps in their place (a one-step policy costs one network pass).
#
# **Time.** About half an hour to read and play. The first code cell prints the measured compute time of
# a full run (each part also prints its CPU and wall seconds and the machine's load); `LABKIT_SMOKE=1`
# runs it in seconds with tiny budgets (the numbers then mean nothing). The runs a notebook cannot
# afford (several seeds, the cost-limit frontier, PPO-Lagrangian from scratch) are read from the
# benchmark's results, `benchmarks/results/safety.json` (or its `--quick` version).

# %%
from dataclasses import replace

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

import labkit as lk
from labkit import viz
from labkit.experiments import safety as ex
from labkit.viz import safety as safety_viz

SMOKE = lk.smoke_mode()
print(lk.course.compute_time("12_safety_and_open_challenges"))
SEED = 0
EPISODES = 6 if SMOKE else 100
RL_STEPS = 1_024 if SMOKE else ex.PRIOR_PRESET.steps
EVAL_EPISODES = 4 if SMOKE else ex.PRIOR_PRESET.eval_episodes
FT = (ex.ForgettingPreset(steps=1_024, eval_every=512, eval_episodes=4, pretrain_epochs=2, n_envs=2) if SMOKE
      else ex.ForgettingPreset())
LATENCY_ITERS = 30 if SMOKE else 3_000
cached, cache_name = ex.cached_results()
print(f"smoke mode: {SMOKE}; benchmark results: {cache_name}")

# %% [markdown]
# ## 0. The hazard
# Two purple "puddles" lie on the inner lanes beside the cup, one per route (`ex.PUDDLES`, disks of
# radius 0.09 m centred on the cup's side walls). Entering one is what the robot must not do. Nothing
# in the observation shows them and the demonstrations ignored them: the expert hugs the cup, so the
# shipped prior (notebook 07's `two_routes_prior`) drives through a puddle in many episodes. The
# `HazardCostWrapper` reports it in `info["cost"]`: with `cost="entry"` (the constrained MDP of part 2)
# it is 1 on the control step the robot's centre enters a disk, so an episode's cost counts entries;
# with `cost="inside"` it is 1 for every step spent inside. Part 1 counts an episode as a *violation*
# if it is inside at any step.

# %%
prior = lk.load("two_routes_prior")
scene = ex.make_hazard_env(render_mode="rgb_array")
scene.reset(seed=0)
go.Figure(go.Image(z=scene.render())).update_layout(title="TwoRoutes with two hazard puddles (purple)", height=380,
                                                     width=360).show()
print(ex.PUDDLES)

# %% [markdown]
# ## 1. Constraint-aware sampling from a frozen diffusion policy
# **The claim.** A diffusion policy can be kept inside a feasible set at *sampling* time, with no
# retraining: SafeDiffuser (Xiao et al. 2023) builds control-barrier conditions into every denoising
# step; Constrained Diffusers (2025) project or penalise the iterates (projected, primal-dual and
# augmented-Lagrangian Langevin sampling); DiRecT (2026) argues that projecting the *noisy* iterates
# over-constrains the sample and corrects only the final one.
#
# **Key equations.** A chunk of velocity commands `a_k` (normalised units `x`, raw `a = unnorm(x)`)
# drives the path `p_{k+1} = p_k + step_length * clip(a_k)` from the robot's position `p_0 = obs[:2]`
# (`lk.safety.paths_from_actions`). The chunk is feasible when every waypoint keeps $m$ = `margin` from
# every disk `(c_j, r_j)`:
#
# $$\mathcal{C} = \{a : \|p_k(a) - c_j\| \ge r_j + m \;\; \forall k \ge 1, j\}, \qquad
#   \Pi_\mathcal{C}(q) = c_j + (r_j + m)\,\frac{q - c_j}{\|q - c_j\|} \text{ for a waypoint } q \text{ inside}.$$
#
# `project_actions` walks the path and rewrites only the actions whose waypoint lands inside. The four
# methods (`ex.METHODS`) differ in where the constraint acts in the reverse chain
# `x_T -> ... -> x_0`:
#
# | method | what it does at denoising step t |
# |---|---|
# | `none` | the prior as trained |
# | `project_every` | `x_{t-1} <- Pi(step(x_t))`: project every (noisy) iterate |
# | `guidance` | `x0_hat <- x0_hat - guidance_scale * grad P(x0_hat)`, with `P = sum relu(r + m - norm(p_k - c))^2` |
# | `project_final` | nothing until the end; then `x_0 <- Pi(x_0)` |

# %%
start = ex.cpu_clock()
part1 = ex.compare_constraints(prior, n_episodes=EPISODES, seed=SEED, timing_calls=3 if SMOKE else 30)
table1 = {r["method"]: r for r in part1["rows"]}
print(ex.format_rows(part1["rows"], ["method", "success", "violation_rate", "mean_length", "distortion", "ms_cpu"]))
print("part 1:", ex.elapsed(start))

# %% [markdown]
# Pick a method in the dropdown: blue episodes stayed out, purple ones entered a puddle. Look at *how*
# each method avoids it: guidance bends the whole chunk early, projection slides along the disk's edge.

# %%
captions = {m: f"violations {r['violation_rate']:.0%}, success {r['success']:.0%}" for m, r in table1.items()}
safety_viz.method_dropdown(part1["trajectories"], ex.PUDDLES, captions=captions, max_traces=60)

# %% [markdown]
# What the table says (computed, not typed). `distortion` is how far a method moves the chunk away from
# the unconstrained chunk drawn from the *same* initial noise, at states just below the puddles (mean
# distance per future action, `ex.distortion`): the price of the constraint in the sample itself.

# %%
base = table1["none"]
print(f"unconstrained: {base['violation_rate']:.0%} of episodes enter a puddle")
for name, m in [("final-sample projection", "project_final"), ("guidance", "guidance"),
                ("projection at every step", "project_every")]:
    r = table1[m]
    print(f"{name:26s}: violations {r['violation_rate']:.0%}, success {r['success'] - base['success']:+.0%} vs "
          f"unconstrained, episode length {r['mean_length'] - base['mean_length']:+.1f} steps, change to the sample "
          f"{r['distortion']:.2f}, {r['ms_cpu'] / base['ms_cpu']:.1f}x the sampling time")

# %% [markdown]
# ### Exercise 12.project_point
# Write the projection of one waypoint out of one disk grown by a margin: points inside move radially
# to the circle of radius `r + margin`, points outside stay where they are.

# %%
# EXERCISE 12.project_point
def project_point(p, center, radius, margin):
    """p (2,), center (2,) -> the nearest point at distance >= radius + margin from center."""
    raise NotImplementedError  # your code here


lk.check("12.project_point", project_point)

# %% [markdown]
# ## 2. Safe RL on top of a prior: a constrained MDP solved by PPO-Lagrangian
# **The claim.** SafeVLA (Zhang et al. 2025) aligns a pre-trained VLA by *modelling* safety as costs,
# *eliciting* unsafe behaviour, *constraining* the policy with Lagrangian safe RL (a CMDP, on top of
# the FLaRe/SPOC stack), and *assuring* it with targeted tests. It reports a large drop in cumulative
# safety cost at equal or better task success.
#
# **Key equations.** The CMDP and its Lagrangian, with `cost_limit = d`, the multiplier `lam`, the
# cost `c_t = info["cost"]`:
#
# $$\max_\pi J_r(\pi) \;\text{ s.t. }\; J_c(\pi) = \mathbb{E}\Big[\sum_t c_t\Big] \le d
#   \quad\Longrightarrow\quad \min_{\lambda \ge 0} \max_\pi \; J_r(\pi) - \lambda\,(J_c(\pi) - d)$$
#
# $$r'_t = \frac{r_t - \lambda c_t}{1 + \lambda}, \qquad
#   \lambda \leftarrow \mathrm{clip}\big(\lambda + \mathtt{lambda\_lr}\,(\hat J_c - d),\; 0,\; \lambda_{max}\big)
#   \text{ after every rollout.}$$
#
# On stock SB3 this is one callback (`lk.safety.LagrangianCallback`): SB3 hands `_on_step` the
# very reward array it is about to store, so shaping it in place is the whole algorithm. With the
# prior underneath, the agent is residual PPO (notebook 07): `a = clip(prior + scale * residual)`, with
# `scale = 1` so that it can overrule the prior where the prior's lane crosses a puddle. The final cost
# and success are measured on fresh episodes of the trained (stochastic) policy.

# %%
start = ex.cpu_clock()
preset = replace(ex.PRIOR_PRESET, steps=RL_STEPS, eval_episodes=EVAL_EPISODES)
COST_LIMIT = ex.COST_LIMIT
runs = {"unconstrained": ex.train_safe_rl(None, preset, seed=SEED, prior=prior),
        "lagrangian": ex.train_safe_rl(COST_LIMIT, preset, seed=SEED, prior=prior)}
for name, run in runs.items():
    f = run["final"]
    print(f"residual PPO, {name:13s}: episode cost {f['cost']:.2f} (limit {COST_LIMIT}), return {f['return']:.2f}, "
          f"success {f['success']:.0%}, lambda {f['lambda']:.2f}")
print("part 2 runs:", ex.elapsed(start))

# %%
curves = {name: [(run["history"]["steps"], run["history"]["episode_cost"])] for name, run in runs.items()}
viz.curves(curves, title="Episode cost during training (dashed: the limit d)",
           y_title="hazard entries per episode").add_hline(y=COST_LIMIT, line_dash="dash").show()
viz.curves({"lagrangian": [(runs["lagrangian"]["history"]["steps"], runs["lagrangian"]["history"]["lambda"])]},
           title="The multiplier lambda rises while the cost is over the limit", y_title="lambda")

# %% [markdown]
# **The frontier.** Every run of the benchmark's results (residual PPO-Lagrangian at each cost limit it
# ran, every seed, and unconstrained PPO at `d = inf`) is a point. Move the slider: the runs trained with
# that limit light up, and the dashed line is the limit. A run that meets its limit sits left of the line.

# %%
saved = [r for r in (cached or {}).get("saferl", {}).get("runs", []) if r["prior"]]
frontier_rows = [dict(r, label=f"d={r['cost_limit']} seed {r['seed']}") for r in saved]
if frontier_rows:
    steps = sorted({r["history"]["steps"][-1] for r in saved if r["history"]["steps"]})
    print(f"{len(frontier_rows)} runs from {cache_name} (residual PPO on the prior, about {steps[-1]} env steps each)")
else:  # no results file: the two live runs are the whole frontier
    frontier_rows = [{"cost_limit": COST_LIMIT if name == "lagrangian" else None, "label": f"live {name}", **run["final"]}
                     for name, run in runs.items()]
safety_viz.frontier_slider(frontier_rows)

# %% [markdown]
# **With and without the prior.** From scratch, PPO must first find the goal at all, and a multiplier
# that rises early punishes the exploration it needs (hence its smaller `lambda_lr`); with the prior it
# starts at the prior's success and only has to move off the puddles. The benchmark's cached runs
# (every seed it ran, listed at the end of the notebook; from scratch needs more steps than this
# notebook can afford) compare both:

# %%
saved = [r for r in (cached or {}).get("saferl", {}).get("runs", []) if r["cost_limit"] in (COST_LIMIT, None)]
if saved:
    for key in ("lagrangian_prior", "lagrangian_scratch"):
        if key in cached["targets"]:
            print(cached["targets"][key]["summary"])
    for on_prior, what in [(True, "residual PPO on the prior"), (False, "PPO from scratch")]:
        curves = {}
        for r in (r for r in saved if r["prior"] == on_prior):
            name = "unconstrained" if r["cost_limit"] is None else "lagrangian"  # one colour per name, kit-wide
            curves.setdefault(name, []).append((r["history"]["steps"], r["history"]["episode_cost"]))
        if curves:
            viz.curves(curves, title=f"{what}: episode cost while training ({cache_name}, limit d = {COST_LIMIT})",
                       y_title="hazard entries per episode").add_hline(y=COST_LIMIT, line_dash="dash").show()
else:
    print("run `python benchmarks/safety.py` (from scratch too) or `--quick` to fill benchmarks/results")

# %% [markdown]
# **Elicit.** The Lagrangian agent was trained to meet its limit from the task's own start. Where else is it
# unsafe? `ex.elicit_starts` tries 64 start positions uniformly in the lower half of the arena, then
# two rounds around the most costly ones (a cross-entropy search). Circles: the uniform round; crosses: the
# search.

# %%
start = ex.cpu_clock()
el_cfg = ex.ElicitConfig(n_per_round=8, rounds=1) if SMOKE else ex.ElicitConfig()
elicited = ex.elicit_starts(runs["lagrangian"]["model"], preset, prior=prior, config=el_cfg)
print(f"unsafe share of uniform starts: {elicited.uniform_unsafe_share:.0%}; worst (x, y, cost): "
      + ", ".join(f"({x:.2f}, {y:.2f}, {c:.0f})" for x, y, c in elicited.worst[:3]))
print("elicit:", ex.elapsed(start))
safety_viz.elicit_figure(elicited.starts, elicited.costs, elicited.rounds, ex.PUDDLES)

# %% [markdown]
# Try a start yourself (the Lagrangian agent, one episode, deterministic):

# %%
def try_start(x=0.3, y=-0.3):
    costs, succ = ex.start_rollout(runs["lagrangian"]["model"], preset, np.array([[x, y]]), prior=prior)
    print(f"start ({x:.2f}, {y:.2f}): cost {costs[0]:.0f}, success {bool(succ[0])}")


widgets.interact_manual(try_start, x=widgets.FloatSlider(value=0.3, min=-0.45, max=0.45, step=0.05, continuous_update=False),
                        y=widgets.FloatSlider(value=-0.3, min=-0.45, max=-0.2, step=0.05, continuous_update=False));

# %% [markdown]
# ### Exercise 12.lagrange_step
# Write one multiplier update: projected gradient ascent on `lam` with the measured mean episode cost.

# %%
# EXERCISE 12.lagrange_step
def lagrange_step(lam, mean_cost, cost_limit, lambda_lr, lambda_max):
    """The new lambda after one rollout whose episodes cost `mean_cost` on average."""
    raise NotImplementedError  # your code here


lk.check("12.lagrange_step", lagrange_step)

# %% [markdown]
# ## 3. Forgetting during fine-tuning
# **The claim.** Wołczyk et al. (ICML 2024): fine-tuning a pre-trained RL policy improves it on the
# states the new task visits (*close*) and can destroy what it did well on states it stops visiting
# (*far*). Knowledge-retention terms fix it; behaviour cloning on the pre-training data works best
# because its states include the far ones.
#
# **The set-up.** Pre-train an SB3 PPO policy by behaviour cloning on `two_routes_demos` (both routes).
# It drives either lane well but, being one Gaussian, cannot *choose* at the split (notebook 03's
# lesson), so it fails the new task, `TwoRoutesBlocked` (right route closed). Fine-tune it there with
# PPO: it learns to go left. The old capability we watch: finishing from the right lane above the
# barrier (`FT.far_start`), on the open task. Fine-tuning never goes there again. Watch *when* the
# old task goes: the new one is learnt early, the forgetting comes later, while PPO keeps training on
# left-route states only (`FT.steps` is long for that reason).
#
# **Key equations.** `RegularisedPPO` runs the PPO update, then an auxiliary phase minimising
#
# $$\mathtt{reg\_coef}\;\mathbb{E}_{s \sim \mathcal{D}}\Big[\mathrm{KL}\big(\pi_{pre}(\cdot|s)\,\|\,\pi_\theta(\cdot|s)\big)\Big],
#   \qquad \mathcal{D} = \begin{cases}\text{pre-training states} & \texttt{reg="bc"}\\
#   \text{this rollout's states} & \texttt{reg="ks"} \text{ (kickstarting)}\end{cases}$$

# %%
start = ex.cpu_clock()
pretrained = ex.pretrain_policy(FT, seed=SEED)
forgetting = {reg or "plain": ex.finetune_and_track(reg, FT, seed=SEED, pretrained=pretrained) for reg in (None, "bc", "ks")}
for name, run in forgetting.items():
    print(f"{name:5s}: old task {run['old'][0]:.0%} -> {run['old'][-1]:.0%}; new task {run['new'][0]:.0%} -> {run['new'][-1]:.0%}")
print("part 3:", ex.elapsed(start))

# %%
viz.curves({name: [(r["steps"], r["old"])] for name, r in forgetting.items()},
           title="Old task (finish from the right lane) during fine-tuning on TwoRoutesBlocked", y_title="success").show()
viz.curves({name: [(r["steps"], r["new"])] for name, r in forgetting.items()},
           title="New task (TwoRoutesBlocked) during fine-tuning", y_title="success")

# %% [markdown]
# **Open question.** Kickstarting pulls towards the same teacher with the same KL. Why does it protect
# the old task less than the BC term here? (Where do its states come from?) The answer is in the
# solutions file.

# %% [markdown]
# ## 4. Latency against the control rate: real-time chunking
# **The claim.** Black, Galliker & Levine (2025): when inference takes `d` control steps, the robot
# must keep executing the previous chunk; switching naively to the new chunk jumps between
# inconsistent plans. Real-time chunking freezes the actions that will run during inference and
# *inpaints* the rest of the new chunk to agree with them, training-free. It holds success on dynamic
# tasks where naive asynchronous execution fails.
#
# **First, how big is d?** At 20 Hz a control step lasts `1000 / 20` milliseconds. Measured here,
# at batch 1 on one CPU thread (the delay an inference costs is `ceil(ms / budget)` steps):

# %%
rows = ex.latency_rows(prior, calls=3 if SMOKE else 20)  # extra={"consistency (1 step)": policy}: notebook 11's
print(ex.format_rows(rows, ["policy", "ms_wall", "ms_cpu", "ms_per_action", "delay_steps", "budget_ms"], digits=2))

# %% [markdown]
# A small MLP prior fits the budget on this CPU; a VLA-sized model or DDPM-100 on a slow robot
# computer does not (lerobot issue #146 reports DDPM-100 at well under real time on a desktop GPU), so
# `d` of several steps is the realistic case. We simulate it: `d` steps of delay, execution horizon
# `s = 4` (RTC's name for what notebook 03 calls Ta, `n_action_steps`), a policy with chunks of `H = 8`
# (`ex.LATENCY_POLICY`: notebook 07's `prior` preset, half of 03's `chunked` chunk, with no observation
# history, so a delay of half a chunk still fits in the previous chunk).
#
# **Key equations.** At time t the robot executes `C[s], ..., C[s+d-1]` of the previous chunk while
# the new chunk N is sampled from `o_t`; then `N[d], ..., N[s-1]`. RTC pulls the clean guess of N
# towards `Y = C` shifted by `s`, on a soft mask `W` (1 on the `d` frozen actions, decaying over the
# rest of the overlap, 0 on the new tail), at every denoising step k:
#
# $$\hat x_0 \leftarrow \hat x_0 + w_k\, J^\top\big(W \odot (Y - \hat x_0)\big), \qquad
#   w_k = \min\Big(\beta, \frac{1 - \tau_k}{\tau_k}\Big),\; \tau_k = \frac{\sqrt{\bar\alpha_k}}{\sqrt{\bar\alpha_k} + \sqrt{1 - \bar\alpha_k}}$$
#
# with `J = d x0_hat / d x_t` (a vector-Jacobian product through the denoiser) and the cap $\beta$ =
# `max_guidance`.

# %%
start = ex.cpu_clock()
lat_policy = ex.train_latency_policy(iterations=LATENCY_ITERS, seed=SEED)
sweep = ex.delay_sweep(lat_policy, delays=(0, 2, 4) if SMOKE else (0, 1, 2, 3, 4), n_episodes=EPISODES, seed=SEED)
print(ex.format_rows(sweep, ["method", "delay", "success", "mean_length", "switch_jump"]))
print("part 4:", ex.elapsed(start))
safety_viz.delay_figure(sweep)

# %% [markdown]
# Slide d: red = naive switching, blue = RTC (the same noise seeds).

# %%
trajs = ex.delay_trajectories(lat_policy, delays=(0, 2, 4), n_episodes=6 if SMOKE else 30, seed=SEED)
safety_viz.delay_slider(trajs)

# %% [markdown]
# ### Exercise 12.frozen_prefix
# The previous chunk `previous` (H, A) was planned `s` steps before the new one. Which of its actions
# are executed during the `d` steps of inference, i.e. the prefix RTC freezes (new-chunk indices 0 .. d-1)?

# %%
# EXERCISE 12.frozen_prefix
def frozen_prefix(previous, s, d):
    """previous (H, A) -> the (d, A) actions the new chunk must start with."""
    raise NotImplementedError  # your code here


lk.check("12.frozen_prefix", frozen_prefix)

# %% [markdown]
# ### What the benchmark measured
# The four targets of this notebook's benchmark, over its seeds (read from its results file, not typed here):

# %%
if cached:
    print(f"{cache_name}: seeds {cached['seeds']}, quick={cached['quick']}")
    print("\n".join(ex.describe_targets(cached)))
else:
    print("no benchmark results yet: python benchmarks/safety.py --quick")

# %% [markdown]
# ## 5. What a laptop cannot measure
# - **Scalability.** The review's generalist policies (RT-2, OpenVLA, Octo, pi0) are trained on
#   hundreds of thousands of robot episodes with billions of parameters. Whether the effects above
#   (final-sample correction, Lagrangian fine-tuning, forgetting, RTC) hold at that scale is what
#   SafeVLA (AI2-THOR, Safety-CHORES), RTC (Kinetix and bimanual robots) and Wołczyk et al. (NetHack,
#   Montezuma's Revenge) measure; here they are claims we reproduce in miniature, not at scale.
# - **Grounding.** Our hazards are disks with known centres; a real robot must *perceive* them, and a
#   language-conditioned policy must ground "don't touch the stove" in pixels and contact. The kit's
#   own grounding (notebooks 04 and 06, coming) goes no further than templated captions and a small
#   trained image encoder.
# - **Long-tail safety assurance.** The elicit step found unsafe starts in a 2-D box; SafeVLA's
#   assurance stresses far larger, partly adversarial scenario spaces. Formal guarantees (CBF-based
#   SafeDiffuser) need a model of the dynamics, which our path integrator only approximates.
# - **Real hardware latency.** Our delay is simulated in control steps; real systems add jitter,
#   network hops and actuator lag.
#
# ## Read next
# - Moroncelli et al., *The Duality of Generative AI and RL in Robotics: A Review*, [arXiv:2410.16411](https://arxiv.org/abs/2410.16411) (safety and open challenges).
# - Zhang et al., *SafeVLA*, [arXiv:2503.03480](https://arxiv.org/abs/2503.03480); code: PKU-Alignment/SafeVLA; safe-RL library: PKU-Alignment/omnisafe ([arXiv:2305.09304](https://arxiv.org/abs/2305.09304)), its `PPOLag` and `common/lagrange.py`.
# - Xiao et al., *SafeDiffuser*, [arXiv:2306.00148](https://arxiv.org/abs/2306.00148); *Constrained Diffusers*, [arXiv:2506.12544](https://arxiv.org/abs/2506.12544); *DiRecT*, [arXiv:2606.15359](https://arxiv.org/abs/2606.15359).
# - Wołczyk et al., *Fine-tuning RL Models is Secretly a Forgetting Mitigation Problem*, [arXiv:2402.02868](https://arxiv.org/abs/2402.02868); kickstarting: Schmitt et al., [arXiv:1803.03835](https://arxiv.org/abs/1803.03835).
# - Black, Galliker & Levine, *Real-Time Execution of Action Chunking Flow Policies*, [arXiv:2506.07339](https://arxiv.org/abs/2506.07339); code: Physical-Intelligence/real-time-chunking-kinetix.
# - Prasad et al., *Consistency Policy*, [arXiv:2405.07503](https://arxiv.org/abs/2405.07503) (notebook 11), the one-step policy part 4 stands in for with few-step DDIM.
#
# ## Summary
# - Constraints on actions are constraints on the path they drive. Projecting only the final sample
#   (or guiding the clean guess) removes the violations at a small cost in success and time; projecting
#   every noisy iterate works here too but costs more sampling time and distorts more.
# - A CMDP needs only a cost signal and a multiplier: PPO-Lagrangian on stock SB3 is one callback. On top
#   of a prior it meets its limit within a notebook's budget; from scratch it must first find the task.
# - Fine-tuning forgets what the new task no longer visits; a BC term on the pre-training data keeps it,
#   kickstarting on the agent's own states does not reach those states.
# - With an inference delay of half a chunk, naive chunk switching loses success; freezing the executed
#   prefix and inpainting the rest keeps it, without retraining.
#
# ## Exercises
# 1. **12.project_point** (above): the projection every constraint method relies on.
# 2. **12.lagrange_step** (above): the multiplier update of PPO-Lagrangian.
# 3. **12.frozen_prefix** (above): which actions RTC freezes.
# 4. *Open:* why does kickstarting protect the old task less than BC here? *Open:* add the elicited
#    starts to the training start distribution (SafeVLA's elicit -> constrain loop) and re-run `elicit_starts`.
