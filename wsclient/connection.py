"""The I/O under a client: opening a websocket with aiohttp, reading and writing frames, closing.

This is the only module that talks to aiohttp's websocket objects. Everything private of
aiohttp that wsclient relies on is used here, behind :data:`FAST_PATH`, and only with the aiohttp
versions pinned in pyproject.toml; without it, everything still works through aiohttp's public
``receive()`` (one mailbox hop per frame instead of one per batch).

The private parts, and why:

- ``ws._reader._buffer`` (a deque of ``(message, size)``): to see, without waiting, that a data
  frame is buffered. Frames are then taken with ``await ws._reader.read()``, which does not
  suspend when the buffer is not empty and keeps aiohttp's flow control counters right (never
  pop the buffer itself: aiohttp would stay paused).
- ``ws._reader._protocol``: to pause reading the socket while ``max_queue`` frames wait.
- ``ws._writer``: to send a close frame and keep reading (``ws.close()`` would discard the
  frames that arrive before the peer's close, and never echo its code).
- ``ws._conn.transport``: to drop a connection at once, without a close handshake.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
import struct
from collections import deque
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import WSMsgType
from multidict import CIMultiDictProxy

from wsclient.backoff import parse_retry_after
from wsclient.frames import Binary, CloseFrame, Ping, Pong, Text
from wsclient.options import Options
from wsclient.reasons import ConnectFailed, HandshakeRejected
from wsclient.url import ClientURL

__all__ = [
    "FAST_PATH",
    "ConnectStatus",
    "abort",
    "dial",
    "fast_reader",
    "send_close",
    "send_frames",
]

TEXT, BINARY, CLOSE, PING, PONG = (
    WSMsgType.TEXT,
    WSMsgType.BINARY,
    WSMsgType.CLOSE,
    WSMsgType.PING,
    WSMsgType.PONG,
)
CLOSING, CLOSED, ERROR = WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR


def _probe_fast_path() -> bool:
    """Whether this aiohttp has the reader internals the fast path uses."""
    try:
        from aiohttp._websocket.reader import WebSocketDataQueue
    except ImportError:  # pragma: no cover - a future aiohttp
        return False
    return all(hasattr(WebSocketDataQueue, a) for a in ("read",)) and hasattr(
        aiohttp.ClientWebSocketResponse, "receive"
    )


#: Whether the batched read path is in use (see the module docstring).
FAST_PATH = _probe_fast_path()


@dataclass(frozen=True, slots=True)
class ConnectStatus:
    """What ``handle_connect`` is given about the connection that just opened."""

    #: The HTTP status of the upgrade answer: 101.
    status: int
    #: The answer's headers: a case-insensitive, read-only mapping.
    headers: CIMultiDictProxy[str]
    #: The subprotocol the server chose among those offered, or None.
    subprotocol: str | None
    #: The extensions in use, as the server listed them (e.g. ``["permessage-deflate"]``).
    extensions: tuple[str, ...]
    #: The URL connected to, without credentials.
    url: str


# -- opening ----------------------------------------------------------------------------------


async def dial(
    session: aiohttp.ClientSession, url: ClientURL, opts: Options
) -> tuple[aiohttp.ClientWebSocketResponse, ConnectStatus]:
    """Open the websocket, TCP + TLS + upgrade bounded by ``opts.connect_timeout``.

    Raises :class:`_Refused` carrying a HandshakeRejected or ConnectFailed reason.
    """
    ssl: Any = True if opts.ssl is None else opts.ssl
    try:
        async with asyncio.timeout(opts.connect_timeout):
            ws = await session.ws_connect(
                url.url,
                protocols=opts.subprotocols,
                headers=opts.headers,
                compress=15 if opts.compress else 0,
                max_msg_size=opts.max_msg_size or 0,
                autoclose=False,
                autoping=False,
                ssl=ssl,
                proxy=opts.proxy,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=opts.close_timeout),
            )
    except aiohttp.WSServerHandshakeError as e:
        headers = e.headers if e.headers is not None else CIMultiDictProxy(_empty())
        retry = None
        if e.status in (429, 503):
            retry = parse_retry_after(headers.get("Retry-After"))
        if e.status == 101:  # a 101 that broke the protocol (bad accept key, extensions)
            raise _Refused(ConnectFailed(_HandshakeFailed(e.message))) from None
        raise _Refused(HandshakeRejected(e.status, headers, retry)) from None
    except TimeoutError:
        raise _Refused(
            ConnectFailed(TimeoutError(f"no connection within {opts.connect_timeout}s"))
        ) from None
    except (aiohttp.ClientError, OSError, _ssl.SSLError, ValueError) as e:
        raise _Refused(ConnectFailed(e)) from None
    response = ws._response
    extensions = tuple(
        x.strip().split(";")[0]
        for x in response.headers.get("Sec-WebSocket-Extensions", "").split(",")
        if x.strip()
    )
    status = ConnectStatus(
        status=response.status,
        headers=response.headers,
        subprotocol=ws.protocol,
        extensions=extensions,
        url=url.display,
    )
    return ws, status


def _empty() -> Any:
    from multidict import CIMultiDict

    return CIMultiDict()


class _HandshakeFailed(Exception):
    """The server answered 101 but broke the upgrade (a bad Sec-WebSocket-Accept, say)."""


class _Refused(Exception):
    def __init__(self, reason: Any) -> None:
        super().__init__(reason)
        self.reason = reason


# -- reading ------------------------------------------------------------------------------------


def fast_reader(ws: aiohttp.ClientWebSocketResponse) -> deque[Any] | None:
    """aiohttp's buffer of parsed messages for `ws`, or None without the fast path."""
    if not FAST_PATH:
        return None
    buf = getattr(ws._reader, "_buffer", None)
    return buf if isinstance(buf, deque) else None


def to_frame(msg: Any) -> Any:
    """The frame for an aiohttp message of type TEXT, BINARY, PING or PONG."""
    t = msg[0]
    if t is TEXT:
        return Text(msg[1])
    if t is BINARY:
        return Binary(msg[1])
    if t is PING:
        return Ping(msg[1])
    return Pong(msg[1])


class ReadPause:
    """Stops reading the socket while `limit` frames wait, and reads again below half."""

    __slots__ = ("limit", "paused", "protocol")

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, limit: int) -> None:
        self.protocol = getattr(ws._reader, "_protocol", None)
        self.limit = limit
        self.paused = False

    def check(self, waiting: int) -> None:
        protocol = self.protocol
        if protocol is None:
            return
        if waiting >= self.limit:
            if not protocol._reading_paused:
                protocol.pause_reading()
            self.paused = True
        elif self.paused and waiting <= self.limit // 2:
            self.paused = False
            if protocol._reading_paused:
                protocol.resume_reading()


# -- writing and closing --------------------------------------------------------------------------


async def send_frames(ws: aiohttp.ClientWebSocketResponse, frames: list[Any]) -> None:
    """Write checked frames in order; returns once written (waiting while the socket drains)."""
    for frame in frames:
        t = type(frame)
        if t is Text:
            await ws.send_str(frame.data)
        elif t is Binary:
            await ws.send_bytes(bytes(frame.data))
        elif t is Ping:
            await ws.ping(bytes(frame.data))
        elif t is Pong:
            await ws.pong(bytes(frame.data))
        else:  # pragma: no cover - close frames go through send_close
            raise AssertionError(f"not a data or ping frame: {frame!r}")


async def send_close(ws: aiohttp.ClientWebSocketResponse, code: int | None, reason: str) -> None:
    """Send a close frame (`code` None: an empty one) and go on reading until the peer's."""
    payload = b"" if code is None else struct.pack("!H", code) + reason.encode("utf-8")
    writer = ws._writer
    await writer.send_frame(payload, CLOSE)
    writer._closing = True  # no data frame may follow a close frame


def abort(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Drop the connection now, with no close handshake; idempotent."""
    ws._set_closed()
    conn = ws._conn
    transport = conn.transport if conn is not None else None
    if transport is not None:
        transport.abort()
    ws._response.close()


def finish(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Close the transport after a completed close handshake (flushing what was written)."""
    ws._set_closed()
    ws._response.close()


def close_frame(msg: Any) -> CloseFrame:
    """The CloseFrame for a received aiohttp CLOSE message (code 1005 when it had none)."""
    code = msg[1] or 1005
    return CloseFrame(code, msg[2] or "")


__all__ += ["ReadPause", "close_frame", "finish", "to_frame"]
