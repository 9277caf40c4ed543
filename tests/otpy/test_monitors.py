"""Monitors: one-way Down messages, noproc for dead targets, demonitor and flush."""

from __future__ import annotations

import pytest

import otpy
from otpy import Down

from .support import (
    Boom,
    HeldCleanup,
    exit_on_command,
    exit_on_command_after_cleanup,
    idle,
    wait_down,
    wait_msg,
)


async def _dead_pid() -> otpy.Pid:
    async def body() -> None:
        return None

    pid = otpy.spawn(body)
    await wait_down(otpy.monitor(pid))
    return pid


async def test_monitor_delivers_down_with_exit_reason() -> None:
    pid = otpy.spawn(exit_on_command)
    ref = otpy.monitor(pid)
    otpy.send(pid, "shutdown")
    assert await wait_down(ref) == Down(ref, pid, "shutdown")


async def test_monitor_delivers_down_with_crash_exception() -> None:
    err = Boom("crash")
    pid = otpy.spawn(exit_on_command)
    ref = otpy.monitor(pid)
    otpy.send(pid, err)
    assert (await wait_down(ref)).reason is err


async def test_monitor_of_an_exiting_process_delivers_down_with_its_real_reason() -> None:
    held = HeldCleanup()
    pid = otpy.spawn(exit_on_command_after_cleanup, held)
    err = Boom("crash")
    otpy.send(pid, err)
    await held.wait_cleaning()  # its body has ended; its exit is not yet notified

    ref = otpy.monitor(pid)
    held.release.set()

    assert await wait_down(ref) == Down(ref, pid, err)


async def test_monitor_of_dead_pid_delivers_noproc_at_once() -> None:
    pid = await _dead_pid()
    ref = otpy.monitor(pid)
    down = await otpy.receive(timeout=0)
    assert down == Down(ref, pid, "noproc")


async def test_monitor_of_unregistered_name_delivers_noproc_at_once() -> None:
    ref = otpy.monitor("no-such-name")
    down = await otpy.receive(timeout=0)
    assert down == Down(ref, "no-such-name", "noproc")


async def test_monitor_by_name_reports_the_pid() -> None:
    pid = otpy.spawn(exit_on_command)
    otpy.register("monitored", pid)
    ref = otpy.monitor("monitored")
    otpy.send(pid, "normal")
    assert await wait_down(ref) == Down(ref, pid, "normal")


async def test_monitor_is_one_way() -> None:
    me = otpy.self_pid()

    async def watcher(target: otpy.Pid) -> None:
        ref = otpy.monitor(target)
        otpy.send(me, ("watching",))
        down = await wait_down(ref)
        otpy.send(me, ("down", down.reason))
        await idle()

    target = otpy.spawn(exit_on_command)
    w = otpy.spawn(watcher, target)
    await wait_msg("watching")
    err = Boom("target crashed")
    otpy.send(target, err)
    assert (await wait_msg("down"))[1] is err
    assert otpy.is_alive(w)


async def test_monitoring_does_not_affect_the_target() -> None:
    me = otpy.self_pid()

    async def watcher(target: otpy.Pid) -> None:
        otpy.monitor(target)
        otpy.send(me, ("watching",))
        raise Boom("watcher crashed")

    target = otpy.spawn(idle)
    ref = otpy.monitor(otpy.spawn(watcher, target))
    await wait_msg("watching")
    assert isinstance((await wait_down(ref)).reason, Boom)
    assert otpy.is_alive(target)


async def test_each_monitor_gets_its_own_down() -> None:
    pid = otpy.spawn(exit_on_command)
    ref1, ref2 = otpy.monitor(pid), otpy.monitor(pid)
    assert ref1 != ref2
    otpy.send(pid, "normal")
    assert (await wait_down(ref2)).ref == ref2
    assert (await wait_down(ref1)).ref == ref1


async def test_process_info_lists_monitoring_processes() -> None:
    pid = otpy.spawn(idle)
    otpy.monitor(pid)
    info = otpy.process_info(pid)
    assert info is not None
    assert info.monitored_by == (otpy.self_pid(),)


async def test_demonitor_stops_down_delivery() -> None:
    pid = otpy.spawn(exit_on_command)
    ref1 = otpy.monitor(pid)
    ref2 = otpy.monitor(pid)  # made after ref1, so its Down would come after ref1's
    assert otpy.demonitor(ref1) is True
    otpy.send(pid, "normal")
    await wait_down(ref2)
    with pytest.raises(otpy.ReceiveTimeout):
        await wait_down(ref1, timeout=0)


async def test_demonitor_returns_false_once_down_was_sent() -> None:
    pid = otpy.spawn(exit_on_command)
    ref = otpy.monitor(pid)
    otpy.send(pid, "normal")
    await wait_down(ref)
    assert otpy.demonitor(ref) is False


async def test_demonitor_without_flush_leaves_queued_down() -> None:
    pid = otpy.spawn(exit_on_command)
    ref1, ref2 = otpy.monitor(pid), otpy.monitor(pid)
    otpy.send(pid, "normal")
    await wait_down(ref2)  # ref1's Down is now queued
    otpy.demonitor(ref1)
    assert (await wait_down(ref1, timeout=0)).ref == ref1


async def test_demonitor_with_flush_removes_queued_down() -> None:
    pid = otpy.spawn(exit_on_command)
    ref1, ref2 = otpy.monitor(pid), otpy.monitor(pid)
    otpy.send(pid, "normal")
    await wait_down(ref2)  # ref1's Down is now queued
    otpy.send(otpy.self_pid(), "other message")
    otpy.demonitor(ref1, flush=True)
    with pytest.raises(otpy.ReceiveTimeout):
        await wait_down(ref1, timeout=0)
    assert await otpy.receive(timeout=0) == "other message"


async def test_demonitor_with_flush_removes_noproc_down() -> None:
    ref = otpy.monitor(await _dead_pid())
    otpy.demonitor(ref, flush=True)
    info = otpy.process_info(otpy.self_pid())
    assert info is not None and info.message_queue_len == 0
