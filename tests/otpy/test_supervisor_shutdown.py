"""Shutting children down (DESIGN.md section 5): reverse start order; each child gets
exit(shutdown), then kill after its `shutdown` timeout; brutal_kill kills at once; infinity waits.
"""

from __future__ import annotations

import asyncio

import otpy
from otpy import Supervisor, SupervisorSpec
from otpy.supervisor import terminate_child

from .supervision_support import (
    GUARD,
    assert_no_events,
    children,
    events,
    next_event,
    pid_of,
    started,
    wait_down,
    worker,
)


async def test_stop_terminates_children_in_reverse_start_order() -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b"), worker("c")])
    assert sup is not None
    sup_ref = otpy.monitor(sup)
    await events(3)

    await otpy.stop(sup)

    assert [(k, c, r) for k, c, r in [await next_event() for _ in range(3)]] == [
        ("terminate", "c", "shutdown"),
        ("terminate", "b", "shutdown"),
        ("terminate", "a", "shutdown"),
    ]
    assert (await wait_down(sup_ref)).reason == "normal"


async def test_stop_with_a_reason_exits_the_supervisor_with_that_reason() -> None:
    otpy.trap_exits()  # the supervisor's exit reaches us through the link
    sup = await Supervisor.start_link([worker("a")])
    assert sup is not None
    a = await started("a")
    sup_ref = otpy.monitor(sup)
    a_ref = otpy.monitor(a)

    await otpy.stop(sup, otpy.Shutdown("maintenance"))

    assert (await wait_down(a_ref)).reason == "shutdown"  # children always get shutdown
    assert (await wait_down(sup_ref)).reason == otpy.Shutdown("maintenance")


async def test_child_not_trapping_exits_stops_at_once_without_terminate() -> None:
    sup = await Supervisor.start_link([worker("a", trap=False)])
    assert sup is not None
    a_ref = otpy.monitor(await started("a"))

    await otpy.stop(sup)

    assert (await wait_down(a_ref)).reason == "shutdown"
    await assert_no_events()


async def test_child_ignoring_shutdown_is_killed_after_its_timeout() -> None:
    never = asyncio.Event()  # terminate waits on this forever
    sup = await Supervisor.start_link([worker("a"), worker("stuck", shutdown=0.2, hold=never)])
    assert sup is not None
    await started("a")
    stuck_ref = otpy.monitor(await started("stuck"))
    sup_ref = otpy.monitor(sup)

    await otpy.stop(sup)

    assert (await wait_down(stuck_ref)).reason == "killed"
    # stuck was told first (reverse order), and a only after stuck had been killed
    assert [(k, c, r) for k, c, r in [await next_event() for _ in range(2)]] == [
        ("terminate", "stuck", "shutdown"),
        ("terminate", "a", "shutdown"),
    ]
    assert (await wait_down(sup_ref)).reason == "normal"
    assert not never.is_set()


async def test_brutal_kill_kills_at_once_without_terminate() -> None:
    sup = await Supervisor.start_link([worker("a"), worker("brute", shutdown="brutal_kill")])
    assert sup is not None
    await started("a")
    brute_ref = otpy.monitor(await started("brute"))

    await otpy.stop(sup)

    assert (await wait_down(brute_ref)).reason == "killed"
    assert await events(1) == [("terminate", "a")]  # brute's terminate never ran
    await assert_no_events()


async def test_infinity_waits_for_a_slow_terminate_to_finish() -> None:
    finish = asyncio.Event()
    sup = await Supervisor.start_link([worker("slow", shutdown="infinity", hold=finish)])
    assert sup is not None
    slow = await started("slow")
    slow_ref = otpy.monitor(slow)

    stopping = asyncio.create_task(terminate_child(sup, "slow"))
    kind, cid, reason = await next_event()
    assert (kind, cid, reason) == ("terminate", "slow", "shutdown")
    assert otpy.is_alive(slow)  # still in terminate, not killed
    assert not stopping.done()

    finish.set()
    await asyncio.wait_for(stopping, GUARD)

    assert (await wait_down(slow_ref)).reason == "shutdown"
    assert (await children(sup))["slow"].pid is None
    await otpy.stop(sup)


async def test_terminate_child_uses_the_child_shutdown_policy() -> None:
    never = asyncio.Event()
    sup = await Supervisor.start_link(
        [worker("stuck", shutdown=0.2, hold=never), worker("brute", shutdown="brutal_kill")]
    )
    assert sup is not None
    stuck = await started("stuck")
    brute = await started("brute")
    stuck_ref, brute_ref = otpy.monitor(stuck), otpy.monitor(brute)

    await terminate_child(sup, "brute")
    assert (await wait_down(brute_ref)).reason == "killed"
    await assert_no_events()

    await terminate_child(sup, "stuck")
    assert (await wait_down(stuck_ref)).reason == "killed"
    assert await events(1) == [("terminate", "stuck")]
    await otpy.stop(sup)


async def test_supervisor_shuts_down_when_its_parent_exits() -> None:
    me = otpy.self_pid()

    async def parent() -> None:
        sup = await Supervisor.start_link([worker("a", to=me), worker("b", to=me)])
        otpy.send(me, ("sup", sup))
        raise otpy.ExitProcess(await otpy.receive())

    owner = otpy.spawn(parent)
    _, sup = await otpy.receive(match=lambda m: type(m) is tuple and m[0] == "sup", timeout=GUARD)
    sup_ref = otpy.monitor(sup)
    await events(2)

    otpy.send(owner, "shutdown")

    assert (await wait_down(sup_ref)).reason == "shutdown"
    assert await events(2) == [("terminate", "b"), ("terminate", "a")]


class Inner(Supervisor):
    async def init(self, to: otpy.Pid) -> SupervisorSpec:
        return SupervisorSpec([worker("w1", to=to), worker("w2", to=to)])


async def test_nested_tree_shuts_down_depth_first_in_reverse_order() -> None:
    me = otpy.self_pid()
    sup = await Supervisor.start_link([worker("a"), Inner.child_spec(me, id="inner"), worker("c")])
    assert sup is not None
    assert await events(4) == [("init", "a"), ("init", "w1"), ("init", "w2"), ("init", "c")]
    inner_ref = otpy.monitor(await pid_of(sup, "inner"))

    await otpy.stop(sup)

    assert await events(4) == [
        ("terminate", "c"),
        ("terminate", "w2"),
        ("terminate", "w1"),
        ("terminate", "a"),
    ]
    assert (await wait_down(inner_ref)).reason == "shutdown"
