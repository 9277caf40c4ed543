"""The heartbeat catches a silent peer; closing is bounded, and a no-op when there is nothing
to close."""

from __future__ import annotations

from typing import Any

import otpy
import wsclient
from wsclient import Backoff, Close, CloseFrame, Ok, Text
from wsclient.testing import Server

from .support import GUARD, Reporter, next_event, wait_msg

FAST = Backoff(initial=0.001, cap=0.005, after_drop=0.001)


async def test_heartbeat_catches_a_silent_peer(ws_server: Server) -> None:
    pid = await Reporter.start_link(
        ws_server.url, otpy.self_pid(), ping_interval=0.02, ping_timeout=0.05, backoff=FAST
    )
    await next_event("connect")
    ws_server.go_silent()
    reason = await next_event("disconnect")
    assert isinstance(reason, wsclient.HeartbeatTimeout)
    await otpy.stop(pid)


async def test_a_live_peer_answers_the_heartbeat_and_the_rtt_is_recorded(
    ws_server: Server,
) -> None:
    pid = await Reporter.start_link(
        ws_server.url, otpy.self_pid(), ping_interval=0.01, ping_timeout=1.0
    )
    await next_event("connect")
    assert await next_event("frame") == wsclient.Pong(b"wsclient")  # the heartbeat's answer
    stats = await wsclient.stats(pid)
    assert stats.rtt is not None and stats.rtt >= 0
    assert stats.state == "connected"
    await otpy.stop(pid)


async def test_close_against_a_peer_that_never_answers_ends_after_close_timeout(
    ws_server: Server,
) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid(), close_timeout=0.05)
    await next_event("connect")
    ws_server.go_silent()
    await wsclient.close(pid, 1000, "bye")
    reason = await next_event("disconnect")
    assert reason == wsclient.LocalClosed(1000, "bye", attempt=1)
    assert (await wsclient.stats(pid)).state == "down"
    await otpy.stop(pid)


async def test_close_with_a_peer_that_answers_completes_the_handshake(ws_server: Server) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid())
    await next_event("connect")
    await wsclient.close(pid, 4000, "done")
    await ws_server.wait_received(CloseFrame(4000, "done"))
    assert isinstance(await next_event("disconnect"), wsclient.LocalClosed)
    await ws_server.wait_closed()
    await otpy.stop(pid)


async def test_closing_while_disconnected_is_a_no_op() -> None:
    pid = await Reporter.start_link("ws://127.0.0.1:1/", otpy.self_pid(), backoff=FAST)
    await next_event("disconnect")
    await wsclient.close(pid)  # in backoff or connecting: stays down, never crashes
    await wsclient.close(pid)  # and again
    assert otpy.is_alive(pid)
    info = otpy.process_info(pid)
    assert info is not None and info.timers <= 1
    await otpy.stop(pid)


async def test_a_second_close_leaves_no_stale_timer(ws_server: Server) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid(), close_timeout=5)
    await next_event("connect")
    await wsclient.close(pid)
    await wsclient.close(pid)
    await next_event("disconnect")
    info = otpy.process_info(pid)
    assert info is not None and info.timers == 0
    await otpy.stop(pid)


async def test_a_remote_close_is_delivered_echoed_and_reported(ws_server: Server) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid(), backoff=FAST)
    await next_event("connect")
    await ws_server.close_all(4001, "go away")
    assert await next_event("frame") == CloseFrame(4001, "go away")
    reason = await next_event("disconnect")
    assert reason == wsclient.RemoteClosed(4001, "go away", attempt=1)
    await next_event("connect")  # and reconnected by the default policy
    await otpy.stop(pid)


class ClosesOnFrame(Reporter):
    async def handle_frame(self, frame: Any, state: Any) -> Any:
        if frame == Text("close please"):
            return Close(state, 4002, "asked")
        if frame == Text("abort please"):
            return Close(state, abort=True)
        return Ok(state)


async def test_close_from_handle_frame_closes_politely(ws_server: Server) -> None:
    pid = await ClosesOnFrame.start_link(ws_server.url, otpy.self_pid())
    await next_event("connect")
    await ws_server.push(Text("close please"))
    await ws_server.wait_received(CloseFrame(4002, "asked"))
    assert await next_event("disconnect") == wsclient.LocalClosed(4002, "asked", attempt=1)
    await otpy.stop(pid)


async def test_close_abort_from_handle_frame_drops_the_socket(ws_server: Server) -> None:
    pid = await ClosesOnFrame.start_link(ws_server.url, otpy.self_pid())
    await next_event("connect")
    await ws_server.push(Text("abort please"))
    assert await next_event("disconnect") == wsclient.LocalClosed(None, "", attempt=1)
    await ws_server.wait_closed()
    assert not any(type(f) is CloseFrame for f in ws_server.received)
    await otpy.stop(pid)


async def test_stop_says_goodbye_with_1001(ws_server: Server) -> None:
    pid = await Reporter.start(ws_server.url, otpy.self_pid())
    await next_event("connect")
    await otpy.stop(pid, "shutdown")
    await ws_server.wait_received(CloseFrame(1001, ""))
    assert (await wait_msg("terminate", GUARD))[1] == "shutdown"
