"""call / cast / reply: answers, ordering and the typed errors of DESIGN.md section 4."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

import otpy
from otpy import From, GenServer, NoReply, Ok, Reply, Stop

from .support import GUARD, Boom, wait_down, wait_msg


class Counter(GenServer):
    """A counter; "slow" calls are parked until a ("release", value) cast answers them.

    The arg is the initial count, or (count, observer): the observer is told ("parked",) each
    time a call is parked.
    """

    async def init(self, arg: Any) -> Any:
        n, observer = arg if type(arg) is tuple else (arg, None)
        return Ok({"n": n, "parked": [], "observer": observer})

    async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        if request == "get":
            return Reply(state["n"], state)
        if request == "inc":
            state["n"] += 1
            return Reply(state["n"], state)
        if request == "slow":
            state["parked"].append(from_)
            if state["observer"] is not None:
                otpy.send(state["observer"], ("parked",))
            return NoReply(state)
        if request == "from":
            return Reply(from_.pid, state)
        if request == "crash":
            raise Boom("crashed in handle_call")
        if request == "stop-silently":
            return Stop("stopping", state)
        if request == "call-self":
            try:
                await otpy.call(self.pid, "get")
            except otpy.CallingSelf as e:
                return Reply(e, state)
            return Reply("no error", state)
        return Reply(("unknown", request), state)

    async def handle_cast(self, request: Any, state: Any) -> Any:
        if request == "inc":
            state["n"] += 1
        elif type(request) is tuple and request[0] == "release":
            for from_ in state["parked"]:
                otpy.reply(from_, request[1])
            state["parked"] = []
        return NoReply(state)


async def _dead_server() -> otpy.Pid:
    pid = await Counter.start(0)
    assert pid is not None
    await otpy.stop(pid)
    return pid


async def test_call_returns_the_reply_value() -> None:
    pid = await Counter.start_link(41)
    assert await otpy.call(pid, "inc") == 42


async def test_call_state_persists_between_calls() -> None:
    pid = await Counter.start_link(0)
    for _ in range(3):
        await otpy.call(pid, "inc")
    assert await otpy.call(pid, "get") == 3


async def test_cast_is_handled_before_a_later_call() -> None:
    pid = await Counter.start_link(0)
    otpy.cast(pid, "inc")
    otpy.cast(pid, "inc")
    assert await otpy.call(pid, "get") == 2


async def test_call_by_registered_name() -> None:
    pid = await Counter.start_link(5, name="counter")
    assert await otpy.call("counter", "get") == 5
    otpy.cast("counter", "inc")
    assert await otpy.call(pid, "get") == 6


async def test_from_pid_is_the_calling_process() -> None:
    pid = await Counter.start_link(0)
    assert await otpy.call(pid, "from") == otpy.self_pid()


async def test_from_pid_is_none_for_a_caller_that_is_not_a_process() -> None:
    pid = await Counter.start_link(0)
    # a fresh task that has not used any process function has no pid
    assert await asyncio.create_task(otpy.call(pid, "from")) is None


async def test_call_from_another_process() -> None:
    server = await Counter.start_link(10)
    me = otpy.self_pid()

    async def client() -> None:
        otpy.send(me, ("answer", await otpy.call(server, "inc")))

    otpy.spawn(client)
    assert await wait_msg("answer") == ("answer", 11)


async def test_call_without_timeout_waits_for_the_reply() -> None:
    pid = await Counter.start_link(3)
    assert await otpy.call(pid, "get", timeout=None) == 3


async def test_call_to_dead_pid_raises_no_process_at_once() -> None:
    pid = await _dead_server()
    async with asyncio.timeout(GUARD):
        with pytest.raises(otpy.NoProcess) as exc_info:
            await otpy.call(pid, "get", timeout=30)
        assert exc_info.value.dest == pid


async def test_call_to_unknown_name_raises_no_process_at_once() -> None:
    async with asyncio.timeout(GUARD):
        with pytest.raises(otpy.NoProcess) as exc_info:
            await otpy.call("no-such-server", "get", timeout=30)
        assert exc_info.value.dest == "no-such-server"


async def test_call_times_out_with_call_timeout() -> None:
    pid = await Counter.start_link(0)
    with pytest.raises(otpy.CallTimeout) as exc_info:
        await otpy.call(pid, "slow", timeout=0.01)
    assert exc_info.value.dest == pid
    assert exc_info.value.request == "slow"
    assert exc_info.value.timeout == 0.01
    assert otpy.is_alive(pid)


async def test_call_timeout_is_a_timeout_error() -> None:
    assert issubclass(otpy.CallTimeout, TimeoutError)


async def test_call_with_a_bad_timeout_raises_type_error_without_sending_the_request() -> None:
    pid = await Counter.start_link(0)
    with pytest.raises(TypeError):
        await otpy.call(pid, "inc", timeout="5")  # type: ignore[arg-type]
    assert await otpy.call(pid, "get") == 0  # "inc" never reached the server
    await otpy.stop(pid)


async def test_call_with_a_nan_timeout_raises_value_error_without_sending_the_request() -> None:
    pid = await Counter.start_link(0)
    with pytest.raises(ValueError, match="finite"):
        await otpy.call(pid, "inc", timeout=float("nan"))
    assert await otpy.call(pid, "get") == 0
    await otpy.stop(pid)


async def test_late_reply_after_timeout_never_reaches_a_later_call() -> None:
    pid = await Counter.start_link(7)
    with pytest.raises(otpy.CallTimeout):
        await otpy.call(pid, "slow", timeout=0.01)
    otpy.cast(pid, ("release", "late answer"))  # answers the timed-out call
    assert await otpy.call(pid, "get") == 7
    info = otpy.process_info(otpy.self_pid())
    assert info is not None and info.message_queue_len == 0


async def test_calls_with_different_timeouts_each_time_out() -> None:
    pid = await Counter.start_link(0)
    results = await asyncio.gather(
        otpy.call(pid, "slow", timeout=0.02),
        otpy.call(pid, "slow", timeout=0.01),
        otpy.call(pid, "get", timeout=0.01),
        return_exceptions=True,
    )
    assert isinstance(results[0], otpy.CallTimeout) and results[0].timeout == 0.02
    assert isinstance(results[1], otpy.CallTimeout) and results[1].timeout == 0.01
    assert results[2] == 0


async def test_deferred_reply_answers_the_waiting_call() -> None:
    pid = await Counter.start_link((0, otpy.self_pid()))
    waiting = asyncio.create_task(otpy.call(pid, "slow"))
    await wait_msg("parked")
    assert not waiting.done()
    otpy.cast(pid, ("release", "deferred"))
    assert await asyncio.wait_for(waiting, GUARD) == "deferred"


async def test_second_reply_to_the_same_call_is_dropped() -> None:
    me = otpy.self_pid()

    class Twice(GenServer):
        async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
            otpy.reply(from_, "one")
            otpy.reply(from_, "two")
            return NoReply(state)

    twice = await Twice.start_link(None)
    assert await otpy.call(twice, "x") == "one"
    info = otpy.process_info(me)
    assert info is not None and info.message_queue_len == 0


async def test_calling_oneself_raises_calling_self() -> None:
    pid = await Counter.start_link(0)
    err = await otpy.call(pid, "call-self")
    assert isinstance(err, otpy.CallingSelf)
    assert err.dest == pid


async def test_server_crashing_mid_call_raises_server_exited_with_reason() -> None:
    pid = await Counter.start(0)
    with pytest.raises(otpy.ServerExited) as exc_info:
        await otpy.call(pid, "crash")
    assert isinstance(exc_info.value.reason, Boom)
    assert exc_info.value.dest == pid


async def test_server_stopping_without_reply_raises_server_exited_with_reason() -> None:
    pid = await Counter.start(0)
    with pytest.raises(otpy.ServerExited) as exc_info:
        await otpy.call(pid, "stop-silently")
    assert exc_info.value.reason == "stopping"


async def test_server_killed_while_call_waits_raises_server_exited_killed() -> None:
    pid = await Counter.start((0, otpy.self_pid()))
    waiting = asyncio.create_task(otpy.call(pid, "slow", timeout=30))
    await wait_msg("parked")
    otpy.exit(pid, "kill")
    with pytest.raises(otpy.ServerExited) as exc_info:
        await asyncio.wait_for(waiting, GUARD)
    assert exc_info.value.reason == "killed"


async def test_pending_call_queued_behind_a_crash_raises_server_exited() -> None:
    pid = await Counter.start(0)
    crash = asyncio.create_task(otpy.call(pid, "crash"))
    queued = asyncio.create_task(otpy.call(pid, "get"))
    results = await asyncio.wait_for(asyncio.gather(crash, queued, return_exceptions=True), GUARD)
    assert all(isinstance(r, otpy.ServerExited) for r in results)


async def test_cast_to_dead_pid_is_dropped() -> None:
    pid = await _dead_server()
    otpy.cast(pid, "inc")  # must not raise
    assert not otpy.is_alive(pid)


async def test_cast_to_unknown_name_raises_no_process() -> None:
    with pytest.raises(otpy.NoProcess) as exc_info:
        otpy.cast("no-such-server", "inc")
    assert exc_info.value.dest == "no-such-server"


async def test_stop_of_dead_server_raises_no_process() -> None:
    pid = await _dead_server()
    with pytest.raises(otpy.NoProcess):
        await otpy.stop(pid)


async def test_calls_from_many_callers_each_get_their_own_reply() -> None:
    pid = await Counter.start_link(0)
    results = await asyncio.gather(*(otpy.call(pid, ("echo", i)) for i in range(50)))
    assert results == [("unknown", ("echo", i)) for i in range(50)]


async def test_caller_is_not_linked_or_monitoring_after_call() -> None:
    pid = await Counter.start(0)
    await otpy.call(pid, "get")
    info = otpy.process_info(pid)
    assert info is not None
    assert info.links == () and info.monitored_by == ()
    ref = otpy.monitor(pid)
    await otpy.stop(pid)
    assert (await wait_down(ref)).reason == "normal"


class KillsItself(GenServer):
    async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        otpy.exit(self.pid, "kill")  # does not return: the process ends here, as in Erlang
        return Reply("answered after being killed", state)


async def test_a_server_that_kills_itself_mid_call_never_replies() -> None:
    pid = await KillsItself.start(None)
    ref = otpy.monitor(pid)
    with pytest.raises(otpy.ServerExited) as exc_info:
        await otpy.call(pid, "die")
    assert exc_info.value.reason == "killed"
    assert (await wait_down(ref)).reason == "killed"


class SwallowsCancel(GenServer):
    async def handle_cast(self, request: Any, state: Any) -> Any:
        if request == "block":
            otpy.send(state, ("blocking",))
            # a careless callback: it swallows the kill's cancellation
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()
            return NoReply(state)
        otpy.send(state, ("handled", request))
        return NoReply(state)


async def test_a_killed_server_stops_even_if_a_callback_swallows_the_cancellation() -> None:
    pid = await SwallowsCancel.start(otpy.self_pid())
    ref = otpy.monitor(pid)
    otpy.cast(pid, "block")
    otpy.cast(pid, "queued after the kill")
    await wait_msg("blocking")
    otpy.exit(pid, "kill")
    assert (await wait_down(ref)).reason == "killed"
    with pytest.raises(otpy.ReceiveTimeout):
        await wait_msg("handled", timeout=0)
