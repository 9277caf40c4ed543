"""When terminate runs, and when it must not (DESIGN.md sections 3 and 4)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import otpy
from otpy import Exit, From, GenServer, NoReply, Ok, Pid, Reply, Stop

from .support import GUARD, Boom, assert_no_msg, idle, wait_down, wait_msg


class Watched(GenServer):
    """Reports ("terminate", reason, state) to the pid given as arg when terminate runs."""

    async def init(self, arg: Any) -> Any:
        self.observer: Pid = arg
        return Ok("state")

    async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        if request == "crash":
            raise Boom("callback crashed")
        if request == "trapping?":
            info = otpy.process_info(self.pid)
            return Reply(info is not None and info.trap_exit, state)
        return Reply(request, state)

    async def handle_cast(self, request: Any, state: Any) -> Any:
        if request == "stop":
            return Stop(otpy.Shutdown("asked"), "stopped state")
        if request == "crash":
            raise Boom("cast crashed")
        return NoReply(request)

    async def handle_info(self, msg: Any, state: Any) -> Any:
        otpy.send(self.observer, ("info", msg))
        return NoReply(state)

    async def terminate(self, reason: Any, state: Any) -> Any:
        otpy.send(self.observer, ("terminate", reason, state))


class Trapping(Watched):
    trap_exits = True


class TrapsInInit(Watched):
    async def init(self, arg: Any) -> Any:
        otpy.trap_exits()
        return await super().init(arg)


async def _start_under_parent(cls: type[Watched], me: Pid) -> tuple[Pid, Pid]:
    """Start `cls` linked to a fresh parent process; return (parent, server)."""

    async def parent() -> None:
        otpy.send(me, ("server", await cls.start_link(me)))
        await idle()

    parent_pid = otpy.spawn(parent)
    (_, server) = await wait_msg("server")
    return parent_pid, server


async def test_terminate_runs_on_stop_return() -> None:
    pid = await Watched.start(otpy.self_pid())
    otpy.cast(pid, "stop")
    assert await wait_msg("terminate") == ("terminate", otpy.Shutdown("asked"), "stopped state")


async def test_terminate_runs_when_a_callback_raises() -> None:
    pid = await Watched.start(otpy.self_pid())
    ref = otpy.monitor(pid)
    otpy.cast(pid, "crash")
    (_, reason, state) = await wait_msg("terminate")
    assert isinstance(reason, Boom)
    assert state == "state"
    assert (await wait_down(ref)).reason is reason


async def test_terminate_runs_when_handle_call_raises() -> None:
    pid = await Watched.start(otpy.self_pid())
    with pytest.raises(otpy.ServerExited) as exc_info:
        await otpy.call(pid, "crash")
    (_, reason, _) = await wait_msg("terminate")
    assert reason is exc_info.value.reason


async def test_stop_runs_terminate_with_the_reason() -> None:
    pid = await Watched.start(otpy.self_pid())
    await otpy.stop(pid, "shutdown")
    assert await wait_msg("terminate") == ("terminate", "shutdown", "state")
    assert not otpy.is_alive(pid)


async def test_stop_defaults_to_normal() -> None:
    pid = await Watched.start(otpy.self_pid())
    ref = otpy.monitor(pid)
    await otpy.stop(pid)
    assert await wait_msg("terminate") == ("terminate", "normal", "state")
    assert (await wait_down(ref)).reason == "normal"


async def test_stop_returns_after_the_server_has_exited() -> None:
    pid = await Watched.start(otpy.self_pid())
    await otpy.stop(pid)
    assert not otpy.is_alive(pid)
    assert otpy.process_info(pid) is None


async def test_stop_by_name() -> None:
    await Watched.start(otpy.self_pid(), name="to-stop")
    await otpy.stop("to-stop")
    assert await wait_msg("terminate") == ("terminate", "normal", "state")
    assert otpy.whereis("to-stop") is None


async def test_stop_of_linked_server_with_normal_does_not_kill_the_caller() -> None:
    pid = await Watched.start_link(otpy.self_pid())
    await otpy.stop(pid)
    assert await wait_msg("terminate") == ("terminate", "normal", "state")
    info = otpy.process_info(otpy.self_pid())
    assert info is not None and info.links == ()


async def test_stop_raises_server_exited_when_terminate_raises() -> None:
    class BadTerminate(GenServer):
        async def terminate(self, reason: Any, state: Any) -> Any:
            raise Boom("terminate failed")

    pid = await BadTerminate.start(None)
    with pytest.raises(otpy.ServerExited) as exc_info:
        await otpy.stop(pid)
    assert isinstance(exc_info.value.reason, Boom)


async def test_stop_raises_call_timeout_when_terminate_takes_too_long() -> None:
    class SlowTerminate(GenServer):
        async def terminate(self, reason: Any, state: Any) -> Any:
            await asyncio.Event().wait()

    pid = await SlowTerminate.start(None)
    ref = otpy.monitor(pid)
    with pytest.raises(otpy.CallTimeout) as exc_info:
        await otpy.stop(pid, timeout=0.01)
    assert exc_info.value.dest == pid
    otpy.exit(pid, "kill")
    assert (await wait_down(ref)).reason == "killed"


async def test_stop_of_plain_process_raises_type_error() -> None:
    pid = otpy.spawn(idle)
    with pytest.raises(TypeError) as exc_info:
        await otpy.stop(pid)
    assert "exit" in str(exc_info.value)


async def test_stop_from_the_server_itself_raises_calling_self() -> None:
    class SelfStopper(GenServer):
        async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
            try:
                await otpy.stop(self.pid)
            except otpy.CallingSelf as e:
                return Reply(e, state)
            return Reply(None, state)

    pid = await SelfStopper.start(None)
    assert isinstance(await otpy.call(pid, "stop yourself"), otpy.CallingSelf)


# -- parent exit signals --------------------------------------------------------------------


async def test_terminate_runs_on_parent_exit_signal_when_trap_exits_class_attribute() -> None:
    me = otpy.self_pid()
    parent, server = await _start_under_parent(Trapping, me)
    ref = otpy.monitor(server)
    otpy.exit(parent, "shutdown")
    assert await wait_msg("terminate") == ("terminate", "shutdown", "state")
    assert (await wait_down(ref)).reason == "shutdown"


async def test_terminate_runs_on_parent_exit_signal_when_trapping_from_init() -> None:
    me = otpy.self_pid()
    parent, server = await _start_under_parent(TrapsInInit, me)
    assert await otpy.call(server, "trapping?") is True
    otpy.exit(parent, "shutdown")
    assert await wait_msg("terminate") == ("terminate", "shutdown", "state")


async def test_terminate_runs_when_parent_crashes_and_server_traps() -> None:
    me = otpy.self_pid()
    parent, server = await _start_under_parent(Trapping, me)
    ref = otpy.monitor(server)
    err = Boom("parent crashed")
    otpy.exit(parent, err)
    (_, reason, _) = await wait_msg("terminate")
    assert reason is err
    assert (await wait_down(ref)).reason is err


async def test_terminate_runs_when_parent_sends_exit_signal_directly() -> None:
    otpy.trap_exits()  # the server's exit with "shutdown" comes back to us along the link
    server = await Trapping.start_link(otpy.self_pid())
    otpy.exit(server, "shutdown")
    assert await wait_msg("terminate") == ("terminate", "shutdown", "state")
    assert (await otpy.receive(match=lambda m: type(m) is Exit, timeout=GUARD)) == Exit(
        server, "shutdown"
    )


async def test_exit_message_from_non_parent_goes_to_handle_info_when_trapping() -> None:
    server = await Trapping.start(otpy.self_pid())

    async def linker() -> None:
        otpy.link(server)
        raise Boom("linked neighbour crashed")

    neighbour = otpy.spawn(linker)
    (_, msg) = await wait_msg("info")
    assert type(msg) is Exit and msg.pid == neighbour and isinstance(msg.reason, Boom)
    assert otpy.is_alive(server)
    await assert_no_msg("terminate")


async def test_terminate_does_not_run_when_killed() -> None:
    pid = await Trapping.start(otpy.self_pid())
    ref = otpy.monitor(pid)
    otpy.exit(pid, "kill")
    assert (await wait_down(ref)).reason == "killed"
    await assert_no_msg("terminate")


async def test_terminate_does_not_run_on_untrapped_exit_signal() -> None:
    pid = await Watched.start(otpy.self_pid())
    ref = otpy.monitor(pid)
    otpy.exit(pid, "shutdown")
    assert (await wait_down(ref)).reason == "shutdown"
    await assert_no_msg("terminate")


async def test_terminate_does_not_run_when_untrapping_parent_exits() -> None:
    me = otpy.self_pid()
    parent, server = await _start_under_parent(Watched, me)
    ref = otpy.monitor(server)
    otpy.exit(parent, "shutdown")
    assert (await wait_down(ref)).reason == "shutdown"
    await assert_no_msg("terminate")


async def test_terminate_does_not_run_when_init_returns_stop() -> None:
    me = otpy.self_pid()

    class StopsInInit(Watched):
        async def init(self, arg: Any) -> Any:
            await super().init(arg)
            return Stop("no")

    with pytest.raises(otpy.StartError):
        await StopsInInit.start(me)
    await assert_no_msg("terminate")


async def test_terminate_runs_when_a_callback_raises_exit_process() -> None:
    class Exits(Watched):
        async def handle_cast(self, request: Any, state: Any) -> Any:
            raise otpy.ExitProcess(request)

    pid = await Exits.start(otpy.self_pid())
    ref = otpy.monitor(pid)
    otpy.cast(pid, "shutdown")
    assert (await wait_down(ref)).reason == "shutdown"
    assert await wait_msg("terminate", timeout=0) == ("terminate", "shutdown", "state")
