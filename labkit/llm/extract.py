"""Pull Python code out of a chat reply (models wrap it in markdown fences, or not)."""

from __future__ import annotations

import re

__all__ = ["extract_code"]

_FENCE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)


def extract_code(reply: str, must_contain: str = "def ") -> str:
    """The code in ``reply``: the first fenced block that contains ``must_contain`` (an unclosed fence
    runs to the end, as when generation stopped at its token budget); else, if the reply itself
    has a ``def``, the reply from that line on; else ``""``.

    >>> extract_code("Here you go:\\n```python\\ndef f(x):\\n    return x\\n```\\nThis returns x.")
    'def f(x):\\n    return x'
    """
    blocks = [b.strip("\n") for b in _FENCE.findall(reply or "")]
    for block in blocks:
        if must_contain in block:
            return block.rstrip()
    lines = (reply or "").splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith(("def ", "import ", "from ")) and must_contain in "\n".join(lines[i:]):
            return "\n".join(lines[i:]).rstrip()
    return ""
