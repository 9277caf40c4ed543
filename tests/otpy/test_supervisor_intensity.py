"""Restart intensity: more than max_restarts restarts within max_seconds shuts the supervisor down
(children terminated in reverse order, exit reason "shutdown"), and nested supervisors escalate.

max_seconds is always large, so no test depends on how fast the machine is; the sliding window
itself is checked on the Intensity counter with a stopped clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import otpy
from otpy import Supervisor, SupervisorSpec
from otpy._supervision import Intensity

from .supervision_support import (
    GUARD,
    assert_no_events,
    children,
    die,
    events,
    next_event,
    pid_of,
    started,
    wait_down,
    worker,
)


async def test_supervisor_exits_with_shutdown_when_restarts_exceed_max_restarts() -> None:
    otpy.trap_exits()
    sup = await Supervisor.start_link(
        [worker("a"), worker("b"), worker("c")], max_restarts=2, max_seconds=3600
    )
    assert sup is not None
    sup_ref = otpy.monitor(sup)
    pids = {c: await started(c) for c in "abc"}

    b = pids["b"]
    for _ in range(2):  # two restarts are allowed
        await die(b, "crash")
        b = await started("b")
    assert otpy.is_alive(sup)

    await die(b, "crash")  # the third would exceed max_restarts=2

    assert (await wait_down(sup_ref)).reason == "shutdown"
    assert [(k, c, r) for k, c, r in [await next_event() for _ in range(2)]] == [
        ("terminate", "c", "shutdown"),
        ("terminate", "a", "shutdown"),
    ]
    await assert_no_events()  # b was not started again
    assert not otpy.is_alive(pids["a"]) and not otpy.is_alive(pids["c"])


async def test_max_restarts_zero_shuts_down_on_the_first_exit() -> None:
    otpy.trap_exits()
    sup = await Supervisor.start_link([worker("a"), worker("b")], max_restarts=0)
    assert sup is not None
    sup_ref = otpy.monitor(sup)
    await started("a")
    b = await started("b")

    await die(b, "shutdown")  # a permanent child's orderly exit still needs a restart

    assert (await wait_down(sup_ref)).reason == "shutdown"
    assert await events(1) == [("terminate", "a")]


async def test_exits_that_need_no_restart_do_not_count() -> None:
    otpy.trap_exits()
    specs = [worker(f"t{i}", restart="transient") for i in range(3)]
    sup = await Supervisor.start_link([*specs, worker("p")], max_restarts=1, max_seconds=3600)
    assert sup is not None
    pids = {s.id: await started(s.id) for s in [*specs, worker("p")]}

    for i in range(3):
        await die(pids[f"t{i}"], "normal")  # not restarted: not counted

    await die(pids["p"], "crash")  # the one restart allowed
    new_p = await started("p")
    assert otpy.is_alive(sup)
    assert (await children(sup))["p"].pid == new_p
    await otpy.stop(sup)


async def test_a_failed_restart_attempt_counts_toward_the_intensity() -> None:
    otpy.trap_exits()
    refuse = asyncio.Event()
    sup = await Supervisor.start_link(
        [worker("a"), worker("f", fail_init=refuse), worker("c")],
        max_restarts=2,
        max_seconds=3600,
    )
    assert sup is not None
    sup_ref = otpy.monitor(sup)
    f = [await started(c) for c in "afc"][1]
    refuse.set()  # from now on f's init raises

    await die(f, "crash")

    # restart 1 fails, the retry (restart 2) fails, the next attempt exceeds max_restarts=2:
    # the supervisor gives up instead of retrying forever
    assert (await wait_down(sup_ref)).reason == "shutdown"
    assert await events(4) == [
        ("init", "f"),
        ("init", "f"),
        ("terminate", "c"),
        ("terminate", "a"),
    ]
    await assert_no_events()


async def test_a_failed_restart_is_retried_until_it_succeeds_within_the_intensity() -> None:
    refusals: list[str] = []
    sup = await Supervisor.start_link(
        [worker("f", refusals=refusals)], max_restarts=3, max_seconds=3600
    )
    assert sup is not None
    f = await started("f")
    refusals.extend(["second", "first"])  # the next two inits fail

    await die(f, "crash")

    assert await events(3) == [("init", "f")] * 3  # two failed attempts, then a good one
    info = (await children(sup))["f"]
    assert info.pid is not None and info.pid != f
    assert (info.status, info.restarts) == ("running", 3)
    assert await otpy.call(info.pid, "id") == "f"
    await assert_no_events()
    await otpy.stop(sup)


async def test_intensity_shutdown_is_reported_to_the_linked_parent_as_an_exit() -> None:
    otpy.trap_exits()
    sup = await Supervisor.start_link([worker("a")], max_restarts=0)
    assert sup is not None
    await die(await started("a"), "killed")

    msg = await otpy.receive(match=lambda m: type(m) is otpy.Exit and m.pid == sup, timeout=GUARD)
    assert msg.reason == "shutdown"


async def test_restarts_older_than_max_seconds_leave_the_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The loop's clock is stopped and moved by hand; nothing is awaited while it is patched, so
    # the loop's own timers never see it.
    now = [1000.0]
    monkeypatch.setattr(asyncio.get_running_loop(), "time", lambda: now[0])
    window = Intensity(max_restarts=2, max_seconds=10)
    seen: list[Any] = [window.add(), window.add()]  # 2 in the window: allowed
    now[0] += 5
    seen += [window.add(), window.count()]  # 3 within 10 s: exceeded
    now[0] += 5.5  # the first two are now older than 10 s
    seen += [window.add(), window.count()]
    now[0] += 100
    seen += [window.add(), window.count()]
    monkeypatch.undo()

    assert seen == [True, True, False, 3, True, 2, True, 1]


# -- nested supervisors ---------------------------------------------------------------------


class Inner(Supervisor):
    """A supervisor that gives up on the first crash of its one worker."""

    async def init(self, to: otpy.Pid) -> SupervisorSpec:
        return SupervisorSpec([worker("w", to=to)], max_restarts=0)


async def test_inner_supervisor_reaching_intensity_is_restarted_by_its_permanent_spec() -> None:
    me = otpy.self_pid()
    outer = await Supervisor.start_link([Inner.child_spec(me, id="inner")], max_seconds=3600)
    assert outer is not None
    inner = await pid_of(outer, "inner")
    inner_ref = otpy.monitor(inner)

    await die(await started("w"), "crash")

    assert (await wait_down(inner_ref)).reason == "shutdown"
    new_w = await started("w")  # the outer supervisor started a new Inner, which started w
    info = (await children(outer))["inner"]
    assert info.pid not in (None, inner)
    assert (info.type, info.restart, info.restarts) == ("supervisor", "permanent", 1)
    assert (await children(info.pid))["w"].pid == new_w
    await otpy.stop(outer)


async def test_inner_supervisor_shutdown_counts_toward_the_outer_intensity() -> None:
    otpy.trap_exits()
    me = otpy.self_pid()
    outer = await Supervisor.start_link(
        [worker("x"), Inner.child_spec(me, id="inner")], max_restarts=1, max_seconds=3600
    )
    assert outer is not None
    outer_ref = otpy.monitor(outer)
    await started("x")

    await die(await started("w"), "crash")  # Inner gives up; outer restarts it (1 of 1)
    await die(await started("w"), "crash")  # Inner gives up again: outer exceeds its intensity

    assert (await wait_down(outer_ref)).reason == "shutdown"
    assert await events(1) == [("terminate", "x")]
    await assert_no_events()


async def test_transient_inner_supervisor_reaching_intensity_is_not_restarted() -> None:
    me = otpy.self_pid()
    outer = await Supervisor.start_link([Inner.child_spec(me, id="inner", restart="transient")])
    assert outer is not None
    inner = await pid_of(outer, "inner")
    inner_ref = otpy.monitor(inner)

    await die(await started("w"), "crash")

    assert (await wait_down(inner_ref)).reason == "shutdown"  # an orderly exit for a transient
    info = (await children(outer))["inner"]
    assert (info.pid, info.status) == (None, "undefined")
    await assert_no_events()
    await otpy.stop(outer)
