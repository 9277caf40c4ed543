"""Clients in supervision trees: restarted after a crash, registered by name again."""

from __future__ import annotations

from typing import Any

import otpy
import wsclient
from wsclient import Ok, Text
from wsclient.testing import Server

from ..otpy.support import Boom
from .support import GUARD, Reporter, next_event


class CrashesOnBoom(Reporter):
    async def handle_frame(self, frame: Any, state: Any) -> Any:
        if frame == Text("boom"):
            raise Boom("handle_frame failed")
        otpy.send(state, ("frame", frame))
        return Ok(state)


async def test_a_crash_in_handle_frame_is_restarted_with_its_name_registered_again(
    ws_server: Server,
) -> None:
    spec = CrashesOnBoom.child_spec(
        {"url": ws_server.url, "arg": otpy.self_pid(), "name": "feed"}
    )
    sup = await otpy.Supervisor.start([spec])
    await next_event("connect")
    first = otpy.whereis("feed")
    assert first is not None
    ref = otpy.monitor(first)
    await ws_server.push(Text("boom"))
    down = await otpy.receive(match=lambda m: type(m) is otpy.Down and m.ref == ref, timeout=GUARD)
    assert isinstance(down.reason, Boom)
    await next_event("connect")  # the restarted client connected again
    second = otpy.whereis("feed")
    assert second is not None and second != first
    await ws_server.wait_connections(2)
    await ws_server.push(Text("hello again"))
    assert await next_event("frame") == Text("hello again")
    (child,) = await otpy.supervisor.which_children(sup)
    assert child.restarts == 1 and child.pid == second
    await otpy.stop(sup)


async def test_a_client_that_gave_up_is_seen_by_its_supervisor() -> None:
    backoff = wsclient.Backoff(initial=0.001, cap=0.002, max_attempts=2)
    spec = Reporter.child_spec(
        {"url": "ws://127.0.0.1:1/", "arg": otpy.self_pid(), "backoff": backoff},
        restart="transient",
    )
    sup = await otpy.Supervisor.start([spec], max_restarts=1, max_seconds=3600)
    (child,) = await otpy.supervisor.which_children(sup)
    assert child.pid is not None
    ref = otpy.monitor(child.pid)
    down = await otpy.receive(match=lambda m: type(m) is otpy.Down and m.ref == ref, timeout=GUARD)
    assert isinstance(down.reason, wsclient.GaveUp)
    await otpy.stop(sup)


async def test_clients_under_a_dynamic_supervisor(ws_server: Server) -> None:
    sup = await otpy.DynamicSupervisor.start()
    pids = [
        await otpy.supervisor.start_child(
            sup, Reporter.child_spec({"url": ws_server.url, "arg": otpy.self_pid()})
        )
        for _ in range(3)
    ]
    for _ in pids:
        await next_event("connect")
    await ws_server.wait_connections(3)
    assert ws_server.open_connections == 3
    await otpy.stop(sup)
    await ws_server.wait_closed()


async def test_a_killed_client_leaves_no_socket_open(ws_server: Server) -> None:
    pid = await Reporter.start(ws_server.url, otpy.self_pid())
    await next_event("connect")
    otpy.exit(pid, "kill")
    await ws_server.wait_closed()
    assert not otpy.is_alive(pid)
