"""``CachedClient``: remember replies on disk, keyed by the full request, so a re-run is instant.

The key is a hash of the wrapped client's ``name``, the operation and every argument (messages, ``n``,
seed, temperature, token budget, stop strings; not the time-out), so a cached reply is exactly the
reply the model gave to that request; change anything and the model runs again. The file is JSON (one
object, key -> request summary + replies), written atomically after every new entry; delete it to
start afresh.

The default file is ``$LABKIT_CACHE/llm_replies.json`` (``LABKIT_CACHE`` defaults to
``$XDG_CACHE_HOME/labkit``, i.e. ``~/.cache/labkit``): outside the repository, so generated replies
never end up in git, and a fresh clone's first run really runs the model.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labkit.io import atomic_write
from labkit.llm.base import LLMClient, check_messages

__all__ = ["CachedClient", "cache_dir", "default_cache_file"]


def cache_dir() -> Path:
    """``$LABKIT_CACHE``, else ``$XDG_CACHE_HOME/labkit``, else ``~/.cache/labkit`` (not created here)."""
    if os.environ.get("LABKIT_CACHE"):
        return Path(os.environ["LABKIT_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "labkit"


def default_cache_file() -> Path:
    """Where the notebooks cache model replies: ``cache_dir() / "llm_replies.json"``."""
    return cache_dir() / "llm_replies.json"


class CachedClient(LLMClient):
    """Wrap ``client`` with a reply cache stored in ``path`` (a ``.json`` file, created on first write).

    :param client: any :class:`LLMClient`.
    :param path: cache file (default :func:`default_cache_file`); its folder is created if needed.
    :param read_only: use cached replies but never write new ones.

    ``hits`` counts the requests answered from the file, ``misses`` those the wrapped model answered
    (``usage.cached`` is ``hits``); time spent in the model stays in ``client.usage``.
    """

    def __init__(self, client: LLMClient, path: str | os.PathLike | None = None, *, read_only: bool = False):
        super().__init__()
        if not isinstance(client, LLMClient):
            raise ValueError(f"client must be an LLMClient (get_client(...)). Got {type(client).__name__}.")
        self.client, self.read_only = client, bool(read_only)
        self.path = Path(path) if path is not None else default_cache_file()
        self.name = client.name
        self.hits = self.misses = 0
        self._data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def _key(self, op: str, **request: Any) -> str:
        blob = json.dumps({"client": self.client.name, "op": op, **request}, sort_keys=True, ensure_ascii=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def _remember(self, key: str, summary: dict, value: Any) -> None:
        self._data[key] = {"request": summary, "value": value}
        if self.read_only:
            return
        text = json.dumps(self._data, indent=1)
        atomic_write(self.path, lambda f: f.write(text.encode()))

    def _hit(self, key: str) -> Any:
        self.hits += 1
        self.usage.cached += 1
        return self._data[key]["value"]

    def _cached_texts(self, op: str, messages: Sequence[dict], n: int, **kw: Any) -> list[str]:
        request = {k: v for k, v in kw.items() if k != "timeout"}  # the time-out is not part of its identity
        key = self._key(op, messages=check_messages(messages), n=n, **request)
        if key in self._data:
            return list(self._hit(key))
        self.misses += 1
        if op == "generate":
            texts = [self.client.generate(messages, **kw)]
        else:
            texts = self.client.generate_many(messages, n, **kw)
        self._remember(key, {"op": op, "n": n, **request}, texts)
        return texts

    def generate(self, messages, *, max_new_tokens=256, temperature=0.0, seed=0, stop=None, timeout=120.0) -> str:
        return self._cached_texts(
            "generate",
            messages,
            1,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            seed=seed,
            stop=list(stop) if stop else None,
            timeout=timeout,
        )[0]

    def generate_many(
        self, messages, n, *, seed=0, max_new_tokens=256, temperature=0.7, stop=None, timeout=300.0
    ) -> list[str]:
        return self._cached_texts(
            "generate_many",
            messages,
            n,
            seed=seed,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            stop=list(stop) if stop else None,
            timeout=timeout,
        )

    def score(self, prompt: str, options: Sequence[str], *, normalize: bool = False) -> np.ndarray:
        key = self._key("score", prompt=prompt, options=list(options), normalize=normalize)
        if key in self._data:
            return np.asarray(self._hit(key), dtype=float)
        self.misses += 1
        out = self.client.score(prompt, options, normalize=normalize)
        self._remember(key, {"op": "score", "n_options": len(options)}, [float(v) for v in out])
        return out
