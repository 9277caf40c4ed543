"""How a process ends, and what exit signals sent with `otpy.exit` do to it (DESIGN.md 3)."""

from __future__ import annotations

import asyncio

import pytest

import otpy
from otpy import Exit, Shutdown

from .support import (
    Boom,
    echo,
    exit_on_command,
    exit_reason_of,
    idle,
    ping,
    wait_down,
    wait_exit_msg,
    wait_msg,
)


async def test_process_returning_exits_normal() -> None:
    async def body() -> None:
        return None

    assert await exit_reason_of(otpy.spawn(body)) == "normal"


async def test_process_raising_exit_process_exits_with_its_reason() -> None:
    pid = otpy.spawn(exit_on_command)
    ref = otpy.monitor(pid)
    otpy.send(pid, "shutdown")
    down = await wait_down(ref)
    assert down.reason == "shutdown"


async def test_adopted_task_raising_exit_process_exits_with_its_reason() -> None:
    me = otpy.self_pid()
    otpy.trap_exits()

    async def adopted() -> None:
        otpy.link(me)  # adopts this plain asyncio task as a process
        otpy.send(me, ("adopted", otpy.self_pid()))
        raise otpy.ExitProcess("shutdown")

    task = asyncio.create_task(adopted())
    (_, pid) = await wait_msg("adopted")
    assert (await wait_exit_msg(pid)).reason == "shutdown"
    with pytest.raises(otpy.ExitProcess):
        await task


async def test_process_exiting_with_shutdown_term_keeps_the_term() -> None:
    pid = otpy.spawn(exit_on_command)
    ref = otpy.monitor(pid)
    otpy.send(pid, Shutdown({"why": "done"}))
    down = await wait_down(ref)
    assert down.reason == Shutdown({"why": "done"})


async def test_process_raising_exception_exits_with_that_exception() -> None:
    err = Boom("crash")
    pid = otpy.spawn(exit_on_command)
    ref = otpy.monitor(pid)
    otpy.send(pid, err)
    down = await wait_down(ref)
    assert down.reason is err


async def test_process_is_not_alive_after_exit() -> None:
    async def body() -> None:
        return None

    pid = otpy.spawn(body)
    assert otpy.is_alive(pid)
    await exit_reason_of(pid)
    assert not otpy.is_alive(pid)
    assert otpy.process_info(pid) is None


async def test_spawn_passes_arguments() -> None:
    me = otpy.self_pid()

    async def body(a: int, b: str) -> None:
        otpy.send(me, ("args", a, b))

    otpy.spawn(body, 1, "two")
    assert await wait_msg("args") == ("args", 1, "two")


async def test_pids_are_never_reused() -> None:
    async def body() -> None:
        return None

    first = otpy.spawn(body)
    await exit_reason_of(first)
    second = otpy.spawn(body)
    assert second != first
    assert second > first


async def test_kill_signal_ends_process_with_killed() -> None:
    pid = otpy.spawn(idle)
    ref = otpy.monitor(pid)
    otpy.exit(pid, "kill")
    down = await wait_down(ref)
    assert down.reason == "killed"


async def test_kill_signal_cannot_be_trapped() -> None:
    me = otpy.self_pid()

    async def trapper() -> None:
        otpy.trap_exits()
        otpy.send(me, ("trapping",))
        await idle()

    pid = otpy.spawn(trapper)
    await wait_msg("trapping")
    ref = otpy.monitor(pid)
    otpy.exit(pid, "kill")
    down = await wait_down(ref)
    assert down.reason == "killed"


async def test_shutdown_signal_ends_process_not_trapping_with_shutdown() -> None:
    pid = otpy.spawn(idle)
    ref = otpy.monitor(pid)
    otpy.exit(pid, "shutdown")
    down = await wait_down(ref)
    assert down.reason == "shutdown"


async def test_error_signal_ends_process_not_trapping_with_that_reason() -> None:
    err = Boom("remote")
    pid = otpy.spawn(idle)
    ref = otpy.monitor(pid)
    otpy.exit(pid, err)
    down = await wait_down(ref)
    assert down.reason is err


async def test_normal_signal_is_ignored_by_process_not_trapping() -> None:
    pid = otpy.spawn(echo)
    otpy.exit(pid, "normal")
    assert otpy.is_alive(pid)
    await ping(pid)


async def test_normal_signal_to_itself_ends_process_normally() -> None:
    async def body() -> None:
        otpy.exit(otpy.self_pid(), "normal")
        await idle()

    assert await exit_reason_of(otpy.spawn(body)) == "normal"


async def test_trapping_process_gets_exit_message_for_signal() -> None:
    me = otpy.self_pid()

    async def trapper() -> None:
        otpy.trap_exits()
        otpy.send(me, ("trapping",))
        otpy.send(me, ("got", await otpy.receive()))

    pid = otpy.spawn(trapper)
    await wait_msg("trapping")
    otpy.exit(pid, "shutdown")
    assert await wait_msg("got") == ("got", Exit(me, "shutdown"))


async def test_trap_exits_returns_previous_flag() -> None:
    me = otpy.self_pid()

    async def body() -> None:
        first = otpy.trap_exits(True)
        second = otpy.trap_exits(False)
        otpy.send(me, ("flags", first, second))

    otpy.spawn(body)
    assert await wait_msg("flags") == ("flags", False, True)


async def test_exit_signal_to_dead_pid_is_ignored() -> None:
    async def body() -> None:
        return None

    pid = otpy.spawn(body)
    await exit_reason_of(pid)
    otpy.exit(pid, "shutdown")  # must not raise
    assert not otpy.is_alive(pid)


async def test_exit_signal_to_unknown_name_raises_no_process() -> None:
    with pytest.raises(otpy.NoProcess) as exc_info:
        otpy.exit("nobody-has-this-name", "shutdown")
    assert exc_info.value.dest == "nobody-has-this-name"


async def test_process_is_not_alive_once_an_exit_signal_is_pending() -> None:
    pid = otpy.spawn(idle)
    otpy.exit(pid, "shutdown")
    assert not otpy.is_alive(pid)
    assert await exit_reason_of(pid) == "shutdown"


async def test_exit_signal_before_first_run_still_ends_process_and_tells_watchers() -> None:
    # the signal lands before the new process's task has run a single step
    me = otpy.self_pid()
    otpy.trap_exits()
    pid = otpy.spawn_link(idle)
    otpy.register("never-ran", pid)
    ref = otpy.monitor(pid)
    otpy.exit(pid, "kill")
    assert (await wait_down(ref)).reason == "killed"
    assert await otpy.receive(match=lambda m: type(m) is Exit, timeout=0) == Exit(pid, "killed")
    assert otpy.whereis("never-ran") is None
    info = otpy.process_info(me)
    assert info is not None and info.links == ()
