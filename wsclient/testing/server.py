"""A websocket server for testing clients: it records what it receives and breaks on command.

::

    async with wsclient.testing.Server() as srv:
        pid = await MyClient.start_link(srv.url)
        await srv.wait_connections(1)
        await srv.push(Text("hello"))           # to every connected client
        await srv.wait_received(Text("ack"))    # what a client sent
        srv.drop()                               # cut every connection, no close frame
        await srv.wait_connections(2)            # the client came back

It listens on 127.0.0.1 (a free port unless one is given) and keeps its port across
:meth:`Server.restart`. Every wait takes a `timeout` (a guard, 5 s by default) and raises
TimeoutError saying what it was waiting for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiohttp import WSMsgType, web

from wsclient.frames import Binary, CloseFrame, Ping, Pong, Text

__all__ = ["Server"]


class Server:
    """A controllable websocket server on 127.0.0.1.

    `echo`: send every text and binary message back. `subprotocols`: those it accepts.
    `host`: where it listens (127.0.0.1 unless told otherwise).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        echo: bool = False,
        subprotocols: Iterable[str] = (),
        host: str = "127.0.0.1",
        on_message: Callable[[web.WebSocketResponse, Any], Any] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.echo = echo
        self.subprotocols = tuple(subprotocols)
        self.on_message = on_message
        #: Every frame received from any client, in order of arrival.
        self.received: list[Any] = []
        #: The request headers of every accepted handshake, in order.
        self.handshakes: list[Mapping[str, str]] = []
        self.connections_total = 0
        #: The most connections that were open at once.
        self.max_open = 0
        self._open: set[web.WebSocketResponse] = set()
        self._refusals: list[tuple[int, dict[str, str]]] = []
        self._silent = False
        self._silenced: set[web.WebSocketResponse] = set()
        self._hang = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> Server:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await self._site.start()
        server = self._site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        """Close every connection (without a close frame) and stop listening."""
        self.drop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

    async def restart(self) -> None:
        """Stop (dropping every connection), then listen again on the same port."""
        await self.stop()
        self._silent = False
        self._silenced.clear()
        await self.start()

    async def __aenter__(self) -> Server:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"ws://{self.netloc}/"

    @property
    def netloc(self) -> str:
        """``host:port``, an IPv6 address in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def open_connections(self) -> int:
        return len(self._open)

    # -- what to do to clients -----------------------------------------------------------------

    async def push(self, frames: Any) -> None:
        """Send a frame, or a list of frames in order, to every connected client."""
        items = frames if isinstance(frames, list) else [frames]
        for ws in list(self._open):
            for f in items:
                await _send(ws, f)

    def drop(self) -> None:
        """Cut every connection at once, without a close frame."""
        for ws in list(self._open):
            transport = _transport(ws)
            if transport is not None:
                transport.abort()
        self._open.clear()

    def go_silent(self) -> None:
        """Stop reading from and writing to every connection, keeping the TCP connections
        open: pings go unanswered, as with a dead peer behind a live NAT."""
        self._silent = True
        self._silenced.update(self._open)
        for ws in self._open:
            transport = _transport(ws)
            if transport is not None:
                transport.pause_reading()

    def resume(self) -> None:
        """End :meth:`go_silent` without a restart: the connections it silenced are cut (their
        peers have given up on them by now), and later connections are served again; what
        those sent while the server was silent stays ignored."""
        self._silent = False
        for ws in list(self._open):
            if ws in self._silenced:
                transport = _transport(ws)
                if transport is not None:
                    transport.abort()
                self._open.discard(ws)
        self._silenced.clear()

    @property
    def silent(self) -> bool:
        """True between :meth:`go_silent` and :meth:`resume` (or a restart)."""
        return self._silent

    def refuse(self, status: int, headers: Mapping[str, str] | None = None, times: int = 1) -> None:
        """Answer the next `times` handshakes with HTTP `status` (and `headers`)."""
        self._refusals.extend([(status, dict(headers or {}))] * times)

    def hang_handshakes(self, times: int = 1) -> None:
        """Accept the TCP connection of the next `times` handshakes, and never answer them."""
        self._hang += times

    async def close_all(self, code: int = 1000, reason: str = "") -> None:
        """Close every connection with a close frame carrying `code` and `reason`."""
        for ws in list(self._open):
            await ws.close(code=code, message=reason.encode())

    # -- waiting ----------------------------------------------------------------------------

    async def wait_connections(self, n: int, timeout: float = 5.0) -> None:
        """Wait until `n` handshakes have been accepted since the server was created."""
        await self._wait(lambda: self.connections_total >= n, timeout, f"{n} connections")

    async def wait_received(self, value: Any, timeout: float = 5.0) -> Any:
        """Wait until a frame equal to `value` (a frame, or the text or bytes it carries) has
        been received; return that frame."""

        def match(f: Any) -> bool:
            return bool(f == value or getattr(f, "data", object()) == value)

        found: list[Any] = []

        def seen() -> bool:
            found[:] = [f for f in self.received if match(f)]
            return bool(found)

        await self._wait(seen, timeout, f"a frame {value!r}")
        return found[0]

    async def wait_count(self, n: int, timeout: float = 5.0) -> None:
        """Wait until `n` frames have been received in all."""
        await self._wait(lambda: len(self.received) >= n, timeout, f"{n} frames")

    async def wait_closed(self, timeout: float = 5.0) -> None:
        """Wait until no connection is open."""
        await self._wait(lambda: not self._open, timeout, "every connection to close")

    async def _wait(self, pred: Callable[[], bool], timeout: float, what: str) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(pred), timeout)
            except TimeoutError:
                raise TimeoutError(f"the test server saw no {what} within {timeout}s") from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the handler --------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self._refusals:
            status, headers = self._refusals.pop(0)
            return web.Response(status=status, headers=headers, text=f"refused: {status}")
        if self._hang:
            self._hang -= 1
            await asyncio.Event().wait()  # until the server stops (the task is cancelled)
        ws = web.WebSocketResponse(protocols=self.subprotocols, autoping=False)
        await ws.prepare(request)
        self._open.add(ws)
        self.max_open = max(self.max_open, len(self._open))
        self.connections_total += 1
        self.handshakes.append(dict(request.headers))
        self._opened(ws, request)
        await self._notify()
        try:
            while True:
                msg = await ws.receive()
                frame = _frame(msg)
                if frame is None or (type(frame) is CloseFrame and self._silent):
                    break  # closed or broken (a silent server records no close either)
                if self._silent:
                    continue
                self.received.append(frame)
                await self._notify()
                if type(frame) is Ping:
                    await ws.pong(frame.data)
                elif type(frame) is CloseFrame:
                    break  # aiohttp answered it (autoclose)
                elif self.on_message is not None:
                    result = self.on_message(ws, frame)
                    if asyncio.iscoroutine(result):
                        await result
                elif self.echo and type(frame) in (Text, Binary):
                    await _send(ws, frame)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._open.discard(ws)
            self._silenced.discard(ws)
            self._closed(ws)
            with contextlib.suppress(Exception):
                await self._notify()
        return ws

    def _opened(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        """A handshake was accepted (a hook for subclasses, such as the feed server)."""

    def _closed(self, ws: web.WebSocketResponse) -> None:
        """A connection ended, for whatever reason (a hook for subclasses)."""


def _frame(msg: Any) -> Any:
    t = msg.type
    if t is WSMsgType.TEXT:
        return Text(msg.data)
    if t is WSMsgType.BINARY:
        return Binary(msg.data)
    if t is WSMsgType.PING:
        return Ping(msg.data)
    if t is WSMsgType.PONG:
        return Pong(msg.data)
    if t is WSMsgType.CLOSE:
        return CloseFrame(msg.data, msg.extra or "")
    return None


async def _send(ws: web.WebSocketResponse, frame: Any) -> None:
    t = type(frame)
    if t is Text:
        await ws.send_str(frame.data)
    elif t is Binary:
        await ws.send_bytes(frame.data)
    elif t is Ping:
        await ws.ping(frame.data)
    elif t is Pong:
        await ws.pong(frame.data)
    elif t is CloseFrame:
        await ws.close(code=frame.code, message=frame.reason.encode())
    else:
        raise TypeError(f"{frame!r} is not a frame (Text, Binary, Ping, Pong, CloseFrame)")


def _transport(ws: web.WebSocketResponse) -> Any:
    req = getattr(ws, "_req", None)
    return req.transport if req is not None else None
