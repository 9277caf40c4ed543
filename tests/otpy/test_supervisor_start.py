"""Starting a supervisor (DESIGN.md section 5): children start in list order; if one fails, those
already started are shut down in reverse order and start_link raises StartError naming the child;
Ignore keeps the spec with no pid; duplicate ids are refused."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import otpy
from otpy import (
    ChildSpec,
    ChildStartFailed,
    DuplicateChild,
    GenServer,
    Ignore,
    StartError,
    Stop,
    Supervisor,
    SupervisorSpec,
)
from otpy.supervisor import count_children, start_child

from .supervision_support import (
    Boom,
    assert_no_events,
    children,
    events,
    started,
    wait_down,
    worker,
)


class Ignores(GenServer):
    async def init(self, to: otpy.Pid) -> Any:
        otpy.send(to, ("init", "ignored", self.pid))
        return Ignore()


class Refuses(GenServer):
    async def init(self, arg: Any) -> Any:
        return Stop(("refused", arg))


async def test_child_failing_at_boot_shuts_down_the_started_ones_and_start_link_raises() -> None:
    refuse = asyncio.Event()
    refuse.set()

    with pytest.raises(StartError) as info:
        await Supervisor.start_link(
            [worker("a"), worker("b"), worker("c", fail_init=refuse), worker("d")]
        )

    failed = info.value.reason
    assert isinstance(failed, ChildStartFailed)
    assert failed.id == "c"
    assert isinstance(failed.reason, Boom)
    assert await events(5) == [
        ("init", "a"),
        ("init", "b"),
        ("init", "c"),
        ("terminate", "b"),
        ("terminate", "a"),
    ]
    await assert_no_events()  # d was never started


async def test_child_init_returning_stop_fails_the_boot_with_that_reason() -> None:
    with pytest.raises(StartError) as info:
        await Supervisor.start_link([worker("a"), Refuses.child_spec(7, id="r")])

    failed = info.value.reason
    assert isinstance(failed, ChildStartFailed)
    assert (failed.id, failed.reason) == ("r", ("refused", 7))
    assert await events(2) == [("init", "a"), ("terminate", "a")]


async def test_start_function_returning_a_non_pid_fails_the_boot() -> None:
    async def bad_start() -> Any:
        return "not a pid"

    with pytest.raises(StartError) as info:
        await Supervisor.start_link([ChildSpec("bad", (bad_start, ()))])

    failed = info.value.reason
    assert isinstance(failed, ChildStartFailed)
    assert failed.id == "bad"
    assert isinstance(failed.reason, TypeError)


async def test_failed_boot_does_not_take_the_caller_down() -> None:
    refuse = asyncio.Event()
    refuse.set()
    with pytest.raises(StartError):
        await Supervisor.start_link([worker("c", fail_init=refuse)])
    # the test process is still here, and receives nothing from the dead supervisor's link
    assert otpy.is_alive(otpy.self_pid())
    with pytest.raises(otpy.ReceiveTimeout):
        await otpy.receive(match=lambda m: type(m) is otpy.Exit, timeout=0)


async def test_child_whose_init_returns_ignore_is_kept_with_no_pid() -> None:
    me = otpy.self_pid()
    sup = await Supervisor.start_link(
        [worker("a"), Ignores.child_spec(me, id="ignored"), worker("c")]
    )
    assert sup is not None
    assert await events(3) == [("init", "a"), ("init", "ignored"), ("init", "c")]

    info = (await children(sup))["ignored"]
    assert (info.pid, info.status) == (None, "undefined")
    assert list(await children(sup)) == ["a", "ignored", "c"]
    counts = await count_children(sup)
    assert (counts.specs, counts.active, counts.workers) == (3, 2, 3)
    await otpy.stop(sup)


async def test_duplicate_ids_are_refused_at_start_with_value_error() -> None:
    with pytest.raises(ValueError, match="duplicate child id a"):
        await Supervisor.start_link([worker("a"), worker("b"), worker("a")])
    await assert_no_events()  # refused before anything started


async def test_duplicate_ids_from_a_subclass_init_fail_the_start() -> None:
    class Twins(Supervisor):
        async def init(self, to: otpy.Pid) -> SupervisorSpec:
            return SupervisorSpec([worker("a", to=to), worker("a", to=to)])

    with pytest.raises(StartError) as info:
        await Twins.start_link(otpy.self_pid())
    assert isinstance(info.value.reason, ValueError)
    await assert_no_events()


async def test_start_child_with_a_taken_id_raises_duplicate_child() -> None:
    sup = await Supervisor.start_link([worker("a")])
    assert sup is not None
    a = await started("a")

    with pytest.raises(DuplicateChild) as info:
        await start_child(sup, worker("a"))

    assert (info.value.id, info.value.pid) == ("a", a)
    await assert_no_events()  # the second "a" was never started
    assert list(await children(sup)) == ["a"]
    await otpy.stop(sup)


async def test_children_are_linked_to_their_supervisor() -> None:
    sup = await Supervisor.start_link([worker("a")])
    assert sup is not None
    a = await started("a")
    info = otpy.process_info(a)
    assert info is not None
    assert sup in info.links
    await otpy.stop(sup)


async def test_supervisor_registered_under_a_name_is_reachable_by_it() -> None:
    sup = await Supervisor.start_link([worker("a")], name="the_app")
    assert otpy.whereis("the_app") == sup
    await started("a")
    assert list(await children("the_app")) == ["a"]
    await otpy.stop("the_app")
    assert otpy.whereis("the_app") is None


async def test_subclass_init_returning_ignore_makes_start_link_return_none() -> None:
    class Off(Supervisor):
        async def init(self, arg: Any) -> Any:
            return Ignore()

    assert await Off.start_link() is None


async def test_subclass_init_returning_a_bad_value_fails_the_start() -> None:
    class Wrong(Supervisor):
        async def init(self, arg: Any) -> Any:
            return [worker("a")]

    with pytest.raises(StartError) as info:
        await Wrong.start_link()
    assert isinstance(info.value.reason, otpy.BadReturn)


async def test_bad_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="strategy"):
        await Supervisor.start_link([], strategy="one_for_some")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_restarts"):
        await Supervisor.start_link([], max_restarts=-1)


async def test_supervisor_with_no_children_runs_and_stops() -> None:
    sup = await Supervisor.start_link([])
    assert sup is not None
    ref = otpy.monitor(sup)
    assert await children(sup) == {}
    await otpy.stop(sup)
    assert (await wait_down(ref)).reason == "normal"
    await assert_no_events()


async def test_boot_failure_after_ignore_still_shuts_down_the_started_children() -> None:
    me = otpy.self_pid()
    with pytest.raises(StartError):
        await Supervisor.start_link(
            [worker("a"), Ignores.child_spec(me, id="ignored"), Refuses.child_spec(0)]
        )
    assert await events(3) == [("init", "a"), ("init", "ignored"), ("terminate", "a")]
    await assert_no_events()


async def test_temporary_child_whose_init_returns_ignore_is_dropped_at_boot() -> None:
    me = otpy.self_pid()
    sup = await Supervisor.start_link(
        [worker("a"), Ignores.child_spec(me, id="ignored", restart="temporary"), worker("c")]
    )
    assert sup is not None
    assert await events(3) == [("init", "a"), ("init", "ignored"), ("init", "c")]
    assert list(await children(sup)) == ["a", "c"]
    await otpy.stop(sup)


async def test_unlinked_start_survives_the_exit_of_the_task_that_started_it() -> None:
    started_by: dict[str, Any] = {}
    spec = worker("a")  # reports to this test

    async def starter() -> None:
        started_by["sup"] = await Supervisor.start([spec])

    # The starter is a task of its own that ends normally: a linked supervisor would take that
    # exit from its parent as an order to stop; an unlinked one does not.
    await asyncio.create_task(starter())
    sup = started_by["sup"]
    assert await events(1) == [("init", "a")]
    assert otpy.process_info(sup) is not None
    assert otpy.process_info(sup).links == tuple(  # type: ignore[union-attr]
        c.pid for c in (await children(sup)).values()
    )
    await otpy.stop(sup)


async def test_linked_start_stops_when_the_task_that_started_it_ends() -> None:
    started_by: dict[str, Any] = {}
    spec = worker("a")

    async def starter() -> None:
        started_by["sup"] = await Supervisor.start_link([spec])

    await asyncio.create_task(starter())
    ref = otpy.monitor(started_by["sup"])
    assert (await wait_down(ref)).reason == "normal"
