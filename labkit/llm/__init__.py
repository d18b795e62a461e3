"""Language models in the loop, offline on a CPU: clients, a sentence embedder, a reward-code sandbox.

Clients (one interface, :class:`LLMClient`)::

    from labkit.llm import get_client
    llm = get_client()                      # LABKIT_LLM or "local": SmolLM2-135M-Instruct, no download
    llm.generate([{"role": "user", "content": "Name a colour."}], max_new_tokens=8)
    llm.score("The robot picks up the", [" red block", " sky"])   # (2,) log-likelihoods

- ``generate(messages, *, max_new_tokens, temperature, seed, stop, timeout) -> str`` and
  ``generate_many(messages, n, ...) -> list[str]`` (n samples, batched on the local model);
- ``score(prompt, options, *, normalize=False) -> np.ndarray`` of ``log p(option | prompt)``.
- Choose the model with one string (argument or ``LABKIT_LLM``): ``local``, ``local:/path/model.gguf``,
  ``openai://HOST:PORT/v1?model=NAME`` (http), ``openais://HOST/v1?model=NAME&key_env=VAR`` (https);
  see :mod:`labkit.llm.spec`. :class:`CachedClient` stores replies on disk (outside the repository:
  :func:`default_cache_file`); :class:`ScriptedClient` replies from a script (tests, smoke runs).

Embeddings: :class:`Embedder` (all-MiniLM-L6-v2, 384-d, unit vectors; ``encode``, ``similarity``).

Model-written code: :func:`compile_reward` checks reward code against an ``ast`` allow-list
(:func:`check_reward_source`), then runs it in a worker process with CPU-time and memory limits;
:class:`RewardCodeError` (refused) and :class:`RewardRunError` (failed when run) say why.
:func:`extract_code` pulls the Python out of a chat reply. :class:`RelabelRewards` puts a program's
reward into an on-policy SB3 agent's rollouts, one sandbox call per rollout.

Reward design (Eureka / Text2Reward), robot-agnostic: :func:`design_rewards` (client, :class:`RewardTask`,
``train(code, seed) -> TrainReport``, :class:`DesignConfig`) -> :class:`DesignResult`.

Errors: :class:`LLMUnavailableError` (server down, wrong URL/key, model missing), :class:`LLMTimeoutError`,
:class:`ScoreUnsupportedError` (a server without prompt log-probs).

Heavy libraries (transformers, sentence-transformers, httpx) load on first use, not on import.
"""

from labkit.llm import prompts
from labkit.llm.base import (
    LLMClient,
    LLMError,
    LLMTimeoutError,
    LLMUnavailableError,
    ScoreUnsupportedError,
    UsageStats,
    check_messages,
)
from labkit.llm.cache import CachedClient, cache_dir, default_cache_file
from labkit.llm.embed import Embedder
from labkit.llm.extract import extract_code
from labkit.llm.local import LocalClient
from labkit.llm.openai_compat import OpenAIClient
from labkit.llm.relabel import RelabelRewards
from labkit.llm.reward_loop import (
    STATUSES,
    Candidate,
    DesignConfig,
    DesignResult,
    RewardTask,
    TrainReport,
    design_rewards,
    first_messages,
    reflection,
)
from labkit.llm.sandbox import RewardOutput, RewardProgram, RewardRunError, SandboxLimits, compile_reward
from labkit.llm.sandbox_check import RewardCodeError, check_reward_source
from labkit.llm.scripted import ScriptedClient
from labkit.llm.spec import get_client, parse_spec

__all__ = [
    "STATUSES",
    "CachedClient",
    "Candidate",
    "DesignConfig",
    "DesignResult",
    "Embedder",
    "LLMClient",
    "LLMError",
    "LLMTimeoutError",
    "LLMUnavailableError",
    "LocalClient",
    "OpenAIClient",
    "RelabelRewards",
    "RewardCodeError",
    "RewardOutput",
    "RewardProgram",
    "RewardRunError",
    "RewardTask",
    "SandboxLimits",
    "ScoreUnsupportedError",
    "ScriptedClient",
    "TrainReport",
    "UsageStats",
    "cache_dir",
    "check_messages",
    "check_reward_source",
    "compile_reward",
    "default_cache_file",
    "design_rewards",
    "extract_code",
    "first_messages",
    "get_client",
    "parse_spec",
    "prompts",
    "reflection",
]
