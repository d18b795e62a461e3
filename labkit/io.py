"""The kit's one atomic write: a file is either the old one or the complete new one, never half.

Every save in labkit (datasets, checkpoints, benchmark results, sweep tables) goes through
:func:`atomic_write`: the bytes go to a temporary file in the same folder, which is flushed and
fsynced, then renamed over the target with ``os.replace`` (atomic on POSIX and Windows). An
interrupted save (Ctrl-C, a full disk, a crash) leaves the previous file untouched.

    atomic_write("results.json", lambda f: f.write(json.dumps(rows).encode()))
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write"]


def atomic_write(
    path: str | os.PathLike, write: Callable[[BinaryIO], object], *, mode: int = 0o644, make_parents: bool = True
) -> Path:
    """Write a file atomically: ``write(f)`` fills a binary temp file that then replaces ``path``.

    :param path: the file to (re)write.
    :param write: called once with the open binary file object.
    :param mode: permission bits of the new file (``mkstemp`` would leave 0600).
    :param make_parents: create missing parent folders; if False, a missing folder is an error.
    :raises FileNotFoundError: the folder does not exist and ``make_parents`` is False.
    :return: the path written.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise FileNotFoundError(f"directory {path.parent} does not exist; create it first.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (not possible on every OS)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path
