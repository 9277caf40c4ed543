"""The observer's actions: kill, restart, terminate, and a websocket client's close and
reconnect."""

from __future__ import annotations

import aiohttp
import pytest
from structlog.testing import capture_logs

import otpy
import wsclient
from otpy import DynamicSupervisor, Pid, Supervisor
from otpy.supervisor import start_child, which_children
from wsclient import CloseFrame
from wsclient.testing import Server

from ..otpy.supervision_support import (
    assert_no_events,
    children,
    next_event,
    started,
    worker,
)
from ..otpy.support import idle, wait_down
from ..wsclient.support import Reporter
from ..wsclient.support import next_event as client_event
from .endpoints_support import (
    Observe,
    Plain,
)
from .support import act, child_of

pytestmark = pytest.mark.timeout(30)


# -- actions --------------------------------------------------------------------------------


async def test_kill_kills_the_process(observe: Observe, http: aiohttp.ClientSession) -> None:
    obs = await observe()
    victim = otpy.spawn(idle)
    ref = otpy.monitor(victim)

    status, body = await act(http, obs, "kill", victim)

    assert (status, body) == (200, {"ok": True, "result": f"killed {victim!r}"})
    assert (await wait_down(ref)).reason == "killed"


async def test_kill_of_a_supervised_child_has_it_restarted(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    sup = await Supervisor.start_link([worker("a")], max_seconds=3600)
    old = await started("a")
    ref = otpy.monitor(old)
    obs = await observe()

    assert (await act(http, obs, "kill", old))[0] == 200

    assert (await wait_down(ref)).reason == "killed"
    new = await started("a")
    assert (await children(sup))["a"].restarts == 1 and new != old
    await otpy.stop(sup)


async def test_restart_of_a_static_child_starts_it_again_under_a_live_supervisor(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")])
    assert isinstance(sup, Pid)
    old, b = await started("a"), await started("b")
    ref = otpy.monitor(old)
    obs = await observe()

    status, body = await act(http, obs, "restart", old)

    assert (status, body) == (200, {"ok": True, "result": "restarted a"})
    assert (await wait_down(ref)).reason == "shutdown"
    assert await next_event() == ("terminate", "a", "shutdown")
    new = await started("a")
    assert new != old
    kids = await children(sup)
    assert (kids["a"].pid, kids["a"].status, kids["b"].pid) == (new, "running", b)
    assert otpy.is_alive(sup)
    await otpy.stop(sup)


async def test_restart_of_a_temporary_child_is_refused_and_it_keeps_running(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    # terminate_child removes a temporary child: a restart would lose it
    sup = await Supervisor.start_link([worker("t", restart="temporary")])
    t = await started("t")
    obs = await observe()

    status, body = await act(http, obs, "restart", t)

    assert status == 409 and "temporary" in body["error"]
    assert (await children(sup))["t"].pid == t
    await assert_no_events()
    await otpy.stop(sup)


async def test_terminate_stops_a_static_child_and_keeps_its_spec(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")])
    assert isinstance(sup, Pid)
    a = await started("a")
    await started("b")
    ref = otpy.monitor(a)
    obs = await observe()

    status, body = await act(http, obs, "terminate", a)

    assert (status, body) == (200, {"ok": True, "result": f"terminated {a!r}"})
    assert (await wait_down(ref)).reason == "shutdown"
    assert await next_event() == ("terminate", "a", "shutdown")
    info = (await children(sup))["a"]
    assert (info.pid, info.status) == (None, "undefined")
    async with http.get(obs.at("/api/snapshot")) as r:
        child = child_of(await r.json(), sup, "a")
    assert (child["pid"], child["status"]) == (None, "undefined")
    await assert_no_events()  # not restarted
    await otpy.stop(sup)


async def test_a_dynamic_child_cannot_be_restarted_but_can_be_terminated(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    sup = await DynamicSupervisor.start_link()
    assert isinstance(sup, Pid)
    job = await start_child(sup, worker("job"))
    await started("job")
    ref = otpy.monitor(job)
    obs = await observe()

    status, body = await act(http, obs, "restart", job)
    assert status == 409 and "DynamicSupervisor" in body["error"]
    assert [c.pid for c in await which_children(sup)] == [job]

    assert (await act(http, obs, "terminate", job))[0] == 200
    assert (await wait_down(ref)).reason == "shutdown"
    assert await which_children(sup) == []  # a dynamic child is removed once terminated
    await otpy.stop(sup)


async def test_restart_or_terminate_of_a_process_outside_trees_is_refused(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()
    loose = otpy.spawn(idle)

    for action in ("restart", "terminate"):
        status, body = await act(http, obs, action, loose)
        assert status == 409 and "not a supervisor's child" in body["error"]
    assert otpy.is_alive(loose)
    otpy.exit(loose, "kill")


async def test_a_client_is_closed_then_reconnected_from_the_observer(
    observe: Observe, http: aiohttp.ClientSession, ws_server: Server
) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid())
    await client_event("connect")
    obs = await observe()

    assert await act(http, obs, "close", pid) == (200, {"ok": True, "result": "close: done"})
    await ws_server.wait_received(CloseFrame(1000, "closed from the observer"))
    assert isinstance(await client_event("disconnect"), wsclient.LocalClosed)
    assert (await wsclient.stats(pid)).state == "down"

    assert (await act(http, obs, "reconnect", pid))[0] == 200
    await ws_server.wait_connections(2)
    await client_event("connect")
    assert (await wsclient.stats(pid)).state == "connected"
    await otpy.stop(pid)


async def test_reconnect_of_a_connected_client_makes_a_new_connection(
    observe: Observe, http: aiohttp.ClientSession, ws_server: Server
) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid())
    await client_event("connect")
    obs = await observe()

    assert await act(http, obs, "reconnect", pid) == (
        200,
        {"ok": True, "result": "reconnect: done"},
    )

    await ws_server.wait_received(CloseFrame(1000, "reconnecting, from the observer"))
    await ws_server.wait_connections(2)
    assert isinstance(await client_event("disconnect"), wsclient.LocalClosed)
    await client_event("connect")
    await otpy.stop(pid)


async def test_an_unknown_action_is_409(observe: Observe, http: aiohttp.ClientSession) -> None:
    obs = await observe()
    server = await Plain.start(None)
    assert isinstance(server, Pid)

    for action in ("explode", "close", "reconnect", "__class__"):  # a plain GenServer has none
        status, body = await act(http, obs, action, server)
        assert status == 409 and "no action" in body["error"], action
    assert otpy.is_alive(server)
    await otpy.stop(server)


async def test_a_malformed_action_is_400(observe: Observe, http: aiohttp.ClientSession) -> None:
    obs = await observe()
    headers = {"X-Observer-Token": obs.token}

    for body in (b"not json", b"[]", b'"kill"', b'{"action": "kill"}', b'{"pid": "<0.1.0>"}'):
        async with http.post(obs.at("/api/action"), data=body, headers=headers) as r:
            assert r.status == 400, body
            assert "action, pid" in (await r.json())["error"]


async def test_an_action_on_a_dead_pid_is_409(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()
    gone = otpy.spawn(idle)
    ref = otpy.monitor(gone)
    otpy.exit(gone, "kill")
    await wait_down(ref)

    for pid in (repr(gone), "<0.999999999.0>", "not a pid"):
        status, body = await act(http, obs, "kill", pid)
        assert status == 409 and "not alive" in body["error"], pid


async def test_an_action_done_is_logged(observe: Observe, http: aiohttp.ClientSession) -> None:
    victim = otpy.spawn(idle)
    ref = otpy.monitor(victim)
    with capture_logs() as logs:
        obs = await observe()
        assert (await act(http, obs, "kill", victim))[0] == 200
        await wait_down(ref)

    done = [e for e in logs if e["event"] == "observer_action"]
    assert [(e["action"], e["target"]) for e in done] == [("kill", repr(victim))]
