"""Hosting a behaviour (otpy.behaviour), through the worked example of the how-to page: Ticker."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

import otpy

from .support import GUARD, Boom, exit_reason_of, wait_msg
from .ticker_behaviour import Halt, Tick, Ticker, ticks


class Counting(Ticker):
    """Reports each tick to the test and halts at the third; also has its own handle_info and
    handle_call, whose names the host uses too."""

    async def init(self, arg: Any) -> Tick:
        return Tick({"test": arg, "seen": []})

    async def handle_tick(self, n: int, state: Any) -> Tick | Halt:
        otpy.send(state["test"], ("tick", n))
        return Halt(state) if n == 3 else Tick(state)

    async def handle_info(self, msg: Any, state: Any) -> Tick:
        state["seen"].append(msg)
        return Tick(state)

    async def handle_call(self, request: Any, from_: otpy.From, state: Any) -> Tick:
        if request == "seen":
            otpy.reply(from_, list(state["seen"]))
        return Tick(state)

    async def terminate(self, reason: Any, state: Any) -> None:
        otpy.send(state["test"], ("terminated", reason))


async def test_host_calls_the_modules_callback_with_the_behaviours_results() -> None:
    pid = await Counting.start_link(otpy.self_pid(), interval=0.001)
    assert [(await wait_msg("tick"))[1] for _ in range(3)] == [1, 2, 3]
    assert await ticks(pid) == 3  # Halt(state) stopped the ticking, the process stays
    await otpy.stop(pid)


async def test_the_hosts_own_timer_message_never_reaches_the_modules_handle_info() -> None:
    pid = await Counting.start_link(otpy.self_pid(), interval=0.001)
    for _ in range(3):
        await wait_msg("tick")
    otpy.send(pid, "hello")
    assert await otpy.call(pid, "seen") == ["hello"]  # three ticks went by, unseen
    await otpy.stop(pid)


async def test_a_call_the_host_answers_itself_and_a_users_call_both_work() -> None:
    pid = await Counting.start_link(otpy.self_pid(), interval=3600)
    assert await ticks(pid) == 0
    assert await otpy.call(pid, "seen") == []
    await otpy.stop(pid)


async def test_terminate_of_the_module_runs_on_stop() -> None:
    pid = await Counting.start(otpy.self_pid(), interval=3600)
    await otpy.stop(pid, "shutdown")
    assert await wait_msg("terminated") == ("terminated", "shutdown")


class BadTick(Ticker):
    async def handle_tick(self, n: int, state: Any) -> Any:
        return "not a result"


async def test_a_bad_result_crashes_with_bad_return_naming_the_module_class() -> None:
    pid = await BadTick.start(None, interval=0.001)  # unlinked: the crash is the thing under test
    reason = await exit_reason_of(pid)
    assert isinstance(reason, otpy.BadReturn)
    assert reason.cls is BadTick and reason.callback == "handle_tick"
    assert "BadTick.handle_tick returned 'not a result'" in str(reason)


async def test_a_call_the_module_does_not_handle_names_the_module_and_the_process() -> None:
    pid = await Ticker.start_link(None, interval=3600, name="plain_ticker")
    otpy.trap_exits(True)
    try:
        with pytest.raises(otpy.ServerExited) as err:
            await otpy.call(pid, "what?")
        reason = err.value.reason
        assert isinstance(reason, otpy.Unhandled)
        assert "Ticker" in str(reason) and repr(pid) in str(reason)
    finally:
        otpy.trap_exits(False)


async def test_the_process_is_labelled_with_the_modules_class_in_crash_reports() -> None:
    class Crashes(Ticker):
        async def handle_tick(self, n: int, state: Any) -> Tick:
            raise Boom("tick failed")

    with capture_logs() as logs:
        pid = await Crashes.start(None, interval=0.001)
        assert isinstance(await exit_reason_of(pid), Boom)
    crash = [e for e in logs if e["event"] == "process_crashed"]
    assert crash and crash[0]["process"].endswith("Crashes")


async def test_a_failing_module_init_fails_the_start_with_start_error() -> None:
    class NoStart(Ticker):
        async def init(self, arg: Any) -> Tick:
            raise Boom("no")

    with pytest.raises(otpy.StartError) as err:
        await NoStart.start_link(None, interval=1)
    assert isinstance(err.value.reason, Boom)
    assert "NoStart" in str(err.value)


async def test_a_hosted_behaviour_is_supervised_and_registered_by_name_like_any_server() -> None:
    sup = await otpy.Supervisor.start([Counting.child_spec(otpy.self_pid(), interval=0.001)])
    (child,) = await otpy.supervisor.which_children(sup)
    assert child.id is Counting and child.pid is not None
    for _ in range(3):
        await wait_msg("tick")
    otpy.exit(child.pid, "kill")
    assert [(await wait_msg("tick", GUARD))[1] for _ in range(3)] == [1, 2, 3]  # restarted
    await otpy.stop(sup)


def test_a_module_callback_must_be_async() -> None:
    with pytest.raises(TypeError, match="async def"):

        class Sync(Ticker):
            def handle_tick(self, n: int, state: Any) -> Tick:  # type: ignore[override]
                return Tick(state)


class _Releases(otpy.behaviour.BehaviourServer):
    async def init_module(self, arg: Any) -> Any:
        self.test = arg
        return otpy.Ok(None)

    def exited(self, reason: Any) -> None:
        otpy.send(self.test, ("exited", reason))


class _Module(otpy.behaviour.Behaviour):
    pass


async def test_exited_runs_however_the_process_ends_a_kill_included() -> None:
    pid = await otpy.behaviour.start(_Releases, _Module, otpy.self_pid())
    assert pid is not None
    otpy.exit(pid, "kill")
    assert await wait_msg("exited") == ("exited", "killed")


class _FailsToRelease(_Releases):
    def exited(self, reason: Any) -> None:
        raise Boom("cannot release")


async def test_a_failing_exited_is_logged_and_the_exit_still_notified() -> None:
    with capture_logs() as logs:
        pid = await otpy.behaviour.start(_FailsToRelease, _Module, otpy.self_pid())
        assert pid is not None
        assert await exit_reason_of_stop(pid) == "normal"
    assert any(e["event"] == "behaviour_exit_failed" for e in logs)


async def exit_reason_of_stop(pid: otpy.Pid) -> Any:
    ref = otpy.monitor(pid)
    await otpy.stop(pid)
    down = await otpy.receive(match=lambda m: type(m) is otpy.Down and m.ref == ref, timeout=GUARD)
    return down.reason
