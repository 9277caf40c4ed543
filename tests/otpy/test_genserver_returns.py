"""Every row of the callback table of DESIGN.md section 4, and what a bad return does.

init's Ignore, Stop, bad return and raising rows are in test_genserver_start.py, with the
errors start_link raises for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import otpy
from otpy import BadReturn, From, GenServer, NoReply, Ok, Pid, Reply, Stop

from .support import GUARD, wait_down, wait_msg

# A Scripted server runs whatever function it is sent: calls, casts and infos carry a callable
# that builds the callback's return value from the state, so each test shows the exact return.
CallFn = Callable[[list[Any], From], Any]
NoReplyFn = Callable[[list[Any]], Any]


class Scripted(GenServer):
    async def init(self, arg: Any) -> Any:
        self.test: Pid = arg["test"]
        make = arg.get("init")
        return make(self) if make is not None else Ok([])

    async def handle_call(self, request: CallFn, from_: From, state: Any) -> Any:
        return request(state, from_)

    async def handle_cast(self, request: NoReplyFn, state: Any) -> Any:
        return request(state)

    async def handle_info(self, msg: Any, state: Any) -> Any:
        if callable(msg):
            return msg(state)
        return NoReply([*state, ("info", msg)])

    async def handle_continue(self, continue_: Any, state: Any) -> Any:
        if callable(continue_):
            return continue_(state)
        if type(continue_) is tuple and continue_[0] == "answer":
            otpy.reply(continue_[1], ("answered from continue", state))
            return NoReply(state)
        return NoReply([*state, ("continue", continue_)])

    async def terminate(self, reason: Any, state: Any) -> Any:
        otpy.send(self.test, ("terminate", reason, state))
        return "ignored"


def state_of(state: list[Any], _from: From) -> Reply:
    return Reply(state, state)


async def start_scripted(init: Callable[[Scripted], Any] | None = None) -> Pid:
    pid = await Scripted.start({"test": otpy.self_pid(), "init": init})
    assert pid is not None
    return pid


async def assert_crashed_with_bad_return(ref: otpy.Ref, callback: str, value: Any) -> None:
    reason = (await wait_down(ref)).reason
    assert isinstance(reason, BadReturn)
    assert reason.cls is Scripted
    assert reason.callback == callback
    assert reason.value == value
    text = str(reason)
    assert "Scripted" in text and callback in text and repr(value) in text


# -- init -----------------------------------------------------------------------------------


async def test_init_ok_sets_the_state() -> None:
    pid = await start_scripted(lambda s: Ok(["from init"]))
    assert await otpy.call(pid, state_of) == ["from init"]


async def test_init_ok_with_continue_runs_handle_continue_before_any_message() -> None:
    def init(server: Scripted) -> Ok:
        otpy.send(server.pid, "already queued")
        return Ok([], continue_="setup")

    pid = await start_scripted(init)
    assert await otpy.call(pid, state_of) == [("continue", "setup"), ("info", "already queued")]


# -- handle_call ----------------------------------------------------------------------------


async def test_handle_call_reply_answers_and_sets_state() -> None:
    pid = await start_scripted()
    assert await otpy.call(pid, lambda s, f: Reply("answer", ["new"])) == "answer"
    assert await otpy.call(pid, state_of) == ["new"]


async def test_handle_call_reply_with_continue_runs_continue_before_next_message() -> None:
    pid = await start_scripted()
    assert await otpy.call(pid, lambda s, f: Reply("first", ["r"], continue_="next")) == "first"
    assert await otpy.call(pid, state_of) == ["r", ("continue", "next")]


async def test_handle_call_noreply_leaves_caller_waiting_for_reply() -> None:
    pid = await start_scripted()
    test = otpy.self_pid()
    parked: list[From] = []

    def park(state: list[Any], from_: From) -> NoReply:
        parked.append(from_)
        otpy.send(test, ("parked",))
        return NoReply(["parked"])

    waiting = asyncio.create_task(otpy.call(pid, park))
    await wait_msg("parked")
    assert await otpy.call(pid, state_of) == ["parked"]
    assert not waiting.done()
    otpy.reply(parked[0], "later")
    assert await asyncio.wait_for(waiting, GUARD) == "later"


async def test_handle_call_noreply_with_continue_can_reply_from_continue() -> None:
    pid = await start_scripted()
    answer = await otpy.call(pid, lambda s, f: NoReply(["s"], continue_=("answer", f)))
    assert answer == ("answered from continue", ["s"])


async def test_handle_call_stop_with_reply_runs_terminate_then_answers() -> None:
    pid = await start_scripted()
    ref = otpy.monitor(pid)
    answer = await otpy.call(pid, lambda s, f: Stop("shutdown", ["final"], reply="bye"))
    assert answer == "bye"
    # terminate ran before the reply was sent (as in OTP), so its report is already here
    assert await wait_msg("terminate", timeout=0) == ("terminate", "shutdown", ["final"])
    assert (await wait_down(ref)).reason == "shutdown"


async def test_handle_call_stop_without_reply_terminates_and_caller_gets_server_exited() -> None:
    pid = await start_scripted()
    with pytest.raises(otpy.ServerExited) as exc_info:
        await otpy.call(pid, lambda s, f: Stop("shutdown", ["final"]))
    assert exc_info.value.reason == "shutdown"
    assert await wait_msg("terminate") == ("terminate", "shutdown", ["final"])


async def test_handle_call_bad_return_crashes_with_bad_return() -> None:
    pid = await start_scripted()
    ref = otpy.monitor(pid)
    with pytest.raises(otpy.ServerExited) as exc_info:
        await otpy.call(pid, lambda s, f: ("reply", 1, s))
    assert isinstance(exc_info.value.reason, BadReturn)
    await assert_crashed_with_bad_return(ref, "handle_call", ("reply", 1, []))


async def test_handle_call_returning_none_crashes_with_bad_return() -> None:
    pid = await start_scripted()
    ref = otpy.monitor(pid)
    with pytest.raises(otpy.ServerExited):
        await otpy.call(pid, lambda s, f: None)
    await assert_crashed_with_bad_return(ref, "handle_call", None)


# -- handle_cast ----------------------------------------------------------------------------


async def test_handle_cast_noreply_sets_state() -> None:
    pid = await start_scripted()
    otpy.cast(pid, lambda s: NoReply(["cast"]))
    assert await otpy.call(pid, state_of) == ["cast"]


async def test_handle_cast_noreply_with_continue_runs_continue_before_next_message() -> None:
    pid = await start_scripted()
    otpy.cast(pid, lambda s: NoReply(["cast"], continue_="after cast"))
    assert await otpy.call(pid, state_of) == ["cast", ("continue", "after cast")]


async def test_handle_cast_stop_terminates_with_reason_and_state() -> None:
    pid = await start_scripted()
    ref = otpy.monitor(pid)
    otpy.cast(pid, lambda s: Stop(otpy.Shutdown("cast"), ["last"]))
    assert await wait_msg("terminate") == ("terminate", otpy.Shutdown("cast"), ["last"])
    assert (await wait_down(ref)).reason == otpy.Shutdown("cast")


async def test_handle_cast_bad_return_crashes_with_bad_return() -> None:
    pid = await start_scripted()
    ref = otpy.monitor(pid)
    otpy.cast(pid, lambda s: Reply("no", s))
    await assert_crashed_with_bad_return(ref, "handle_cast", Reply("no", []))


# -- handle_info ----------------------------------------------------------------------------


async def test_handle_info_receives_plain_messages() -> None:
    pid = await start_scripted()
    otpy.send(pid, "hello")
    assert await otpy.call(pid, state_of) == [("info", "hello")]


async def test_handle_info_noreply_sets_state() -> None:
    pid = await start_scripted()
    otpy.send(pid, lambda s: NoReply(["info"]))
    assert await otpy.call(pid, state_of) == ["info"]


async def test_handle_info_noreply_with_continue_runs_continue_before_next_message() -> None:
    pid = await start_scripted()
    otpy.send(pid, lambda s: NoReply(["info"], continue_="after info"))
    assert await otpy.call(pid, state_of) == ["info", ("continue", "after info")]


async def test_handle_info_stop_terminates_with_reason_and_state() -> None:
    pid = await start_scripted()
    ref = otpy.monitor(pid)
    otpy.send(pid, lambda s: Stop("normal", ["info-stop"]))
    assert await wait_msg("terminate") == ("terminate", "normal", ["info-stop"])
    assert (await wait_down(ref)).reason == "normal"


async def test_handle_info_bad_return_crashes_with_bad_return() -> None:
    pid = await start_scripted()
    ref = otpy.monitor(pid)
    otpy.send(pid, lambda s: Ok(s))
    await assert_crashed_with_bad_return(ref, "handle_info", Ok([]))


# -- handle_continue ------------------------------------------------------------------------


async def test_handle_continue_noreply_sets_state() -> None:
    pid = await start_scripted()
    otpy.cast(pid, lambda s: NoReply([], continue_=lambda s: NoReply(["continued"])))
    assert await otpy.call(pid, state_of) == ["continued"]


async def test_handle_continue_noreply_with_continue_chains() -> None:
    pid = await start_scripted()
    otpy.cast(pid, lambda s: NoReply([], continue_=lambda s: NoReply(["one"], continue_="two")))
    assert await otpy.call(pid, state_of) == ["one", ("continue", "two")]


async def test_handle_continue_stop_terminates_with_reason_and_state() -> None:
    pid = await start_scripted()
    ref = otpy.monitor(pid)
    otpy.cast(pid, lambda s: NoReply([], continue_=lambda s: Stop("shutdown", ["cont"])))
    assert await wait_msg("terminate") == ("terminate", "shutdown", ["cont"])
    assert (await wait_down(ref)).reason == "shutdown"


async def test_handle_continue_bad_return_crashes_with_bad_return() -> None:
    pid = await start_scripted()
    ref = otpy.monitor(pid)
    otpy.cast(pid, lambda s: NoReply([], continue_=lambda s: "oops"))
    await assert_crashed_with_bad_return(ref, "handle_continue", "oops")


# -- defaults -------------------------------------------------------------------------------


class Bare(GenServer):
    """Defines no handle_* callback at all."""


async def test_absent_handle_call_crashes_naming_class_and_request() -> None:
    pid = await Bare.start(None)
    ref = otpy.monitor(pid)
    with pytest.raises(otpy.ServerExited) as exc_info:
        await otpy.call(pid, ("what", 1))
    reason = exc_info.value.reason
    assert (await wait_down(ref)).reason is reason
    assert isinstance(reason, otpy.Unhandled)
    assert reason.cls is Bare and reason.callback == "handle_call"
    assert reason.request == ("what", 1)
    assert "Bare" in str(reason) and "('what', 1)" in str(reason)
    assert "handle_call" in str(reason)


async def test_absent_handle_cast_crashes_naming_class_and_request() -> None:
    pid = await Bare.start(None)
    ref = otpy.monitor(pid)
    otpy.cast(pid, "do it")
    reason = (await wait_down(ref)).reason
    assert isinstance(reason, otpy.Unhandled)
    assert reason.cls is Bare and reason.callback == "handle_cast"
    assert reason.request == "do it"
    assert "Bare" in str(reason) and "'do it'" in str(reason)


async def test_absent_handle_info_ignores_the_message() -> None:
    class OnlyCalls(GenServer):
        async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
            return Reply(state, state)

    pid = await OnlyCalls.start("kept")
    otpy.send(pid, "unexpected")
    assert await otpy.call(pid, "state?") == "kept"
    info = otpy.process_info(pid)
    assert info is not None and info.message_queue_len == 0


async def test_absent_handle_continue_crashes_naming_class_and_continue() -> None:
    class Continues(GenServer):
        async def handle_cast(self, request: Any, state: Any) -> Any:
            return NoReply(state, continue_=request)

    pid = await Continues.start(None)
    ref = otpy.monitor(pid)
    otpy.cast(pid, "more")
    reason = (await wait_down(ref)).reason
    assert isinstance(reason, otpy.Unhandled)
    assert reason.cls is Continues and reason.callback == "handle_continue"
    assert reason.request == "more"


async def test_terminate_return_value_is_ignored() -> None:
    pid = await start_scripted()
    ref = otpy.monitor(pid)
    otpy.cast(pid, lambda s: Stop("normal", s))  # Scripted.terminate returns "ignored"
    await wait_msg("terminate")
    assert (await wait_down(ref)).reason == "normal"


async def test_absent_terminate_is_a_no_op() -> None:
    class NoTerminate(GenServer):
        async def handle_cast(self, request: Any, state: Any) -> Any:
            return Stop("normal", state)

    pid = await NoTerminate.start(None)
    ref = otpy.monitor(pid)
    otpy.cast(pid, "stop")
    assert (await wait_down(ref)).reason == "normal"
