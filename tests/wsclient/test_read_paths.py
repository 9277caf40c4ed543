"""The client's two read paths, on both event loops: every scenario runs on the fast path (the
process, woken by its ReaderHook, takes frames from aiohttp's buffer) and on the fallback path
(a helper parks in ``ws.receive()``), each under asyncio's loop and under uvloop (whose
transports cache ``protocol.data_received`` before the hook wraps it).

pytest-asyncio runs async tests on its own loop, so these are sync tests that run each scenario
under an ``asyncio.Runner`` with the loop factory of the case.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvloop

import otpy
import wsclient
import wsclient.connection
from wsclient import Backoff, Binary, CloseFrame, Ping, Pong, Text
from wsclient.testing import Server

from .support import GUARD, Reporter, host_of, next_event

FAST = Backoff(initial=0.001, cap=0.005, after_drop=0.001)
LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}

Scenario = Callable[[Server, otpy.Pid, str], Awaitable[None]]  # (server, client, path)


@pytest.fixture(params=["fast", "fallback"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The read path: "fast" (this aiohttp has the internals) or "fallback" (turned off)."""
    if request.param == "fallback":
        monkeypatch.setattr(wsclient.connection, "FAST_PATH", False)
    else:
        assert wsclient.connection.FAST_PATH, "the installed aiohttp has no fast path"
    return str(request.param)


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_kind(request: pytest.FixtureRequest) -> str:
    """The event loop the scenario runs on: asyncio's own, or uvloop's."""
    return str(request.param)


def run(loop: str, path: str, scenario: Scenario) -> None:
    """Run `scenario` on a fresh loop of kind `loop`, with a connected Reporter client (which
    sends its callbacks to the test) on a test Server; check the client reads by `path`."""

    async def main() -> None:
        running = asyncio.get_running_loop()
        assert isinstance(running, uvloop.Loop) == (loop == "uvloop")
        async with Server() as srv:
            pid = await Reporter.start_link(srv.url, otpy.self_pid(), backoff=FAST)
            try:
                await next_event("connect")
                await srv.wait_connections(1)
                _assert_read_path(pid, path)
                await scenario(srv, pid, path)
            finally:
                if otpy.is_alive(pid):
                    await otpy.stop(pid)

    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        runner.run(main())


def _assert_read_path(pid: otpy.Pid, path: str) -> None:
    host = host_of(pid)
    if path == "fast":
        assert host.pause is not None and host.go is None  # the ReaderHook wakes the process
    else:
        assert host.pause is None and host.go is not None  # the helper receives


async def _frames(n: int) -> list[Any]:
    return [await next_event("frame") for _ in range(n)]


async def _report() -> tuple[Any, ...]:
    """The next ("frame", f) or ("disconnect", reason) report, in the order they were sent."""
    msg: tuple[Any, ...] = await otpy.receive(
        match=lambda m: type(m) is tuple and len(m) == 2 and m[0] in ("frame", "disconnect"),
        timeout=GUARD,
    )
    return msg


async def _sync(srv: Server, pid: otpy.Pid) -> None:
    """Have the client send a frame and wait until the server has it: whatever the client
    wrote before (while handling what it was sent before) has arrived by then."""
    await wsclient.send_frame(pid, Text("sync"))
    await srv.wait_received(Text("sync"))
    srv.received.remove(Text("sync"))


# -- 1. many frames ---------------------------------------------------------------------------


async def _many_frames(srv: Server, pid: otpy.Pid, path: str) -> None:
    sent = [Text(f"frame {i}") for i in range(5000)]
    await srv.push(sent)
    assert await _frames(len(sent)) == sent
    await srv.push(Text("end"))
    assert await next_event("frame") == Text("end")  # nothing was delivered twice before it
    assert (await wsclient.stats(pid)).frames_in == len(sent) + 1


def test_5000_text_frames_reach_handle_frame_all_in_order_and_once(
    loop_kind: str, path: str
) -> None:
    run(loop_kind, path, _many_frames)


# -- 2. ping ------------------------------------------------------------------------------------


async def _ping(srv: Server, pid: otpy.Pid, path: str) -> None:
    await srv.push(Ping(b"are you there"))
    assert await next_event("frame") == Ping(b"are you there")
    await srv.wait_received(Pong(b"are you there"))
    await _sync(srv, pid)  # a second pong, if any, is on the wire before this
    assert [f for f in srv.received if type(f) is Pong] == [Pong(b"are you there")]


def test_a_ping_from_the_server_is_answered_with_a_pong_and_delivered_as_ping(
    loop_kind: str, path: str
) -> None:
    run(loop_kind, path, _ping)


# -- 3. dropped connection --------------------------------------------------------------------


async def _dropped(srv: Server, pid: otpy.Pid, path: str) -> None:
    await srv.push(Text("before"))
    assert await next_event("frame") == Text("before")
    srv.drop()
    assert isinstance(await next_event("disconnect"), wsclient.TransportError)
    await next_event("connect")
    await srv.wait_connections(2)
    _assert_read_path(pid, path)  # the new connection reads by the same path
    after = [Text(f"after {i}") for i in range(100)]
    await srv.push(after)
    assert await _frames(len(after)) == after


def test_a_dropped_connection_is_a_transport_error_and_frames_after_the_reconnect_arrive(
    loop_kind: str, path: str
) -> None:
    run(loop_kind, path, _dropped)


# -- 4. close with a code -----------------------------------------------------------------------


async def _closed_with_code(srv: Server, pid: otpy.Pid, path: str) -> None:
    sent = [Text(f"last words {i}") for i in range(200)]
    await srv.push(sent)
    await srv.close_all(4000, "bye")
    reports = [await _report() for _ in range(len(sent) + 2)]
    assert reports[: len(sent) + 1] == [("frame", f) for f in sent] + [
        ("frame", CloseFrame(4000, "bye"))
    ]
    tag, reason = reports[-1]
    assert tag == "disconnect"
    assert isinstance(reason, wsclient.RemoteClosed)
    assert (reason.code, reason.reason) == (4000, "bye")


def test_frames_before_a_close_with_a_code_come_before_the_close_frame_then_remote_closed(
    loop_kind: str, path: str
) -> None:
    run(loop_kind, path, _closed_with_code)


# -- 5. an idle client is woken ---------------------------------------------------------------


async def _idle(srv: Server, pid: otpy.Pid, path: str) -> None:
    for i in range(50):
        # a call answered means the client is done with everything before it: it sits idle
        assert (await wsclient.stats(pid)).frames_in == i
        if i % 5 == 4:
            await srv.push(Ping(b"%d" % i))
            assert await next_event("frame") == Ping(b"%d" % i)
            await srv.wait_received(Pong(b"%d" % i))
        else:
            await srv.push(Text(f"idle {i}"))
            assert await next_event("frame") == Text(f"idle {i}")
    assert (await wsclient.stats(pid)).frames_in == 50
    await _sync(srv, pid)
    assert [f for f in srv.received if type(f) is Pong] == [
        Pong(b"%d" % i) for i in range(50) if i % 5 == 4
    ]  # each ping answered once
    await srv.close_all(4001, "idle close")
    assert await next_event("frame") == CloseFrame(4001, "idle close")
    reason = await next_event("disconnect")
    assert isinstance(reason, wsclient.RemoteClosed) and reason.code == 4001


def test_frames_pings_and_a_close_arriving_while_the_client_is_idle_are_not_missed(
    loop_kind: str, path: str
) -> None:
    run(loop_kind, path, _idle)


# -- 6. a large message -------------------------------------------------------------------------


async def _large(srv: Server, pid: otpy.Pid, path: str) -> None:
    data = os.urandom(3 * 1024 * 1024)
    await srv.push([Binary(data), Text("after the large one")])
    frame = await next_event("frame")
    assert type(frame) is Binary
    assert len(frame.data) == len(data) and frame.data == data
    assert await next_event("frame") == Text("after the large one")


def test_a_3_mib_binary_message_arrives_whole_and_equal(loop_kind: str, path: str) -> None:
    run(loop_kind, path, _large)
