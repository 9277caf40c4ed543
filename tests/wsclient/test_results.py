"""Every result of every callback, and what the client does with it.

A ``Scripted`` client reports each callback to the test (as ``Reporter`` does) and returns what
the test scripted for it: ``handle_connect`` and ``handle_disconnect`` return what their
function in the script builds, and ``handle_frame``, ``handle_cast``, ``handle_info`` and
``handle_call`` return ``script.act(state)`` when they get the trigger (the text frame "go", the
cast "go", the message "go", the call "go") and ``Ok(state)`` otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

import otpy
import wsclient
from wsclient import (
    Backoff,
    Binary,
    Close,
    CloseFrame,
    Ok,
    Ping,
    Pong,
    Reconnect,
    Reply,
    Stop,
    Text,
)
from wsclient.testing import Server

from ..otpy.support import assert_no_msg, wait_down
from .support import GUARD, next_event

FAST = Backoff(initial=0.001, cap=0.005, after_drop=0.001)
#: A policy that would wait up to 30 s: a reconnect that comes quickly did not come from it.
SLOW = Backoff(initial=30.0, multiplier=1.0, cap=30.0, after_drop=30.0)

GO = "go"
#: A value no callback may return (the tuple an Elixir user might write).
BAD = ("ok", "not a result")

VIAS = ("handle_frame", "handle_cast", "handle_info", "handle_call")


@dataclasses.dataclass
class Script:
    test: otpy.Pid
    #: What the triggered handle_frame/cast/info/call returns, built from the state.
    act: Callable[[Any], Any] | None = None
    #: What handle_connect returns, built from the state (None: Ok(state)).
    on_connect: Callable[[Any], Any] | None = None
    #: What handle_disconnect returns, built from (reason, state) (None: the default policy).
    on_disconnect: Callable[[Any, Any], Any] | None = None
    #: The frame that triggers handle_frame's scripted result.
    trigger: Any = dataclasses.field(default_factory=lambda: Text(GO))
    mark: str = "before"


class Scripted(wsclient.WebsocketClient):
    async def init(self, arg: Any) -> Ok:
        return Ok(arg)

    async def handle_connect(self, status: Any, state: Script) -> Any:
        otpy.send(state.test, ("connect", status))
        if state.on_connect is not None:
            return state.on_connect(state)
        return Ok(state)

    async def handle_disconnect(self, reason: Any, state: Script) -> Any:
        otpy.send(state.test, ("disconnect", reason))
        if state.on_disconnect is not None:
            return state.on_disconnect(reason, state)
        if isinstance(reason, wsclient.LocalClosed):
            return Ok(state)
        return Reconnect(state)

    async def handle_frame(self, frame: Any, state: Script) -> Any:
        otpy.send(state.test, ("frame", frame))
        if frame == state.trigger and state.act is not None:
            return state.act(state)
        return Ok(state)

    async def handle_cast(self, request: Any, state: Script) -> Any:
        otpy.send(state.test, ("cast", request))
        if request == GO and state.act is not None:
            return state.act(state)
        return Ok(state)

    async def handle_info(self, msg: Any, state: Script) -> Any:
        otpy.send(state.test, ("info", msg))
        if msg == GO and state.act is not None:
            return state.act(state)
        return Ok(state)

    async def handle_call(self, request: Any, from_: otpy.From, state: Script) -> Any:
        if request == "mark":
            otpy.reply(from_, state.mark)
            return Ok(state)
        otpy.reply(from_, "went")
        if request == GO and state.act is not None:
            return state.act(state)
        return Ok(state)

    async def terminate(self, reason: Any, state: Script) -> None:
        otpy.send(state.test, ("terminate", reason))


async def start_scripted(server: Server, *, linked: bool = True, **script: Any) -> otpy.Pid:
    """Start a Scripted client on `server` and wait for its first handle_connect."""
    start = Scripted.start_link if linked else Scripted.start
    backoff = script.pop("backoff", FAST)
    pid = await start(server.url, Script(otpy.self_pid(), **script), backoff=backoff)
    await next_event("connect")
    return pid


async def trigger(via: str, pid: otpy.Pid, server: Server) -> None:
    """Make `via` run with the trigger, and return once it has run (or its result is queued
    ahead of anything the test sends next)."""
    if via == "handle_frame":
        await server.push(Text(GO))
        assert await next_event("frame") == Text(GO)
    elif via == "handle_cast":
        wsclient.cast(pid, GO)
    elif via == "handle_info":
        otpy.send(pid, GO)
    else:
        assert await wsclient.call(pid, GO) == "went"


async def wait_exit(ref: otpy.Ref) -> Any:
    return (await wait_down(ref)).reason


def assert_bad_return(reason: Any, callback: str, value: Any) -> None:
    assert isinstance(reason, otpy.BadReturn)
    assert reason.cls is Scripted and reason.callback == callback and reason.value == value
    text = str(reason)
    assert "Scripted" in text and callback in text and repr(value) in text


# -- handle_connect -----------------------------------------------------------------------------


async def test_handle_connect_ok_leaves_the_client_connected_having_sent_nothing(
    ws_server: Server,
) -> None:
    pid = await start_scripted(ws_server)
    assert (await wsclient.stats(pid)).state == "connected"
    await wsclient.send_frame(pid, Text("probe"))
    await ws_server.wait_received(Text("probe"))
    assert ws_server.received == [Text("probe")]
    await otpy.stop(pid)


async def test_handle_connect_reply_sends_one_frame(ws_server: Server) -> None:
    pid = await start_scripted(ws_server, on_connect=lambda s: Reply(Text("subscribe"), s))
    await ws_server.wait_received(Text("subscribe"))
    assert ws_server.received == [Text("subscribe")]
    assert (await wsclient.stats(pid)).state == "connected"
    await otpy.stop(pid)


async def test_handle_connect_reply_sends_a_list_of_frames_in_order(ws_server: Server) -> None:
    frames = [Text("a"), Binary(b"b"), Text("c"), Ping(b"d")]
    pid = await start_scripted(ws_server, on_connect=lambda s: Reply(frames, s))
    await ws_server.wait_count(4)
    assert ws_server.received == frames
    await otpy.stop(pid)


async def test_handle_connect_close_closes_politely_and_stays_down(ws_server: Server) -> None:
    pid = await start_scripted(ws_server, on_connect=lambda s: Close(s, 4001, "not now"))
    await ws_server.wait_received(CloseFrame(4001, "not now"))
    assert await next_event("disconnect") == wsclient.LocalClosed(4001, "not now", attempt=1)
    assert (await wsclient.stats(pid)).state == "down"
    await otpy.stop(pid)


async def test_handle_connect_stop_ends_the_process_with_the_reason(ws_server: Server) -> None:
    pid = await Scripted.start(
        ws_server.url, Script(otpy.self_pid(), on_connect=lambda s: Stop("refused", s))
    )
    ref = otpy.monitor(pid)
    await next_event("connect")
    assert await wait_exit(ref) == "refused"
    assert await next_event("terminate") == "refused"
    await ws_server.wait_closed()


async def test_handle_connect_returning_reconnect_is_a_bad_return(ws_server: Server) -> None:
    value = Reconnect("state")
    pid = await Scripted.start(ws_server.url, Script(otpy.self_pid(), on_connect=lambda s: value))
    ref = otpy.monitor(pid)
    assert_bad_return(await wait_exit(ref), "handle_connect", value)


# -- handle_disconnect --------------------------------------------------------------------------


async def test_handle_disconnect_ok_stays_down_until_connect(ws_server: Server) -> None:
    pid = await start_scripted(ws_server, on_disconnect=lambda r, s: Ok(s))
    ws_server.drop()
    assert isinstance(await next_event("disconnect"), wsclient.TransportError)
    stats = await wsclient.stats(pid)
    assert stats.state == "down" and stats.next_retry_at is None
    assert ws_server.connections_total == 1
    await wsclient.connect(pid)
    assert (await wsclient.stats(pid)).state == "connected"  # connect returned once connected
    await next_event("connect")
    await ws_server.wait_connections(2)
    await otpy.stop(pid)


async def test_handle_disconnect_reconnect_after_waits_exactly_that_long(
    ws_server: Server,
) -> None:
    pid = await start_scripted(
        ws_server, on_disconnect=lambda r, s: Reconnect(s, after=0.01), backoff=SLOW
    )
    before = time.time()
    ws_server.drop()
    await next_event("disconnect")
    stats = await wsclient.stats(pid)
    assert stats.state in ("backoff", "connecting", "connected")
    if stats.state == "backoff":
        assert stats.next_retry_at is not None
        assert before + 0.01 <= stats.next_retry_at <= time.time() + 0.01
    await next_event("connect")  # SLOW would have waited up to 30 s
    await ws_server.wait_connections(2)
    await otpy.stop(pid)


async def test_handle_disconnect_reconnect_without_after_uses_the_backoff_policy(
    ws_server: Server,
) -> None:
    # the first drop of an established connection waits within after_drop, not within initial
    policy = Backoff(initial=30.0, multiplier=1.0, cap=30.0, after_drop=0.05)
    pid = await start_scripted(ws_server, on_disconnect=lambda r, s: Reconnect(s), backoff=policy)
    before = time.time()
    ws_server.drop()
    assert (await next_event("disconnect")).attempt == 1
    stats = await wsclient.stats(pid)
    if stats.state == "backoff":
        assert stats.next_retry_at is not None
        assert before <= stats.next_retry_at <= time.time() + 0.05
    await next_event("connect")
    await ws_server.wait_connections(2)
    await otpy.stop(pid)


async def test_handle_disconnect_stop_ends_the_process_with_the_reason(
    ws_server: Server,
) -> None:
    pid = await start_scripted(
        ws_server, linked=False, on_disconnect=lambda r, s: Stop("gone for good", s)
    )
    ref = otpy.monitor(pid)
    ws_server.drop()
    await next_event("disconnect")
    assert await wait_exit(ref) == "gone for good"
    assert await next_event("terminate") == "gone for good"


# -- handle_frame, handle_cast, handle_info, handle_call ------------------------------------


@pytest.mark.parametrize("via", VIAS)
async def test_ok_carries_the_new_state_and_stays_connected(via: str, ws_server: Server) -> None:
    pid = await start_scripted(ws_server, act=lambda s: Ok(dataclasses.replace(s, mark="after")))
    await trigger(via, pid, ws_server)
    assert await wsclient.call(pid, "mark") == "after"
    assert (await wsclient.stats(pid)).state == "connected"
    assert ws_server.connections_total == 1
    await assert_no_msg("disconnect")
    await otpy.stop(pid)


@pytest.mark.parametrize("via", VIAS)
async def test_reply_sends_the_frames_in_order(via: str, ws_server: Server) -> None:
    frames = [Text("r1"), Binary(b"r2"), Text("r3")]
    pid = await start_scripted(ws_server, act=lambda s: Reply(frames, s))
    await trigger(via, pid, ws_server)
    await ws_server.wait_count(3)
    assert ws_server.received == frames
    assert (await wsclient.stats(pid)).state == "connected"
    await otpy.stop(pid)


@pytest.mark.parametrize("via", VIAS)
async def test_reply_with_a_single_frame_sends_it(via: str, ws_server: Server) -> None:
    pid = await start_scripted(ws_server, act=lambda s: Reply(Text("one"), s))
    await trigger(via, pid, ws_server)
    await ws_server.wait_received(Text("one"))
    assert ws_server.received == [Text("one")]
    await otpy.stop(pid)


@pytest.mark.parametrize("via", VIAS)
async def test_close_closes_politely_with_the_code_and_reason(via: str, ws_server: Server) -> None:
    pid = await start_scripted(ws_server, act=lambda s: Close(s, 4000, "done"))
    await trigger(via, pid, ws_server)
    await ws_server.wait_received(CloseFrame(4000, "done"))
    assert await next_event("disconnect") == wsclient.LocalClosed(4000, "done", attempt=1)
    assert (await wsclient.stats(pid)).state == "down"
    await otpy.stop(pid)


@pytest.mark.parametrize("via", VIAS)
async def test_close_abort_drops_the_socket_without_a_close_frame(
    via: str, ws_server: Server
) -> None:
    pid = await start_scripted(ws_server, act=lambda s: Close(s, abort=True))
    await trigger(via, pid, ws_server)
    assert await next_event("disconnect") == wsclient.LocalClosed(None, "", attempt=1)
    await ws_server.wait_closed()
    assert not any(type(f) is CloseFrame for f in ws_server.received)
    assert (await wsclient.stats(pid)).state == "down"
    await otpy.stop(pid)


@pytest.mark.parametrize("via", VIAS)
async def test_reconnect_drops_the_connection_and_connects_again(
    via: str, ws_server: Server
) -> None:
    pid = await start_scripted(ws_server, act=lambda s: Reconnect(s, after=0))
    await trigger(via, pid, ws_server)
    await next_event("connect")
    await ws_server.wait_connections(2)
    stats = await wsclient.stats(pid)
    assert stats.state == "connected" and stats.connects == 2
    await wsclient.send_frame(pid, Text("on the new one"))
    await ws_server.wait_received(Text("on the new one"))
    await otpy.stop(pid)


async def wait_state(pid: otpy.Pid, state: str) -> None:
    """Ask the client for its stats until it is in `state` (each ask waits for the client)."""
    async with asyncio.timeout(GUARD):
        while (await wsclient.stats(pid)).state != state:
            pass


async def test_reconnect_during_a_close_answers_the_close_caller(ws_server: Server) -> None:
    pid = await start_scripted(ws_server, act=lambda s: Reconnect(s, after=0))
    ws_server.go_silent()  # the close waits for close_timeout (5 s): the peer never answers
    closing = asyncio.create_task(wsclient.close(pid))
    await wait_state(pid, "closing")
    wsclient.cast(pid, GO)  # Reconnect: the connection being closed is dropped
    await next_event("connect")
    try:
        await asyncio.wait_for(asyncio.shield(closing), GUARD)
    except TimeoutError:
        pytest.fail(
            "wsclient.close() still waits after a Reconnect result dropped the connection it "
            "was closing (the client is connected again)"
        )
    finally:
        await otpy.stop(pid)
        with contextlib.suppress(otpy.ServerExited):
            await closing


async def test_a_reply_ending_with_a_close_frame_sends_the_frames_then_closes(
    ws_server: Server,
) -> None:
    frames = [Text("last words"), CloseFrame(4004, "after")]
    pid = await start_scripted(ws_server, act=lambda s: Reply(frames, s))
    await trigger("handle_cast", pid, ws_server)
    await ws_server.wait_received(CloseFrame(4004, "after"))
    assert ws_server.received == frames
    assert await next_event("disconnect") == wsclient.LocalClosed(4004, "after", attempt=1)
    await otpy.stop(pid)


@pytest.mark.parametrize("via", VIAS)
async def test_stop_ends_the_process_with_the_reason_after_terminate(
    via: str, ws_server: Server
) -> None:
    pid = await start_scripted(ws_server, linked=False, act=lambda s: Stop("finished", s))
    ref = otpy.monitor(pid)
    await trigger(via, pid, ws_server)
    assert await wait_exit(ref) == "finished"
    assert await next_event("terminate") == "finished"
    await ws_server.wait_closed()


# -- bad returns ----------------------------------------------------------------------------


async def test_a_bad_return_from_handle_connect_crashes_the_client(ws_server: Server) -> None:
    pid = await Scripted.start(ws_server.url, Script(otpy.self_pid(), on_connect=lambda s: BAD))
    ref = otpy.monitor(pid)
    assert_bad_return(await wait_exit(ref), "handle_connect", BAD)


async def test_a_bad_return_from_handle_disconnect_crashes_the_client(ws_server: Server) -> None:
    pid = await start_scripted(ws_server, linked=False, on_disconnect=lambda r, s: BAD)
    ref = otpy.monitor(pid)
    ws_server.drop()
    assert_bad_return(await wait_exit(ref), "handle_disconnect", BAD)


@pytest.mark.parametrize("via", VIAS)
async def test_a_bad_return_crashes_the_client(via: str, ws_server: Server) -> None:
    pid = await start_scripted(ws_server, linked=False, act=lambda s: BAD)
    ref = otpy.monitor(pid)
    await trigger(via, pid, ws_server)
    assert_bad_return(await wait_exit(ref), via, BAD)


class BadInit(Scripted):
    async def init(self, arg: Any) -> Any:
        return BAD


async def test_a_bad_return_from_init_fails_the_start(ws_server: Server) -> None:
    with pytest.raises(otpy.StartError) as info:
        await BadInit.start(ws_server.url, None)
    text = str(info.value)
    assert "BadInit" in text and "init" in text and repr(BAD) in text


async def _push_ping(server: Server) -> None:
    await server.push(Ping(b"x"))


async def _push_close(server: Server) -> None:
    await server.close_all(4003, "bye")


@pytest.mark.parametrize(
    ("trigger_frame", "send"),
    [
        (Text(GO), lambda srv: srv.push(Text(GO))),
        (Ping(b"x"), _push_ping),
        (CloseFrame(4003, "bye"), _push_close),
    ],
    ids=["text", "ping", "close"],
)
async def test_returning_otpy_noreply_from_handle_frame_is_a_bad_return(
    trigger_frame: Any, send: Any, ws_server: Server
) -> None:
    value = otpy.NoReply("state")
    pid = await start_scripted(ws_server, linked=False, act=lambda s: value, trigger=trigger_frame)
    ref = otpy.monitor(pid)
    await send(ws_server)
    assert_bad_return(await wait_exit(ref), "handle_frame", value)


async def test_a_bad_return_from_a_buffered_frame_crashes_the_client(ws_server: Server) -> None:
    # the frames after the first come from aiohttp's buffer (the drain path), not the helper
    pid = await start_scripted(ws_server, linked=False, act=lambda s: BAD, trigger=Text("9"))
    ref = otpy.monitor(pid)
    await ws_server.push([Text(str(i)) for i in range(10)])
    assert_bad_return(await wait_exit(ref), "handle_frame", BAD)


# -- the defaults -------------------------------------------------------------------------------


class Plain(wsclient.WebsocketClient):
    """Only the defaults."""


async def test_the_default_handle_call_fails_the_caller_with_unhandled(
    ws_server: Server,
) -> None:
    pid = await Plain.start_link(ws_server.url, connect="sync")
    with pytest.raises(otpy.Unhandled) as info:
        await wsclient.call(pid, ("what", 1))
    assert info.value.callback == "handle_call" and info.value.request == ("what", 1)
    assert info.value.cls is Plain
    assert (await wsclient.stats(pid)).state == "connected"  # and the client lives on
    await otpy.stop(pid)


async def test_the_default_handle_cast_logs_ws_unhandled_cast_and_lives_on(
    ws_server: Server,
) -> None:
    pid = await Plain.start_link(ws_server.url, connect="sync")
    with capture_logs() as logs:
        wsclient.cast(pid, ("hello", 1))
        await wsclient.stats(pid)  # served after the cast
    unhandled = [e for e in logs if e["event"] == "ws_unhandled_cast"]
    assert len(unhandled) == 1
    assert unhandled[0]["request"] == repr(("hello", 1)) and unhandled[0]["module"] == "Plain"
    assert (await wsclient.stats(pid)).state == "connected"
    await otpy.stop(pid)


# -- handle_info sees the user's messages only ------------------------------------------------


async def test_handle_info_gets_the_users_messages_and_none_of_the_clients_own(
    ws_server: Server,
) -> None:
    # everything that makes the client send itself messages: the dial (_Opened), frames
    # (_Batch, _Drain), the heartbeat (_Beat), a refused handshake (_DialFailed), the backoff
    # timer (_Retry) and a close that times out (_CloseDeadline)
    pid = await Scripted.start_link(
        ws_server.url,
        Script(otpy.self_pid()),
        backoff=FAST,
        ping_interval=0.01,
        ping_timeout=1.0,
        close_timeout=0.05,
    )
    await next_event("connect")
    await ws_server.push([Text(str(i)) for i in range(300)])
    await otpy.receive(match=lambda m: m == ("frame", Text("299")), timeout=GUARD)
    await otpy.receive(match=lambda m: m == ("frame", Pong(b"wsclient")), timeout=GUARD)
    ws_server.refuse(503)
    ws_server.drop()
    assert isinstance(await next_event("disconnect"), wsclient.TransportError)
    assert isinstance(await next_event("disconnect"), wsclient.HandshakeRejected)
    await next_event("connect")
    ws_server.go_silent()
    await wsclient.close(pid)  # ends at close_timeout: the server never answers
    assert isinstance(await next_event("disconnect"), wsclient.LocalClosed)
    otpy.send(pid, "mine")
    assert await next_event("info") == "mine"
    await assert_no_msg("info")
    await otpy.stop(pid)
