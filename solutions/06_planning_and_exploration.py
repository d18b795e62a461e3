# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Solutions · 06 Planning and exploration with generative models

# %%
# SOLUTION 06.inpaint
def inpaint(x, known, state_dim):
    """Write the known states into a batch of normalised plans (B, H, D)."""
    for k, s in known.items():
        x[:, k, :state_dim] = s  # a negative k counts from the end, as numpy and torch index
    return x


lk.check("06.inpaint", inpaint)

# %% [markdown]
# This is `Diffuser.apply_conditioning`: the sampler calls it before every denoising step and once at the
# end, so the known states hold exactly at every iterate (the test `test_inpainting_holds_the_fixed_states_exactly`
# checks it). No seeds involved; instant.

# %%
# SOLUTION 06.route_share
plans_np = plan.states.numpy()
share_left = sum(plan_route(p) == "left" for p in plans_np) / len(plans_np)

lk.check("06.route_share", (plans_np, share_left))

# %% [markdown]
# With the shipped model the share moves with the sampling seed by a few plans in a batch; it moves much
# more with the *training* seed (the benchmark's full run trains several models: some nearly collapse onto
# one route). Instant.

# %%
# SOLUTION 06.saycan_choice
def choose(llm_probs, affordances):
    """SayCan's choice: argmax of p_LLM x affordance (the first index on ties)."""
    return int(np.argmax(np.asarray(llm_probs) * np.asarray(affordances)))


lk.check("06.saycan_choice", choose)

# %% [markdown]
# The product is SayCan's rule; Say only is `argmax(llm_probs)` and Can only `argmax(affordances)`. Since
# "done" has affordance 1, Can only stops at once: the literal ablation. Deterministic; instant.
#
# **Open questions.**
#
# * *Scale until plans leave the data.* Clipping the predicted clean plan to the data's box keeps almost
#   every plan out of the cup even at the largest scale in the sweep; what grows instead is the share of
#   left plans and plans that bend tighter round the cup. `t_stopgrad` barely matters up to about half
#   the chain, because the route is decided in the noisiest steps, where the step variance is largest.
# * *Composition weights.* With small weights "left + slow" is slow but sometimes drifts right; with
#   weights near those of single-condition guidance the two pushes add up and the robot stalls: the
#   composed estimate leaves the data.
# * *"done" with a lower affordance.* Can only then picks whichever skill its value rates surest from
#   home (usually "go home", which succeeds at once) and loops until it runs out of calls.
# * *ELLM's threshold below the left/right confusion level.* Going round on either side then pays for
#   both "left" and "right" goals, so the bonus stops telling the routes apart; coverage rises a little
#   (more events pay) but the bonus no longer points anywhere in particular.
