"""The frames the sandbox's parent and worker exchange on a pipe (stdlib only: the worker loads this file
by path). A frame is a 4-byte big-endian length, a JSON header of that length, then ``header["nbytes"]``
payload bytes (raw float64 for batches of states and rewards). No pickle: a worker cannot make the
parent run anything.
"""

from __future__ import annotations

import json
import struct
from typing import Any

_HEADER = struct.Struct(">I")


def send(stream: Any, header: dict, payload: bytes = b"") -> None:
    """Write one frame to a binary stream (a pipe): 4-byte length of the JSON header, the header, the payload."""
    head = json.dumps({**header, "nbytes": len(payload)}).encode()
    stream.write(_HEADER.pack(len(head)) + head + payload)
    stream.flush()


def recv(stream: Any) -> tuple[dict, bytes]:
    """Read one frame; raises ``EOFError`` when the other side has gone."""
    raw = stream.read(_HEADER.size)
    if len(raw) < _HEADER.size:
        raise EOFError
    header = json.loads(stream.read(_HEADER.unpack(raw)[0]))
    payload = stream.read(header["nbytes"]) if header["nbytes"] else b""
    return header, payload
