"""``OpenAIClient``: any server that speaks the OpenAI HTTP API (llama.cpp, Ollama, vLLM, a hosted API).

We talk to two endpoints with ``httpx`` (explicit time-outs and clear connection errors) instead of
the ``openai`` package (one more install, and its automatic retries turn "server not running" into a
long wait):

- ``POST {base_url}/chat/completions`` for :meth:`generate` (``n`` samples in one call if the server
  supports ``n``; ``seed`` is passed through, and only servers that honour it are deterministic);
- ``POST {base_url}/completions`` with ``echo=true, logprobs=1, max_tokens=1`` for :meth:`score`: the
  server returns the log-probability of every prompt token, and we sum those of the option. vLLM does
  this; llama.cpp's server and Ollama do not (llama.cpp rejects ``echo``, or returns the generated
  token only), so ``score`` raises :class:`ScoreUnsupportedError` there instead of returning zeros.

The API key is read from an environment variable (``OPENAI_API_KEY`` unless ``api_key_env`` names
another); no key is sent when the variable is unset, which local servers accept.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from labkit.llm.base import (
    LLMClient,
    LLMError,
    LLMTimeoutError,
    LLMUnavailableError,
    ScoreUnsupportedError,
    check_messages,
    check_options,
    truncate_at_stop,
)

__all__ = ["OpenAIClient"]


class OpenAIClient(LLMClient):
    """A chat model behind an OpenAI-compatible HTTP server.

    :param base_url: e.g. ``"http://127.0.0.1:8080/v1"`` (llama.cpp), ``"http://localhost:11434/v1"``
        (Ollama), ``"http://localhost:8000/v1"`` (vLLM), ``"https://api.openai.com/v1"``.
    :param model: the model name the server expects (``ollama list``, ``GET /v1/models``).
    :param api_key_env: name of the environment variable holding the key (never the key itself).
    :param timeout: default seconds per request (connect + read).
    :param supports_n: ask for ``n`` samples in one request in :meth:`generate_many`; ``False``
        (the default, since llama.cpp ignores ``n``) sends one request per sample, seeds ``seed + i``.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 120.0,
        supports_n: bool = False,
    ):
        super().__init__()
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://. Got {base_url!r}.")
        if not model:
            raise ValueError("model must name the server's model, e.g. 'qwen2.5-coder:7b'. Got an empty string.")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds. Got {timeout}.")
        self.base_url, self.model = base_url.rstrip("/"), model
        self.api_key_env, self.timeout, self.supports_n = api_key_env, float(timeout), bool(supports_n)
        self.name = f"openai:{self.base_url}#{model}"

    # --- HTTP ------------------------------------------------------------------------------
    def _post(self, path: str, body: dict, timeout: float | None) -> dict:
        key = os.environ.get(self.api_key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        url = f"{self.base_url}{path}"
        hint = (
            f"check the URL, that the server is running (curl {self.base_url}/models), and the key "
            f"variable {self.api_key_env} ({'set' if key else 'unset'})"
        )
        import httpx  # a fraction of a second to import: only when a server is used

        try:
            resp = httpx.post(url, json=body, headers=headers, timeout=timeout or self.timeout)
        except httpx.TimeoutException as err:
            raise LLMTimeoutError(
                f"{url} did not answer within {timeout or self.timeout:.0f} s; raise `timeout`, or {hint}."
            ) from err
        except httpx.HTTPError as err:  # connection refused, DNS, TLS ...
            raise LLMUnavailableError(f"Cannot reach the LLM server at {url} ({type(err).__name__}): {hint}.") from err
        if resp.status_code in (401, 403):
            raise LLMUnavailableError(
                f"{url} refused the request (HTTP {resp.status_code}): set a valid key in "
                f"the environment variable {self.api_key_env}."
            )
        if resp.status_code == 404:
            raise LLMUnavailableError(f"{url} does not exist (HTTP 404): the base URL usually ends in /v1; {hint}.")
        if resp.status_code >= 400:
            raise LLMError(f"{url} answered HTTP {resp.status_code}: {resp.text[:300]}")
        try:
            return resp.json()
        except ValueError as err:
            raise LLMError(f"{url} did not return JSON: {resp.text[:200]!r}") from err

    def _chat(self, messages, n, *, max_new_tokens, temperature, seed, stop, timeout) -> list[str]:
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1. Got {max_new_tokens}.")
        body = {
            "model": self.model,
            "messages": check_messages(messages),
            "max_tokens": int(max_new_tokens),
            "temperature": float(temperature),
            "seed": int(seed),
        }
        if n > 1:
            body["n"] = int(n)
        if stop:
            body["stop"] = list(stop)[:4]  # the OpenAI API takes at most 4 stop strings
        self.usage.start()
        usage: dict = {}
        try:
            data = self._post("/chat/completions", body, timeout)
            usage = data.get("usage") or {}
            choices = sorted(data.get("choices") or [], key=lambda c: c.get("index", 0))
            texts = [(c.get("message") or {}).get("content") or "" for c in choices]
        finally:
            self.usage.stop(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))
        if not texts:
            raise LLMError(f"{self.base_url}/chat/completions returned no choices: {str(data)[:300]}")
        return [truncate_at_stop(t, stop) for t in texts]

    # --- the interface -----------------------------------------------------------------------
    def generate(self, messages, *, max_new_tokens=256, temperature=0.0, seed=0, stop=None, timeout=None) -> str:
        return self._chat(
            messages, 1, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed, stop=stop, timeout=timeout
        )[0]

    def generate_many(
        self, messages, n, *, seed=0, max_new_tokens=256, temperature=0.7, stop=None, timeout=None
    ) -> list[str]:
        if n < 1:
            raise ValueError(f"n must be >= 1. Got {n}.")
        kw = dict(max_new_tokens=max_new_tokens, temperature=temperature, stop=stop, timeout=timeout)
        if self.supports_n:
            texts = self._chat(messages, n, seed=seed, **kw)
            if len(texts) == n:
                return texts
        return super().generate_many(messages, n, seed=seed, **kw)

    def score(self, prompt: str, options: Sequence[str], *, normalize: bool = False, timeout=None) -> np.ndarray:
        options = check_options(options)
        out = np.zeros(len(options))
        self.usage.start()
        try:
            for i, option in enumerate(options):
                text = prompt + option
                body = {
                    "model": self.model,
                    "prompt": text,
                    "max_tokens": 1,
                    "echo": True,
                    "logprobs": 1,
                    "temperature": 0.0,
                }
                try:
                    data = self._post("/completions", body, timeout)
                except LLMError as err:
                    if isinstance(err, (LLMUnavailableError, LLMTimeoutError)):
                        raise
                    raise ScoreUnsupportedError(self._unsupported(f"the server refused echo ({err})")) from err
                lp = ((data.get("choices") or [{}])[0].get("logprobs")) or {}
                offsets, values = lp.get("text_offset"), lp.get("token_logprobs")
                if not offsets or not values or len(offsets) != len(values) or min(offsets) > 0:
                    raise ScoreUnsupportedError(self._unsupported("its reply has no log-probs for the prompt tokens"))
                picked = [v for o, v in zip(offsets, values) if len(prompt) <= o < len(text) and v is not None]
                if not picked:
                    raise ScoreUnsupportedError(self._unsupported("no echoed token falls inside the option"))
                out[i] = sum(picked) / len(picked) if normalize else sum(picked)
        finally:
            self.usage.stop(0, 0)
        return out

    def _unsupported(self, why: str) -> str:
        return (
            f"score() needs prompt log-probabilities (POST /completions with echo + logprobs), and "
            f"{self.base_url} does not provide them: {why}. vLLM supports this; llama.cpp's server and "
            "Ollama do not. Use LABKIT_LLM=local (the bundled model) for scoring, or a vLLM server."
        )
