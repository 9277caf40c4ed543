"""The Supervisor API (DESIGN.md section 5): start_child, terminate_child, restart_child,
delete_child, which_children, count_children, stop; subclasses; the forms a child may take."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import otpy
from otpy import (
    ChildInfo,
    ChildNotFound,
    ChildRunning,
    ChildSpec,
    GenServer,
    Ignore,
    Ok,
    Reply,
    StartError,
    Supervisor,
    SupervisorSpec,
)
from otpy.supervisor import (
    count_children,
    delete_child,
    restart_child,
    start_child,
    supervisor_flags,
    terminate_child,
    which_children,
)

from .supervision_support import (
    Boom,
    assert_no_events,
    children,
    die,
    events,
    pid_of,
    started,
    wait_down,
    worker,
)
from .support import HeldCleanup


class Counter(GenServer):
    async def init(self, arg: Any) -> Any:
        return Ok(0 if arg is None else arg)

    async def handle_call(self, request: Any, from_: Any, state: int) -> Any:
        return Reply(state, state)


class Custom(Counter):
    """A server whose child_spec changes id, restart, shutdown and name."""

    @classmethod
    def child_spec(cls, arg: Any = None, **overrides: Any) -> ChildSpec:
        fields = {"id": "custom", "restart": "transient", "shutdown": "brutal_kill"}
        return super().child_spec(arg, **{**fields, "name": "custom_server", **overrides})


class IgnoresAlways(GenServer):
    async def init(self, arg: Any) -> Any:
        return Ignore()


# -- start_child ----------------------------------------------------------------------------


async def test_start_child_starts_and_appends_a_child_spec() -> None:
    sup = await Supervisor.start_link([worker("a")])
    assert sup is not None
    await started("a")

    pid = await start_child(sup, worker("b"))

    assert pid == await started("b")
    assert await otpy.call(pid, "id") == "b"
    assert [c.id for c in await which_children(sup)] == ["a", "b"]
    await otpy.stop(sup)


async def test_start_child_accepts_a_class_and_a_class_with_its_argument() -> None:
    sup = await Supervisor.start_link([])
    assert sup is not None

    by_class = await start_child(sup, Counter)
    assert by_class is not None
    assert await otpy.call(by_class, "get") == 0
    with_arg = await start_child(sup, (Custom, 41))
    assert with_arg is not None
    assert await otpy.call(with_arg, "get") == 41

    assert [c.id for c in await which_children(sup)] == [Counter, "custom"]
    await otpy.stop(sup)


async def test_started_child_is_supervised_like_the_others() -> None:
    sup = await Supervisor.start_link([], max_seconds=3600)
    assert sup is not None
    pid = await start_child(sup, worker("late"))
    assert pid == await started("late")

    await die(pid, "crash")

    new = await started("late")
    assert (await children(sup))["late"].pid == new
    await otpy.stop(sup)


async def test_start_child_that_fails_raises_start_error_and_adds_nothing() -> None:
    refuse = asyncio.Event()
    refuse.set()
    sup = await Supervisor.start_link([])
    assert sup is not None

    with pytest.raises(StartError) as info:
        await start_child(sup, worker("f", fail_init=refuse))

    assert isinstance(info.value.reason, Boom)
    assert await children(sup) == {}
    assert otpy.is_alive(sup)
    await otpy.stop(sup)


async def test_start_child_that_ignores_returns_none_and_keeps_the_spec() -> None:
    sup = await Supervisor.start_link([])
    assert sup is not None

    assert await start_child(sup, IgnoresAlways.child_spec(id="kept")) is None
    assert await start_child(sup, IgnoresAlways.child_spec(id="t", restart="temporary")) is None

    info = (await children(sup))["kept"]
    assert (info.pid, info.status) == (None, "undefined")
    assert list(await children(sup)) == ["kept"]  # a temporary child that ignores is not kept
    await otpy.stop(sup)


async def test_start_child_refuses_what_is_not_a_child() -> None:
    sup = await Supervisor.start_link([])
    assert sup is not None
    with pytest.raises(TypeError, match="not a child"):
        await start_child(sup, "Counter")
    await otpy.stop(sup)


# -- terminate_child / restart_child / delete_child -----------------------------------------


async def test_terminate_child_stops_it_keeps_its_spec_and_does_not_restart_it() -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")])
    assert sup is not None
    await started("a")
    b_ref = otpy.monitor(await started("b"))

    await terminate_child(sup, "b")

    assert (await wait_down(b_ref)).reason == "shutdown"
    assert await events(1) == [("terminate", "b")]
    info = (await children(sup))["b"]
    assert (info.pid, info.status) == (None, "undefined")
    await assert_no_events()  # not restarted
    await otpy.stop(sup)


async def test_terminate_child_removes_a_temporary_child() -> None:
    sup = await Supervisor.start_link([worker("a"), worker("t", restart="temporary")])
    assert sup is not None
    await events(2)

    await terminate_child(sup, "t")

    assert await events(1) == [("terminate", "t")]
    assert list(await children(sup)) == ["a"]
    await otpy.stop(sup)


async def test_terminate_child_of_an_unknown_id_raises_child_not_found() -> None:
    sup = await Supervisor.start_link([])
    assert sup is not None
    with pytest.raises(ChildNotFound) as info:
        await terminate_child(sup, "ghost")
    assert info.value.key == "ghost"
    await otpy.stop(sup)


async def test_terminate_child_of_a_stopped_child_is_a_no_op() -> None:
    sup = await Supervisor.start_link([worker("a")])
    assert sup is not None
    await started("a")
    await terminate_child(sup, "a")
    await events(1)

    await terminate_child(sup, "a")

    await assert_no_events()
    assert (await children(sup))["a"].pid is None
    await otpy.stop(sup)


async def test_terminate_child_of_a_child_already_exiting_returns_once_it_is_gone() -> None:
    # The child has crashed, but its helper's clean-up holds its exit back: the supervisor does
    # not know yet. terminate_child must still wait for it (here: kill it, cutting that short).
    held = HeldCleanup()
    sup = await Supervisor.start_link([worker("a", on_init=held.start, shutdown="brutal_kill")])
    assert sup is not None
    a = await started("a")
    otpy.cast(a, ("raise", Boom("crash")))
    await held.wait_cleaning()

    await terminate_child(sup, "a")

    assert held.done.is_set()
    assert otpy.process_info(a) is None
    assert await events(1) == [("terminate", "a")]  # from its crash; it was not restarted
    assert (await children(sup))["a"].pid is None
    await otpy.stop(sup)


async def test_restart_child_after_terminating_a_child_already_exiting_gets_its_name() -> None:
    held = HeldCleanup()
    spec = worker("a", name="a", on_init=held.start, shutdown="brutal_kill")
    sup = await Supervisor.start_link([spec])
    assert sup is not None
    old = await started("a")
    otpy.cast(old, ("raise", Boom("crash")))
    await held.wait_cleaning()
    await terminate_child(sup, "a")
    await events(1)
    held.release.set()  # the next incarnation's helper will not hold anything back

    new = await restart_child(sup, "a")

    assert new == await started("a")
    assert otpy.whereis("a") == new
    await otpy.stop(sup)


async def test_restart_child_starts_a_terminated_child_again() -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")])
    assert sup is not None
    await started("a")
    old = await started("b")
    await terminate_child(sup, "b")
    await events(1)

    new = await restart_child(sup, "b")

    assert new == await started("b")
    assert new != old
    assert await otpy.call(new, "id") == "b"
    assert [c.id for c in await which_children(sup)] == ["a", "b"]  # keeps its place
    assert (await children(sup))["b"].pid == new
    await otpy.stop(sup)


async def test_restart_child_of_a_running_child_raises_child_running() -> None:
    sup = await Supervisor.start_link([worker("a")])
    assert sup is not None
    a = await started("a")

    with pytest.raises(ChildRunning) as info:
        await restart_child(sup, "a")

    assert (info.value.id, info.value.pid) == ("a", a)
    await assert_no_events()
    await otpy.stop(sup)


async def test_restart_child_of_an_unknown_id_raises_child_not_found() -> None:
    sup = await Supervisor.start_link([])
    assert sup is not None
    with pytest.raises(ChildNotFound):
        await restart_child(sup, "ghost")
    await otpy.stop(sup)


async def test_delete_child_of_a_running_child_raises_child_running() -> None:
    sup = await Supervisor.start_link([worker("a")])
    assert sup is not None
    a = await started("a")

    with pytest.raises(ChildRunning) as info:
        await delete_child(sup, "a")

    assert info.value.pid == a
    assert otpy.is_alive(a)
    assert list(await children(sup)) == ["a"]
    await otpy.stop(sup)


async def test_delete_child_removes_a_terminated_child_and_frees_its_id() -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")])
    assert sup is not None
    await events(2)
    await terminate_child(sup, "a")
    await events(1)

    await delete_child(sup, "a")

    assert list(await children(sup)) == ["b"]
    with pytest.raises(ChildNotFound):
        await restart_child(sup, "a")
    pid = await start_child(sup, worker("a"))  # the id can be used again
    assert pid == await started("a")
    assert [c.id for c in await which_children(sup)] == ["b", "a"]
    await otpy.stop(sup)


async def test_delete_child_of_an_unknown_id_raises_child_not_found() -> None:
    sup = await Supervisor.start_link([])
    assert sup is not None
    with pytest.raises(ChildNotFound):
        await delete_child(sup, "ghost")
    await otpy.stop(sup)


@pytest.mark.parametrize(
    "operation",
    [terminate_child, restart_child, delete_child],
    ids=["terminate_child", "restart_child", "delete_child"],
)
async def test_an_unhashable_child_id_raises_type_error_in_the_caller_not_the_supervisor(
    operation: Any,
) -> None:
    sup = await Supervisor.start([worker("a")])  # unlinked: a crash must not take the test too
    assert sup is not None
    a = await started("a")

    with pytest.raises(TypeError, match="hashable"):
        await operation(sup, ["a"])

    assert otpy.is_alive(sup)
    assert await pid_of(sup, "a") == a
    await assert_no_events()
    await otpy.stop(sup)


# -- which_children / count_children / stop -------------------------------------------------


class Sub(Supervisor):
    async def init(self, arg: Any) -> SupervisorSpec:
        return SupervisorSpec([Counter], strategy="rest_for_one", max_restarts=7)


async def test_which_children_describes_each_child_in_start_order() -> None:
    sup = await Supervisor.start_link(
        [worker("a"), worker("t", restart="temporary"), Sub.child_spec(id="sub")]
    )
    assert sup is not None
    a = await started("a")
    t = await started("t")
    sub = await pid_of(sup, "sub")

    assert await which_children(sup) == [
        ChildInfo("a", a, "worker", "permanent", "running", 0),
        ChildInfo("t", t, "worker", "temporary", "running", 0),
        ChildInfo("sub", sub, "supervisor", "permanent", "running", 0),
    ]
    await otpy.stop(sup)


async def test_count_children_counts_specs_running_supervisors_and_workers() -> None:
    sup = await Supervisor.start_link(
        [worker("a"), worker("b"), Sub.child_spec(id="sub"), IgnoresAlways.child_spec(id="i")]
    )
    assert sup is not None
    await events(2)
    await terminate_child(sup, "b")
    await events(1)

    counts = await count_children(sup)

    assert (counts.specs, counts.active, counts.supervisors, counts.workers) == (4, 2, 1, 3)
    await otpy.stop(sup)


async def test_otpy_stop_on_a_supervisor_returns_once_it_and_its_children_are_down() -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")])
    assert sup is not None
    a = await started("a")
    b = await started("b")

    await otpy.stop(sup)

    assert not otpy.is_alive(sup)
    assert not otpy.is_alive(a) and not otpy.is_alive(b)
    with pytest.raises(otpy.NoProcess):
        await which_children(sup)


async def test_api_on_a_dead_supervisor_raises_no_process() -> None:
    sup = await Supervisor.start_link([])
    assert sup is not None
    await otpy.stop(sup)
    with pytest.raises(otpy.NoProcess):
        await start_child(sup, Counter)


# -- subclasses and child forms -------------------------------------------------------------


class App(Supervisor):
    async def init(self, arg: Any) -> SupervisorSpec:
        to, n = arg
        return SupervisorSpec(
            [worker(f"w{i}", to=to) for i in range(n)],
            strategy="one_for_all",
            max_restarts=9,
            max_seconds=60,
        )


async def test_subclass_init_gets_the_argument_and_its_spec_sets_the_flags() -> None:
    sup = await App.start_link((otpy.self_pid(), 3))
    assert sup is not None

    assert await events(3) == [("init", "w0"), ("init", "w1"), ("init", "w2")]
    flags = await supervisor_flags(sup)
    assert (flags["label"], flags["strategy"], flags["max_restarts"], flags["max_seconds"]) == (
        "App",
        "one_for_all",
        9,
        60,
    )
    await otpy.stop(sup)


async def test_children_given_as_spec_class_and_class_with_argument() -> None:
    sup = await Supervisor.start_link([Counter.child_spec(5, id="spec"), Counter, (Custom, 7)])
    assert sup is not None

    kids = await which_children(sup)

    assert [c.id for c in kids] == ["spec", Counter, "custom"]
    values = [await otpy.call(c.pid, "get") for c in kids]
    assert values == [5, 0, 7]
    await otpy.stop(sup)


async def test_child_spec_overrides_set_id_restart_shutdown_and_name() -> None:
    sup = await Supervisor.start_link([(Custom, 1)], max_seconds=3600)
    assert sup is not None
    info = (await children(sup))["custom"]
    assert (info.restart, info.type) == ("transient", "worker")
    assert otpy.whereis("custom_server") == info.pid

    # transient: a crash restarts it, under the same name
    ref = otpy.monitor(info.pid)
    otpy.exit(info.pid, "kill")
    assert (await wait_down(ref)).reason == "killed"
    new = (await children(sup))["custom"].pid
    assert new not in (None, info.pid)
    assert otpy.whereis("custom_server") == new
    assert await otpy.call("custom_server", "get") == 1

    # shutdown="brutal_kill": terminate_child kills it
    ref = otpy.monitor(new)
    await terminate_child(sup, "custom")
    assert (await wait_down(ref)).reason == "killed"
    assert otpy.whereis("custom_server") is None
    await otpy.stop(sup)


async def test_overrides_given_to_child_spec_win_over_the_class_defaults() -> None:
    spec = Custom.child_spec(3, id="other", restart="permanent", name="other_server")
    assert (spec.id, spec.restart, spec.shutdown) == ("other", "permanent", "brutal_kill")
    sup = await Supervisor.start_link([spec])
    assert sup is not None
    assert otpy.whereis("other_server") == await pid_of(sup, "other")
    assert otpy.whereis("custom_server") is None
    await otpy.stop(sup)


async def test_restart_child_brings_back_a_transient_child_that_exited_normally() -> None:
    sup = await Supervisor.start_link([], max_seconds=3600)
    assert sup is not None
    pid = await start_child(sup, worker("x", restart="transient"))
    assert pid == await started("x")
    await die(pid, "normal")  # transient: not restarted, spec kept
    assert (await children(sup))["x"].pid is None
    assert await restart_child(sup, "x") == await started("x")
    await assert_no_events()
    await otpy.stop(sup)


async def test_terminate_child_while_its_restart_is_pending_leaves_it_stopped() -> None:
    refusals: list[str] = []
    sup = await Supervisor.start_link([worker("f", refusals=refusals)], max_seconds=3600)
    assert sup is not None
    f = await started("f")
    refusals.append("once")  # the first restart attempt fails; a retry would succeed

    await die(f, "crash")
    # asked before the supervisor has handled the crash: it is queued before the retry
    await terminate_child(sup, "f")

    info = (await children(sup))["f"]
    assert (info.pid, info.status) == (None, "undefined")  # stopped stays stopped
    await otpy.stop(sup)
