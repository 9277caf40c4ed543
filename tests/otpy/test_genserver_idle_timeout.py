"""GenServer idle timeouts: ``timeout=s`` on Ok, Reply and NoReply (Elixir's ``{..., timeout}``).

The server reports each message its handle_info sees to the test as ("saw", msg). A timeout that
must *not* come is disproved with a marker timer set to the test: loop timers fire in the order
of their deadlines, so once a marker due after the idle deadline has arrived, the idle timeout
has fired (and been reported) or never will.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import pytest

import otpy
from otpy import BadReturn, From, GenServer, NoReply, Ok, Pid, Reply

from .support import GUARD, assert_no_msg, wait_down, wait_msg

#: A short idle timeout, for the servers that must see "timeout".
IDLE = 0.01


class Idle(GenServer):
    """Runs whatever return-building function it is sent; reports what handle_info sees.

    State: the list of messages handle_info saw. ``arg["init"]`` builds init's return.
    """

    async def init(self, arg: Any) -> Any:
        self.test: Pid = arg["test"]
        make = arg.get("init")
        return make([]) if make is not None else Ok([])

    async def handle_call(
        self, request: Callable[[list[Any]], Any], from_: From, state: Any
    ) -> Any:
        return request(state)

    async def handle_cast(self, request: Callable[[list[Any]], Any], state: Any) -> Any:
        return request(state)

    async def handle_info(self, msg: Any, state: Any) -> Any:
        if callable(msg):
            return msg(state)
        otpy.send(self.test, ("saw", msg))
        return NoReply([*state, msg])

    async def handle_continue(self, continue_: Any, state: Any) -> Any:
        return NoReply(state)


def seen(state: list[Any]) -> Reply:
    return Reply(state, state)


async def start_idle(init: Callable[[list[Any]], Any] | None = None) -> Pid:
    pid = await Idle.start({"test": otpy.self_pid(), "init": init})
    assert pid is not None
    return pid


async def wait_marker(delay: float) -> None:
    otpy.send_after(otpy.self_pid(), ("marker",), delay)
    await wait_msg("marker")


async def assert_crashed_with_bad_return(ref: otpy.Ref, callback: str) -> BadReturn:
    reason = (await wait_down(ref)).reason
    assert isinstance(reason, BadReturn)
    assert reason.cls is Idle
    assert reason.callback == callback
    assert callback in str(reason) and "Idle" in str(reason)
    return reason


# -- the timeout comes ----------------------------------------------------------------------


async def test_handle_info_noreply_with_timeout_delivers_timeout_when_idle() -> None:
    pid = await start_idle()
    otpy.send(pid, lambda s: NoReply(s, timeout=IDLE))
    assert await wait_msg("saw") == ("saw", "timeout")


async def test_handle_cast_noreply_with_timeout_delivers_timeout_when_idle() -> None:
    pid = await start_idle()
    otpy.cast(pid, lambda s: NoReply(s, timeout=IDLE))
    assert await wait_msg("saw") == ("saw", "timeout")


async def test_init_ok_with_timeout_delivers_timeout_when_idle() -> None:
    await start_idle(lambda s: Ok(s, timeout=IDLE))
    assert await wait_msg("saw") == ("saw", "timeout")


async def test_handle_call_reply_with_timeout_answers_then_delivers_timeout() -> None:
    pid = await start_idle()
    assert await otpy.call(pid, lambda s: Reply("answer", s, timeout=IDLE)) == "answer"
    assert await wait_msg("saw") == ("saw", "timeout")


async def test_handle_call_noreply_with_timeout_delivers_timeout_when_idle() -> None:
    pid = await start_idle()
    parked = asyncio.create_task(otpy.call(pid, lambda s: NoReply(s, timeout=IDLE)))
    assert await wait_msg("saw") == ("saw", "timeout")
    parked.cancel()
    await asyncio.gather(parked, return_exceptions=True)


async def test_timeout_zero_delivers_timeout_once_the_mailbox_is_empty() -> None:
    pid = await start_idle()
    otpy.send(pid, lambda s: NoReply(s, timeout=0))
    assert await wait_msg("saw") == ("saw", "timeout")


async def test_idle_timeout_is_delivered_once() -> None:
    # handle_info("timeout") returns a plain NoReply: no second timeout follows
    pid = await start_idle()
    otpy.send(pid, lambda s: NoReply(s, timeout=IDLE))
    await wait_msg("saw")
    await wait_marker(IDLE * 5)
    assert await otpy.call(pid, seen) == ["timeout"]


async def test_idle_timeout_can_be_set_again_after_it_fired() -> None:
    pid = await start_idle()
    otpy.send(pid, lambda s: NoReply(s, timeout=IDLE))
    await wait_msg("saw")
    otpy.send(pid, lambda s: NoReply(s, timeout=IDLE))
    await wait_msg("saw")
    assert await otpy.call(pid, seen) == ["timeout", "timeout"]


async def test_idle_timeout_leaves_the_server_running() -> None:
    pid = await start_idle()
    otpy.send(pid, lambda s: NoReply(s, timeout=IDLE))
    await wait_msg("saw")
    assert otpy.is_alive(pid)
    assert await otpy.call(pid, seen) == ["timeout"]


# -- a message arriving first cancels it ----------------------------------------------------


async def test_message_queued_before_the_wait_cancels_the_idle_timeout() -> None:
    pid = await start_idle()
    otpy.send(pid, lambda s: NoReply(s, timeout=IDLE))
    otpy.send(pid, "next")  # already queued when the first handler returns
    assert await wait_msg("saw") == ("saw", "next")
    await wait_marker(IDLE * 10)  # due after any idle deadline the server could have set
    await assert_no_msg("saw")
    assert await otpy.call(pid, seen) == ["next"]


async def test_message_arriving_during_the_wait_cancels_the_idle_timeout() -> None:
    pid = await start_idle()
    loop = asyncio.get_running_loop()

    def arm_then_poke(state: list[Any]) -> NoReply:
        # sent on the next loop turn: the server is then already waiting with its deadline
        loop.call_soon(otpy.send, pid, "poke")
        return NoReply(state, timeout=0.2)

    otpy.send(pid, arm_then_poke)
    assert await wait_msg("saw") == ("saw", "poke")
    await wait_marker(0.4)  # due after the 0.2 s deadline the poke should have cancelled
    await assert_no_msg("saw")
    assert await otpy.call(pid, seen) == ["poke"]


async def test_call_arriving_first_cancels_the_idle_timeout() -> None:
    pid = await start_idle()
    otpy.send(pid, lambda s: NoReply(s, timeout=0.2))
    assert await otpy.call(pid, seen) == []
    await wait_marker(0.4)
    await assert_no_msg("saw")
    assert await otpy.call(pid, seen) == []


async def test_a_long_idle_timeout_does_not_fire_early() -> None:
    pid = await start_idle()
    otpy.send(pid, lambda s: NoReply(s, timeout=GUARD * 10))
    await wait_marker(IDLE * 5)
    await assert_no_msg("saw")
    assert await otpy.call(pid, seen) == []


# -- bad values -----------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", ["5", -1, math.nan, math.inf, True])
async def test_handle_info_bad_timeout_crashes_with_bad_return(timeout: Any) -> None:
    pid = await start_idle()
    ref = otpy.monitor(pid)
    otpy.send(pid, lambda s: NoReply(s, timeout=timeout))
    reason = await assert_crashed_with_bad_return(ref, "handle_info")
    assert reason.value == NoReply([], timeout=timeout)  # the very value (nan is itself)


async def test_handle_cast_bad_timeout_crashes_with_bad_return() -> None:
    pid = await start_idle()
    ref = otpy.monitor(pid)
    otpy.cast(pid, lambda s: NoReply(s, timeout=-1))
    reason = await assert_crashed_with_bad_return(ref, "handle_cast")
    assert reason.value == NoReply([], timeout=-1)


async def test_handle_call_bad_timeout_crashes_with_bad_return() -> None:
    pid = await start_idle()
    ref = otpy.monitor(pid)
    bad: Any = "5"
    parked = asyncio.create_task(otpy.call(pid, lambda s: NoReply(s, timeout=bad)))
    await assert_crashed_with_bad_return(ref, "handle_call")
    with pytest.raises(otpy.ServerExited):
        await asyncio.wait_for(parked, GUARD)


async def test_continue_and_timeout_together_crash_with_bad_return() -> None:
    pid = await start_idle()
    ref = otpy.monitor(pid)
    otpy.send(pid, lambda s: NoReply(s, continue_="more", timeout=1))
    reason = await assert_crashed_with_bad_return(ref, "handle_info")
    assert "continue_" in str(reason)


async def test_reply_with_continue_and_timeout_crashes_with_bad_return() -> None:
    pid = await start_idle()
    ref = otpy.monitor(pid)
    call = asyncio.create_task(otpy.call(pid, lambda s: Reply("v", s, continue_="x", timeout=1)))
    await assert_crashed_with_bad_return(ref, "handle_call")
    await asyncio.gather(call, return_exceptions=True)


async def test_init_bad_timeout_makes_start_raise_start_error_with_bad_return() -> None:
    bad: Any = "5"
    with pytest.raises(otpy.StartError) as exc_info:
        await Idle.start({"test": otpy.self_pid(), "init": lambda s: Ok(s, timeout=bad)})
    reason = exc_info.value.reason
    assert isinstance(reason, BadReturn)
    assert reason.callback == "init"
    assert "init" in str(reason)


async def test_init_continue_and_timeout_makes_start_raise_start_error_with_bad_return() -> None:
    with pytest.raises(otpy.StartError) as exc_info:
        await Idle.start(
            {"test": otpy.self_pid(), "init": lambda s: Ok(s, continue_="x", timeout=1)}
        )
    reason = exc_info.value.reason
    assert isinstance(reason, BadReturn)
    assert reason.callback == "init"


async def test_init_bad_timeout_makes_start_link_raise_start_error_not_kill_caller() -> None:
    # like any other failed start: StartError, and the caller is not killed through the link
    with pytest.raises(otpy.StartError) as exc_info:
        await Idle.start_link({"test": otpy.self_pid(), "init": lambda s: Ok(s, timeout=-1)})
    assert isinstance(exc_info.value.reason, BadReturn)
    assert exc_info.value.reason.callback == "init"
    mine = otpy.process_info(otpy.self_pid())
    assert mine is not None and mine.links == ()
