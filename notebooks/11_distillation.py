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
# # 11 · Policy distillation: experts into a generalist, a generalist into an expert, many steps into one
#
# **Place on the map:** B3 *policy distillation*, both directions: from RL experts to a generalist
# (RLDG) and from a generalist to an RL expert (RPD); and one open challenge, *latency*: a diffusion
# policy distilled into a one-step consistency policy.
#
# **Goals.** (1) Train one PPO specialist per task variant and distil their rollouts into ONE
# variant-conditioned diffusion policy; compare with the same policy trained on scripted
# demonstrations, and swap actions and states to see which of the two matters. (2) Refine an imperfect
# generalist into an expert with PPO plus a decaying pull towards the generalist's actions, against PPO
# from scratch. (3) Distil a diffusion policy into a consistency policy and place every sampler on a
# success-against-milliseconds plot with a 20 Hz control budget.
#
# **Prerequisites.** Notebook 01 (PPO with SB3), 02 (demonstrations), 03 (diffusion policy, DDPM/DDIM).
#
# **Time.** About 15 minutes of reading and 20 minutes for the exercises; the first code cell prints the
# measured compute time. `LABKIT_SMOKE=1` runs everything with tiny budgets (the numbers then mean nothing).

# %%
import json
from pathlib import Path

import numpy as np

import labkit as lk
from labkit import viz
from labkit.experiments import distill as X

SMOKE = lk.smoke_mode()
print(lk.course.compute_time("11_distillation"))
B = X.budget("smoke" if SMOKE else "notebook")
RPD_SEEDS = [0] if SMOKE else [0, 1]
RESULTS = Path(lk.__file__).resolve().parents[1] / "benchmarks" / "results"
BENCH = next((p for p in (RESULTS / "distillation.json", RESULTS / "distillation_quick.json") if p.is_file()), None)
bench = json.loads(BENCH.read_text()) if BENCH is not None else None  # written by benchmarks/distillation.py
print(f"smoke={SMOKE}; benchmark results: {BENCH.name if BENCH else 'none yet'}")
print(B)

# %% [markdown]
# ## 1. Experts -> generalist (RLDG)
# Five variants of TwoRoutes, each one keyword of `TwoRoutesEnv` away (`X.VARIANTS`): `left` and
# `right` close the other route with a barrier the observation does not show, `shifted` moves the cup,
# `goal_left` and `goal_right` move the goal. A generalist cannot tell `left` from `right` by looking,
# so it gets the variant as a one-hot condition $c_v$ appended to the observation
# (`X.variant_condition(v)`, `lk.distill.ConditionObservation`).
#
# RLDG (Xu et al. 2024) trains an RL specialist $\pi^{\mathrm{RL}}_v$ per variant, rolls it out, and
# trains the generalist on the union of the rollouts. Here the generalist is a diffusion policy
# $\epsilon_\phi$ (notebook 03) trained with the usual noise-prediction loss on that union:
#
# $$\mathcal{D}=\bigcup_{v}\big\{([s, c_v],\,a)\;:\;a=\pi^{\mathrm{RL}}_v(s)\big\},\qquad
# \mathcal{L}(\phi)=\mathbb{E}_{([s,c],a)\sim\mathcal{D},\,t,\,\epsilon}\,
# \big\|\epsilon-\epsilon_\phi\big(\sqrt{\bar\alpha_t}\,a+\sqrt{1-\bar\alpha_t}\,\epsilon,\;t,\;[s,c]\big)\big\|^2 .$$
#
# The baseline keeps everything but the data: the scripted demonstrator of notebook 02 with more
# action noise (`B.demo_noise`), our stand-in for a human teleoperator. The specialists use notebook 01's
# PPO settings (`X.PPO_KWARGS`); a bar shows each one's progress.

# %%
specialists, spec_logs = X.train_specialists(B, seed=0)
viz.curves({"PPO specialists (band over the five variants)": list(spec_logs.values())},
           title="Specialists: greedy success during training", y_title="success rate")

# %% [markdown]
# Record `B.episodes_per_variant` episodes per variant from each specialist and from the scripted
# demonstrator. Two more datasets separate *what* is imitated: the specialists' **states** relabelled
# with the demonstrator's **actions**, and the demonstrator's states relabelled with the specialists'
# actions (`lk.distill.relabel_actions`). Below, the variant `left`: compare the specialist's line with
# the demonstrator's.

# %%
data = X.collect_variant_data(specialists, B, seed=0)
for source in X.DATA_SOURCES:
    print(f"{source:>30}: {sum(ds.n_steps for ds in data[source].values())} steps")
rl_left, demo_left = data["RL specialists"]["left"], data["scripted demos"]["left"]
viz.trajectories_figure(
    [rl_left.episode(i)["observations"] for i in range(len(rl_left))]
    + [demo_left.episode(i)["observations"] for i in range(len(demo_left))],
    ["RL specialist"] * len(rl_left) + ["scripted demo"] * len(demo_left),
    title="Variant 'left' (the right route is closed): the data",
)

# %% [markdown]
# One generalist per dataset, all with the same budget (`B.generalist_iterations` steps), each
# evaluated on every variant with its condition.

# %%
generalists, evals = {}, {}
for source in X.DATA_SOURCES:
    generalists[source], _ = X.train_generalist(data[source], B.generalist_iterations, seed=0)
    evals[source] = X.evaluate_per_variant(generalists[source], B.eval_episodes)
    rates = {v: r.success_rate for v, r in evals[source].items()}
    print(f"{source:>30}: mean success {np.mean(list(rates.values())):.0%}, mean episode length "
          f"{np.mean([np.mean(r.lengths) for r in evals[source].values()]):.0f} steps")
viz.success_by_variant_figure([{s: {v: r.success_rate for v, r in evals[s].items()} for s in X.DATA_SOURCES}],
                              title="Generalists: success per variant (this run, seed 0)")

# %% [markdown]
# The benchmark repeats this over seeds (bars: mean, whiskers: range over seeds):

# %%
if bench is not None and "rldg" in bench:
    fig = viz.success_by_variant_figure([r["table_success"] for r in bench["rldg"]["per_seed"]],
                                        title=f"Generalists over {len(bench['rldg']['per_seed'])} seed(s) "
                                        f"({BENCH.name}): success per variant")
else:
    fig = None
    print("Run `python benchmarks/distillation.py` to add the benchmark's version of this figure.")
fig

# %% [markdown]
# Same start, same network, only the condition differs: the generalist takes the route its variant
# leaves open.

# %%
best = generalists["RL specialists"]
viz.show_videos({f"condition '{v}'": X.record_variant(best, v) for v in ("left", "right", "goal_left")}, fps=20)

# %% [markdown]
# ## 2. Generalist -> expert (RPD)
# Now the other direction. Take the generalist trained on scripted demonstrations, good but imperfect
# on variant `B.rpd_variant`, as a *teacher*, and train a PPO *student* on that variant, this time with
# a sparse reward (`B.rpd_reward`: 1 on success, 0 otherwise), so that PPO from scratch must first find
# the goal by chance. Refined Policy Distillation (Jülg et al. 2025) adds one term to PPO's loss: on
# the states $s_i$ the student visited, the squared distance between its mean action $\mu_\theta(s_i)$
# and the teacher's action (here the mean of `B.rpd_teacher_samples` samples of the generalist), with a
# weight $\lambda_k$ that decays to zero over `anneal_steps` $=K$ env steps:
#
# $$\mathcal{L}(\theta)=\mathcal{L}^{\mathrm{PPO}}(\theta)+\lambda_k\,\frac1N\sum_{i=1}^{N}
# \big\|\mu_\theta(s_i)-a^{\mathrm{teacher}}(s_i)\big\|^2,\qquad
# \lambda_k=\lambda_0\,\tfrac12\Big(1+\cos\big(\pi\min(k/K,1)\big)\Big),\quad \lambda_0=\texttt{distill\_weight}.$$
#
# SB3 has no hook for an extra loss term, so `lk.distill.RPDPPO` (in `labkit/distill/rpd.py`) re-states
# PPO's `train()` in one screen with the term added; read it. The teacher is queried once per rollout,
# on the whole buffer.

# %%
teacher = generalists["scripted demos"]
rpd_runs = [X.run_rpd(teacher, B, seed=s) for s in RPD_SEEDS]
bar = float(np.mean([r["teacher_success"] for r in rpd_runs]))
fig = viz.curves({m: [r["logs"][m] for r in rpd_runs] for m in ("RPD student", "PPO from scratch")},
                 title=f"Variant '{B.rpd_variant}': greedy success (band over seeds)", y_title="success rate")
fig.add_hline(y=bar, line_dash="dash", annotation_text="teacher (the generalist)")
fig

# %%
if bench is not None and "sparse" in bench.get("rpd", {}):
    runs = bench["rpd"]["sparse"]["per_seed"]
    fig = viz.curves({m: [(r[m]["steps"], r[m]["success"]) for r in runs] for m in ("RPD student", "PPO from scratch")},
                     title=f"Benchmark, {len(runs)} seed(s), sparse reward: greedy success (band: range over seeds)",
                     y_title="success rate")
    fig.add_hline(y=float(np.mean([r["teacher_success"] for r in runs])), line_dash="dash", annotation_text="teacher")
else:
    fig = None
    print("Run `python benchmarks/distillation.py` to add the benchmark's version of this figure.")
fig

# %%
for r in rpd_runs:
    s = X.rpd_summary(r)
    reach = {m: "never, within the budget" if s[m]["steps_to_teacher"] is None
             else f"at {s[m]['steps_to_teacher']} env steps" for m in ("RPD student", "PPO from scratch")}
    print(f"teacher {s['teacher_success']:.0%} | " + " | ".join(
        f"{m}: reaches the teacher {reach[m]}, ends at {s[m]['final_success']:.0%}" for m in reach))
log = rpd_runs[0]["distill_log"]
viz.loss_figure({"distillation MSE": log.curve("distill_loss")[1], "weight lambda": log.curve("weight")[1]},
                smooth=1, log_y=False, x_title="PPO update", y_title="value",
                title="RPD: the pull towards the teacher, and its weight")

# %% [markdown]
# The MSE falls while $\lambda$ is large (the student copies the teacher); as $\lambda\to0$ the student
# is free to leave the teacher, and PPO takes it from there.

# %%
student = rpd_runs[0]["models"]["RPD student"]
viz.show_videos({"teacher (generalist)": X.record_variant(teacher, B.rpd_variant),
                 "RPD student": X.record_variant(student, B.rpd_variant, conditioned=False)}, fps=20)

# %% [markdown]
# ## 3. Many steps -> one (consistency distillation)
# A diffusion policy pays for its expressiveness at run time: DDPM takes 100 network calls per chunk,
# DDIM 10. A *consistency function* $f_\psi(x_t,t)$ jumps from any point of the teacher's sampling path
# straight to its end, so one call can replace them all (Consistency Policy, Prasad et al. 2024). It is
# learned by making $f_\psi$ agree with itself one teacher step later, on demonstrations noised to a
# grid of `n_grid` timesteps $t_0>\dots>t_N=-1$:
#
# $$\mathcal{L}(\psi)=\mathbb{E}_{n,\,x_0,\,\epsilon}\Big\|f_\psi(x_{t_n},t_n)-\mathrm{sg}\big[f_\psi(\hat x_{t_{n+1}},t_{n+1})\big]\Big\|^2,
# \quad x_{t_n}=\sqrt{\bar\alpha_{t_n}}x_0+\sqrt{1-\bar\alpha_{t_n}}\epsilon,\quad
# \hat x_{t_{n+1}}=\mathrm{DDIM}_{\mathrm{teacher}}(x_{t_n}\!\to t_{n+1}),\quad f_\psi(x,-1)=x .$$
#
# $\mathrm{sg}$ is stop-gradient. The teacher is the kit's shipped TwoRoutes diffusion policy (notebook
# 07's prior, trained as in notebook 03); `lk.distill.distill_consistency(teacher, demos)` returns a
# `ConsistencyPolicy` that `lk.evaluate` takes like any other.

# %%
cm_teacher, demos = X.make_cm_teacher("shipped")
cm = X.run_consistency(cm_teacher, demos, B, seed=0)
viz.loss_figure({"consistency distillation": cm["log"].loss}, title="Distillation loss")

# %% [markdown]
# Every sampler at batch 1 on this machine: milliseconds per executed action (a call returns a chunk
# of `n_action_steps` actions) against success and the left route's share of successes. Move the
# slider to choose the number of steps $K$ for DDIM and for the consistency policy.

# %%
for row in cm["rows"]:
    print(f"{row['label']:>15}: {row['ms_per_action']:7.3f} ms per action, success {row['success']:.0%}, "
          f"left {row['left']:.0%} / right {row['right']:.0%}")
targets = X.consistency_targets(cm["rows"])
print(f"one step vs DDIM-10: {targets['speedup_vs_ddim10']:.1f}x faster, "
      f"{targets['success_drop_points']:+.0f} points of success lost")
viz.latency_success_figure(cm["rows"], budget_hz=20)

# %% [markdown]
# The benchmark's version: every setting averaged over its seeds and evaluated on more episodes (route
# shares need many).

# %%
if bench is not None and "consistency" in bench:
    fig = viz.latency_success_figure(
        bench["consistency"]["rows"], budget_hz=20,
        title=f"Benchmark, {len(bench['consistency']['per_seed'])} seed(s), {bench['consistency']['teacher']} "
        "teacher: success and route balance against ms per action")
else:
    fig = None
    print("Run `python benchmarks/distillation.py` to add the benchmark's version of this figure.")
fig

# %%
r = lk.evaluate(cm["student"], X.ENV_ID, 2, seed=5, record_episodes=2, progress=False)
viz.show_videos({f"one-step consistency policy ({route})": f for route, f in zip(r.routes, r.frames)}, fps=20)

# %% [markdown]
# ## Summary
# * **Experts -> generalist.** A conditioned diffusion policy learns the variants from the specialists'
#   rollouts better than from noisy scripted demonstrations at the same budget, and drives like the
#   specialists (shorter episodes). The swaps say why: the specialists' *actions* on the
#   demonstrator's states are about as good as the specialists' own data, while the demonstrator's
#   actions on the specialists' states are the worst of all (labels that do not lead to the states
#   they were recorded on).
# * **Generalist -> expert.** With the teacher's pull the PPO student starts where the teacher is, so
#   it reaches the teacher's success in fewer env steps than PPO from scratch (which, with a sparse
#   reward, first has to stumble on the goal), then, with the weight gone, can go beyond it. Beyond is not
#   always stable: once every episode succeeds, a sparse reward gives PPO no signal and the greedy policy
#   can drift (the benchmark's curves show it on some seeds).
# * **Many steps -> one.** The consistency policy needs one network call per chunk. Check above how
#   much success and route balance it keeps against DDIM and DDPM, and where all of them sit against
#   the 20 Hz budget (on this tiny MLP everything fits: the budget bites on a real robot with a
#   vision encoder and a bigger network).
#
# ## Exercises
# Each cell says "not yet" until you complete it; worked answers are in `solutions/11_distillation.py`.
# 1. *(5 minutes)* Write RPD's extra term `rpd_term(student_mean, teacher_action, step, start, anneal_steps)`:
#    $\lambda_k$ times the mean squared difference. The check compares it with `lk.distill.cosine_decay`.
# 2. *(5 minutes)* Write the regression target of consistency distillation, with its boundary condition.
# 3. *(10 minutes)* Relabel RL states with the scripted expert's actions, as in the
#    "RL states + scripted actions" dataset of part 1.

# %%
# EXERCISE 11.rpd_term
def rpd_term(student_mean, teacher_action, step, start, anneal_steps):
    """lambda(step) * mean squared difference; student_mean, teacher_action: (N, A) tensors."""
    raise NotImplementedError  # your code here


lk.check("11.rpd_term", rpd_term)

# %%
# EXERCISE 11.consistency_target
def consistency_target(x_s, s, f_target):
    """The regression target for x_s (B, H, A) at timesteps s (B,); s == -1 means the end of the path."""
    raise NotImplementedError  # your code here


lk.check("11.consistency_target", consistency_target)

# %%
# EXERCISE 11.scripted_labels
def scripted_labels(rl_data, noise):
    """rl_data's states, each labelled by lk.experts.TwoRoutesExpert(route=<the episode's route>, noise=noise)."""
    raise NotImplementedError  # your code here (lk.distill.relabel_actions does the loop)


lk.check("11.scripted_labels", scripted_labels)

# %% [markdown]
# Open questions (answers in the solutions file):
# 1. Train the generalists for three times more iterations. Does the gap between RL data and
#    demonstrations close? What does that say about *when* RL data helps?
# 2. Rerun part 2 with the dense reward (`B = X.budget("notebook", rpd_reward="dense")`). How much of
#    the student's head start is left when the reward guides PPO from scratch too?
# 3. Distil with `dsm_weight=1.0` (Consistency Policy's extra denoising loss). What happens to the
#    route balance of the one-step policy, and why does a regression onto the clean chunk do that?
#
# ## Read next
# * Xu, Li, Luo, Levine. *RLDG: Robotic Generalist Policy Distillation via Reinforcement Learning*,
#   2024. [arXiv:2412.09858](https://arxiv.org/abs/2412.09858); generalist-distillation.github.io.
# * Jülg et al. *Refined Policy Distillation: From VLA Generalists to RL Experts*, 2025.
#   [arXiv:2503.05833](https://arxiv.org/abs/2503.05833); code: github.com/Refined-Policy-Distillation/RPD.
# * Prasad, Lin, Wu, Zhou, Bohg. *Consistency Policy*, RSS 2024.
#   [arXiv:2405.07503](https://arxiv.org/abs/2405.07503); code: github.com/Aaditya-Prasad/consistency-policy.
# * Song, Dhariwal, Chen, Sutskever. *Consistency Models*, ICML 2023. [arXiv:2303.01469](https://arxiv.org/abs/2303.01469).
# * The review this course follows: Moroncelli et al., [arXiv:2410.16411](https://arxiv.org/abs/2410.16411).
# * Stable-Baselines3's `stable_baselines3/ppo/ppo.py` (`PPO.train`), which `RPDPPO.train` re-states.
