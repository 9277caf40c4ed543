"""Reconnecting: after a drop, a server restart, a refused port; backoff, attempts, give-up."""

from __future__ import annotations

import socket
from typing import Any

import otpy
import wsclient
from wsclient import Backoff, Text
from wsclient.testing import Server

from .support import GUARD, Reporter, next_event

FAST = Backoff(initial=0.001, cap=0.005, after_drop=0.001)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_a_dropped_connection_is_reconnected_with_a_transport_error(
    ws_server: Server,
) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid(), backoff=FAST)
    await next_event("connect")
    ws_server.drop()
    reason = await next_event("disconnect")
    assert isinstance(reason, wsclient.TransportError) and reason.attempt == 1
    await next_event("connect")
    await ws_server.wait_connections(2)
    await otpy.stop(pid)


async def test_the_server_restarting_on_the_same_port_is_survived(ws_server: Server) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid(), backoff=FAST)
    await next_event("connect")
    await ws_server.restart()
    assert isinstance(await next_event("disconnect"), wsclient.Disconnected)
    await next_event("connect")
    await ws_server.push(Text("after restart"))
    assert await next_event("frame") == Text("after restart")
    await otpy.stop(pid)


async def test_a_refused_port_backs_off_with_the_attempt_counting_up() -> None:
    url = f"ws://127.0.0.1:{_free_port()}/"
    pid = await Reporter.start_link(url, otpy.self_pid(), backoff=FAST)
    attempts = []
    for _ in range(4):
        reason = await next_event("disconnect")
        assert isinstance(reason, wsclient.ConnectFailed)
        attempts.append(reason.attempt)
    assert attempts == [1, 2, 3, 4]
    stats = await wsclient.stats(pid)
    assert stats.state in ("backoff", "connecting") and stats.connects == 0
    await otpy.stop(pid)


async def test_max_attempts_ends_the_process_with_gave_up() -> None:
    url = f"ws://127.0.0.1:{_free_port()}/"
    backoff = Backoff(initial=0.001, cap=0.002, max_attempts=3)
    pid = await Reporter.start(url, otpy.self_pid(), backoff=backoff)
    ref = otpy.monitor(pid)
    down = await otpy.receive(match=lambda m: type(m) is otpy.Down and m.ref == ref, timeout=GUARD)
    assert isinstance(down.reason, wsclient.GaveUp)
    assert down.reason.attempts == 3 and isinstance(down.reason.last, wsclient.ConnectFailed)


async def test_a_503_with_retry_after_is_honoured(ws_server: Server) -> None:
    ws_server.refuse(503, {"Retry-After": "0"})
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid(), backoff=FAST)
    reason: Any = await next_event("disconnect")
    assert isinstance(reason, wsclient.HandshakeRejected)
    assert reason.status == 503 and reason.retry_after == 0.0 and reason.attempt == 1
    await next_event("connect")
    await otpy.stop(pid)
