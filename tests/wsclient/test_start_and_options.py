"""Starting a client: the URL and every option are checked in the caller; names, connect="sync",
child specs under supervisors, and what ``init`` gets and returns."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import otpy
import wsclient
from wsclient import Backoff, Ok, Stop, Text
from wsclient.testing import Server

from ..otpy.support import wait_down
from .support import GUARD, Reporter, next_event, wait_msg

MakeServer = Callable[..., Awaitable[TestServer]]
FAST = Backoff(initial=0.001, cap=0.005, after_drop=0.001)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _no_message(tag: str) -> bool:
    try:
        await otpy.receive(match=lambda m: type(m) is tuple and m[0] == tag, timeout=0)
    except otpy.ReceiveTimeout:
        return True
    return False


def _my_links() -> tuple[otpy.Pid, ...]:
    me = otpy.process_info(otpy.self_pid())
    assert me is not None
    return me.links


class Plain(wsclient.WebsocketClient):
    """Every callback the default one."""


# -- the URL -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://h/", "ws://", "ws://h/#frag", 42])
async def test_a_bad_url_raises_invalid_url_in_the_caller(url: Any) -> None:
    with pytest.raises(wsclient.InvalidURL):
        await Reporter.start_link(url, otpy.self_pid())
    assert _my_links() == ()  # no process was started


async def test_the_query_is_kept_and_an_empty_path_is_sent_as_slash(
    aiohttp_server: MakeServer,
) -> None:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        seen.append(request.path_qs)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = await aiohttp_server(app)
    pid = await Reporter.start_link(
        f"ws://127.0.0.1:{server.port}?topic=trades&depth=10", otpy.self_pid()
    )
    await next_event("connect")
    assert seen == ["/?topic=trades&depth=10"]
    await otpy.stop(pid)


# -- options ---------------------------------------------------------------------------------


async def test_an_unknown_option_raises_invalid_option_listing_the_valid_ones() -> None:
    with pytest.raises(wsclient.InvalidOption) as info:
        await Reporter.start_link("ws://127.0.0.1:1/", otpy.self_pid(), pingInterval=5)
    message = str(info.value)
    assert "pingInterval" in message
    for f in dataclasses.fields(wsclient.Options):
        assert f.name in message
    assert _my_links() == ()


@pytest.mark.parametrize(
    "option",
    [
        {"ping_interval": -1},
        {"connect_timeout": 0},
        {"max_queue": 0},
        {"backoff": "x"},
        {"compress": "yes"},
        {"ssl": "no"},
        {"headers": {"X": "a\nb"}},
    ],
    ids=lambda o: f"{next(iter(o))}={next(iter(o.values()))!r}",
)
async def test_a_bad_option_value_raises_invalid_option_in_the_caller(
    option: dict[str, Any],
) -> None:
    with pytest.raises(wsclient.InvalidOption) as info:
        await Reporter.start_link("ws://127.0.0.1:1/", otpy.self_pid(), **option)
    name = next(iter(option))
    assert name in str(info.value)  # the message names the option
    assert _my_links() == ()


# -- names -------------------------------------------------------------------------------------


async def test_a_taken_name_raises_already_started(ws_server: Server) -> None:
    first = await Reporter.start_link(ws_server.url, otpy.self_pid(), name="feed")
    with pytest.raises(otpy.AlreadyStarted) as info:
        await Reporter.start_link(ws_server.url, otpy.self_pid(), name="feed")
    assert info.value.pid == first
    assert otpy.whereis("feed") == first
    assert _my_links() == (first,)  # the second one is gone
    await otpy.stop(first)


async def test_a_via_name_reaches_the_client(ws_server: Server) -> None:
    reg = await otpy.Registry.start_link("unique")
    name = otpy.Via(reg, ("feed", 1))
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid(), name=name)
    assert name.whereis() == pid
    await next_event("connect")
    await wsclient.send_frame(name, Text("via"))
    await ws_server.wait_received(Text("via"))
    assert (await wsclient.stats(name)).state == "connected"
    await otpy.stop(pid)
    await otpy.stop(reg)


async def test_a_taken_via_name_raises_already_started(ws_server: Server) -> None:
    reg = await otpy.Registry.start_link("unique")
    name = otpy.Via(reg, "feed")
    first = await Reporter.start_link(ws_server.url, otpy.self_pid(), name=name)
    with pytest.raises(otpy.AlreadyStarted):
        await Reporter.start_link(ws_server.url, otpy.self_pid(), name=name)
    assert name.whereis() == first
    await otpy.stop(first)
    await otpy.stop(reg)


# -- connect="sync" ------------------------------------------------------------------------------


async def test_connect_sync_returns_once_connected(ws_server: Server) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid(), connect="sync")
    assert (await wsclient.stats(pid)).state == "connected"
    assert not await _no_message("connect")  # handle_connect ran before start_link returned
    await ws_server.wait_connections(1)
    assert ws_server.connections_total == 1
    await otpy.stop(pid)


async def test_connect_sync_to_a_refused_port_raises_connect_failed() -> None:
    url = f"ws://127.0.0.1:{_free_port()}/"
    with pytest.raises(wsclient.ConnectFailed) as info:
        await Reporter.start_link(url, otpy.self_pid(), name="sync", connect="sync", backoff=FAST)
    assert info.value.attempt == 1
    assert isinstance(info.value.error, OSError)


async def test_connect_sync_that_fails_leaves_no_process_behind() -> None:
    url = f"ws://127.0.0.1:{_free_port()}/"
    with pytest.raises(wsclient.ConnectFailed):
        await Reporter.start_link(url, otpy.self_pid(), name="sync", connect="sync", backoff=FAST)
    assert otpy.whereis("sync") is None
    assert _my_links() == ()
    assert (await wait_msg("terminate"))[1] == "shutdown"  # it went through terminate


async def test_connect_sync_to_a_refusing_server_raises_handshake_rejected(
    ws_server: Server,
) -> None:
    ws_server.refuse(403)
    with pytest.raises(wsclient.HandshakeRejected) as info:
        await Reporter.start_link(ws_server.url, otpy.self_pid(), name="sync", connect="sync")
    assert info.value.status == 403
    assert otpy.whereis("sync") is None and _my_links() == ()


async def test_connect_sync_unlinked_to_a_refused_port_raises_connect_failed() -> None:
    url = f"ws://127.0.0.1:{_free_port()}/"
    with pytest.raises(wsclient.ConnectFailed) as info:
        await Reporter.start(url, otpy.self_pid(), name="sync", connect="sync", backoff=FAST)
    assert info.value.attempt == 1
    assert otpy.whereis("sync") is None
    assert (await wait_msg("terminate"))[1] == "shutdown"


async def test_connect_sync_works_unlinked_too(ws_server: Server) -> None:
    pid = await Reporter.start(ws_server.url, otpy.self_pid(), connect="sync")
    assert (await wsclient.stats(pid)).state == "connected"
    assert _my_links() == ()
    await otpy.stop(pid)


# -- timeouts --------------------------------------------------------------------------------


async def test_an_upgrade_that_never_answers_fails_after_connect_timeout(
    ws_server: Server,
) -> None:
    ws_server.hang_handshakes()
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid(), connect_timeout=0.1)
    reason = await next_event("disconnect")
    assert isinstance(reason, wsclient.ConnectFailed), reason
    assert isinstance(reason.error, TimeoutError), repr(reason.error)
    await next_event("connect")  # the next handshake is answered: it reconnects
    await otpy.stop(pid)


# -- the functional form and init ---------------------------------------------------------------


async def test_the_module_function_start_link_works(ws_server: Server) -> None:
    pid = await wsclient.start_link(ws_server.url, Reporter, otpy.self_pid())
    await next_event("connect")
    assert otpy.is_alive(pid) and _my_links() == (pid,)
    await otpy.stop(pid)


async def test_the_module_function_start_link_refuses_a_class_that_is_no_client() -> None:
    with pytest.raises(TypeError):
        await wsclient.start_link("ws://127.0.0.1:1/", otpy.GenServer, None)  # type: ignore[arg-type]


class ReportsInit(Reporter):
    async def init(self, arg: Any) -> Ok:
        to, payload = arg
        otpy.send(to, ("init", payload))
        return Ok(to)


async def test_init_receives_the_arg(ws_server: Server) -> None:
    pid = await ReportsInit.start_link(ws_server.url, (otpy.self_pid(), {"room": 42}))
    assert (await wait_msg("init"))[1] == {"room": 42}
    await otpy.stop(pid)


class DefaultInit(wsclient.WebsocketClient):
    """init is the default one; handle_connect reports the state to the name "init-test"."""

    async def handle_connect(self, status: Any, state: Any) -> Ok:
        otpy.send("init-test", ("state", state))
        return Ok(state)


async def test_the_default_init_gives_the_state_none(ws_server: Server) -> None:
    otpy.register("init-test")
    pid = await DefaultInit.start_link(ws_server.url, "ignored arg")
    assert (await wait_msg("state"))[1] is None
    await otpy.stop(pid)
    otpy.unregister("init-test")


class Refuses(wsclient.WebsocketClient):
    async def init(self, arg: Any) -> Stop:
        return Stop(("no thanks", arg))


async def test_init_returning_stop_makes_start_link_raise_start_error(ws_server: Server) -> None:
    with pytest.raises(otpy.StartError) as info:
        await Refuses.start_link(ws_server.url, 7, name="refuses")
    assert info.value.reason == ("no thanks", 7)
    assert otpy.whereis("refuses") is None and _my_links() == ()
    assert ws_server.connections_total == 0  # it never connected


# -- child specs ------------------------------------------------------------------------------


def test_child_spec_of_a_url_is_permanent_by_default() -> None:
    spec = Plain.child_spec("ws://127.0.0.1:1/")
    assert spec.restart == "permanent"
    assert spec.id is Plain


def test_child_spec_overrides_set_the_restart_and_id() -> None:
    spec = Plain.child_spec("ws://127.0.0.1:1/", id="feed", restart="transient")
    assert (spec.id, spec.restart) == ("feed", "transient")


@pytest.mark.parametrize("arg", ["http://h/", {"url": "ws://h/#frag"}, {"url": 42}])
def test_a_bad_url_in_child_spec_raises_invalid_url_there(arg: Any) -> None:
    with pytest.raises(wsclient.InvalidURL):
        Plain.child_spec(arg)


def test_a_bad_option_in_child_spec_raises_invalid_option_there() -> None:
    with pytest.raises(wsclient.InvalidOption):
        Plain.child_spec({"url": "ws://127.0.0.1:1/", "ping_interval": -1})


def test_a_client_option_given_as_a_child_spec_override_is_refused() -> None:
    with pytest.raises(wsclient.InvalidOption) as info:
        Plain.child_spec("ws://127.0.0.1:1/", ping_interval=5)
    assert "ping_interval" in str(info.value)


async def test_a_url_child_spec_runs_under_a_supervisor(ws_server: Server) -> None:
    sup = await otpy.Supervisor.start_link([Plain.child_spec(ws_server.url)])
    await ws_server.wait_connections(1)
    (child,) = await otpy.supervisor.which_children(sup)
    assert child.id is Plain and child.pid is not None
    await wsclient.connect(child.pid, timeout=GUARD)  # returns once the attempt under way is up
    assert (await wsclient.stats(child.pid)).state == "connected"
    await otpy.stop(sup)


async def test_a_url_child_spec_runs_under_a_dynamic_supervisor(ws_server: Server) -> None:
    sup = await otpy.DynamicSupervisor.start_link()
    pid = await otpy.supervisor.start_child(sup, Plain.child_spec(ws_server.url))
    await ws_server.wait_connections(1)
    assert pid is not None
    await wsclient.connect(pid, timeout=GUARD)
    assert (await wsclient.stats(pid)).state == "connected"
    await otpy.stop(sup)


async def test_a_mapping_child_spec_gives_the_name_and_arg(ws_server: Server) -> None:
    spec = Reporter.child_spec(
        {"url": ws_server.url, "name": "feed", "arg": otpy.self_pid(), "ping_interval": 5}
    )
    sup = await otpy.Supervisor.start_link([spec])
    await next_event("connect")  # the arg is the state: it reports to this test
    (child,) = await otpy.supervisor.which_children(sup)
    assert otpy.whereis("feed") == child.pid
    await otpy.stop(sup)


async def test_the_options_in_a_mapping_child_spec_are_used(ws_server: Server) -> None:
    spec = Reporter.child_spec(
        {"url": ws_server.url, "arg": otpy.self_pid(), "ping_interval": 0.01}
    )
    sup = await otpy.Supervisor.start_link([spec])
    await next_event("connect")
    assert await next_event("frame") == wsclient.Pong(b"wsclient")  # the heartbeat's answer
    await otpy.stop(sup)


async def test_a_child_spec_runs_under_a_dynamic_supervisor(ws_server: Server) -> None:
    sup = await otpy.DynamicSupervisor.start_link()
    spec = Reporter.child_spec({"url": ws_server.url, "arg": otpy.self_pid()})
    pid = await otpy.supervisor.start_child(sup, spec)
    await next_event("connect")
    assert pid is not None and (await wsclient.stats(pid)).state == "connected"
    await otpy.stop(sup)


class StopsOnFrame(Reporter):
    async def handle_frame(self, frame: Any, state: Any) -> Any:
        if frame == Text("stop"):
            return Stop("normal", state)
        return Ok(state)


@pytest.mark.parametrize("supervisor", ["Supervisor", "DynamicSupervisor"])
async def test_a_child_spec_client_that_exits_normally_is_restarted(
    ws_server: Server, supervisor: str
) -> None:
    spec = StopsOnFrame.child_spec({"url": ws_server.url, "arg": otpy.self_pid()})
    if supervisor == "Supervisor":
        sup = await otpy.Supervisor.start_link([spec])
        assert sup is not None
        (child,) = await otpy.supervisor.which_children(sup)
        first = child.pid
    else:
        sup = await otpy.DynamicSupervisor.start_link()
        assert sup is not None
        first = await otpy.supervisor.start_child(sup, spec)
    assert first is not None
    await next_event("connect")
    ref = otpy.monitor(first)
    await ws_server.push(Text("stop"))
    assert (await wait_down(ref)).reason == "normal"
    await next_event("connect")  # permanent: back, even after a normal exit
    (child,) = await otpy.supervisor.which_children(sup)
    assert child.pid is not None and child.pid != first
    await otpy.stop(sup)


async def test_a_supervised_client_is_restarted_after_a_kill(ws_server: Server) -> None:
    sup = await otpy.Supervisor.start_link(
        [Reporter.child_spec({"url": ws_server.url, "arg": otpy.self_pid(), "name": "feed"})]
    )
    await next_event("connect")
    first = otpy.whereis("feed")
    assert first is not None
    ref = otpy.monitor(first)
    otpy.exit(first, "kill")
    await wait_down(ref, GUARD)
    await next_event("connect")
    assert otpy.whereis("feed") not in (None, first)
    await otpy.stop(sup)
