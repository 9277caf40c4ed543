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
- ``ws._reader._protocol``: to pause reading the socket while ``max_queue`` frames wait, and
  to wake an idle client from the socket's callback (:class:`ReaderHook`).
- ``ws._writer``: to send a close frame and keep reading (``ws.close()`` would discard the
  frames that arrive before the peer's close, and never echo its code).
- ``ws._conn.transport``: to drop a connection at once, without a close handshake.
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque
from collections.abc import Callable
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
    "ReaderHook",
    "WriteStalled",
    "abort",
    "bounded",
    "close_frame",
    "dial",
    "ending",
    "fast_reader",
    "finish",
    "hookable",
    "read_now",
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
    except Exception as e:  # refused, DNS, TLS, a proxy, a session closed meanwhile...
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


_CLOSED_MESSAGE = aiohttp.WSMessage(CLOSED, None, None)


async def read_now(ws: aiohttp.ClientWebSocketResponse) -> Any:
    """The next message of a reader that has one ready (a frame, an error or the end), as
    ``receive()`` would return it, but never waiting: ``receive()`` answers an error by sending
    a close frame, and that send can wait on a peer that has stopped reading, with no deadline.
    The caller sends the close itself, under its write deadline."""
    try:
        return await ws._reader.read()
    except (aiohttp.EofStream, aiohttp.ClientError):
        return _CLOSED_MESSAGE
    except Exception as e:  # a WebSocketError (a protocol error, with its close code), or other
        return aiohttp.WSMessage(ERROR, e, None)


def hookable(ws: aiohttp.ClientWebSocketResponse) -> bool:
    """Whether the fast path applies: aiohttp's buffer and protocol are there to hook."""
    protocol = getattr(ws._reader, "_protocol", None)
    return fast_reader(ws) is not None and protocol is not None and hasattr(protocol, "__dict__")


class ReaderHook:
    """Watches aiohttp's reader for one connection: wakes an idle client, and pauses reading.

    The protocol's ``data_received`` and ``connection_lost`` are wrapped, on this connection
    only. After each read from the socket:

    - while ``armed`` (the client has taken every frame and waits for more), ``notify()`` runs
      once, as soon as a frame, an error or the end is there, and disarms: the client is woken
      straight from the socket's callback, with no task between the socket and the client;
    - while `limit` frames wait for the handler, reading stops (TCP pushes back), so that a
      handler that is slow, or suspended, cannot let more than one read's worth of frames
      (up to 256 KiB) past the limit. :meth:`check` does the same before handler calls.

    It only ever pauses: aiohttp resumes reading itself when a frame is taken and its own
    buffer is below its own bound (and leaves reading paused while it is over that bound, with
    unparsed bytes stashed); resuming from here could override that and let the stash grow.
    """

    __slots__ = (
        "armed", "before_parse", "buf", "inside", "limit", "lost", "message", "post", "protocol",
        "reader", "received",
    )  # fmt: skip

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        limit: int,
        buf: deque[Any],
        post: Callable[[Any], None],
        message: Any,
    ) -> None:
        reader = self.reader = ws._reader
        protocol = getattr(reader, "_protocol", None)
        self.protocol = protocol
        self.buf = buf
        self.limit = limit
        self.post = post  # wakes the client: post(message) (otpy.self_sender's)
        self.message = message
        self.armed = False
        self.inside = False
        if protocol is None or not hasattr(protocol, "__dict__"):
            return
        self.received = protocol.data_received
        self.lost = protocol.connection_lost
        self.before_parse = protocol._data_received_cb
        # asyncio's transports look both up at each call
        protocol.data_received = self.data_received
        protocol.connection_lost = self.connection_lost
        protocol._data_received_cb = self.data_coming

    def data_received(self, data: bytes) -> None:
        self.inside = True
        try:
            self.received(data)
        finally:
            self.inside = False
        buf = self.buf
        if buf:
            protocol: Any = self.protocol
            if len(buf) >= self.limit and not protocol._reading_paused:
                protocol.pause_reading()
            if self.armed:
                self.armed = False
                self.post(self.message)
        elif self.armed and self.ready():
            self.wake()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost(exc)
        if self.armed:
            self.wake()

    def data_coming(self) -> None:
        """aiohttp calls this before it parses what was read. It matters where the transport
        took ``protocol.data_received`` once, before it was wrapped (uvloop): then wake now (the
        client runs after the parse, and finds nothing if the frame is not whole yet) and pause
        by the count of the read before."""
        protocol: Any = self.protocol
        if self.before_parse is not None:
            self.before_parse()
        if self.inside:  # the wrapper is called: this one is not needed
            protocol._data_received_cb = self.before_parse
            return
        if len(self.buf) >= self.limit and not protocol._reading_paused:
            protocol.pause_reading()
        if self.armed:
            self.wake()

    def ready(self) -> bool:
        """Whether reading would not wait: a frame, an error or the end is there."""
        reader = self.reader
        return bool(reader._buffer) or reader.is_eof() or reader.exception() is not None

    def wake(self) -> None:
        self.armed = False
        self.post(self.message)

    def check(self, waiting: int) -> None:
        protocol = self.protocol
        if protocol is not None and waiting >= self.limit and not protocol._reading_paused:
            protocol.pause_reading()


# -- writing and closing --------------------------------------------------------------------------


class WriteStalled(Exception):
    """A write waited longer than its bound for the socket to drain: the peer stopped reading."""


class _Continue:
    """Awaits the rest of a coroutine that has already run up to its first suspension: what
    ``yield from`` does, for a coroutine started by hand (see :func:`bounded`)."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Any, first: Any) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Any:
        coro, value = self.coro, self.first
        while True:
            try:
                sent = yield value
            except BaseException as e:  # a cancellation or a timeout, thrown in by the task
                try:
                    value = coro.throw(e)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as done:
                    return done.value


async def bounded(coro: Any, seconds: float | None) -> None:
    """Await a write, giving it at most `seconds` if it has to wait for the socket to drain.

    Most writes finish without waiting (the transport buffers them); those run with no timer at
    all, which matters on the send path (``asyncio.timeout`` costs about 6 us). Only a write
    that suspends, that is one waiting for a peer to read, is finished under a deadline, and
    raises WriteStalled when it passes.
    """
    if seconds is None:
        await coro
        return
    try:
        first = coro.send(None)
    except StopIteration:
        return
    try:
        async with asyncio.timeout(seconds):
            await _Continue(coro, first)
    except TimeoutError:
        raise WriteStalled(f"the socket did not drain within {seconds}s") from None


async def send_frames(
    ws: aiohttp.ClientWebSocketResponse, frames: list[Any] | tuple[Any, ...], bound: float | None
) -> None:
    """Write checked frames in order; returns once written (waiting while the socket drains,
    at most `bound` seconds a frame: WriteStalled after that)."""
    for frame in frames:
        t = type(frame)
        if t is Text:
            await bounded(ws.send_str(frame.data), bound)
        elif t is Binary:
            await bounded(ws.send_bytes(bytes(frame.data)), bound)
        elif t is Ping:
            await bounded(ws.ping(bytes(frame.data)), bound)
        elif t is Pong:
            await bounded(ws.pong(bytes(frame.data)), bound)
        else:  # pragma: no cover - close frames go through send_close
            raise AssertionError(f"not a data or ping frame: {frame!r}")


async def send_close(
    ws: aiohttp.ClientWebSocketResponse, code: int | None, reason: str, bound: float | None
) -> None:
    """Send a close frame (`code` None: an empty one) and go on reading until the peer's."""
    payload = b"" if code is None else struct.pack("!H", code) + reason.encode("utf-8")
    writer = ws._writer
    try:
        await bounded(writer.send_frame(payload, CLOSE), bound)
    finally:
        writer._closing = True  # no data frame may follow a close frame


def ending(ws: aiohttp.ClientWebSocketResponse) -> bool:
    """Whether the connection has already ended under the client, which has not read that yet:
    the socket is closed or at its end, or the last message aiohttp has parsed is a close. A
    frame written now would go down with the connection."""
    conn = ws._conn
    transport = conn.transport if conn is not None else None
    if transport is None or transport.is_closing():
        return True
    reader: Any = getattr(ws, "_reader", None)
    if reader is None:
        return False
    if reader.is_eof() or reader.exception() is not None:
        return True
    buffer: Any = getattr(reader, "_buffer", None)
    return bool(buffer) and buffer[-1][0].type is CLOSE  # nothing is parsed after a close


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

