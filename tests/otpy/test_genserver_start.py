"""Starting a GenServer: start_link/start, init outcomes, names, links and start errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import otpy
from otpy import GenServer, Ignore, Ok, Pid, Stop

from .support import GUARD, Boom, HeldCleanup, exit_reason_of, wait_down, wait_msg


class Echo(GenServer):
    async def handle_call(self, request: Any, from_: otpy.From, state: Any) -> Any:
        return otpy.Reply((request, state), state)


class Announcer(GenServer):
    """Sends ("init", self.pid) to the pid it is given, then serves."""

    async def init(self, arg: Any) -> Any:
        otpy.send(arg, ("init", self.pid))
        return Ok(arg)


class Blocker(GenServer):
    """Reports its pid, then never finishes init."""

    async def init(self, arg: Any) -> Any:
        otpy.send(arg, ("init", self.pid))
        await asyncio.Event().wait()
        return Ok(arg)


async def test_start_link_returns_pid_once_init_has_returned() -> None:
    pid = await Announcer.start_link(otpy.self_pid())
    # init's message is already queued when start_link returns
    assert await otpy.receive(timeout=0) == ("init", pid)


async def test_start_link_returns_a_live_pid() -> None:
    pid = await Echo.start_link("s")
    assert isinstance(pid, Pid)
    assert otpy.is_alive(pid)
    assert await otpy.call(pid, "hi") == ("hi", "s")


async def test_default_init_uses_arg_as_state() -> None:
    pid = await Echo.start({"k": 1})
    assert await otpy.call(pid, "state?") == ("state?", {"k": 1})


async def test_module_level_start_link_starts_the_class() -> None:
    from otpy.genserver import start_link

    pid = await start_link(Echo, 7)
    assert await otpy.call(pid, "x") == ("x", 7)


async def test_start_link_links_server_and_caller() -> None:
    pid = await Echo.start_link(None)
    info = otpy.process_info(pid)
    assert info is not None and info.links == (otpy.self_pid(),)


async def test_start_does_not_link() -> None:
    pid = await Echo.start(None)
    info = otpy.process_info(pid)
    assert info is not None and info.links == ()
    mine = otpy.process_info(otpy.self_pid())
    assert mine is not None and mine.links == ()


async def test_pid_attribute_is_set_before_init_runs() -> None:
    me = otpy.self_pid()

    class Reporter(GenServer):
        async def init(self, arg: Any) -> Any:
            otpy.send(me, ("pid-in-init", self.pid, otpy.self_pid()))
            return Ok(arg)

    pid = await Reporter.start()
    assert await wait_msg("pid-in-init") == ("pid-in-init", pid, pid)


async def test_start_link_with_name_registers_the_server() -> None:
    pid = await Echo.start_link(None, name="echo-server")
    assert otpy.whereis("echo-server") == pid
    info = otpy.process_info(pid)
    assert info is not None and info.names == ("echo-server",)


async def test_start_with_taken_name_raises_already_started_with_holder_pid() -> None:
    holder = await Echo.start(None, name="only-one")
    with pytest.raises(otpy.AlreadyStarted) as exc_info:
        await Echo.start(None, name="only-one")
    assert exc_info.value.pid == holder
    assert otpy.whereis("only-one") == holder


async def test_start_link_with_taken_name_does_not_kill_the_caller() -> None:
    holder = await Echo.start(None, name="taken-name")
    with pytest.raises(otpy.AlreadyStarted) as exc_info:
        await Echo.start_link(None, name="taken-name")
    assert exc_info.value.pid == holder
    mine = otpy.process_info(otpy.self_pid())
    assert mine is not None and mine.links == ()


async def test_init_returning_ignore_makes_start_link_return_none() -> None:
    me = otpy.self_pid()

    class Ignored(GenServer):
        async def init(self, arg: Any) -> Any:
            otpy.send(me, ("init", self.pid))
            return Ignore()

    assert await Ignored.start_link(None) is None
    (_, pid) = await wait_msg("init")
    assert await exit_reason_of(pid) in ("normal", "noproc")
    assert not otpy.is_alive(pid)


async def test_init_returning_stop_raises_start_error_with_reason() -> None:
    class Refuses(GenServer):
        async def init(self, arg: Any) -> Any:
            return Stop("not today")

    with pytest.raises(otpy.StartError) as exc_info:
        await Refuses.start_link(None)
    assert exc_info.value.reason == "not today"
    mine = otpy.process_info(otpy.self_pid())
    assert mine is not None and mine.links == ()


async def test_init_raising_raises_start_error_carrying_the_exception() -> None:
    err = Boom("init failed")

    class Crashes(GenServer):
        async def init(self, arg: Any) -> Any:
            raise err

    with pytest.raises(otpy.StartError) as exc_info:
        await Crashes.start_link(None)
    assert exc_info.value.reason is err
    assert "Crashes" in str(exc_info.value)


async def test_init_bad_return_raises_start_error_with_bad_return() -> None:
    class Sloppy(GenServer):
        async def init(self, arg: Any) -> Any:
            return ("ok", arg)

    with pytest.raises(otpy.StartError) as exc_info:
        await Sloppy.start_link(1)
    assert isinstance(exc_info.value.reason, otpy.BadReturn)
    assert exc_info.value.reason.callback == "init"
    assert exc_info.value.reason.cls is Sloppy
    assert exc_info.value.reason.value == ("ok", 1)


async def test_init_exiting_raises_start_error_with_exit_reason() -> None:
    class Exits(GenServer):
        async def init(self, arg: Any) -> Any:
            raise otpy.ExitProcess("gone")

    with pytest.raises(otpy.StartError) as exc_info:
        await Exits.start(None)
    assert exc_info.value.reason == "gone"


async def test_init_exiting_under_start_link_unlinks_the_caller_first() -> None:
    class Exits(GenServer):
        async def init(self, arg: Any) -> Any:
            raise otpy.ExitProcess("gone")

    otpy.trap_exits()
    with pytest.raises(otpy.StartError) as exc_info:
        await Exits.start_link(None)
    assert exc_info.value.reason == "gone"
    # the caller got the error, and no Exit signal besides (as for every other failed start)
    with pytest.raises(otpy.ReceiveTimeout):
        await otpy.receive(timeout=0, match=lambda m: isinstance(m, otpy.Exit))


async def test_init_timeout_raises_start_error_and_kills_the_server() -> None:
    with pytest.raises(otpy.StartError) as exc_info:
        await Blocker.start_link(otpy.self_pid(), timeout=0.01)
    assert exc_info.value.reason == "timeout"
    (_, pid) = await wait_msg("init")
    # start_link returns only once the killed server is gone (as OTP's does since init_fail)
    assert not otpy.is_alive(pid)
    assert otpy.process_info(pid) is None
    mine = otpy.process_info(otpy.self_pid())
    assert mine is not None and mine.links == ()


async def test_init_timeout_frees_the_name() -> None:
    with pytest.raises(otpy.StartError):
        await Blocker.start(otpy.self_pid(), name="slow", timeout=0.01)
    (_, pid) = await wait_msg("init")
    await exit_reason_of(pid)
    assert otpy.whereis("slow") is None


async def test_init_failure_frees_the_name() -> None:
    class Refuses(GenServer):
        async def init(self, arg: Any) -> Any:
            return Stop("no")

    with pytest.raises(otpy.StartError):
        await Refuses.start(None, name="refused")
    assert otpy.whereis("refused") is None
    pid = await Echo.start(None, name="refused")
    assert otpy.whereis("refused") == pid


class FailsWhileHelped(GenServer):
    """Starts a helper holding back its exit (a HeldCleanup), reports its pid, then fails init."""

    async def init(self, arg: Any) -> Any:
        held, to = arg
        await held.start()
        otpy.send(to, ("init", self.pid))
        raise Boom("db down")


async def test_start_whose_init_failed_returns_only_once_the_server_is_gone() -> None:
    held = HeldCleanup()
    start = asyncio.create_task(FailsWhileHelped.start((held, otpy.self_pid())))
    (_, pid) = await wait_msg("init")
    await held.wait_cleaning()  # init has failed; the server is exiting, not gone

    returned_early = start.done()
    held.release.set()

    with pytest.raises(otpy.StartError):
        await asyncio.wait_for(start, GUARD)
    assert not returned_early
    assert held.done.is_set()
    assert otpy.process_info(pid) is None


async def test_name_of_a_server_whose_init_failed_is_free_once_start_raises() -> None:
    held = HeldCleanup()
    start = asyncio.create_task(FailsWhileHelped.start((held, otpy.self_pid()), name="db"))
    await held.wait_cleaning()
    held.release.set()
    with pytest.raises(otpy.StartError):
        await start  # not wait_for: it would let the loop run before the retry

    pid = await Echo.start(None, name="db")  # a retry at once, as a supervisor would do

    assert otpy.whereis("db") == pid


async def test_constructor_raising_makes_start_link_raise_start_error() -> None:
    # like any other failed start: the caller gets StartError and is not killed by the link
    err = Boom("bad constructor")

    class BadConstructor(GenServer):
        def __init__(self) -> None:
            raise err

    with pytest.raises(otpy.StartError) as exc_info:
        await BadConstructor.start_link(None)
    assert exc_info.value.reason is err
    mine = otpy.process_info(otpy.self_pid())
    assert mine is not None and mine.links == ()


async def test_start_link_of_non_genserver_raises_type_error() -> None:
    from otpy.genserver import start_link

    with pytest.raises(TypeError) as exc_info:
        await start_link(int, None)  # type: ignore[arg-type]
    assert "GenServer" in str(exc_info.value)


async def test_start_link_with_invalid_name_raises_type_error() -> None:
    with pytest.raises(TypeError) as exc_info:
        await Echo.start_link(None, name=42)
    assert "name" in str(exc_info.value)


async def test_sync_callback_is_rejected_when_class_is_defined() -> None:
    with pytest.raises(TypeError) as exc_info:

        class Wrong(GenServer):
            def handle_call(self, request: Any, from_: Any, state: Any) -> Any:  # type: ignore[override]
                return otpy.Reply(request, state)

    assert "handle_call" in str(exc_info.value) and "async def" in str(exc_info.value)


async def test_server_started_from_a_process_is_linked_to_that_process() -> None:
    me = otpy.self_pid()

    async def parent() -> None:
        otpy.send(me, ("server", await Echo.start_link(None)))
        await asyncio.Event().wait()

    parent_pid = otpy.spawn(parent)
    (_, server) = await wait_msg("server")
    ref = otpy.monitor(server)
    otpy.exit(parent_pid, Boom("parent crashed"))
    assert isinstance((await wait_down(ref, GUARD)).reason, Boom)


async def test_start_whose_failed_server_hangs_in_cleanup_returns_after_its_timeout() -> None:
    held = HeldCleanup()  # never released: the failed server stays "exiting"
    with pytest.raises(otpy.StartError):
        await asyncio.wait_for(
            FailsWhileHelped.start((held, otpy.self_pid()), timeout=0.05), GUARD
        )
    (_, pid) = await wait_msg("init")
    assert held.cleaning.is_set() and not held.done.is_set()
    otpy.exit(pid, "kill")  # cuts the held clean-up short; the exit reason stays the crash
    assert isinstance(await exit_reason_of(pid), Boom)
    assert held.done.is_set()
