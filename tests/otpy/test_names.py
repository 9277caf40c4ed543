"""Local names: register, whereis, send by name; names vanish with their process."""

from __future__ import annotations

import pytest

import otpy

from .support import echo, exit_on_command, idle, ping, wait_down, wait_msg


async def test_register_makes_whereis_return_the_pid() -> None:
    pid = otpy.spawn(idle)
    otpy.register("worker", pid)
    assert otpy.whereis("worker") == pid


async def test_register_without_pid_registers_the_caller() -> None:
    otpy.register("the-test")
    assert otpy.whereis("the-test") == otpy.self_pid()


async def test_whereis_unknown_name_is_none() -> None:
    assert otpy.whereis("never-registered") is None


async def test_send_by_name_reaches_the_process() -> None:
    pid = otpy.spawn(echo)
    otpy.register("echo", pid)
    otpy.send("echo", ("ping", otpy.self_pid()))
    assert await wait_msg("pong") == ("pong", pid)


async def test_name_vanishes_when_its_process_exits() -> None:
    pid = otpy.spawn(exit_on_command)
    otpy.register("short-lived", pid)
    ref = otpy.monitor(pid)
    otpy.send(pid, "normal")
    await wait_down(ref)
    assert otpy.whereis("short-lived") is None
    assert "short-lived" not in otpy.registered()
    assert not otpy.is_alive("short-lived")


async def test_name_can_be_reused_after_its_process_exits() -> None:
    first = otpy.spawn(exit_on_command)
    otpy.register("reused", first)
    ref = otpy.monitor(first)
    otpy.send(first, "shutdown")
    await wait_down(ref)
    second = otpy.spawn(idle)
    otpy.register("reused", second)
    assert otpy.whereis("reused") == second


async def test_register_taken_name_raises_already_started_with_holder_pid() -> None:
    holder = otpy.spawn(idle)
    otpy.register("taken", holder)
    other = otpy.spawn(idle)
    with pytest.raises(otpy.AlreadyStarted) as exc_info:
        otpy.register("taken", other)
    assert exc_info.value.pid == holder
    assert exc_info.value.name == "taken"
    assert otpy.whereis("taken") == holder


async def test_register_dead_pid_raises_no_process() -> None:
    pid = otpy.spawn(exit_on_command)
    ref = otpy.monitor(pid)
    otpy.send(pid, "normal")
    await wait_down(ref)
    with pytest.raises(otpy.NoProcess):
        otpy.register("for-the-dead", pid)
    assert otpy.whereis("for-the-dead") is None


async def test_register_non_string_name_raises_type_error() -> None:
    for bad in (42, "", None):
        with pytest.raises(TypeError):
            otpy.register(bad)  # type: ignore[arg-type]


async def test_process_may_hold_several_names() -> None:
    pid = otpy.spawn(exit_on_command)
    otpy.register("alias-1", pid)
    otpy.register("alias-2", pid)
    info = otpy.process_info(pid)
    assert info is not None and info.names == ("alias-1", "alias-2")
    ref = otpy.monitor(pid)
    otpy.send(pid, "normal")
    await wait_down(ref)
    assert otpy.whereis("alias-1") is None
    assert otpy.whereis("alias-2") is None


async def test_unregister_frees_the_name_and_keeps_the_process() -> None:
    pid = otpy.spawn(echo)
    otpy.register("temp", pid)
    otpy.unregister("temp")
    assert otpy.whereis("temp") is None
    info = otpy.process_info(pid)
    assert info is not None and info.names == ()
    await ping(pid)


async def test_unregister_unknown_name_raises_no_process() -> None:
    with pytest.raises(otpy.NoProcess) as exc_info:
        otpy.unregister("nobody")
    assert exc_info.value.dest == "nobody"


async def test_registered_lists_names() -> None:
    otpy.register("listed", otpy.spawn(idle))
    assert "listed" in otpy.registered()


async def test_is_alive_by_name() -> None:
    otpy.register("alive-by-name", otpy.spawn(idle))
    assert otpy.is_alive("alive-by-name")
    assert not otpy.is_alive("not-registered")


async def test_is_alive_of_a_non_address_is_false() -> None:
    assert not otpy.is_alive(12345)


async def test_link_and_exit_by_name() -> None:
    otpy.trap_exits()
    pid = otpy.spawn(idle)
    otpy.register("linked-by-name", pid)
    otpy.link("linked-by-name")
    otpy.exit("linked-by-name", "shutdown")
    msg = await otpy.receive(match=lambda m: type(m) is otpy.Exit, timeout=2.0)
    assert msg == otpy.Exit(pid, "shutdown")
