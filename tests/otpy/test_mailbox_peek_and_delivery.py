"""Peeking at one's own mailbox (`has_messages`, `message_queue_len`) and bounded delivery
(`deliver_nowait`, and `deliver` putting the message in at once when there is room)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

import otpy
from otpy import Pid

from .support import GUARD, exit_on_command, idle, wait_down, wait_msg


def queue_len_of(pid: Pid) -> int:
    info = otpy.process_info(pid)
    assert info is not None
    return info.message_queue_len


def peek() -> tuple[bool, int]:
    return otpy.has_messages(), otpy.message_queue_len()


async def peek_on_report(test: Pid) -> None:
    """Reports ("peek", has_messages, message_queue_len) each time it takes "report"."""
    while True:
        await otpy.receive(match=lambda m: m == "report")
        otpy.send(test, ("peek", *peek()))


async def dead_pid() -> Pid:
    pid = otpy.spawn(exit_on_command)
    ref = otpy.monitor(pid)
    otpy.send(pid, "normal")
    await wait_down(ref)
    return pid


# -- has_messages / message_queue_len -------------------------------------------------------


async def test_peek_of_an_empty_mailbox_reports_no_messages() -> None:
    me = otpy.self_pid()

    async def body() -> None:
        otpy.send(me, ("peek", *peek()))

    otpy.spawn(body)
    assert await wait_msg("peek") == ("peek", False, 0)


async def test_peek_counts_the_messages_waiting() -> None:
    pid = otpy.spawn(peek_on_report, otpy.self_pid())
    for msg in ("a", "b", "c"):
        otpy.send(pid, msg)
    otpy.send(pid, "report")
    assert await wait_msg("peek") == ("peek", True, 3)


async def test_peek_follows_messages_taken() -> None:
    me = otpy.self_pid()

    async def body() -> None:
        await otpy.receive(match=lambda m: m == "go")
        before = peek()
        await otpy.receive()
        middle = peek()
        await otpy.receive()
        otpy.send(me, ("peek", before, middle, peek()))

    pid = otpy.spawn(body)
    for msg in ("a", "b"):
        otpy.send(pid, msg)
    otpy.send(pid, "go")
    assert await wait_msg("peek") == ("peek", (True, 2), (True, 1), (False, 0))


async def test_peek_in_the_test_task_reports_its_own_mailbox() -> None:
    me = otpy.self_pid()
    assert peek() == (False, 0)
    otpy.send(me, "one")
    otpy.send(me, "two")
    assert peek() == (True, 2)
    assert await otpy.receive(timeout=0) == "one"
    assert peek() == (True, 1)


async def test_peek_returns_plain_values_without_suspending() -> None:
    me = otpy.self_pid()
    otpy.send(me, "one")
    has, count = otpy.has_messages(), otpy.message_queue_len()
    assert not inspect.isawaitable(has) and not inspect.isawaitable(count)
    assert type(has) is bool and has is True
    assert type(count) is int and count == 1


async def test_peek_counts_a_fired_timers_message() -> None:
    me = otpy.self_pid()
    otpy.send_after(me, ("tick",), 0)
    otpy.send_after(me, ("marker",), 0.01)
    await wait_msg("marker")  # the tick, due first, has fired into the mailbox
    assert peek() == (True, 1)


async def test_peek_from_a_helper_task_reports_its_owners_mailbox() -> None:
    me = otpy.self_pid()
    go = asyncio.Event()

    async def helper() -> None:
        await go.wait()
        otpy.send(me, ("peek", *peek()))

    async def owner() -> None:
        otpy.start_task(helper())
        await idle()  # never reads its mailbox

    pid = otpy.spawn(owner)
    otpy.send(pid, "a")
    otpy.send(pid, "b")
    go.set()
    assert await wait_msg("peek") == ("peek", True, 2)


def test_has_messages_outside_an_event_loop_raises_not_a_process() -> None:
    with pytest.raises(otpy.NotAProcess):
        otpy.has_messages()


def test_message_queue_len_outside_an_event_loop_raises_not_a_process() -> None:
    with pytest.raises(otpy.NotAProcess):
        otpy.message_queue_len()


async def test_peek_from_a_loop_callback_raises_not_a_process() -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[BaseException]] = loop.create_future()

    def callback() -> None:
        errors: list[BaseException] = []
        for fn in (otpy.has_messages, otpy.message_queue_len):
            try:
                fn()
            except BaseException as e:
                errors.append(e)
        done.set_result(errors)

    loop.call_soon(callback)
    errors = await asyncio.wait_for(done, GUARD)
    assert len(errors) == 2
    assert all(isinstance(e, otpy.NotAProcess) for e in errors)


async def test_peek_from_a_plain_task_raises_not_a_process() -> None:
    # a task that never used otpy is not a process; peeking does not adopt it
    async def plain() -> list[type[BaseException]]:
        errors: list[type[BaseException]] = []
        for fn in (otpy.has_messages, otpy.message_queue_len):
            try:
                fn()
            except BaseException as e:
                errors.append(type(e))
        return errors

    errors = await asyncio.wait_for(asyncio.create_task(plain()), GUARD)
    assert errors == [otpy.NotAProcess, otpy.NotAProcess]


# -- deliver_nowait -------------------------------------------------------------------------


async def test_deliver_nowait_below_the_bound_delivers_and_returns_true() -> None:
    pid = otpy.spawn(idle)
    assert otpy.deliver_nowait(pid, "a", 2) is True
    assert queue_len_of(pid) == 1
    assert otpy.deliver_nowait(pid, "b", 2) is True
    assert queue_len_of(pid) == 2


async def test_deliver_nowait_to_a_full_mailbox_returns_false_and_does_not_deliver() -> None:
    pid = otpy.spawn(idle)
    for msg in ("a", "b"):
        otpy.send(pid, msg)
    assert otpy.deliver_nowait(pid, "c", 2) is False
    assert queue_len_of(pid) == 2


async def test_deliver_nowait_delivers_the_message_itself() -> None:
    me = otpy.self_pid()
    msg = ["payload"]
    assert otpy.deliver_nowait(me, msg, 1) is True
    assert await otpy.receive(timeout=0) is msg


async def test_deliver_nowait_has_room_again_once_the_owner_takes_a_message() -> None:
    me = otpy.self_pid()
    assert otpy.deliver_nowait(me, "a", 1) is True
    assert otpy.deliver_nowait(me, "b", 1) is False
    assert await otpy.receive(timeout=0) == "a"
    assert otpy.deliver_nowait(me, "c", 1) is True
    assert await otpy.receive(timeout=0) == "c"
    assert otpy.message_queue_len() == 0


async def test_deliver_nowait_to_a_name_delivers() -> None:
    pid = otpy.spawn(idle)
    otpy.register("nowait-target", pid)
    assert otpy.deliver_nowait("nowait-target", "a", 1) is True
    assert queue_len_of(pid) == 1


async def test_deliver_nowait_to_a_dead_pid_raises_no_process() -> None:
    pid = await dead_pid()
    with pytest.raises(otpy.NoProcess) as exc_info:
        otpy.deliver_nowait(pid, "late", 10)
    assert exc_info.value.dest == pid


async def test_deliver_nowait_to_an_unregistered_name_raises_no_process() -> None:
    with pytest.raises(otpy.NoProcess):
        otpy.deliver_nowait("nobody-here", "late", 10)


@pytest.mark.parametrize(
    ("max_pending", "error"),
    [(0, ValueError), (-1, ValueError), (True, TypeError), ("3", TypeError)],
)
async def test_deliver_nowait_rejects_a_bad_max_pending(max_pending: Any, error: type) -> None:
    pid = otpy.spawn(idle)
    with pytest.raises(error) as exc_info:
        otpy.deliver_nowait(pid, "x", max_pending)
    assert "max_pending" in str(exc_info.value)
    assert queue_len_of(pid) == 0


# -- deliver --------------------------------------------------------------------------------


async def test_deliver_below_the_bound_puts_the_message_in_before_it_is_awaited() -> None:
    pid = otpy.spawn(idle)
    pending = otpy.deliver(pid, "a", 2)
    assert queue_len_of(pid) == 1
    await pending
    assert queue_len_of(pid) == 1  # awaiting it sends nothing more


async def test_deliver_to_oneself_below_the_bound_is_in_the_mailbox_before_the_await() -> None:
    me = otpy.self_pid()
    pending = otpy.deliver(me, "a", 1)
    assert otpy.message_queue_len() == 1
    await pending
    assert await otpy.receive(timeout=0) == "a"


async def test_deliver_below_the_bound_can_be_awaited_more_than_once() -> None:
    me = otpy.self_pid()
    pending = otpy.deliver(me, "a", 5)
    await pending
    await pending
    assert otpy.message_queue_len() == 1


@pytest.mark.parametrize(
    ("max_pending", "error"), [(0, ValueError), (True, TypeError), ("3", TypeError)]
)
async def test_deliver_rejects_a_bad_max_pending_when_called(max_pending: Any, error: type) -> None:
    pid = otpy.spawn(idle)
    with pytest.raises(error):
        otpy.deliver(pid, "x", max_pending)  # raises at the call, before any await
    assert queue_len_of(pid) == 0


async def test_deliver_to_a_dead_pid_raises_no_process_when_called() -> None:
    pid = await dead_pid()
    with pytest.raises(otpy.NoProcess):
        otpy.deliver(pid, "late", 10)


async def test_deliver_to_a_full_mailbox_waits_until_the_owner_takes_a_message() -> None:
    me = otpy.self_pid()
    take = asyncio.Event()

    async def taker() -> None:
        await take.wait()
        otpy.send(me, ("took", await otpy.receive()))
        await idle()

    pid = otpy.spawn(taker)
    for msg in ("a", "b"):
        await otpy.deliver(pid, msg, 2)
    blocked = asyncio.ensure_future(otpy.deliver(pid, "c", 2))
    await asyncio.sleep(0)  # one step: a deliver with room would be done by now
    assert not blocked.done()
    assert queue_len_of(pid) == 2

    take.set()
    await asyncio.wait_for(blocked, GUARD)
    assert await wait_msg("took") == ("took", "a")
    assert queue_len_of(pid) == 2  # "b" and "c"


async def test_deliver_to_a_full_mailbox_puts_nothing_in_until_there_is_room() -> None:
    me = otpy.self_pid()
    for msg in ("a", "b"):
        otpy.send(me, msg)
    blocked = asyncio.ensure_future(otpy.deliver(me, "c", 2))
    await asyncio.sleep(0)
    assert otpy.message_queue_len() == 2
    assert [await otpy.receive(timeout=0) for _ in range(2)] == ["a", "b"]
    await asyncio.wait_for(blocked, GUARD)
    assert await otpy.receive(timeout=0) == "c"


# -- self_sender: a send to oneself with nothing looked up, for callbacks outside any task --


async def post_from_a_loop_callback(test: Pid) -> None:
    post = otpy.self_sender()
    asyncio.get_running_loop().call_soon(post, "from a callback")
    await otpy.receive(GUARD, lambda m: m == "from a callback")
    otpy.send(test, ("posted", post))
    await otpy.receive(match=lambda m: m == "exit")


async def test_self_sender_posts_to_its_process_from_a_loop_callback() -> None:
    pid = otpy.spawn_link(post_from_a_loop_callback, otpy.self_pid())
    _, post = await wait_msg("posted")
    post("one")
    post("two")
    assert queue_len_of(pid) == 2
    otpy.unlink(pid)
    ref = otpy.monitor(pid)
    otpy.exit(pid, "kill")
    await wait_down(ref)
    post("after the exit")  # dropped, as a send to a dead pid is
    assert otpy.process_info(pid) is None


def test_self_sender_outside_a_process_raises_not_a_process() -> None:
    with pytest.raises(otpy.NotAProcess):
        otpy.self_sender()
