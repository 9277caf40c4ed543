"""otpy.observer.snapshot(): every process and supervision tree of the loop, at one instant,
against real trees (flat, nested, dynamic), processes in every shape, observer_status() hooks and
websocket clients in each of their states."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import pytest
from structlog.testing import capture_logs

import otpy
import wsclient
from otpy import DynamicSupervisor, GenServer, NoReply, Ok, Pid, Reply, Supervisor
from otpy.observer import ProcessSnapshot, Snapshot, snapshot
from otpy.supervisor import start_child, which_children
from wsclient.testing import Server

from ..otpy.supervision_support import children, die, started, worker
from ..otpy.support import idle, wait_down, wait_msg
from ..wsclient.support import Reporter, next_event

pytestmark = pytest.mark.timeout(30)

PID_TEXT = re.compile(r"^<\d+\.\d+\.\d+>$")
#: How long a SlowReporter waits before it reconnects: it is still in backoff when the test looks.
RETRY_AFTER = 60.0


def proc(snap: Snapshot, pid: Pid) -> ProcessSnapshot:
    p = snap.process(pid)
    assert p is not None, f"{pid!r} is not in the snapshot"
    return p


async def deaf() -> None:
    """A process body that waits for a message that never comes: its mailbox only grows."""
    await otpy.receive(match=lambda m: False)


class Plain(GenServer):
    """`arg`: "trap" traps exits, "helper" starts a helper task, anything else neither."""

    async def init(self, arg: Any) -> Ok:
        if arg == "trap":
            otpy.trap_exits(True)
        if arg == "helper":
            otpy.start_task(idle())
        return Ok(arg)


class Blocking(GenServer):
    """Its handle_call tells the test it is in, then waits for the gate."""

    async def init(self, arg: tuple[asyncio.Event, Pid]) -> Ok:
        return Ok(arg)

    async def handle_call(self, request: Any, from_: Any, state: Any) -> Reply:
        gate, to = state
        otpy.send(to, ("blocked", self.pid))
        await gate.wait()
        return Reply("released", state)

    async def handle_cast(self, request: Any, state: Any) -> NoReply:
        return NoReply(state)


@dataclass(frozen=True)
class Depth:
    depth: int
    owner: Pid


class WithStatus(GenServer):
    async def init(self, arg: int) -> Ok:
        self.depth = arg
        return Ok(arg)

    def observer_status(self) -> Depth:
        return Depth(self.depth, self.pid)


class WithMappingStatus(GenServer):
    def observer_status(self) -> dict[str, Any]:
        return {"queue": [1, 2], "peer": self.pid}


class BrokenStatus(GenServer):
    def observer_status(self) -> Any:
        raise RuntimeError("the hook is broken")


class SlowReporter(Reporter):
    """A Reporter that reconnects RETRY_AFTER seconds after a disconnect (but a local close)."""

    async def handle_disconnect(self, reason: Any, state: Any) -> Any:
        otpy.send(state, ("disconnect", reason))
        if isinstance(reason, wsclient.LocalClosed):
            return wsclient.Ok(state)
        return wsclient.Reconnect(state, after=RETRY_AFTER)


class Unshowable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class UnshowableStatus(GenServer):
    """`arg`: "loop" returns a mapping that contains itself, else an object without a repr."""

    def observer_status(self) -> Any:
        if self.arg == "loop":
            loop: dict[str, Any] = {}
            loop["self"] = loop
            return loop
        return Unshowable()

    async def init(self, arg: Any) -> Ok:
        self.arg = arg
        return Ok(arg)


class HasModuleAttribute(GenServer):
    """A plain GenServer with an attribute named `module`, as an app might well have."""

    async def init(self, arg: Any) -> Ok:
        self.module = "prices"
        return Ok(arg)


# -- supervisors ------------------------------------------------------------------------------


async def test_a_flat_supervisor_shows_its_flags_and_its_children_in_start_order() -> None:
    sup = await Supervisor.start_link(
        [worker("a"), worker("b", restart="transient")],
        strategy="rest_for_one",
        max_restarts=7,
        max_seconds=42.0,
        name="flat_sup",
    )
    assert isinstance(sup, Pid)
    a, b = await started("a"), await started("b")

    snap = snapshot()

    s = snap.supervisor(sup)
    assert s is not None
    assert (s.label, s.strategy, s.dynamic) == ("flat_sup", "rest_for_one", False)
    assert (s.max_restarts, s.max_seconds, s.restarts_in_window) == (7, 42.0, 0)
    assert [(c.id, c.pid, c.type, c.restart, c.status, c.restarts) for c in s.children] == [
        ("a", a, "worker", "permanent", "running", 0),
        ("b", b, "worker", "transient", "running", 0),
    ]
    assert snap.roots == (sup,)
    assert proc(snap, sup).kind == "supervisor"
    assert proc(snap, sup).names == ("flat_sup",)
    await otpy.stop(sup)


async def test_the_children_pids_are_those_which_children_reports() -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")])
    await started("a")
    await started("b")

    snap = snapshot()

    s = snap.supervisor(sup)
    assert s is not None
    assert [(c.id, c.pid) for c in s.children] == [(c.id, c.pid) for c in await which_children(sup)]
    await otpy.stop(sup)


async def test_a_crashed_child_shows_its_new_pid_one_restart_and_one_in_the_window() -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")], max_seconds=3600)
    assert isinstance(sup, Pid)
    old, b = await started("a"), await started("b")

    await die(old, "crash")  # waits for the exact Down of the old pid
    new = await started("a")
    assert (await children(sup))["a"].pid == new  # the supervisor is done with the restart

    snap = snapshot()
    s = snap.supervisor(sup)
    assert s is not None
    kids = {c.id: c for c in s.children}
    assert (kids["a"].pid, kids["a"].restarts, kids["a"].status) == (new, 1, "running")
    assert (kids["b"].pid, kids["b"].restarts) == (b, 0)
    assert s.restarts_in_window == 1
    assert snap.process(old) is None  # the dead pid is gone
    assert proc(snap, new).pid == new
    await otpy.stop(sup)


async def test_an_exit_signal_from_outside_counts_as_a_restart_too() -> None:
    sup = await Supervisor.start_link([worker("a", trap=False)], max_seconds=3600)
    old = await started("a")
    ref = otpy.monitor(old)

    otpy.exit(old, "went_wrong")
    assert (await wait_down(ref)).reason == "went_wrong"
    new = await started("a")
    assert (await children(sup))["a"].pid == new

    s = snapshot().supervisor(sup)  # type: ignore[arg-type]
    assert s is not None
    assert [(c.pid, c.restarts) for c in s.children] == [(new, 1)]
    assert s.restarts_in_window == 1
    await otpy.stop(sup)


async def test_a_terminated_child_is_shown_undefined_without_a_pid() -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")])
    await started("a")
    b = await started("b")
    await otpy.supervisor.terminate_child(sup, "a")

    s = snapshot().supervisor(sup)  # type: ignore[arg-type]
    assert s is not None
    assert [(c.id, c.pid, c.status) for c in s.children] == [
        ("a", None, "undefined"),
        ("b", b, "running"),
    ]
    await otpy.stop(sup)


async def test_nested_supervisors_give_one_root_and_the_inner_one_is_a_supervisor_child() -> None:
    top = await Supervisor.start_link(
        [worker("w"), Supervisor.child_spec([worker("x")], id="inner")], strategy="one_for_all"
    )
    assert isinstance(top, Pid)
    await started("w")
    x = await started("x")
    inner = (await children(top))["inner"].pid
    assert isinstance(inner, Pid)

    snap = snapshot()

    assert snap.roots == (top,)
    outer = snap.supervisor(top)
    assert outer is not None
    entry = {c.id: c for c in outer.children}["inner"]
    assert (entry.type, entry.pid, entry.status) == ("supervisor", inner, "running")
    inner_s = snap.supervisor(inner)
    assert inner_s is not None
    assert [(c.id, c.pid) for c in inner_s.children] == [("x", x)]
    assert {s.pid for s in snap.supervisors} == {top, inner}
    assert proc(snap, inner).kind == "supervisor"
    await otpy.stop(top)


async def test_a_dynamic_supervisor_shows_its_dynamic_children() -> None:
    sup = await DynamicSupervisor.start_link(max_restarts=9, max_seconds=60.0)
    assert isinstance(sup, Pid)
    one = await start_child(sup, worker("job"))
    two = await start_child(sup, worker("job"))  # a dynamic supervisor allows the same id twice
    await started("job")
    await started("job")

    snap = snapshot()

    s = snap.supervisor(sup)
    assert s is not None
    assert (s.dynamic, s.strategy, s.max_restarts, s.max_seconds) == (True, "one_for_one", 9, 60)
    assert [(c.id, c.pid, c.status) for c in s.children] == [
        ("job", one, "running"),
        ("job", two, "running"),
    ]
    assert proc(snap, sup).kind == "dynamic_supervisor"
    assert proc(snap, sup).label == "DynamicSupervisor"
    assert snap.roots == (sup,)
    await otpy.stop(sup)


async def test_outside_trees_lists_the_processes_no_supervisor_holds() -> None:
    sup = await Supervisor.start_link([worker("a")])
    assert isinstance(sup, Pid)
    a = await started("a")
    loose = otpy.spawn(idle)
    server = await Plain.start_link(None)
    assert isinstance(server, Pid)

    outside = {p.pid for p in snapshot().outside_trees()}

    assert {loose, server, otpy.self_pid()} <= outside
    assert sup not in outside and a not in outside
    otpy.exit(loose, "kill")
    await otpy.stop(server)
    await otpy.stop(sup)


# -- processes --------------------------------------------------------------------------------


async def test_a_genserver_shows_its_names_label_module_and_kind() -> None:
    pid = await Plain.start_link(None, name="snap_named")
    assert isinstance(pid, Pid)
    otpy.register("snap_alias", pid)

    p = proc(snapshot(), pid)

    assert p.names == ("snap_named", "snap_alias")
    assert p.name == "snap_named"
    assert (p.label, p.kind) == ("Plain", "genserver")
    assert p.module == "tests.observer.test_snapshot.Plain"
    await otpy.stop(pid)


async def test_a_genserver_with_an_attribute_named_module_shows_its_own_class() -> None:
    pid = await HasModuleAttribute.start_link(None)
    assert isinstance(pid, Pid)

    p = proc(snapshot(), pid)

    assert p.module == "tests.observer.test_snapshot.HasModuleAttribute"
    await otpy.stop(pid)


async def test_a_spawned_function_is_a_process_labelled_with_its_name() -> None:
    pid = otpy.spawn(deaf)

    p = proc(snapshot(), pid)

    assert (p.label, p.kind, p.module, p.names) == ("deaf", "process", None, ())
    otpy.exit(pid, "kill")


async def test_the_test_itself_is_an_external_process() -> None:
    pid = otpy.self_pid()  # the test becomes a process when it first uses otpy

    me = proc(snapshot(), pid)

    assert (me.label, me.kind, me.module) == ("external", "external", None)


async def test_message_queue_len_counts_the_messages_a_process_has_not_read() -> None:
    pid = otpy.spawn(deaf)
    assert proc(snapshot(), pid).message_queue_len == 0

    for n in range(3):
        otpy.send(pid, ("unread", n))

    assert proc(snapshot(), pid).message_queue_len == 3
    otpy.exit(pid, "kill")


async def test_message_queue_len_counts_the_casts_behind_a_blocked_call() -> None:
    gate = asyncio.Event()
    pid = await Blocking.start_link((gate, otpy.self_pid()))
    assert isinstance(pid, Pid)
    call = asyncio.ensure_future(otpy.call(pid, "block"))
    await wait_msg("blocked")  # the call has been taken: the server waits in handle_call

    for n in range(4):
        otpy.cast(pid, ("queued", n))
    assert proc(snapshot(), pid).message_queue_len == 4

    gate.set()
    assert await call == "released"
    await otpy.stop(pid)


async def test_links_are_shown_on_both_sides() -> None:
    me = otpy.self_pid()
    pid = otpy.spawn_link(idle)

    snap = snapshot()

    assert pid in proc(snap, me).links
    assert proc(snap, pid).links == (me,)
    otpy.unlink(pid)
    otpy.exit(pid, "kill")


async def test_monitors_are_shown_as_monitors_and_monitored_by() -> None:
    me = otpy.self_pid()
    pid = otpy.spawn(idle)
    ref = otpy.monitor(pid)

    snap = snapshot()

    assert pid in proc(snap, me).monitors
    assert proc(snap, pid).monitored_by == (me,)
    assert proc(snap, pid).monitors == ()
    otpy.demonitor(ref)
    after = snapshot()
    assert proc(after, pid).monitored_by == ()
    otpy.exit(pid, "kill")


async def test_trap_exit_and_helpers_are_shown() -> None:
    trapping = await Plain.start_link("trap")
    helping = await Plain.start_link("helper")
    neither = await Plain.start_link(None)
    assert isinstance(trapping, Pid) and isinstance(helping, Pid) and isinstance(neither, Pid)

    snap = snapshot()

    assert [proc(snap, p).trap_exit for p in (trapping, helping, neither)] == [True, False, False]
    assert [proc(snap, p).helpers for p in (trapping, helping, neither)] == [0, 1, 0]
    for p in (trapping, helping, neither):
        await otpy.stop(p)


async def test_uptime_is_the_time_since_each_process_started() -> None:
    before = time.monotonic()
    first = otpy.spawn(idle)
    second = otpy.spawn(idle)

    snap = snapshot()
    elapsed = time.monotonic() - before

    up1, up2 = proc(snap, first).uptime, proc(snap, second).uptime
    assert 0 <= up2 <= up1 <= elapsed
    otpy.exit(first, "kill")
    otpy.exit(second, "kill")


async def test_processes_and_supervisors_are_in_pid_order_and_only_the_living() -> None:
    pids = [otpy.spawn(idle) for _ in range(3)]
    ref = otpy.monitor(pids[1])
    otpy.exit(pids[1], "kill")
    await wait_down(ref)

    snap = snapshot()

    ids = [p.pid.id for p in snap.processes]
    assert ids == sorted(ids)
    assert snap.process(pids[1]) is None
    assert snap.process(pids[0]) is not None and snap.process(pids[2]) is not None
    for p in (pids[0], pids[2]):
        otpy.exit(p, "kill")


async def test_a_snapshot_is_frozen() -> None:
    otpy.self_pid()
    snap = snapshot()

    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.roots = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.processes[0].kind = "x"  # type: ignore[misc]


# -- observer_status() -------------------------------------------------------------------------


async def test_the_value_observer_status_returns_is_kept_as_status() -> None:
    pid = await WithStatus.start_link(3)
    assert isinstance(pid, Pid)

    assert proc(snapshot(), pid).status == Depth(3, pid)
    await otpy.stop(pid)


async def test_a_process_without_the_hook_has_no_status() -> None:
    pid = await Plain.start_link(None)
    assert isinstance(pid, Pid)

    assert proc(snapshot(), pid).status is None
    await otpy.stop(pid)


async def test_a_hook_that_raises_gives_no_status_and_the_rest_is_still_there() -> None:
    good = await WithStatus.start_link(5)
    bad = await BrokenStatus.start_link(None)
    assert isinstance(good, Pid) and isinstance(bad, Pid)

    with capture_logs() as logs:
        snap = snapshot()

    assert proc(snap, bad).status is None
    assert proc(snap, good).status == Depth(5, good)
    failed = [e for e in logs if e["event"] == "observer_status_failed"]
    assert [(e["pid"], e["log_level"]) for e in failed] == [(repr(bad), "warning")]
    assert "the hook is broken" in failed[0]["reason"]
    json.dumps(snap.to_json())  # the picture of everything else is whole
    await otpy.stop(good)
    await otpy.stop(bad)


async def test_to_json_turns_a_dataclass_status_into_a_mapping_naming_its_class() -> None:
    pid = await WithStatus.start_link(7)
    assert isinstance(pid, Pid)

    data = snapshot().to_json()

    (p,) = [p for p in data["processes"] if p["pid"] == repr(pid)]
    assert p["status"] == {"depth": 7, "owner": repr(pid)}
    assert p["status_type"] == "tests.observer.test_snapshot.Depth"
    await otpy.stop(pid)


async def test_to_json_keeps_a_mapping_status_with_its_pids_as_text() -> None:
    pid = await WithMappingStatus.start_link(None)
    assert isinstance(pid, Pid)

    (p,) = [p for p in snapshot().to_json()["processes"] if p["pid"] == repr(pid)]

    assert p["status"] == {"queue": [1, 2], "peer": repr(pid)}
    assert p["status_type"] == "builtins.dict"
    await otpy.stop(pid)


@pytest.mark.parametrize("kind", ["loop", "no_repr"])
async def test_a_status_that_cannot_be_shown_does_not_break_to_json(kind: str) -> None:
    odd = await UnshowableStatus.start_link(kind)
    good = await WithStatus.start_link(2)
    assert isinstance(odd, Pid) and isinstance(good, Pid)

    data = json.loads(json.dumps(snapshot().to_json()))

    by_pid = {p["pid"]: p for p in data["processes"]}
    assert "cannot be shown" in by_pid[repr(odd)]["status"]
    assert by_pid[repr(good)]["status"] == {"depth": 2, "owner": repr(good)}
    await otpy.stop(odd)
    await otpy.stop(good)


# -- to_json -------------------------------------------------------------------------------------


async def test_to_json_is_json_and_every_pid_in_it_is_text() -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")], name="json_sup")
    assert isinstance(sup, Pid)
    await started("a")
    await started("b")
    await otpy.supervisor.terminate_child(sup, "b")
    linked = otpy.spawn_link(idle)

    snap = snapshot()
    data = json.loads(json.dumps(snap.to_json()))

    assert data["taken_at"] == snap.taken_at
    assert data["roots"] == [repr(sup)]
    assert [p["pid"] for p in data["processes"]] == [repr(p.pid) for p in snap.processes]
    for p in data["processes"]:
        assert PID_TEXT.match(p["pid"])
        assert all(PID_TEXT.match(x) for x in p["links"] + p["monitors"] + p["monitored_by"])
    (s,) = data["supervisors"]
    assert (s["pid"], s["label"], s["strategy"], s["dynamic"]) == (
        repr(sup), "json_sup", "one_for_one", False,
    )  # fmt: skip
    assert [(c["id"], c["status"]) for c in s["children"]] == [("a", "running"), ("b", "undefined")]
    assert PID_TEXT.match(s["children"][0]["pid"]) and s["children"][1]["pid"] is None
    (me,) = [p for p in data["processes"] if p["pid"] == repr(otpy.self_pid())]
    assert repr(linked) in me["links"]
    (named,) = [p for p in data["processes"] if p["pid"] == repr(sup)]
    assert (named["name"], named["names"], named["status"], named["status_type"]) == (
        "json_sup", ["json_sup"], None, None,
    )  # fmt: skip
    otpy.unlink(linked)
    otpy.exit(linked, "kill")
    await otpy.stop(sup)


# -- websocket clients ----------------------------------------------------------------------


async def test_a_connected_client_shows_its_stats(ws_server: Server) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid())
    await next_event("connect")

    snap = snapshot()

    p = proc(snap, pid)
    assert isinstance(p.status, wsclient.Stats)
    assert (p.status.state, p.status.url, p.status.connects) == ("connected", ws_server.url, 1)
    assert p.status.connected_since is not None and p.status.next_retry_at is None
    assert (p.kind, p.module) == ("genserver", "tests.wsclient.support.Reporter")
    (j,) = [j for j in snap.to_json()["processes"] if j["pid"] == repr(pid)]
    assert j["status_type"] == "wsclient.Stats"  # what the observer's page looks for
    assert j["status"]["state"] == "connected"
    await otpy.stop(pid)


async def test_a_client_whose_server_went_away_is_in_backoff_with_its_next_retry(
    ws_server: Server,
) -> None:
    pid = await SlowReporter.start_link(ws_server.url, otpy.self_pid())
    await next_event("connect")

    await ws_server.stop()
    reason = await next_event("disconnect")  # the client answers Reconnect: it is in backoff
    assert isinstance(reason, wsclient.Disconnected)

    snap = snapshot()
    status = proc(snap, pid).status
    assert isinstance(status, wsclient.Stats)
    assert (status.state, status.disconnects, status.connected_since) == ("backoff", 1, None)
    assert status.next_retry_at is not None
    assert snap.taken_at + RETRY_AFTER - 1 < status.next_retry_at <= time.time() + RETRY_AFTER
    assert status.last_disconnect == reason.kind
    await otpy.stop(pid)


async def test_a_closed_client_is_down(ws_server: Server) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid())
    await next_event("connect")

    await wsclient.close(pid)
    assert isinstance(await next_event("disconnect"), wsclient.LocalClosed)

    status = proc(snapshot(), pid).status
    assert isinstance(status, wsclient.Stats)
    assert (status.state, status.next_retry_at, status.connected_since) == ("down", None, None)
    assert status.last_disconnect == "local_closed"
    await otpy.stop(pid)


async def test_the_credentials_of_a_client_url_are_in_neither_status_nor_json(
    ws_server: Server,
) -> None:
    url = f"ws://alice:s3cr3t-pw@127.0.0.1:{ws_server.port}/feed"
    pid = await Reporter.start_link(url, otpy.self_pid())
    await next_event("connect")
    assert ws_server.handshakes[0].get("Authorization", "").startswith("Basic ")

    snap = snapshot()

    status = proc(snap, pid).status
    assert isinstance(status, wsclient.Stats)
    assert status.url == f"ws://127.0.0.1:{ws_server.port}/feed"
    text = json.dumps(snap.to_json())
    assert "s3cr3t-pw" not in text and "alice" not in text
    assert "s3cr3t-pw" not in repr(snap)
    await otpy.stop(pid)
