"""Framing: one message is ``8-byte length | 4-byte header length | JSON header | blobs``.

Nothing here interprets a message beyond its JSON header and its table of blob lengths; messages
larger than :data:`MAX_MESSAGE` are refused before they are read.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time

MAX_MESSAGE = 256 << 20  # the course sends kilobytes to a few megabytes


class ProtocolError(Exception):
    """The other side sent something that is not a valid message."""


class PeerGone(BaseException):
    """The other side closed the pipe or died. BaseException: test cells cannot catch it."""


class Timeout(BaseException):
    """No reply before the deadline. BaseException: test cells cannot catch it."""


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise Timeout()
        try:
            chunk = os.read(fd, min(n - got, 1 << 20))
        except OSError as exc:
            raise PeerGone(str(exc)) from None
        if not chunk:
            raise PeerGone("pipe closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes, deadline: float | None) -> None:
    view = memoryview(data)
    while view:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            _, ready, _ = select.select([], [fd], [], left)
            if not ready:
                raise Timeout()
        try:
            n = os.write(fd, view[: 1 << 16])
        except BlockingIOError:
            continue
        except OSError as exc:
            raise PeerGone(str(exc)) from None
        view = view[n:]


def send_message(fd: int, header: dict, blobs: list[bytes], deadline: float | None = None):
    """Write one message (header as JSON, blobs appended) to ``fd``."""
    header = dict(header, blobs=[len(b) for b in blobs])
    head = json.dumps(header, separators=(",", ":")).encode()
    body = struct.pack(">I", len(head)) + head + b"".join(blobs)
    _write_all(fd, struct.pack(">Q", len(body)) + body, deadline)


def recv_message(fd: int, deadline: float | None = None) -> tuple[dict, list[bytes]]:
    """Read one message; raise :class:`ProtocolError` on anything malformed."""
    (size,) = struct.unpack(">Q", _read_exact(fd, 8, deadline))
    if size > MAX_MESSAGE or size < 4:
        raise ProtocolError(f"message of {size} bytes refused")
    body = _read_exact(fd, size, deadline)
    (hsize,) = struct.unpack(">I", body[:4])
    if hsize > size - 4:
        raise ProtocolError("bad header length")
    try:
        header = json.loads(body[4 : 4 + hsize])
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"bad header: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("blobs"), list):
        raise ProtocolError("bad header")
    blobs, at = [], 4 + hsize
    for n in header["blobs"]:
        if not isinstance(n, int) or n < 0 or at + n > len(body):
            raise ProtocolError("bad blob table")
        blobs.append(body[at : at + n])
        at += n
    return header, blobs
