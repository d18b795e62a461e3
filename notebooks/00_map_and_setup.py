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
# # 00 · The map, and a working set-up
#
# **Place on the map:** the whole map. This notebook draws the field that the kit teaches and checks
# that your machine can run the rest.
#
# The review *The Duality of Generative AI and Reinforcement Learning in Robotics* (Moroncelli et al.,
# arXiv 2410.16411) sorts the field along two dimensions:
#
# * **A. Generative tools for RL**: a pretrained generative model (LLM, VLM, diffusion model, world
#   model, video predictor) is plugged into an RL loop as a *prior*: it writes rewards, represents
#   states, plans or explores, and is not retrained end to end with the agent.
# * **B. RL for generative policies**: RL pre-trains, fine-tunes or distils a *generative policy*
#   (a diffusion or transformer policy) that acts directly.
#
# **Goals.** (1) See the taxonomy and where each notebook sits on it. (2) Check that MuJoCo renders
# headless, torch works and the widgets show. (3) Meet `labkit/TwoRoutes-v0`, the task most notebooks
# use.
#
# **Prerequisites.** Python and a little NumPy. No GPU is needed: everything runs on a laptop CPU.
#
# **Time.** About 15 minutes to read and do the exercises; the first code cell prints the measured
# compute time.
#
# **How the exercises work.** Each exercise is a code cell that starts with `# EXERCISE`: fill in the
# part marked *your answer* and run it. Its check says **not yet** (with a hint) until your answer is
# right, then **correct**. Worked answers are in `solutions/00_map_and_setup.py`.

# %%
import labkit as lk  # picks a headless rendering backend (MUJOCO_GL) before mujoco is imported
from labkit import viz

SMOKE = lk.smoke_mode()  # LABKIT_SMOKE=1 makes every notebook run in seconds (used by the tests)
print(f"labkit {lk.__version__}; smoke mode: {SMOKE}")
print(lk.course.compute_time("00_map_and_setup"))

# %% [markdown]
# ## 1. Environment check
# `python -m labkit doctor` does the same from a terminal. If rendering fails, the message names the
# system package to install.

# %%
assert lk.course.doctor() == 0, "the environment check failed: read the PROBLEM lines above"

# %% [markdown]
# ## 2. The map
# Hover a leaf to see its representative methods and the notebook that teaches it. Green leaves run
# in this checkout; grey ones are coming. Every notebook sits on one leaf, and every method on one;
# the grey ring, *Foundations*, is what the rest builds on (RL, demonstrations), not part of the review.

# %%
from IPython.display import Markdown, display

lk.course.taxonomy_figure()

# %%
display(Markdown(lk.course.leaf_table()))

# %% [markdown]
# ### Explore a leaf
# Pick a leaf: the widget shows its methods, and a link to its notebook.

# %%
import ipywidgets as widgets

LEAVES, NOTEBOOKS = lk.course.LEAVES, lk.course.NOTEBOOKS
leaf_names = [" / ".join(leaf.path[1:]) for leaf in LEAVES]
picker = widgets.Dropdown(options=leaf_names, description="leaf", layout=widgets.Layout(width="480px"))
details = widgets.HTML()


def show_leaf(change=None):
    leaf = LEAVES[leaf_names.index(picker.value)]
    status = (f'<a href="{leaf.notebook}.ipynb" target="_blank">{leaf.notebook}</a> '
              f'(<a href="{leaf.notebook}.html" target="_blank">page</a>)'
              if lk.course.notebook_available(leaf.notebook) else f"{leaf.notebook} (coming)")
    details.value = (f"<b>{leaf.path[0]}</b> &rarr; {leaf.path[1]} &rarr; <b>{leaf.path[2]}</b><br>"
                     f"methods: {leaf.methods}<br>notebook: {status}: {NOTEBOOKS[leaf.notebook]}")


picker.observe(show_leaf, names="value")
show_leaf()
widgets.VBox([picker, details])

# %% [markdown]
# ## 3. The task: `labkit/TwoRoutes-v0`
# A point robot must reach the green goal behind the red cup-shaped obstacle (driving straight up ends
# in its pocket). Going round on the left and on the
# right are equally good, so demonstrations of this task are **bimodal**: that is what lets notebook 03
# show why a diffusion policy beats a Gaussian one. Observation `(8,)`: position, velocity, goal and
# obstacle relative to the robot. Action `(2,)`: desired velocity in [-1, 1].

# %%
import plotly.express as px

env = lk.make("labkit/TwoRoutes-v0", seed=0, render_mode="rgb_array")
obs, info = env.reset(seed=0)
print("observation space:", env.observation_space, "\naction space:", env.action_space)
px.imshow(env.render(), title="labkit/TwoRoutes-v0 from above").update_layout(height=360, width=360)

# %% [markdown]
# A scripted expert drives round either side (a coin flip per episode). Two of its episodes:

# %%
demo = lk.evaluate(lk.experts.TwoRoutesExpert(), "labkit/TwoRoutes-v0", n_episodes=2, seed=0, record_episodes=2, progress=False)
print("routes:", list(demo.routes), "success:", list(demo.successes))
viz.show_videos({f"episode {k} ({demo.routes[k]})": demo.frames[k] for k in range(2)}, fps=20)

# %% [markdown]
# The dropdown above needs a running kernel: on an exported page it shows the first leaf only. The
# sunburst map works everywhere.
#
# ## Summary
# * The field has two halves: generative models serving RL (A), and RL improving generative policies (B).
# * Your machine renders MuJoCo headless and runs the kit; `python -m labkit doctor` checks it again.
# * `labkit/TwoRoutes-v0` has two equally good routes; remember that when a policy "averages".
#
# ## Exercises
# 1. *(2 minutes)* Read the observation and action sizes off `env` and give them as a pair.
# 2. *(5 minutes)* `labkit/TwoRoutesShifted-v0` moves the cup to the right. Which way round is now
#    shorter from the start, `"left"` or `"right"`? Reason from the picture first; the check measures
#    both ways with the env's own path length.
# 3. *(open question, 5 minutes)* The start is on the centre line and nothing in the observation tells
#    the two routes apart. Why does that make the task a good test for generative policies? (An answer
#    is in the solutions file.)

# %%
# EXERCISE 00.sizes
sizes = None  # your answer: (observation size, action size), read off env.observation_space and env.action_space
lk.check("00.sizes", sizes)

# %%
# EXERCISE 00.shorter_route
shorter = None  # your answer: "left" or "right"
lk.check("00.shorter_route", shorter)

# %% [markdown]
# The scripted expert flips a coin at the split, so it does not prefer the shorter route: notebook 01
# trains an agent that does.

# %%
shifted = lk.evaluate(lk.experts.TwoRoutesExpert(), "labkit/TwoRoutesShifted-v0", n_episodes=4 if SMOKE else 20,
                      seed=1, progress=False)
print(f"the expert on the shifted task: {shifted.success_rate:.0%} success; successes per route {shifted.route_counts}")

# %% [markdown]
# ## Read next
# * Moroncelli et al., *The Duality of Generative AI and Reinforcement Learning in Robotics: A Review*,
#   [arXiv:2410.16411](https://arxiv.org/abs/2410.16411): the map this kit follows.
# * MuJoCo's own tutorial notebook ([google-deepmind/mujoco](https://github.com/google-deepmind/mujoco),
#   `python/tutorial.ipynb`) for the simulator under every task here.
# * The [Gymnasium](https://gymnasium.farama.org) documentation (the env API every notebook uses).
