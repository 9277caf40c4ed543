"""Mailboxes: send, receive, selective receive and its timeout."""

from __future__ import annotations

import asyncio

import pytest

import otpy

from .support import GUARD, exit_on_command, wait_down


async def _send_when(event: asyncio.Event, dest: otpy.Pid, *msgs: object) -> None:
    await event.wait()
    for msg in msgs:
        otpy.send(dest, msg)


async def test_receive_returns_messages_oldest_first() -> None:
    me = otpy.self_pid()
    for i in range(3):
        otpy.send(me, i)
    assert [await otpy.receive(timeout=0) for _ in range(3)] == [0, 1, 2]


async def test_receive_waits_for_a_message_sent_later() -> None:
    go = asyncio.Event()
    otpy.spawn(_send_when, go, otpy.self_pid(), "late")
    go.set()  # the sender runs only once we are suspended in receive
    assert await otpy.receive(timeout=GUARD) == "late"


async def test_selective_receive_takes_first_matching_message() -> None:
    me = otpy.self_pid()
    for msg in ["a", 1, "b", 2]:
        otpy.send(me, msg)
    assert await otpy.receive(match=lambda m: isinstance(m, int), timeout=0) == 1


async def test_selective_receive_keeps_other_messages_in_order() -> None:
    me = otpy.self_pid()
    for msg in ["a", 1, "b", 2, "c"]:
        otpy.send(me, msg)
    assert await otpy.receive(match=lambda m: m == 2, timeout=0) == 2
    assert [await otpy.receive(timeout=0) for _ in range(4)] == ["a", 1, "b", "c"]


async def test_selective_receive_waits_past_non_matching_messages() -> None:
    go = asyncio.Event()
    otpy.spawn(_send_when, go, otpy.self_pid(), "x", "y", ("wanted", 1), "z")
    go.set()
    got = await otpy.receive(match=lambda m: type(m) is tuple, timeout=GUARD)
    assert got == ("wanted", 1)
    assert [await otpy.receive(timeout=0) for _ in range(3)] == ["x", "y", "z"]


async def test_receive_with_zero_timeout_on_empty_mailbox_raises_receive_timeout() -> None:
    with pytest.raises(otpy.ReceiveTimeout) as exc_info:
        await otpy.receive(timeout=0)
    assert exc_info.value.timeout == 0


async def test_receive_raises_receive_timeout_when_nothing_matches_in_time() -> None:
    otpy.send(otpy.self_pid(), "not it")
    with pytest.raises(otpy.ReceiveTimeout) as exc_info:
        await otpy.receive(match=lambda m: m == "it", timeout=0.01)
    assert exc_info.value.timeout == 0.01
    assert await otpy.receive(timeout=0) == "not it"


async def test_receive_timeout_is_a_timeout_error() -> None:
    assert issubclass(otpy.ReceiveTimeout, TimeoutError)


async def test_messages_from_one_sender_arrive_in_send_order() -> None:
    me = otpy.self_pid()

    async def sender() -> None:
        for i in range(100):
            otpy.send(me, ("n", i))

    otpy.spawn(sender)
    got = [(await otpy.receive(timeout=GUARD))[1] for _ in range(100)]
    assert got == list(range(100))


async def test_send_to_dead_pid_is_dropped_silently() -> None:
    pid = otpy.spawn(exit_on_command)
    ref = otpy.monitor(pid)
    otpy.send(pid, "normal")
    await wait_down(ref)
    otpy.send(pid, "into the void")  # must not raise
    assert not otpy.is_alive(pid)


async def test_send_to_unregistered_name_raises_no_process() -> None:
    with pytest.raises(otpy.NoProcess) as exc_info:
        otpy.send("nobody-here", "hello")
    assert exc_info.value.dest == "nobody-here"


async def test_send_to_non_address_raises_type_error() -> None:
    with pytest.raises(TypeError) as exc_info:
        otpy.send(12345, "hello")
    assert "12345" in str(exc_info.value)


async def test_self_pid_is_stable_within_a_task() -> None:
    assert otpy.self_pid() == otpy.self_pid()


async def test_each_plain_task_is_adopted_as_its_own_process() -> None:
    async def other() -> otpy.Pid:
        return otpy.self_pid()

    theirs = await asyncio.create_task(other())
    assert theirs != otpy.self_pid()


async def test_message_queue_len_counts_unread_messages() -> None:
    me = otpy.self_pid()
    otpy.send(me, "one")
    otpy.send(me, "two")
    info = otpy.process_info(me)
    assert info is not None and info.message_queue_len == 2
