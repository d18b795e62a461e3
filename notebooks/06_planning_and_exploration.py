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
# # 06 · Planning and exploration with generative models
#
# **Place on the map:** A3 *generative models inside RL*, leaf 5.3 *planning and exploration*
# (Diffuser, Decision Diffuser, SayCan, ELLM), and B1's *primitive generator*: RL-trained skills that
# a language model sequences.
#
# **Goals.** (1) Plan whole trajectories with a diffusion model, fix the start and the goal by
# inpainting, and steer the plans with a value's gradient (Diffuser). (2) Execute plans two ways,
# tracking the planned states or replaying the planned actions, and measure the difference.
# (3) Condition a states-only planner on a route and a speed and compose the two (Decision Diffuser).
# (4) Let a language model pick RL skills, grounded by the skills' value functions (SayCan).
# (5) Explore with a language model's suggestions as intrinsic reward (ELLM) and compare with RND.
#
# **Prerequisites.** Notebook 03 (diffusion policies: noise schedules, DDPM) and notebook 01 (PPO,
# value functions); notebook 04b introduces the language-model client of `labkit.llm`.
#
# **Time.** About 40 minutes to read, play and do the exercises; the first code cell prints the
# measured compute time. The heavy training (Diffuser, Decision Diffuser, the skill library) is
# shipped in `data/`, and so are the local language model's replies to this notebook's prompts
# (`planning_llm_cache.json`): the notebook replays them without loading the model, and only a prompt
# you change runs the model. `python -m labkit make-data NAME` remakes any of them.

# %%
import time

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

import labkit as lk
from labkit import viz
from labkit.experiments import planning_dd as XDD
from labkit.experiments import planning_diffusion as XD
from labkit.experiments import planning_explore as XE
from labkit.experiments import planning_language as XL
from labkit.planning import (
    GOALS,
    INSTRUCTIONS,
    Diffuser,
    DiffuserConfig,
    SayCanPlanner,
    caption_state,
    cosine_matrix,
    fit,
    plan_route,
    rollout_plans,
    run_instruction,
    trajectory_windows,
)
from labkit.planning.figures import (
    coverage_figure,
    denoising_figure,
    guidance_slider_figure,
    plans_figure,
    saycan_scores_figure,
)

SMOKE = lk.smoke_mode()
print(lk.course.compute_time("06_planning_and_exploration"))
EPISODES = 4 if SMOKE else 30
LIVE_ITERS = 20 if SMOKE else 400
T0, C0 = time.perf_counter(), time.process_time()
print(f"smoke={SMOKE}: {EPISODES} episodes per evaluation, {LIVE_ITERS} live training iterations")

# %% [markdown]
# ## 1. Diffuser: a diffusion model over whole trajectories
#
# A *plan* is an array of $H$ steps of state and action, $\tau = [(s_0, a_0), \dots, (s_{H-1}, a_{H-1})]$,
# with $s = (x, y, v_x, v_y)$. We cut the shipped TwoRoutes demonstrations into windows of
# `horizon` steps (a window that runs past its episode's end stays at the goal, at rest) and train
# a denoiser on them, exactly as notebook 03 trained one on action chunks.
#
# **Key equations** (symbols as in `labkit/planning/diffuser.py`):
#
# * noising: $\tau_t = \sqrt{\bar\alpha_t}\,\tau_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$; the network
#   `net` predicts the clean plan $\hat\tau_0(\tau_t, t)$ (`prediction_type="sample"`); the loss is
#   $\lVert \hat\tau_0 - \tau_0 \rVert^2$ over all entries except the inpainted ones;
# * **inpainting** (`apply_conditioning`): before every denoising step and at the end the known states
#   are written back, $\tau_t[0, :S] \leftarrow s_{\text{now}}$, $\tau_t[H-1, :S] \leftarrow s_{\text{goal}}$;
# * **value guidance** (`ValueGuide`): before each step,
#   $\tau_t \leftarrow \tau_t + \text{scale}\cdot\sigma_t^2\,\nabla_\tau J_\phi(\tau_t, t)$ while
#   $t \ge$ `t_stopgrad`, with $J_\phi$ a value trained on *noisy* plans to predict the return.

# %%
demos = lk.load("two_routes_demos")
windows = trajectory_windows(demos, horizon=64)
print(
    f"{len(demos)} episodes -> {len(windows)} windows of shape {windows.states.shape[1:]} (states) "
    f"and {windows.actions.shape[1:]} (actions)"
)
first = windows.subset(windows.start == 0)
viz.trajectories_figure(
    list(first.states[:40]),
    [plan_route(s) for s in first.states[:40]],
    title="Demonstration windows from the start (both routes)",
)

# %% [markdown]
# A short live training run, to see the loss fall. It is far too short for good plans: keep it, it
# shows below what tracking does for a weak planner. (Ctrl-C or the stop button keeps the weights.)

# %%
weak = Diffuser(DiffuserConfig(horizon=64, hidden_dim=256))
S, A = torch.as_tensor(windows.states), torch.as_tensor(windows.actions)
weak.fit_normalizer(S, A)
run = fit(weak, weak.compute_loss, [weak.encode(S, A)], LIVE_ITERS, batch_size=128, desc="weak Diffuser")
losses = run.losses["loss"]
print(
    f"{run.iterations_done} iterations in {run.seconds:.1f} s; "
    f"loss {np.mean(losses[:10]):.3f} -> {np.mean(losses[-10:]):.3f}"
)

# %% [markdown]
# The shipped model is wider (`hidden_dim` in its preset, printed below) and was trained the same way
# for longer. Sample plans from the start, with the start and the goal inpainted:

# %%
model, value, meta = XD.load_diffuser()
print(f"shipped Diffuser: width {meta['preset']['hidden_dim']}, {meta['preset']['iterations']} iterations ({meta['made_with']})")
start, goal = torch.as_tensor(XD.START_STATE), torch.as_tensor(XD.GOAL_STATE)
N_PLANS = 16 if SMOKE else 64
plan = model.sample(N_PLANS, {0: start, -1: goal}, generator=torch.Generator().manual_seed(0), return_chain=True)
routes = [plan_route(s) for s in plan.states.numpy()]
held = bool(torch.allclose(plan.states[:, 0], start.expand(N_PLANS, 4), atol=1e-6))
print({r: routes.count(r) for r in sorted(set(routes))}, "| start held exactly:", held)
plans_figure(plan.states.numpy(), title=f"{N_PLANS} plans from the start, coloured by route")

# %% [markdown]
# Drag the slider from the first iterate (pure noise, except the two inpainted states) to the last.
# The route is decided early, in the noisiest steps; the last steps only smooth the path.

# %%
chain_raw = torch.stack([model.decode(x)[0] for x in plan.chain[:, :12]])  # (K + 1, 12, H, 4)
denoising_figure(chain_raw.numpy(), title="Denoising twelve plans (slider: iterate)")


# %%
# EXERCISE 06.inpaint
def inpaint(x, known, state_dim):
    """Write the known states into a batch of normalised plans.

    :param x: (B, H, D) plans; the first ``state_dim`` columns of each step are the state.
    :param known: {step k: (B, state_dim) state}; steps may be negative (-1 = the last).
    :return: x with x[:, k, :state_dim] = known[k] for every k (the actions untouched).
    """
    raise NotImplementedError  # your code here


lk.check("06.inpaint", inpaint)

# %% [markdown]
# ## 2. Tracking the planned states vs replaying the planned actions
#
# Diffuser's published Maze2D results track the planned *states* with a hand-written PD controller;
# replaying its own *actions* scores an order of magnitude lower (the issue thread and the Diffusion
# Forcing paper list both). Here the tracker is feed-forward on the planned velocity plus P on the
# position error, $a_k = v^{plan}_{k+1}/v_{max} + k_p (p^{plan}_{k+1} - p_k)$ (`TrackingController`),
# against the plan's actions replayed open loop, for the weak live-trained model and the shipped one.

# %%
rows = {}
for name, m in (("weak (live)", weak), ("shipped", model)):
    planner = XD.diffuser_planner(m, seed=1)
    for mode in ("track", "actions"):
        r = rollout_plans(lambda: lk.make("labkit/TwoRoutes-v0"), planner, EPISODES, mode=mode, seed=1000)
        rows[(name, mode)] = r.result
        print(f"{name:>12} | {mode:>7}: success {r.result.success_rate:.0%}, routes {r.result.route_counts}")
shown = [(md, t) for (n, md), res in rows.items() if n == "shipped" for t in res.trajectories[:15]]
viz.trajectories_figure(
    [t for _, t in shown], [md for md, _ in shown], title="Shipped Diffuser: tracked states vs replayed actions"
)

# %% [markdown]
# ## 3. Value guidance: the world changed, the planner did not
#
# `TwoRoutesBlocked-v0` closes the right-hand route. We do not retrain the diffusion model. We relabel
# the demonstrations instead: each one's actions are replayed in the blocked world
# (`blocked_world_rewards`); left-route episodes earn what they earned before, right-route ones hit
# the barrier. A value $J_\phi(\tau_t, t)$ regresses the windows' discounted returns, and its gradient
# steers sampling. The slider shows the plans for a growing `scale` (`t_stopgrad` = 0).

# %%
sweep = XD.guidance_sweep(
    model, value, scales=(0.0, 0.3, 1.0, 3.0, 10.0), t_stopgrads=(0, 10, 15, 18), n_plans=N_PLANS
)
for (s, ts), v in sweep.items():
    if ts == 0:
        print(
            f"scale {s:>5g}: left {v['routes']['left']:.0%}, right {v['routes']['right']:.0%}, "
            f"through the cup {v['routes']['through']:.0%}, predicted return {v['value']:.2f}"
        )
guidance_slider_figure({s: v["plans"] for (s, ts), v in sweep.items() if ts == 0}, title="Guided plans")

# %% [markdown]
# `t_stopgrad` switches guidance off for the last, least noisy steps ($t <$ `t_stopgrad`; the chain
# runs from the noisiest timestep down to 0). Pick both with the sliders (cached plans, nothing is
# recomputed): which of the two matters more, and why?


# %%
def show_sweep(scale, t_stopgrad):
    v = sweep[(scale, t_stopgrad)]
    title = f"scale {scale:g}, t_stopgrad {t_stopgrad}: left {v['routes']['left']:.0%}, return {v['value']:.2f}"
    return plans_figure(v["plans"], title=title)


widgets.interact(
    show_sweep,
    scale=widgets.SelectionSlider(options=sorted({s for s, _ in sweep}), value=3.0, continuous_update=False),
    t_stopgrad=widgets.SelectionSlider(options=sorted({t for _, t in sweep}), continuous_update=False),
)

# %% [markdown]
# Does guidance pay off in the changed world? Tracked plans, unguided and guided:

# %%
blocked = {}
for scale in (0.0, XD.GUIDED["scale"]):
    planner = XD.diffuser_planner(model, value, scale=scale, t_stopgrad=XD.GUIDED["t_stopgrad"], seed=2)
    r = rollout_plans(lambda: lk.make("labkit/TwoRoutesBlocked-v0"), planner, EPISODES, mode="track", seed=3000)
    blocked[scale] = r.result
    print(f"TwoRoutesBlocked, scale {scale:g}: success {r.result.success_rate:.0%}, routes {r.result.route_counts}")

# %%
# EXERCISE 06.route_share
# Of the unguided plans sampled in section 1 (`plan.states`), what share passes the cup on the left?
# (A plan's route is the side on which it first reaches y >= 0.)
plans_np = plan.states.numpy()
share_left = None  # your code here

lk.check("06.route_share", (plans_np, share_left))

# %% [markdown]
# ## 4. Decision Diffuser: states only, conditions, composition
#
# Decision Diffuser drops the actions from the plan, conditions on attributes with **classifier-free
# guidance**, and recovers actions with an inverse-dynamics model:
#
# $$\hat\tau_0 = \hat\tau_0(\tau_t, \varnothing) + \sum_i w_i\,\big(\hat\tau_0(\tau_t, y_i) -
# \hat\tau_0(\tau_t, \varnothing)\big), \qquad a_k = f_{inv}(s_k, s^{plan}_{k+1}).$$
#
# One network learns all the conditionals because each condition group (route, speed) is zeroed at
# random in training (`cond_drop`). The shipped model saw fast demonstrations of both routes and
# *slow* ones of the **right** route only: "slow and left" never occurs in its data. Composing "left"
# with "slow" asks for it anyway. The planner replans every few steps from the current state.

# %%
dd, dd_meta = XDD.load_decision_diffuser()
print(f"shipped Decision Diffuser: {dd_meta['windows']} windows, held out: {dd_meta['preset']['holdout']}")
dd_res = XDD.evaluate_decision_diffuser(
    dd, n_episodes=2 if SMOKE else EPISODES // 2, seed=2000, max_steps=60 if SMOKE else 200
)
for name, v in dd_res.items():
    print(
        f"{name:>28}: success {v['success_rate']:.0%}, left {v['route_share_all']['left']:.0%}, "
        f"mean speed {v['mean_speed']:.2f} m/s, steps {v['mean_length']:.0f}"
    )

# %%
g = torch.Generator().manual_seed(0)
obs0 = torch.tensor([[0.0, -0.35, 0, 0, 0, 0.7, 0, 0.35]]).repeat(8 if SMOKE else 24, 1)
dd_plans = {name: dd.plan(obs0, terms, generator=g).states.numpy() for name, terms in XDD.DD_CONDITIONS.items()}
viz.trajectories_figure(
    [p for v in dd_plans.values() for p in v],
    [n for n, v in dd_plans.items() for _ in v],
    title="Decision Diffuser plans (the first window) by condition",
)

# %% [markdown]
# ## 5. SayCan: a language model picks RL skills, their values say what is possible
#
# The skill library is one SB3 PPO agent trained on `labkit/TwoRoutesSkills-v0` (marks in the
# corners, a barrier that may close either route, the skill as a one-hot input), so each primitive
# has its own value. The skill reward is a success bonus plus potential-based shaping
# $\gamma\Phi(s') - \Phi(s)$ with $\Phi = -k\,\lVert p - \text{target}\rVert$ and $\Phi = 0$ at the
# end, so the critic converts exactly into a discounted success probability, the *affordance*:
#
# $$\text{affordance}_k(s) = V_{\text{shaped}}(s, k) + \Phi_k(s), \qquad
# \text{choice} = \arg\max_k\; p_{LLM}(\text{skill}_k \mid \text{instruction}, \text{done so far})
# \cdot \text{affordance}_k(s).$$
#
# Say only drops the affordance, Can only drops the language model. The affordance of "go round the
# cup on the left", with and without the left barrier:

# %%
lib = XL.load_skill_library()
print(f"skill library: {lib.config.total_steps} PPO steps; skills: {lib.skills}")
fig = make_subplots(1, 2, subplot_titles=["no barrier", "left route closed"])
for i, b in enumerate(("none", "left")):
    c, amap = XL.affordance_map(lib, "go round the cup on the left", b, n=9 if SMOKE else 25)
    fig.add_trace(go.Heatmap(z=amap, x=c, y=c, zmin=0, zmax=1, coloraxis="coloraxis"), 1, i + 1)
fig.update_layout(
    title="Affordance of 'go round the cup on the left' (robot at rest)",
    height=340,
    coloraxis=dict(colorscale="Viridis"),
)
fig

# %% [markdown]
# The language model is the kit's local SmolLM2 (`labkit.llm.get_client()`, or the model `LABKIT_LLM`
# names) behind the shipped reply cache; in smoke mode it is switched off and only cached replies are
# used. Say only, Can only and SayCan over the instructions, with each barrier:

# %%
client = XL.language_client(offline=SMOKE)
subset = INSTRUCTIONS[:2] if SMOKE else INSTRUCTIONS
sc = XL.saycan_suite(client, lib, instructions=subset)
for mode, r in sc.items():
    print(f"{mode:>7}: success {r['success_rate']:.0%} over {len(r['logs'])} episodes ({r['seconds']:.1f} s)")
log = next(lg for lg in sc["saycan"]["logs"] if lg.barrier == "left")
print(f"SayCan, {log.barrier} route closed: {log.instruction!r} -> {log.choices} | visited {log.visited}")
saycan_scores_figure(SayCanPlanner(client).options, log.scores[0], title="First choice: language x affordance")

# %% [markdown]
# Watch one: the blue mark, with the left route closed.

# %%
i, barrier, seed = XL.FILMED
ep = run_instruction(SayCanPlanner(client), lib, INSTRUCTIONS[i], barrier, seed=seed, record=True)
print(ep.choices, "| success:", ep.success)
viz.show_videos({f"SayCan, {barrier} route closed: {ep.instruction}": ep.frames[:: 2 if SMOKE else 1]}, fps=20)


# %%
# EXERCISE 06.saycan_choice
def choose(llm_probs, affordances):
    """SayCan's choice: the index of the option that is both likely under the language model and feasible.

    :param llm_probs: (K,) p_LLM(option | instruction, history), sums to 1.
    :param affordances: (K,) success probability of each option from the current state ("done": 1).
    """
    raise NotImplementedError  # your code here


lk.check("06.saycan_choice", choose)

# %% [markdown]
# ## 6. ELLM: explore what a language model finds worth doing
#
# ELLM captions the state, asks the language model for goals, and pays when the caption of a
# transition is close to a suggested goal in a sentence embedding $E$ (MiniLM, `labkit.llm.Embedder`):
#
# $$r_{int} = \max_g \cos\big(E(c(s_t, s_{t+1})), E(g)\big)\ \text{ if above `threshold`, each goal once per episode.}$$
#
# RND (the baseline) pays for novelty instead: $r_{int} = \lVert f(s') - \hat f(s') \rVert^2$, a
# predictor $\hat f$ chasing a fixed random network $f$. First, how well does the embedding tell the
# captions apart?

# %%
emb = lk.llm.Embedder()
events = [
    "the robot went round the cup on the left",
    "the robot went round the cup on the right",
    "the robot reached the goal",
    "the robot reached the blue mark",
    "the robot reached the red mark",
    "the robot drove into the cup",
]
C = cosine_matrix(emb.encode, events, GOALS)
lr = cosine_matrix(emb.encode, events[:1], ["go round the cup on the left", "go round the cup on the right"])[0]
print(f"'went round on the left' vs the goals 'left' / 'right': cosine {lr[0]:.2f} / {lr[1]:.2f}")
go.Figure(go.Heatmap(z=C, x=list(GOALS), y=events, zmin=0, zmax=1)).update_layout(
    title="MiniLM cosine: captions of events (rows) vs goals (columns)", height=380
)

# %%
suggest = XL.ellm_suggester(client)
for pos in ([0.0, -0.35], [-0.3, 0.0], [0.0, 0.25]):
    cap = caption_state(np.array(pos))
    print(f"{cap:40s} -> {suggest(cap)}")
print(f"language model {client.name}: {client.hits} replies from the shipped cache, {client.misses} from the model")

# %% [markdown]
# PPO on a sparse task (reach the blue mark, behind the cup) with no intrinsic reward, with RND and
# with ELLM, one seed each here (the benchmark runs three). Coverage = the share of the plane's free
# cells visited during training.

# %%
steps = 2_048 if SMOKE else 10_000
runs = {m: XE.run_exploration(0, m, steps, embed=emb.encode, suggest=suggest) for m in XE.METHODS}
for m, r in runs.items():
    print(f"{m:>5}: coverage {r['coverage']:.0%}, final success {r['success']:.0%} ({r['seconds']:.1f} s)")
coverage_figure({m: np.array(r["counts"]) for m, r in runs.items()}, title=f"Visits during {steps} steps of PPO")

# %% [markdown]
# The benchmark (`python benchmarks/planning.py --quick`) runs every part over several seeds; its
# numbers, if the results file is there:

# %%
bench = lk.course.timing.RESULTS.parent / "planning_quick.json"
if bench.exists():
    import json

    b = json.loads(bench.read_text())
    for name, target in b.get("targets", {}).items():
        values = ", ".join(f"{k} {v:.0%}" for k, v in target.items() if k != "met")
        print(f"[{'met' if target['met'] else 'not met'}] {name}: {values}")
    for row in b.get("table", []):
        if row["part"] in ("SayCan", "ELLM / RND"):
            print(f"{row['part']:>10} | {row['setting']:<40} {row['metric']:>8}: mean {row['mean']:.0%}")
else:
    print("no benchmark results yet: run python benchmarks/planning.py --quick")
print(f"this notebook ran in {time.perf_counter() - T0:.0f} s wall, {time.process_time() - C0:.0f} s CPU")

# %% [markdown]
# ## Summary
#
# * A diffusion model over whole trajectories keeps both routes; inpainting fixes the start and the
#   goal exactly; a value's gradient steers the plans to the open route without retraining the model.
# * Tracking planned states with a simple controller is robust to a weak model; replaying the model's
#   own actions depends on how well it was trained (compare the two models above).
# * Decision Diffuser conditions a states-only planner; composing two conditions needs moderate
#   weights, and it can be asked for a combination its data never showed.
# * SayCan multiplies what the language model wants by what the skills can do: the language model
#   cannot see the barrier, the value functions can.
# * ELLM's reward is only as good as the embedding's distinctions (left and right are close in MiniLM).
#
# ## Exercises
#
# 1. `06.inpaint` and `06.route_share` (sections 1 and 3), `06.saycan_choice` (section 5).
# 2. Open: raise `scale` until plans leave the data (through the cup). Does `t_stopgrad` prevent it?
# 3. Open: change the composition weights in `XDD.DD_CONDITIONS` and find where "left + slow" stalls.
# 4. Open: give "done" a lower affordance (`SayCanPlanner(done_affordance=...)`): what does Can only do?
# 5. Open: set ELLM's `threshold` below the left/right confusion level and explain the coverage.
#
# ## Read next
#
# * Janner, Du, Tenenbaum, Levine (2022), *Planning with Diffusion for Flexible Behavior Synthesis*,
#   [arXiv:2205.09991](https://arxiv.org/abs/2205.09991); code: jannerm/diffuser.
# * Ajay, Du, Gupta, Tenenbaum, Jaakkola, Agrawal (2023), *Is Conditional Generative Modeling all you
#   need for Decision-Making?*, [arXiv:2211.15657](https://arxiv.org/abs/2211.15657); code:
#   anuragajay/decision-diffuser.
# * Ahn et al. (2022), *Do As I Can, Not As I Say: Grounding Language in Robotic Affordances*,
#   [arXiv:2204.01691](https://arxiv.org/abs/2204.01691); code: google-research/google-research (saycan).
# * Du, Watkins, Wang, Colas, Darrell, Abbeel, Gupta, Andreas (2023), *Guiding Pretraining in
#   Reinforcement Learning with Large Language Models*, [arXiv:2302.06692](https://arxiv.org/abs/2302.06692);
#   code: yuqingd/ellm.
# * Burda, Edwards, Storkey, Klimov (2019), *Exploration by Random Network Distillation*,
#   [arXiv:1810.12894](https://arxiv.org/abs/1810.12894).
# * Chen et al. (2024), *Diffusion Forcing*, [arXiv:2407.01392](https://arxiv.org/abs/2407.01392)
#   (Diffuser's own-action Maze2D scores).
