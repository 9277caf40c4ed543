"""Helper tasks owned by a process (`start_task`) and bounded delivery (`deliver`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import otpy
from otpy import Pid

from .support import (
    GUARD,
    Boom,
    HeldCleanup,
    exit_on_command,
    exit_on_command_after_cleanup,
    idle,
    wait_down,
    wait_msg,
)


async def _owner_with_helper(me: Pid, helper: Any) -> None:
    """A process that starts `helper()` as its helper task, reports, then exits on command."""
    task = otpy.start_task(helper())
    otpy.send(me, ("helper", task))
    await exit_on_command()


# -- start_task -----------------------------------------------------------------------------


async def test_start_task_runs_helper_for_its_process() -> None:
    me = otpy.self_pid()

    async def helper() -> None:
        otpy.send(me, ("helped",))

    otpy.spawn(_owner_with_helper, me, helper)
    assert await wait_msg("helped") == ("helped",)


async def test_start_task_returns_the_helper_task_and_counts_it() -> None:
    me = otpy.self_pid()
    owner = otpy.spawn(_owner_with_helper, me, idle)
    (_, task) = await wait_msg("helper")
    assert isinstance(task, asyncio.Task)
    info = otpy.process_info(owner)
    assert info is not None and info.helpers == 1


async def test_start_task_outside_a_spawned_process_raises_not_a_process() -> None:
    coro = idle()
    with pytest.raises(otpy.NotAProcess):
        otpy.start_task(coro)
    assert coro.cr_frame is None  # closed, so no "never awaited" warning


async def test_helper_is_cancelled_and_finished_before_owner_down_is_delivered() -> None:
    me = otpy.self_pid()
    cleanup_done = asyncio.Event()

    async def helper() -> None:
        try:
            await idle()
        finally:
            # an await during cleanup: the owner's exit must wait for it
            await asyncio.sleep(0)
            cleanup_done.set()

    owner = otpy.spawn(_owner_with_helper, me, helper)
    (_, task) = await wait_msg("helper")
    ref = otpy.monitor(owner)
    otpy.send(owner, "shutdown")
    down = await wait_down(ref)
    assert down.reason == "shutdown"
    assert task.done() and task.cancelled()
    assert cleanup_done.is_set()


async def test_helper_is_cancelled_when_owner_is_killed() -> None:
    me = otpy.self_pid()
    owner = otpy.spawn(_owner_with_helper, me, idle)
    (_, task) = await wait_msg("helper")
    ref = otpy.monitor(owner)
    otpy.exit(owner, "kill")
    assert (await wait_down(ref)).reason == "killed"
    assert task.cancelled()


async def test_helper_is_cancelled_when_owner_crashes() -> None:
    me = otpy.self_pid()
    owner = otpy.spawn(_owner_with_helper, me, idle)
    (_, task) = await wait_msg("helper")
    ref = otpy.monitor(owner)
    otpy.send(owner, Boom("owner crashed"))
    assert isinstance((await wait_down(ref)).reason, Boom)
    assert task.cancelled()


async def test_helper_that_raises_crashes_its_owner_with_that_exception() -> None:
    err = Boom("helper failed")
    go = asyncio.Event()

    async def helper() -> None:
        await go.wait()
        raise err

    owner = otpy.spawn(_owner_with_helper, otpy.self_pid(), helper)
    await wait_msg("helper")
    ref = otpy.monitor(owner)
    go.set()
    assert (await wait_down(ref)).reason is err


async def test_helper_raising_exit_process_ends_its_owner_with_that_reason() -> None:
    # exit/1 from a helper is a requested exit with its reason, not a crash with ExitProcess
    go = asyncio.Event()

    async def helper() -> None:
        await go.wait()
        raise otpy.ExitProcess("normal")

    owner = otpy.spawn(_owner_with_helper, otpy.self_pid(), helper)
    await wait_msg("helper")
    ref = otpy.monitor(owner)
    go.set()
    assert (await wait_down(ref)).reason == "normal"


async def test_kill_of_an_exiting_process_cuts_its_helpers_cleanup_short() -> None:
    held = HeldCleanup()
    owner = otpy.spawn(exit_on_command_after_cleanup, held)
    ref = otpy.monitor(owner)
    otpy.send(owner, Boom("owner crashed"))
    await held.wait_cleaning()  # its exit now waits for the helper's clean-up

    otpy.exit(owner, "kill")  # never released: only the kill can end that clean-up

    await wait_down(ref)
    assert held.done.is_set()


async def test_helper_that_returns_leaves_its_owner_running() -> None:
    me = otpy.self_pid()

    async def helper() -> None:
        otpy.send(me, ("helper-finished",))

    owner = otpy.spawn(_owner_with_helper, me, helper)
    (_, task) = await wait_msg("helper")
    await wait_msg("helper-finished")
    await asyncio.wait_for(task, GUARD)
    info = otpy.process_info(owner)
    assert info is not None and info.helpers == 0
    assert otpy.is_alive(owner)


async def test_helper_of_a_genserver_ends_with_the_server() -> None:
    me = otpy.self_pid()

    class WithHelper(otpy.GenServer):
        async def init(self, arg: Any) -> otpy.Ok:
            otpy.send(me, ("helper", otpy.start_task(idle())))
            return otpy.Ok(arg)

    pid = await WithHelper.start()
    (_, task) = await wait_msg("helper")
    await otpy.stop(pid)
    assert task.cancelled()


# -- deliver --------------------------------------------------------------------------------


async def test_deliver_sends_without_waiting_below_the_bound() -> None:
    me = otpy.self_pid()
    await otpy.deliver(me, "one", max_pending=2)
    await otpy.deliver(me, "two", max_pending=2)
    assert [await otpy.receive(timeout=0) for _ in range(2)] == ["one", "two"]


async def test_deliver_waits_while_mailbox_holds_max_pending_messages() -> None:
    me = otpy.self_pid()
    for i in range(3):
        await otpy.deliver(me, i, max_pending=3)
    blocked = asyncio.create_task(otpy.deliver(me, 3, max_pending=3))
    await asyncio.sleep(0)  # one step: an unblocked deliver would be done by now
    assert not blocked.done()
    info = otpy.process_info(me)
    assert info is not None and info.message_queue_len == 3
    blocked.cancel()
    await asyncio.gather(blocked, return_exceptions=True)


async def test_deliver_resumes_when_the_owner_reads() -> None:
    me = otpy.self_pid()
    for i in range(3):
        await otpy.deliver(me, i, max_pending=3)
    blocked = asyncio.create_task(otpy.deliver(me, 3, max_pending=3))
    await asyncio.sleep(0)
    assert not blocked.done()
    assert await otpy.receive(timeout=0) == 0
    await asyncio.wait_for(blocked, GUARD)
    assert [await otpy.receive(timeout=0) for _ in range(3)] == [1, 2, 3]


async def test_deliver_resumes_after_selective_receive() -> None:
    me = otpy.self_pid()
    await otpy.deliver(me, "a", max_pending=2)
    await otpy.deliver(me, "b", max_pending=2)
    blocked = asyncio.create_task(otpy.deliver(me, "c", max_pending=2))
    await asyncio.sleep(0)
    assert not blocked.done()
    assert await otpy.receive(match=lambda m: m == "b", timeout=0) == "b"
    await asyncio.wait_for(blocked, GUARD)
    assert [await otpy.receive(timeout=0) for _ in range(2)] == ["a", "c"]


async def test_deliver_raises_no_process_when_owner_exits_while_waiting() -> None:
    owner = otpy.spawn(idle)
    await otpy.deliver(owner, "fill", max_pending=1)
    blocked = asyncio.create_task(otpy.deliver(owner, "more", max_pending=1))
    await asyncio.sleep(0)
    assert not blocked.done()
    otpy.exit(owner, "kill")
    with pytest.raises(otpy.NoProcess) as exc_info:
        await asyncio.wait_for(blocked, GUARD)
    assert exc_info.value.dest == owner


async def test_deliver_to_dead_process_raises_no_process() -> None:
    pid = otpy.spawn(exit_on_command)
    ref = otpy.monitor(pid)
    otpy.send(pid, "normal")
    await wait_down(ref)
    with pytest.raises(otpy.NoProcess):
        await otpy.deliver(pid, "late", max_pending=10)


async def test_deliver_rejects_max_pending_below_one() -> None:
    with pytest.raises(ValueError) as exc_info:
        await otpy.deliver(otpy.self_pid(), "x", max_pending=0)
    assert "max_pending" in str(exc_info.value)


async def test_deliver_resumes_when_a_genserver_handles_a_message() -> None:
    gate = asyncio.Event()

    class Gated(otpy.GenServer):
        async def handle_info(self, msg: Any, state: Any) -> Any:
            await gate.wait()
            return otpy.NoReply([*state, msg])

        async def handle_call(self, request: Any, from_: otpy.From, state: Any) -> Any:
            return otpy.Reply(state, state)

    pid = await Gated.start([])
    otpy.send(pid, "first")  # handling it waits on the gate; "b" below waits until taken
    for msg in ("a", "b"):
        await otpy.deliver(pid, msg, max_pending=2)
    blocked = asyncio.create_task(otpy.deliver(pid, "c", max_pending=2))
    await asyncio.sleep(0)
    assert not blocked.done()
    info = otpy.process_info(pid)
    assert info is not None and info.message_queue_len == 2
    gate.set()
    await asyncio.wait_for(blocked, GUARD)
    assert await otpy.call(pid, "state?") == ["first", "a", "b", "c"]


async def test_helper_delivering_to_its_owner_never_exceeds_the_bound() -> None:
    me = otpy.self_pid()
    bound, total = 3, 50

    async def producer(owner: Pid) -> None:
        for i in range(total):
            await otpy.deliver(owner, ("item", i), max_pending=bound)

    async def consumer() -> None:
        otpy.start_task(producer(otpy.self_pid()))
        seen: list[int] = []
        high = 0
        while len(seen) < total:
            msg = await otpy.receive(match=lambda m: type(m) is tuple and m[0] == "item")
            info = otpy.process_info(otpy.self_pid())
            assert info is not None
            high = max(high, info.message_queue_len + 1)  # +1: the one just taken
            seen.append(msg[1])
        otpy.send(me, ("done", seen, high))

    otpy.spawn(consumer)
    (_, seen, high) = await wait_msg("done")
    assert seen == list(range(total))
    assert high <= bound


async def test_kill_cuts_a_helpers_cleanup_short_when_it_ends_the_process() -> None:
    held = HeldCleanup()
    pid = otpy.spawn(exit_on_command_after_cleanup, held)
    await asyncio.wait_for(held.running.wait(), GUARD)
    ref = otpy.monitor(pid)
    otpy.exit(pid, "kill")  # never released: an orderly clean-up would wait forever
    assert (await wait_down(ref)).reason == "killed"
    assert held.done.is_set()
    assert not held.release.is_set()
