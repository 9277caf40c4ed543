"""wsclient.connect while a close is under way, an abort in backoff, and DynamicSupervisor's
extra_arguments."""

from __future__ import annotations

import asyncio
from typing import Any

import otpy
import wsclient
from wsclient import Backoff, Close, Ok, Text
from wsclient.testing import Server

from .support import GUARD, Reporter, next_event


async def test_connect_during_a_close_connects_once_the_close_is_done(ws_server: Server) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid(), close_timeout=0.05)
    await next_event("connect")
    ws_server.go_silent()  # the close will wait for its deadline
    closing = asyncio.create_task(wsclient.close(pid))
    await asyncio.sleep(0)  # the close's call is in the client's mailbox: ours comes after it
    await wsclient.connect(pid, timeout=GUARD)  # returns once connected again
    await asyncio.wait_for(closing, GUARD)
    assert isinstance(await next_event("disconnect"), wsclient.LocalClosed)
    await next_event("connect")
    assert (await wsclient.stats(pid)).state == "connected"
    await ws_server.wait_connections(2)
    await otpy.stop(pid)


class AbortsOnInfo(Reporter):
    async def handle_info(self, msg: Any, state: Any) -> Any:
        if msg == "abort":
            return Close(state, abort=True)
        return Ok(state)


async def test_an_abort_while_waiting_to_reconnect_stays_down() -> None:
    slow = Backoff(initial=30, cap=30, after_drop=30)
    pid = await AbortsOnInfo.start_link("ws://127.0.0.1:1/", otpy.self_pid(), backoff=slow)
    await next_event("disconnect")
    assert (await wsclient.stats(pid)).state == "backoff"
    otpy.send(pid, "abort")
    stats = await wsclient.stats(pid)
    assert stats.state == "down" and stats.next_retry_at is None
    info = otpy.process_info(pid)
    assert info is not None and info.timers == 0
    await otpy.stop(pid)


class Pooled(Reporter):
    async def init(self, arg: Any) -> Ok:
        pool, test = arg
        otpy.send(test, ("pool", pool))
        return Ok(test)


async def test_extra_arguments_of_a_dynamic_supervisor_reach_init(ws_server: Server) -> None:
    sup = await otpy.DynamicSupervisor.start(extra_arguments=("the pool",))
    await otpy.supervisor.start_child(
        sup, Pooled.child_spec({"url": ws_server.url, "arg": otpy.self_pid()})
    )
    assert await next_event("pool") == "the pool"
    await next_event("connect")
    await ws_server.push(Text("hi"))
    assert await next_event("frame") == Text("hi")
    await otpy.stop(sup)
