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
# # Solutions · 04b Reward design with language models
# Each `# SOLUTION` cell replaces the notebook's exercise cell of the same name (check line included).
# Run the notebook's set-up cell first (it defines `lk`, `xp`, `compile_reward`).

# %%
# SOLUTION 04b.sandbox_quiz
# a: allowed (np.linalg.norm is on the list).  b: refused (a generator expression, and zip is not an
# allowed builtin).  c: allowed (`import math` is tolerated and bound to the safe stand-in).
# d: refused (attribute access on a value: write np.dot(pos, pos)).  e: allowed.
for key, code in xp.SANDBOX_QUIZ.items():
    print(f"[{key}]\n{code}\n")
answer = {"b", "d"}
lk.check("04b.sandbox_quiz", answer)

# %% [markdown]
# **What to expect.** The check runs the sandbox's static checker on the five snippets, so it is
# instant and the same on every machine. The lesson: the allow-list is about *constructs*, not
# intentions; `b` is harmless, yet refused, because generators can reach frames (`gi_frame`).

# %%
# SOLUTION 04b.be_the_llm
# Progress along a way round the cup: the distance to the goal via the nearer top corner of the cup
# while the robot is below the cup's top, straight to the goal above it. Rewarding the *decrease* of
# that length (a potential difference, like the task's own dense reward) pays the same on both routes
# and gives nothing for driving into the pocket; a bonus on success ends the episode well.
my_reward = '''def path(p, goal, obstacle):
    side = 0.22 if p[0] >= obstacle[0] else -0.22
    corner = np.array([obstacle[0] + side, obstacle[1] + 0.12])
    if p[1] < obstacle[1] + 0.12:
        return np.linalg.norm(corner - p) + np.linalg.norm(goal - corner)
    return np.linalg.norm(goal - p)

def compute_reward(pos, prev_pos, goal, obstacle, success):
    progress = path(prev_pos, goal, obstacle) - path(pos, goal, obstacle)
    reward = 10.0 * progress + 5.0 * success
    return reward, {"progress": 10.0 * progress, "bonus": 5.0 * success}'''
lk.check("04b.be_the_llm", my_reward)

# %% [markdown]
# **What to expect.** The check trains PPO twice (your reward and the sparse one, seed 0, the search
# budget): a few CPU seconds each on 2 cores, longer when the machine is shared. With this reward PPO
# reached the goal in every evaluation episode on the PPO seeds we tried, about as fast as with the
# task's own dense reward; the sparse reward usually teaches nothing in this budget. State-only
# rewards such as `-np.linalg.norm(goal - pos)` fail here: they make the cup's pocket a local optimum
# (a policy that parks at the pocket's top is closer to the goal than one going round), and adding a
# penalty under the cup or a waypoint helps but learns more slowly than rewarding progress.
#
# **Open questions.**
# * *Temperature.* Lower temperatures make the small model's replies more alike (often the same
#   broken code K times); higher ones make more of them unparseable. Neither fixes the logic.
# * *No worked example in the system prompt.* The small model then mostly rewrites the environment
#   class or answers in prose: the share of replies with a usable function drops.
# * *A bigger model.* This is what Eureka relies on (GPT-4 in the paper). With a code model of a few
#   billion parameters behind llama.cpp or Ollama, expect most candidates to parse and run; whether one
#   beats the sparse reward within this PPO budget depends on whether it discovers progress-style or
#   waypoint terms, which the reflection's statistics (a success rate stuck at zero) push it towards.
