"""Timers: ``send_after``, ``cancel_timer`` and ``read_timer`` (otpy/timers.py).

A timer is waited for by receiving its message, or a later "marker" timer's: timers on one loop
fire in the order of their deadlines, so once a marker set with a longer delay has arrived, every
earlier timer has fired (or never will).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import otpy
from otpy import GenServer, NoReply, Pid, Registry, Via

from .support import GUARD, assert_no_msg, exit_on_command, idle, wait_down, wait_msg

#: A delay that never runs out during a test: the timer stays pending.
LONG = GUARD * 10


async def wait_marker(delay: float = 0.01) -> None:
    """Set a timer to the caller and receive it: every timer due before it has fired by then."""
    otpy.send_after(otpy.self_pid(), ("marker",), delay)
    await wait_msg("marker")


def timers_of(pid: Pid) -> int:
    info = otpy.process_info(pid)
    assert info is not None
    return info.timers


def queue_len_of(pid: Pid) -> int:
    info = otpy.process_info(pid)
    assert info is not None
    return info.message_queue_len


class Forwarder(GenServer):
    """Sends ("got", msg) to the test for every message its handle_info sees."""

    async def handle_info(self, msg: Any, state: Pid) -> NoReply:
        otpy.send(state, ("got", msg))
        return NoReply(state)


# -- send_after -----------------------------------------------------------------------------


async def test_send_after_returns_a_timer_ref() -> None:
    ref = otpy.send_after(otpy.self_pid(), ("tick",), LONG)
    assert isinstance(ref, otpy.TimerRef)
    otpy.cancel_timer(ref)


async def test_send_after_delivers_the_message_to_a_pid() -> None:
    me = otpy.self_pid()
    otpy.send_after(me, ("tick", 1), 0.001)
    assert await wait_msg("tick") == ("tick", 1)


async def test_send_after_message_is_not_in_the_mailbox_before_the_timer_fires() -> None:
    me = otpy.self_pid()
    otpy.send_after(me, ("tick",), 0)
    assert otpy.message_queue_len() == 0  # even a delay of 0 waits for the loop to run it
    assert await wait_msg("tick") == ("tick",)


async def test_send_after_delivers_to_another_process() -> None:
    me = otpy.self_pid()
    pid = await Forwarder.start(me)
    assert pid is not None
    otpy.send_after(pid, "hello", 0)
    assert await wait_msg("got") == ("got", "hello")


async def test_send_after_to_a_genserver_reaches_handle_info_as_the_plain_message() -> None:
    me = otpy.self_pid()
    pid = await Forwarder.start(me)
    assert pid is not None
    msg = ["payload"]
    otpy.send_after(pid, msg, 0)
    (_, got) = await wait_msg("got")
    assert got is msg


async def test_send_after_to_a_name_looks_the_name_up_when_it_fires() -> None:
    me = otpy.self_pid()
    otpy.send_after("late-name", "hello", 0)  # nobody holds the name yet
    pid = await Forwarder.start(me, name="late-name")
    assert pid is not None
    assert await wait_msg("got") == ("got", "hello")


async def test_send_after_to_a_name_nobody_holds_when_it_fires_drops_the_message() -> None:
    pid = otpy.spawn(idle)
    otpy.register("soon-gone", pid)
    otpy.send_after("soon-gone", "hello", 0)
    otpy.unregister("soon-gone")
    await wait_marker()
    assert queue_len_of(pid) == 0
    assert otpy.is_alive(pid)


async def test_send_after_to_a_via_name_delivers_through_the_registry() -> None:
    me = otpy.self_pid()
    await Registry.start_link("unique", name="timer-reg")
    pid = await Forwarder.start(me, name=Via("timer-reg", "svc"))
    assert pid is not None
    otpy.send_after(Via("timer-reg", "svc"), "via hello", 0)
    assert await wait_msg("got") == ("got", "via hello")


async def test_send_after_to_a_dead_pid_fires_and_drops_the_message() -> None:
    pid = otpy.spawn(exit_on_command)
    ref = otpy.monitor(pid)
    otpy.send(pid, "normal")
    await wait_down(ref)
    timer = otpy.send_after(pid, "late", 0)
    await wait_marker()
    assert otpy.read_timer(timer) is None  # it fired, and nothing went wrong
    assert otpy.cancel_timer(timer) is None


async def test_timer_messages_arrive_in_the_order_they_fire() -> None:
    me = otpy.self_pid()
    otpy.send_after(me, "later", 0.05)  # set first, fires second
    otpy.send_after(me, "sooner", 0)
    first = await otpy.receive(timeout=GUARD)
    second = await otpy.receive(timeout=GUARD)
    assert [first, second] == ["sooner", "later"]


async def test_timer_message_queues_behind_messages_sent_before_it_fired() -> None:
    me = otpy.self_pid()
    otpy.send_after(me, "timer", 0)
    otpy.send(me, "sent")
    first = await otpy.receive(timeout=GUARD)
    second = await otpy.receive(timeout=GUARD)
    assert [first, second] == ["sent", "timer"]


async def test_timer_message_is_seen_plain_by_a_selective_receive() -> None:
    me = otpy.self_pid()
    msg = ("tick", 7)
    seen: list[Any] = []

    def match(m: Any) -> bool:
        seen.append(m)
        return bool(m == msg)

    otpy.send_after(me, msg, 0)
    got = await otpy.receive(match=match, timeout=GUARD)
    assert got == msg
    assert seen and all(not isinstance(m, otpy.TimerRef) for m in seen)


async def test_timer_ref_sent_as_a_message_arrives_as_itself() -> None:
    # a process may hand its timer to another, which cancels it: the ref must travel intact
    me = otpy.self_pid()
    ref = otpy.send_after(me, ("tick",), LONG)
    otpy.send(me, ref)
    got = await otpy.receive(timeout=GUARD)
    assert got is ref
    otpy.cancel_timer(ref)


# -- bad arguments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delay", "error"),
    [
        ("1", TypeError),
        (True, TypeError),
        (None, TypeError),
        (-1, ValueError),
        (-0.001, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
    ],
)
async def test_send_after_rejects_a_bad_delay_at_once(delay: Any, error: type) -> None:
    me = otpy.self_pid()
    before = timers_of(me)
    with pytest.raises(error) as exc_info:
        otpy.send_after(me, ("tick",), delay)
    assert "delay" in str(exc_info.value)
    assert timers_of(me) == before  # no timer was set
    await assert_no_msg("tick")


async def test_cancel_timer_of_something_else_raises_type_error() -> None:
    with pytest.raises(TypeError) as exc_info:
        otpy.cancel_timer(object())  # type: ignore[arg-type]
    assert "TimerRef" in str(exc_info.value)


async def test_send_after_accepts_an_int_delay() -> None:
    ref = otpy.send_after(otpy.self_pid(), ("tick",), 0)
    assert await wait_msg("tick") == ("tick",)
    assert otpy.read_timer(ref) is None


# -- cancel_timer ---------------------------------------------------------------------------


async def test_cancel_timer_of_a_pending_timer_returns_the_seconds_left() -> None:
    ref = otpy.send_after(otpy.self_pid(), ("tick",), 0.5)
    left = otpy.cancel_timer(ref)
    assert type(left) is float
    assert 0.0 < left <= 0.5


async def test_cancel_timer_of_a_pending_timer_means_its_message_never_arrives() -> None:
    ref = otpy.send_after(otpy.self_pid(), ("tick",), 0.001)
    assert otpy.cancel_timer(ref) is not None
    await wait_marker(0.05)
    await assert_no_msg("tick")


async def test_cancel_timer_after_fire_returns_none() -> None:
    me = otpy.self_pid()
    ref = otpy.send_after(me, ("tick",), 0)
    await wait_marker()
    assert otpy.cancel_timer(ref) is None


async def test_cancel_timer_after_fire_removes_the_queued_message() -> None:
    me = otpy.self_pid()
    ref = otpy.send_after(me, ("tick",), 0)
    await wait_marker()
    assert otpy.message_queue_len() == 1  # fired, and waiting in the mailbox
    otpy.cancel_timer(ref)
    assert otpy.message_queue_len() == 0
    with pytest.raises(otpy.ReceiveTimeout):
        await otpy.receive(timeout=0)


async def test_cancel_timer_after_fire_removes_it_from_another_processes_mailbox() -> None:
    pid = otpy.spawn(idle)
    ref = otpy.send_after(pid, "tick", 0)
    await wait_marker()
    assert queue_len_of(pid) == 1
    otpy.cancel_timer(ref)
    assert queue_len_of(pid) == 0


async def test_cancel_timer_after_fire_keeps_an_equal_message_sent_before_it() -> None:
    me = otpy.self_pid()
    timer_msg, sent_msg = ["tick"], ["tick"]
    otpy.send(me, sent_msg)
    ref = otpy.send_after(me, timer_msg, 0)
    await wait_marker()
    otpy.cancel_timer(ref)
    assert await otpy.receive(timeout=0) is sent_msg
    assert otpy.message_queue_len() == 0


async def test_cancel_timer_after_fire_keeps_an_equal_message_sent_after_it() -> None:
    me = otpy.self_pid()
    timer_msg, sent_msg = ["tick"], ["tick"]
    ref = otpy.send_after(me, timer_msg, 0)
    await wait_marker()
    otpy.send(me, sent_msg)  # queued behind the timer's own message
    otpy.cancel_timer(ref)
    assert await otpy.receive(timeout=0) is sent_msg
    assert otpy.message_queue_len() == 0


async def test_cancel_timer_after_its_message_was_taken_returns_none_and_removes_nothing() -> None:
    me = otpy.self_pid()
    ref = otpy.send_after(me, ("tick",), 0)
    await wait_msg("tick")
    otpy.send(me, ("tick",))
    assert otpy.cancel_timer(ref) is None
    assert await wait_msg("tick", timeout=0) == ("tick",)


async def test_cancel_timer_twice_returns_none_the_second_time() -> None:
    ref = otpy.send_after(otpy.self_pid(), ("tick",), LONG)
    assert otpy.cancel_timer(ref) is not None
    assert otpy.cancel_timer(ref) is None


async def test_cancel_timer_twice_after_fire_returns_none_both_times() -> None:
    ref = otpy.send_after(otpy.self_pid(), ("tick",), 0)
    await wait_marker()
    assert otpy.cancel_timer(ref) is None
    assert otpy.cancel_timer(ref) is None
    await assert_no_msg("tick")


async def test_cancel_timer_from_another_process_stops_it() -> None:
    me = otpy.self_pid()
    before = timers_of(me)
    ref = otpy.send_after(me, ("tick",), LONG)

    async def canceller() -> None:
        otpy.send(me, ("cancelled", otpy.cancel_timer(ref)))

    otpy.spawn(canceller)
    (_, left) = await wait_msg("cancelled")
    assert left is not None
    assert otpy.read_timer(ref) is None
    assert timers_of(me) == before  # no longer counted as the setter's


# -- read_timer -----------------------------------------------------------------------------


async def test_read_timer_of_a_pending_timer_returns_the_seconds_left() -> None:
    ref = otpy.send_after(otpy.self_pid(), ("tick",), 0.5)
    left = otpy.read_timer(ref)
    assert type(left) is float
    assert 0.0 < left <= 0.5
    otpy.cancel_timer(ref)


async def test_read_timer_after_fire_returns_none() -> None:
    ref = otpy.send_after(otpy.self_pid(), ("tick",), 0)
    await wait_msg("tick")
    assert otpy.read_timer(ref) is None


async def test_read_timer_after_cancel_returns_none() -> None:
    ref = otpy.send_after(otpy.self_pid(), ("tick",), LONG)
    otpy.cancel_timer(ref)
    assert otpy.read_timer(ref) is None


async def test_read_timer_does_not_remove_the_queued_message() -> None:
    ref = otpy.send_after(otpy.self_pid(), ("tick",), 0)
    await wait_marker()
    assert otpy.read_timer(ref) is None
    assert await wait_msg("tick", timeout=0) == ("tick",)


# -- ownership and process_info -------------------------------------------------------------


async def test_process_info_counts_pending_timers() -> None:
    me = otpy.self_pid()
    before = timers_of(me)
    refs = [otpy.send_after(me, ("tick", i), LONG) for i in range(3)]
    assert timers_of(me) == before + 3
    for ref in refs:
        otpy.cancel_timer(ref)


async def test_process_info_does_not_count_a_cancelled_timer() -> None:
    me = otpy.self_pid()
    before = timers_of(me)
    ref = otpy.send_after(me, ("tick",), LONG)
    otpy.cancel_timer(ref)
    assert timers_of(me) == before


async def test_process_info_does_not_count_a_fired_timer() -> None:
    me = otpy.self_pid()
    before = timers_of(me)
    otpy.send_after(me, ("tick",), 0)
    assert timers_of(me) == before + 1
    await wait_msg("tick")
    assert timers_of(me) == before


async def test_timer_belongs_to_the_process_that_set_it_not_its_destination() -> None:
    me = otpy.self_pid()
    pid = otpy.spawn(idle)
    (mine, theirs) = (timers_of(me), timers_of(pid))
    ref = otpy.send_after(pid, "tick", LONG)
    assert (timers_of(me), timers_of(pid)) == (mine + 1, theirs)
    otpy.cancel_timer(ref)


async def test_timer_set_by_a_helper_task_belongs_to_its_owner() -> None:
    me = otpy.self_pid()

    async def helper() -> None:
        otpy.send(me, ("set", otpy.send_after(me, ("tick",), LONG)))

    async def owner() -> None:
        otpy.start_task(helper())
        await idle()

    pid = otpy.spawn(owner)
    (_, ref) = await wait_msg("set")
    assert timers_of(pid) == 1
    otpy.cancel_timer(ref)
    assert timers_of(pid) == 0


async def test_timers_are_cancelled_when_the_process_that_set_them_exits() -> None:
    me = otpy.self_pid()

    async def setter() -> None:
        otpy.send(me, ("set", otpy.send_after(me, ("tick",), 0.1)))

    pid = otpy.spawn(setter)
    ref = otpy.monitor(pid)
    (_, timer) = await wait_msg("set")
    assert (await wait_down(ref)).reason == "normal"
    assert otpy.read_timer(timer) is None  # no longer pending
    await wait_marker(0.15)  # due after the cancelled timer would have fired
    await assert_no_msg("tick")


async def test_timers_are_cancelled_when_the_process_that_set_them_is_killed() -> None:
    me = otpy.self_pid()

    async def setter() -> None:
        otpy.send(me, ("set", otpy.send_after(me, ("tick",), 0.1)))
        await idle()

    pid = otpy.spawn(setter)
    (_, timer) = await wait_msg("set")
    ref = otpy.monitor(pid)
    otpy.exit(pid, "kill")
    assert (await wait_down(ref)).reason == "killed"
    assert otpy.read_timer(timer) is None
    await wait_marker(0.15)
    await assert_no_msg("tick")


async def test_timer_message_already_queued_stays_when_the_setter_exits() -> None:
    me = otpy.self_pid()

    async def setter() -> None:
        otpy.send_after(me, ("tick",), 0)
        otpy.send(me, ("set",))
        await exit_on_command()

    pid = otpy.spawn(setter)
    ref = otpy.monitor(pid)
    await wait_msg("set")
    await wait_marker()  # the setter's timer has fired into our mailbox
    otpy.send(pid, "normal")
    await wait_down(ref)
    assert await wait_msg("tick", timeout=0) == ("tick",)


async def test_cancel_timer_of_an_exited_setters_timer_returns_none() -> None:
    me = otpy.self_pid()

    async def setter() -> None:
        otpy.send(me, ("set", otpy.send_after(me, ("tick",), LONG)))

    pid = otpy.spawn(setter)
    ref = otpy.monitor(pid)
    (_, timer) = await wait_msg("set")
    await wait_down(ref)
    assert otpy.cancel_timer(timer) is None
