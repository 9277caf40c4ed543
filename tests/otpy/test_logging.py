"""What process exits log (the "logged as error" column of DESIGN.md section 3)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from structlog.testing import capture_logs

import otpy
from otpy import From, GenServer, Reply, Stop

from .support import Boom, exit_on_command, wait_down, wait_msg


def errors(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["log_level"] in ("error", "critical")]


async def _exit_with(reason: Any) -> tuple[otpy.Pid, list[dict[str, Any]]]:
    """Run a process that exits with `reason` (raising it if it is an exception); its logs."""
    with capture_logs() as events:
        pid = otpy.spawn(exit_on_command)
        ref = otpy.monitor(pid)
        otpy.send(pid, reason)
        await wait_down(ref)
    return pid, events


class Server(GenServer):
    async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        if request == "crash":
            raise Boom("handle_call crashed")
        return Reply(request, state)

    async def handle_cast(self, request: Any, state: Any) -> Any:
        return Stop(request, state)


async def test_crash_logs_exactly_one_error_with_pid_reason_and_traceback() -> None:
    err = Boom("crash")
    pid, events = await _exit_with(err)
    [event] = errors(events)
    assert event["pid"] == repr(pid)
    assert "Boom" in event["reason"] and "crash" in event["reason"]
    assert event["exc_info"] is err
    assert err.__traceback__ is not None


async def test_normal_exit_logs_no_error() -> None:
    _, events = await _exit_with("normal")
    assert errors(events) == []


async def test_shutdown_exit_logs_no_error() -> None:
    _, events = await _exit_with("shutdown")
    assert errors(events) == []


async def test_shutdown_term_exit_logs_no_error() -> None:
    _, events = await _exit_with(otpy.Shutdown("bye"))
    assert errors(events) == []


async def test_killed_process_logs_one_error_with_reason_killed() -> None:
    with capture_logs() as events:
        pid = otpy.spawn(exit_on_command)
        ref = otpy.monitor(pid)
        otpy.exit(pid, "kill")
        await wait_down(ref)
    [event] = errors(events)
    assert event["pid"] == repr(pid)
    assert "killed" in event["reason"]


async def test_genserver_callback_crash_logs_exactly_one_error_with_traceback() -> None:
    pid = await Server.start(None)
    with capture_logs() as events:
        with pytest.raises(otpy.ServerExited) as exc_info:
            await otpy.call(pid, "crash")
        reason = exc_info.value.reason
    [event] = errors(events)
    assert event["pid"] == repr(pid)
    assert event["exc_info"] is reason
    assert "handle_call crashed" in event["reason"]


async def test_genserver_bad_return_logs_exactly_one_error() -> None:
    class Bad(GenServer):
        async def handle_cast(self, request: Any, state: Any) -> Any:
            return "not a return value"

    pid = await Bad.start(None)
    with capture_logs() as events:
        ref = otpy.monitor(pid)
        otpy.cast(pid, "go")
        reason = (await wait_down(ref)).reason
    [event] = errors(events)
    assert isinstance(reason, otpy.BadReturn)
    assert event["exc_info"] is reason
    assert "Bad.handle_cast" in event["reason"]


async def test_genserver_stop_normal_logs_no_error() -> None:
    pid = await Server.start(None)
    with capture_logs() as events:
        await otpy.stop(pid)
    assert errors(events) == []


async def test_genserver_stop_return_with_shutdown_logs_no_error() -> None:
    pid = await Server.start(None)
    with capture_logs() as events:
        ref = otpy.monitor(pid)
        otpy.cast(pid, otpy.Shutdown("done"))
        await wait_down(ref)
    assert errors(events) == []


async def test_genserver_stop_return_with_other_reason_logs_one_error() -> None:
    pid = await Server.start(None)
    with capture_logs() as events:
        ref = otpy.monitor(pid)
        otpy.cast(pid, "gave up")
        await wait_down(ref)
    [event] = errors(events)
    assert event["pid"] == repr(pid)
    assert "gave up" in event["reason"]


async def test_error_event_names_a_registered_process() -> None:
    pid = otpy.spawn(exit_on_command)
    otpy.register("named-crasher", pid)
    with capture_logs() as events:
        ref = otpy.monitor(pid)
        otpy.send(pid, Boom("crash"))
        await wait_down(ref)
    [event] = errors(events)
    assert event["name"] == "named-crasher"


async def test_unexpected_message_is_logged_at_debug() -> None:
    pid = await Server.start(None)
    with capture_logs() as events:
        otpy.send(pid, "surprise")
        assert await otpy.call(pid, "still there?") == "still there?"
    [event] = [e for e in events if e["event"] == "unexpected_message"]
    assert event["log_level"] == "debug"
    assert event["msg"] == repr("surprise")
    assert errors(events) == []


async def test_helper_crash_logs_exactly_one_error_with_traceback() -> None:
    me = otpy.self_pid()
    err = Boom("helper crashed")
    go = asyncio.Event()

    async def helper() -> None:
        await go.wait()
        raise err

    async def owner() -> None:
        otpy.start_task(helper())
        otpy.send(me, ("started",))
        await asyncio.Event().wait()

    pid = otpy.spawn(owner)
    await wait_msg("started")
    with capture_logs() as events:
        ref = otpy.monitor(pid)
        go.set()
        assert (await wait_down(ref)).reason is err
    [event] = errors(events)
    assert event["pid"] == repr(pid)
    assert event["exc_info"] is err

