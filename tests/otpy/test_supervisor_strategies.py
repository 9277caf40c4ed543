"""Restart strategies: one_for_one, one_for_all and rest_for_one (DESIGN.md section 5).

Every child traps exits, so the supervisor's exit(shutdown) runs its terminate, and every child
reports ("init", id, pid) and ("terminate", id, reason) to the test: the test's mailbox is the
ordered log of what the supervisor did. Others are terminated in reverse start order, then
restarted in start order; temporary bystanders are terminated and not restarted.
"""

from __future__ import annotations

from typing import Any

import otpy
from otpy import Supervisor

from .supervision_support import (
    Boom,
    assert_no_events,
    children,
    die,
    events,
    next_event,
    started,
    worker,
)
from .support import HeldCleanup


async def _start(strategy: Any, *specs: Any) -> tuple[otpy.Pid, dict[str, otpy.Pid]]:
    sup = await Supervisor.start_link(list(specs), strategy=strategy, max_seconds=3600)
    assert sup is not None
    pids = {spec.id: await started(spec.id) for spec in specs}
    return sup, pids


async def test_children_start_in_list_order() -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b"), worker("c")])
    assert await events(3) == [("init", "a"), ("init", "b"), ("init", "c")]
    assert list(await children(sup)) == ["a", "b", "c"]
    await otpy.stop(sup)


async def test_one_for_one_restarts_only_the_child_that_exited() -> None:
    sup, pids = await _start("one_for_one", worker("a"), worker("b"), worker("c"))

    await die(pids["b"], "crash")

    new_b = await started("b")
    now = await children(sup)
    assert (now["a"].pid, now["b"].pid, now["c"].pid) == (pids["a"], new_b, pids["c"])
    assert (now["a"].restarts, now["b"].restarts, now["c"].restarts) == (0, 1, 0)
    await assert_no_events()  # a and c were neither terminated nor restarted
    await otpy.stop(sup)


async def test_one_for_all_terminates_the_others_in_reverse_order_then_restarts_all_in_order() -> (
    None
):
    sup, pids = await _start("one_for_all", worker("a"), worker("b"), worker("c"), worker("d"))

    await die(pids["b"], "crash")

    assert [(kind, cid, why) for kind, cid, why in [await next_event() for _ in range(3)]] == [
        ("terminate", "d", "shutdown"),
        ("terminate", "c", "shutdown"),
        ("terminate", "a", "shutdown"),
    ]
    assert await events(4) == [("init", "a"), ("init", "b"), ("init", "c"), ("init", "d")]
    await assert_no_events()
    now = await children(sup)
    assert all(now[c].pid not in (None, pids[c]) for c in "abcd")
    assert [now[c].restarts for c in "abcd"] == [0, 1, 0, 0]
    for c in "abcd":
        assert await otpy.call(now[c].pid, "id") == c
    await otpy.stop(sup)


async def test_one_for_all_terminates_a_temporary_bystander_and_does_not_restart_it() -> None:
    sup, pids = await _start(
        "one_for_all", worker("a"), worker("t", restart="temporary"), worker("b"), worker("c")
    )

    await die(pids["b"], "killed")

    assert await events(6) == [
        ("terminate", "c"),
        ("terminate", "t"),
        ("terminate", "a"),
        ("init", "a"),
        ("init", "b"),
        ("init", "c"),
    ]
    await assert_no_events()
    assert list(await children(sup)) == ["a", "b", "c"]
    assert not otpy.is_alive(pids["t"])
    await otpy.stop(sup)


async def test_one_for_all_does_nothing_when_the_exited_child_is_not_restarted() -> None:
    sup, pids = await _start(
        "one_for_all", worker("a"), worker("t", restart="temporary"), worker("c")
    )

    await die(pids["t"], "crash")

    assert list(await children(sup)) == ["a", "c"]
    await assert_no_events()
    assert otpy.is_alive(pids["a"]) and otpy.is_alive(pids["c"])
    await otpy.stop(sup)


async def test_rest_for_one_restarts_the_child_and_those_started_after_it() -> None:
    sup, pids = await _start("rest_for_one", worker("a"), worker("b"), worker("c"), worker("d"))

    await die(pids["b"], "crash")

    assert [(kind, cid, why) for kind, cid, why in [await next_event() for _ in range(2)]] == [
        ("terminate", "d", "shutdown"),
        ("terminate", "c", "shutdown"),
    ]
    assert await events(3) == [("init", "b"), ("init", "c"), ("init", "d")]
    await assert_no_events()  # a was left alone
    now = await children(sup)
    assert now["a"].pid == pids["a"]
    assert all(now[c].pid not in (None, pids[c]) for c in "bcd")
    await otpy.stop(sup)


async def test_rest_for_one_with_the_last_child_restarts_only_that_child() -> None:
    sup, pids = await _start("rest_for_one", worker("a"), worker("b"), worker("c"))

    await die(pids["c"], "shutdown")

    assert await events(1) == [("init", "c")]
    await assert_no_events()
    now = await children(sup)
    assert (now["a"].pid, now["b"].pid) == (pids["a"], pids["b"])
    await otpy.stop(sup)


async def test_rest_for_one_terminates_a_temporary_bystander_and_does_not_restart_it() -> None:
    sup, pids = await _start(
        "rest_for_one", worker("a"), worker("b"), worker("t", restart="temporary"), worker("c")
    )

    await die(pids["b"], "crash")

    assert await events(4) == [
        ("terminate", "c"),
        ("terminate", "t"),
        ("init", "b"),
        ("init", "c"),
    ]
    await assert_no_events()
    now = await children(sup)
    assert list(now) == ["a", "b", "c"]
    assert now["a"].pid == pids["a"]
    await otpy.stop(sup)


async def test_one_for_all_restart_failing_midway_stops_the_restarted_ones_and_tries_again() -> (
    None
):
    refusals: list[str] = []
    sup, pids = await _start(
        "one_for_all", worker("a"), worker("b"), worker("c", refusals=refusals)
    )
    refusals.append("once")  # c's next init fails, the one after succeeds

    await die(pids["b"], "crash")

    assert await events(10) == [
        ("terminate", "c"),
        ("terminate", "a"),
        ("init", "a"),
        ("init", "b"),
        ("init", "c"),  # fails
        ("terminate", "b"),  # the ones restarted in this round are stopped, in reverse
        ("terminate", "a"),
        ("init", "a"),  # and the whole group is restarted again
        ("init", "b"),
        ("init", "c"),
    ]
    now = await children(sup)
    assert all(now[c].pid is not None and now[c].status == "running" for c in "abc")
    assert otpy.is_alive(sup)
    await assert_no_events()
    await otpy.stop(sup)


async def test_one_for_all_waits_for_a_sibling_already_exiting_before_restarting_it() -> None:
    # `a` has crashed, but its helper's clean-up holds its exit back, so the supervisor does not
    # know yet when `b` crashes. It must still stop `a` (here: kill it, cutting that short) and
    # wait until it is gone before starting it again: its name is free by then.
    held = HeldCleanup()
    a = worker("a", name="a", on_init=held.start, shutdown="brutal_kill")
    sup, pids = await _start("one_for_all", a, worker("b"))
    otpy.cast(pids["a"], ("raise", Boom("a crashes")))
    await held.wait_cleaning()

    await die(pids["b"], "crash")

    assert await events(3) == [("terminate", "a"), ("init", "a"), ("init", "b")]
    assert held.done.is_set()
    now = await children(sup)
    assert otpy.whereis("a") == now["a"].pid
    assert all(now[c].pid not in (None, pids[c]) for c in "ab")
    assert otpy.is_alive(sup)
    held.release.set()  # the new `a` holds nothing back
    await otpy.stop(sup)
