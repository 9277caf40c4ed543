"""What an outside review found, each as a test: stalled writes, shared cookies, memory under
max_queue, unsendable text, options that failed late, illegal close frames, pongs behind a
backlog, calls served while frames stream, reconnects asked for, URLs and specs."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import otpy
import wsclient
from wsclient import Backoff, Close, Ok, Reconnect, Text
from wsclient.testing import Server

from .support import GUARD, Reporter, host_of, next_event, wait_msg

FAST = Backoff(initial=0.001, cap=0.005, after_drop=0.001)



async def test_a_write_to_a_peer_that_stopped_reading_ends_as_a_heartbeat_timeout(
    ws_server: Server,
) -> None:
    pid = await Reporter.start_link(
        ws_server.url,
        otpy.self_pid(),
        ping_interval=0.2,
        ping_timeout=0.2,
        backoff=FAST,
        compress=False,  # so that the megabytes really go on the wire
    )
    await next_event("connect")
    ws_server.go_silent()
    big = Text("x" * 1_000_000)
    with pytest.raises(wsclient.NotConnected):
        for _ in range(64):  # the socket's buffers fill, then a write stalls
            await wsclient.send_frame(pid, big, timeout=GUARD)
    assert isinstance(await next_event("disconnect"), wsclient.HeartbeatTimeout)
    assert otpy.is_alive(pid)
    await otpy.stop(pid)


async def test_clients_sharing_the_default_session_do_not_share_cookies(
    aiohttp_server: Any,
) -> None:
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Cookie"))
        return web.Response(status=401, headers={"Set-Cookie": "sid=ALICE-SESSION"})

    app = web.Application()
    app.router.add_get("/", handler)
    server = await aiohttp_server(app)
    url = f"ws://127.0.0.1:{server.port}/"
    for who in ("alice", "bob"):
        pid = await Reporter.start_link(url, otpy.self_pid(), headers={"Authorization": who})
        assert isinstance(await next_event("disconnect"), wsclient.HandshakeRejected)
        await otpy.stop(pid)
    assert seen[:2] == [None, None]


class Held(wsclient.WebsocketClient):
    """Holds its first frame until released, then reports every frame."""

    async def init(self, arg: Any) -> Ok:
        return Ok(arg)

    async def handle_frame(self, frame: Any, state: Any) -> Any:
        test, gate = state
        if frame == Text("first"):
            otpy.send(test, ("held",))
            await gate.wait()
        otpy.send(test, ("frame", frame))
        return Ok(state)

    async def handle_connect(self, status: Any, state: Any) -> Any:
        otpy.send(state[0], ("connect", status))
        return Ok(state)


async def test_with_max_queue_few_frames_wait_while_the_handler_is_held(ws_server: Server) -> None:
    gate = asyncio.Event()
    pid = await Held.start_link(
        ws_server.url, (otpy.self_pid(), gate), max_queue=10, compress=False
    )
    await next_event("connect")
    await ws_server.push(Text("first"))
    await wait_msg("held")
    payload = "x" * 1000
    pusher = asyncio.create_task(ws_server.push([Text(payload)] * 20_000))
    host = host_of(pid)
    # the client stops reading: the server's pushes cannot all go out (polled: no event is
    # raised for a full socket buffer; the guard bounds it)
    async with asyncio.timeout(GUARD):
        while not (host.pause.protocol._reading_paused and _writes_blocked(ws_server)):  # noqa: ASYNC110
            await asyncio.sleep(0)
    # what one read of the socket brought in still arrives: up to 64 KiB of frames more
    assert len(host.buf) <= 10 + 65_536 // len(payload) + 1
    assert not pusher.done()
    gate.set()
    await asyncio.wait_for(pusher, GUARD)
    await otpy.stop(pid)


def _writes_blocked(server: Server) -> bool:
    for ws in server._open:
        transport = ws._req.transport if ws._req is not None else None
        if transport is not None and transport.get_write_buffer_size() > 0:
            return True
    return False


async def test_text_that_is_not_utf8_fails_the_caller_and_the_client_lives(
    ws_server: Server,
) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid())
    await next_event("connect")
    with pytest.raises(wsclient.InvalidFrame, match="UTF-8"):
        await wsclient.send_frame(pid, Text("\ud800"))
    with pytest.raises(wsclient.InvalidFrame, match="UTF-8"):
        await wsclient.close(pid, 1000, "\udc00")
    await wsclient.send_frame(pid, Text("still here"))
    await ws_server.wait_received(Text("still here"))
    await otpy.stop(pid)


async def test_options_that_would_fail_at_connect_fail_at_start() -> None:
    with pytest.raises(wsclient.InvalidOption, match="max_msg_size"):
        await Reporter.start_link("ws://127.0.0.1:1/", None, max_msg_size=2**64)
    session = aiohttp.ClientSession()
    await session.close()
    with pytest.raises(wsclient.InvalidOption, match="closed"):
        await Reporter.start_link("ws://127.0.0.1:1/", None, session=session)


class ClosesWithALongReason(Reporter):
    async def handle_frame(self, frame: Any, state: Any) -> Any:
        return Close(state, 1000, "x" * 200)


async def test_a_close_reason_over_123_bytes_from_a_callback_is_never_sent(
    ws_server: Server,
) -> None:
    pid = await ClosesWithALongReason.start(ws_server.url, otpy.self_pid())
    ref = otpy.monitor(pid)
    await next_event("connect")
    await ws_server.push(Text("close please"))
    down = await otpy.receive(match=lambda m: type(m) is otpy.Down and m.ref == ref, timeout=GUARD)
    assert isinstance(down.reason, wsclient.InvalidFrame)
    # (the one close frame that went out is the goodbye, 1001, of the crashed client)
    assert [f for f in ws_server.received if type(f) is wsclient.CloseFrame] in (
        [],
        [wsclient.CloseFrame(1001, "")],
    )


class SlowHandler(wsclient.WebsocketClient):
    async def init(self, arg: Any) -> Ok:
        return Ok(arg)

    async def handle_frame(self, frame: Any, state: Any) -> Any:
        test, gate = state
        if frame == Text("hold"):
            otpy.send(test, ("held",))
            await gate.wait()
        return Ok(state)

    async def handle_connect(self, status: Any, state: Any) -> Any:
        otpy.send(state[0], ("connect", status))
        return Ok(state)


async def test_a_ping_queued_behind_frames_is_answered_before_its_turn(ws_server: Server) -> None:
    gate = asyncio.Event()
    pid = await SlowHandler.start_link(ws_server.url, (otpy.self_pid(), gate))
    await next_event("connect")
    await ws_server.push([Text("hold")] + [Text("behind")] * 40 + [wsclient.Ping(b"p1")])
    await wait_msg("held")
    gate.set()
    await ws_server.wait_received(wsclient.Pong(b"p1"))
    await otpy.stop(pid)


class Counts(Reporter):
    async def init(self, arg: Any) -> Ok:
        return Ok(arg)

    async def handle_frame(self, frame: Any, state: Any) -> Any:
        if frame == Text("0"):
            otpy.send(state, ("first",))
        return Ok(state)


async def test_a_call_is_served_while_frames_stream_in(ws_server: Server) -> None:
    pid = await Counts.start_link(ws_server.url, otpy.self_pid(), compress=False)
    await next_event("connect")
    n = 20_000
    pusher = asyncio.create_task(ws_server.push([Text(str(i)) for i in range(n)]))
    await wait_msg("first")
    stats = await wsclient.stats(pid)
    assert stats.frames_in < n  # answered between two frames, not after the stream
    await asyncio.wait_for(pusher, GUARD)
    await otpy.stop(pid)


class ReconnectsOnEveryFrame(Reporter):
    async def handle_frame(self, frame: Any, state: Any) -> Any:
        return Reconnect(state, after=0)


async def test_reconnects_asked_for_are_not_failed_attempts(ws_server: Server) -> None:
    backoff = Backoff(initial=0.001, cap=0.002, max_attempts=2)
    pid = await ReconnectsOnEveryFrame.start_link(ws_server.url, otpy.self_pid(), backoff=backoff)
    for i in range(4):  # more reconnects than max_attempts allows failures
        await next_event("connect")
        await ws_server.push(Text(f"again {i}"))
    await next_event("connect")
    assert otpy.is_alive(pid)
    assert (await wsclient.stats(pid)).attempt == 0
    await otpy.stop(pid)


@pytest.mark.parametrize("url", ["ws://xn--zz/", "ws://h:0/", "ws://a b/"])
async def test_more_bad_urls_fail_at_start(url: str) -> None:
    with pytest.raises(wsclient.InvalidURL):
        await Reporter.start_link(url, None)


def test_a_child_spec_shows_neither_the_password_nor_option_values() -> None:
    spec = Reporter.child_spec(
        {"url": "ws://user:s3cretpw@127.0.0.1:1/", "headers": {"Cookie": "sid=cookie987654"}}
    )
    shown = repr(spec)
    assert "s3cretpw" not in shown and "cookie987654" not in shown
    assert "127.0.0.1:1" in shown


async def test_a_connection_ended_without_a_close_frame_says_so(ws_server: Server) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid(), backoff=FAST)
    await next_event("connect")
    ws_server.drop()
    reason = await next_event("disconnect")
    assert isinstance(reason, wsclient.TransportError)
    assert "Cannot write" not in str(reason)
    await otpy.stop(pid)
