"""Against a peer we did not write: the ``websockets`` package's asyncio server.

Each test runs its own server with a handler saying what the peer does; the client is a
:class:`StaysDown` reporter, so that a disconnect is reported once and nothing reconnects behind
the test's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request

import otpy
import wsclient
from wsclient import Binary, CloseFrame, Ok, Ping, Text

from .support import GUARD, Reporter, next_event

Handler = Callable[[ServerConnection], Awaitable[None]]


class StaysDown(Reporter):
    """Reports like Reporter, and stays down after any disconnect."""

    async def handle_disconnect(self, reason: Any, state: Any) -> Any:
        otpy.send(state, ("disconnect", reason))
        return Ok(state)


@contextlib.asynccontextmanager
async def peer(handler: Handler, **kwargs: Any) -> AsyncIterator[str]:
    """A websockets server on 127.0.0.1 running `handler` per connection; yields its URL.
    Its own keepalive pings are off, so that every ping the client sees is the test's."""

    async def guarded(ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            await handler(ws)

    kwargs.setdefault("ping_interval", None)
    async with serve(guarded, "127.0.0.1", 0, **kwargs) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/"


async def echo(ws: ServerConnection) -> None:
    async for msg in ws:
        await ws.send(msg)


async def idle(ws: ServerConnection) -> None:
    await ws.wait_closed()


async def start(url: str, **options: Any) -> otpy.Pid:
    pid = await StaysDown.start_link(url, otpy.self_pid(), **options)
    return pid


# -- the handshake --------------------------------------------------------------------------


async def test_handle_connect_gets_status_101() -> None:
    async with peer(idle) as url:
        pid = await start(url)
        status = await next_event("connect")
        assert status.status == 101
        assert status.url == url
        await otpy.stop(pid)


async def test_the_status_headers_are_case_insensitive() -> None:
    async with peer(idle) as url:
        pid = await start(url)
        status = await next_event("connect")
        assert status.headers["upgrade"].lower() == "websocket"
        assert status.headers["UPGRADE"] == status.headers["Upgrade"]
        assert "sec-websocket-accept" in status.headers
        await otpy.stop(pid)


async def test_the_subprotocol_the_server_supports_is_chosen() -> None:
    async with peer(idle, subprotocols=["chat"]) as url:
        pid = await start(url, subprotocols=["chat", "other"])
        status = await next_event("connect")
        assert status.subprotocol == "chat"
        await otpy.stop(pid)


async def test_no_subprotocol_is_chosen_when_none_was_offered() -> None:
    async with peer(idle) as url:
        pid = await start(url)
        status = await next_event("connect")
        assert status.subprotocol is None
        await otpy.stop(pid)


# -- compression ------------------------------------------------------------------------------


async def test_permessage_deflate_is_negotiated_by_default() -> None:
    async with peer(idle) as url:
        pid = await start(url)
        status = await next_event("connect")
        assert "permessage-deflate" in status.extensions
        await otpy.stop(pid)


async def test_compress_false_offers_no_extension() -> None:
    offered: list[str | None] = []

    def record(conn: ServerConnection, request: Request) -> None:
        offered.append(request.headers.get("Sec-WebSocket-Extensions"))

    async with peer(idle, process_request=record) as url:
        pid = await start(url, compress=False)
        status = await next_event("connect")
        assert status.extensions == ()
        assert offered == [None]  # recorded before the 101 was sent
        await otpy.stop(pid)


# -- data frames -------------------------------------------------------------------------------


async def test_text_is_echoed() -> None:
    async with peer(echo) as url:
        pid = await start(url)
        await next_event("connect")
        await wsclient.send_frame(pid, Text("héllo, wörld"))
        assert await next_event("frame") == Text("héllo, wörld")
        await otpy.stop(pid)


async def test_binary_is_echoed() -> None:
    async with peer(echo) as url:
        pid = await start(url)
        await next_event("connect")
        await wsclient.send_frame(pid, Binary(b"\x00\x01\xfe\xff"))
        assert await next_event("frame") == Binary(b"\x00\x01\xfe\xff")
        await otpy.stop(pid)


async def test_a_1_mib_binary_is_echoed_whole() -> None:
    data = random.Random(7).randbytes(1024 * 1024)  # incompressible: deflate does not shrink it
    async with peer(echo, max_size=None) as url:
        pid = await start(url)
        await next_event("connect")
        await wsclient.send_frame(pid, Binary(data), timeout=10)
        frame = await next_event("frame", timeout=10)
        assert type(frame) is Binary and len(frame.data) == len(data)
        assert frame.data == data
        await otpy.stop(pid)


async def test_a_fragmented_text_message_arrives_whole() -> None:
    async def fragments(ws: ServerConnection) -> None:
        await ws.send(iter(["a", "b", "c"]))
        await ws.wait_closed()

    async with peer(fragments) as url:
        pid = await start(url)
        await next_event("connect")
        assert await next_event("frame") == Text("abc")  # the first frame seen: the whole message
        await otpy.stop(pid)


async def test_a_fragmented_binary_message_arrives_whole() -> None:
    async def fragments(ws: ServerConnection) -> None:
        await ws.send(iter([b"\x01", b"\x02\x03", b"\x04"]))
        await ws.wait_closed()

    async with peer(fragments) as url:
        pid = await start(url)
        await next_event("connect")
        assert await next_event("frame") == Binary(b"\x01\x02\x03\x04")
        await otpy.stop(pid)


# -- control frames --------------------------------------------------------------------------


async def test_a_server_close_arrives_as_a_close_frame_then_remote_closed() -> None:
    async def closes(ws: ServerConnection) -> None:
        await ws.close(4000, "bye")

    async with peer(closes) as url:
        pid = await start(url)
        await next_event("connect")
        assert await next_event("frame") == CloseFrame(4000, "bye")
        assert await next_event("disconnect") == wsclient.RemoteClosed(4000, "bye", attempt=1)
        await otpy.stop(pid)


async def test_the_client_echoes_the_server_s_close_code() -> None:
    answers: asyncio.Queue[Any] = asyncio.Queue()

    async def closes(ws: ServerConnection) -> None:
        await ws.close(4000, "bye")  # returns once the client's close frame came back
        answers.put_nowait(ws.protocol.close_rcvd)

    async with peer(closes) as url:
        pid = await start(url)
        await next_event("disconnect")
        rcvd = await asyncio.wait_for(answers.get(), GUARD)
        assert rcvd is not None and rcvd.code == 4000
        await otpy.stop(pid)


async def test_a_server_ping_is_answered_with_a_pong() -> None:
    latencies: asyncio.Queue[float] = asyncio.Queue()

    async def pings(ws: ServerConnection) -> None:
        waiter = await ws.ping(b"are you there")
        latencies.put_nowait(await waiter)  # resolves only when the matching pong arrives
        await ws.wait_closed()

    async with peer(pings) as url:
        pid = await start(url)
        latency = await asyncio.wait_for(latencies.get(), GUARD)
        assert latency >= 0
        await otpy.stop(pid)


async def test_a_server_ping_is_delivered_to_handle_frame() -> None:
    async def pings(ws: ServerConnection) -> None:
        await ws.ping(b"are you there")
        await ws.wait_closed()

    async with peer(pings) as url:
        pid = await start(url)
        await next_event("connect")
        assert await next_event("frame") == Ping(b"are you there")
        await otpy.stop(pid)


async def test_a_server_that_aborts_the_connection_gives_a_transport_error() -> None:
    async def aborts(ws: ServerConnection) -> None:
        ws.transport.abort()  # no close frame: what the client sees as 1006
        await ws.wait_closed()

    async with peer(aborts) as url:
        pid = await start(url)
        await next_event("connect")
        reason = await next_event("disconnect")
        assert isinstance(reason, wsclient.TransportError), reason
        assert reason.attempt == 1
        await otpy.stop(pid)


async def test_a_client_close_reaches_the_server_with_its_code_and_reason() -> None:
    closes: asyncio.Queue[tuple[int | None, str | None]] = asyncio.Queue()

    async def waits(ws: ServerConnection) -> None:
        await ws.wait_closed()
        closes.put_nowait((ws.close_code, ws.close_reason))

    async with peer(waits) as url:
        pid = await start(url)
        await next_event("connect")
        await wsclient.close(pid, 4001, "done")
        assert await next_event("disconnect") == wsclient.LocalClosed(4001, "done", attempt=1)
        assert await asyncio.wait_for(closes.get(), GUARD) == (4001, "done")
        await otpy.stop(pid)


async def test_a_client_ping_is_answered_by_the_server() -> None:
    async with peer(idle) as url:
        pid = await start(url)
        await next_event("connect")
        await wsclient.send_frame(pid, Ping(b"anyone"))
        assert await next_event("frame") == wsclient.Pong(b"anyone")
        await otpy.stop(pid)
