"""Prompt text for reward design: Eureka's (environment code + reward reflection) and Text2Reward's
(compact environment abstraction + feedback on the trained robot's behaviour). Our own wording, after
the structure of eureka-research/Eureka (``utils/prompts``) and xlang-ai/text2reward
(``code_generation/.../classlike_prompt``); sized for a 135M model's short attention (a few hundred tokens).
"""

from __future__ import annotations

__all__ = [
    "SYSTEM",
    "EUREKA_USER",
    "TEXT2REWARD_USER",
    "REFLECTION",
    "REFLECTION_TIPS",
    "ERROR_FEEDBACK",
    "BEHAVIOUR_FEEDBACK",
    "format_series",
]

#: System prompt: the role, the rules of the sandbox, and one worked example of the expected form
#: (a different task, so it shows the format without giving the answer away).
SYSTEM = """You are a reward engineer. You write reward functions for reinforcement learning in Python, \
using numpy as np and math. No imports, no loops, no classes.
Example, for a different task (a cart on a rail must stop at a target):
```python
def compute_reward(x, v, target):
    distance = abs(target - x)
    speed = abs(v)
    reward = -distance - 0.1 * speed
    return reward, {"distance": -distance, "speed": -0.1 * speed}
```"""

#: Eureka's first user message: task text plus the environment's code with its reward removed.
EUREKA_USER = """Task: {description}

The environment (from its source, reward removed):
{environment}

Inputs compute_reward may take: {inputs}.
Write the function compute_reward({signature}) for this task, in a python code block. \
It returns the total reward and a dict of its terms."""

#: Text2Reward's zero-shot message: a compact Pythonic abstraction of the environment, and a request
#: to reason about the task before writing the code.
TEXT2REWARD_USER = """We train a robot with reinforcement learning. The environment, as Python objects:
{abstraction}

Task: {description}
1. In one or two sentences, say what the task means and what could go wrong.
2. Then write a python code block with def compute_reward({signature}), which returns the total reward \
and a dict of its terms. Inputs it may take: {inputs}."""

#: Eureka's reward reflection: per-term statistics over training, then the analysis tips.
REFLECTION = """We trained a policy with this reward function for {steps} steps and recorded, at {points} \
points during training, the mean of each reward term per step, the success rate and the episode length:
{table}"""

REFLECTION_TIPS = """Please analyse the feedback and write an improved compute_reward:
(1) if the success rate stays near zero, rewrite the reward function entirely;
(2) a term whose values barely change is not being optimised: rescale it, rewrite it or drop it;
(3) a term much larger than the others drowns them: rescale it.
Reply with the new function in a python code block."""

#: When the code could not be used (Eureka's execution-error feedback).
ERROR_FEEDBACK = """The reward function above could not be used: {error}.
Please fix it and write a new compute_reward in a python code block. Inputs it may take: {inputs}."""

#: Text2Reward's feedback round: the code, what the trained robot did, and a remark on what to change.
BEHAVIOUR_FEEDBACK = """Generated code:
```python
{code}
```
We trained the robot with this reward. After training, the robot: {behaviour}
Feedback for improvement: {remark}
Write an improved compute_reward in a python code block."""


def format_series(name: str, values, fmt: str = "{:.2f}") -> str:
    """``"success_rate: [0.00, 0.10, 0.30], max 0.30, mean 0.13, min 0.00"`` (Eureka's layout)."""
    vals = [float(v) for v in values]
    if not vals:
        return f"{name}: (no data)"
    body = ", ".join(fmt.format(v) for v in vals)
    return (
        f"{name}: [{body}], max {fmt.format(max(vals))}, mean {fmt.format(sum(vals) / len(vals))}, "
        f"min {fmt.format(min(vals))}"
    )
