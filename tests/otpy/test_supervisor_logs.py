"""Supervision events are structlog events carrying the supervisor's name and the child's id, pid,
reason and restart count (DESIGN.md section 5)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest
from structlog.testing import capture_logs

import otpy
from otpy import StartError, Supervisor
from otpy.supervisor import terminate_child, which_children

from .supervision_support import Boom, die, events, started, wait_down, worker

Entry = MutableMapping[str, Any]


def _named(logs: list[Entry], event: str) -> list[Entry]:
    return [e for e in logs if e["event"] == event]


async def test_child_started_is_logged_with_supervisor_name_child_id_and_pid() -> None:
    with capture_logs() as logs:
        sup = await Supervisor.start_link([worker("a"), worker("b")], name="logged_app")
        a = await started("a")
        b = await started("b")

    got = [(e["supervisor"], e["child_id"], e["pid"]) for e in _named(logs, "child_started")]
    assert got == [("logged_app", "a", repr(a)), ("logged_app", "b", repr(b))]
    assert all(e["log_level"] == "info" for e in _named(logs, "child_started"))
    assert sup is not None
    await otpy.stop(sup)


async def test_child_exited_is_logged_with_its_reason() -> None:
    with capture_logs() as logs:
        sup = await Supervisor.start_link([worker("a", restart="transient")], max_seconds=3600)
        assert sup is not None
        a = await started("a")
        crash = await die(a, "crash")
        a2 = await started("a")
        await die(a2, "normal")
        await which_children(sup)  # answered once the exit has been handled

    exited = _named(logs, "child_exited")
    assert [(e["supervisor"], e["child_id"], e["pid"], e["reason"]) for e in exited] == [
        ("Supervisor", "a", repr(a), repr(crash)),
        ("Supervisor", "a", repr(a2), repr("normal")),
    ]
    assert exited[0]["log_level"] in ("warning", "error")  # an abnormal exit
    assert exited[1]["log_level"] == "info"  # an orderly one is not an error
    await otpy.stop(sup)


async def test_child_restarted_is_logged_with_the_restarts_in_the_window() -> None:
    with capture_logs() as logs:
        sup = await Supervisor.start_link([worker("a")], name="restarter", max_seconds=3600)
        a = await started("a")
        await die(a, "killed")
        a2 = await started("a")
        await die(a2, "crash")
        a3 = await started("a")
        await which_children(sup)  # answered once the restart is complete (and logged)

    restarted = _named(logs, "child_restarted")
    assert [
        (e["supervisor"], e["child_id"], e["pid"], e["restarts_in_window"]) for e in restarted
    ] == [("restarter", "a", repr(a2), 1), ("restarter", "a", repr(a3), 2)]
    assert sup is not None
    await otpy.stop(sup)


async def test_restart_events_carry_the_old_pid_the_reason_and_the_child_restart_count() -> None:
    with capture_logs() as logs:
        sup = await Supervisor.start_link([worker("a")], max_seconds=3600)
        a = await started("a")
        crash = await die(a, "crash")
        a2 = await started("a")
        await which_children(sup)  # answered once the restart is complete (and logged)

    (restarted,) = _named(logs, "child_restarted")
    assert (restarted["pid"], restarted["old_pid"]) == (repr(a2), repr(a))
    assert (restarted["reason"], restarted["restarts"]) == (repr(crash), 1)
    assert [e["restarts"] for e in _named(logs, "child_started")] == [0, 1]
    assert [e["restarts"] for e in _named(logs, "child_exited")] == [0]
    assert sup is not None
    await otpy.stop(sup)


async def test_intensity_reached_and_supervisor_shutdown_are_logged() -> None:
    otpy.trap_exits()
    with capture_logs() as logs:
        sup = await Supervisor.start_link(
            [worker("a"), worker("b")], name="fragile", max_restarts=0
        )
        assert sup is not None
        ref = otpy.monitor(sup)
        await started("a")
        await die(await started("b"), "crash")
        assert (await wait_down(ref)).reason == "shutdown"

    (reached,) = _named(logs, "intensity_reached")
    assert (reached["supervisor"], reached["child_id"], reached["log_level"]) == (
        "fragile",
        "b",
        "error",
    )
    assert (reached["max_restarts"], reached["max_seconds"]) == (0, 5.0)
    (down,) = _named(logs, "supervisor_shutdown")
    assert (down["supervisor"], down["reason"]) == ("fragile", repr("shutdown"))
    # the children were terminated after the intensity was reached, before the supervisor went
    order = [e["event"] for e in logs if e["event"] in ("intensity_reached", "child_terminated")]
    assert order == ["intensity_reached", "child_terminated"]
    assert logs.index(down) > logs.index(reached)
    assert _named(logs, "child_restarted") == []


async def test_supervisor_shutdown_is_logged_on_stop_after_its_children_terminated() -> None:
    with capture_logs() as logs:
        sup = await Supervisor.start_link([worker("a"), worker("b")], name="stopped_app")
        assert sup is not None
        a, b = await started("a"), await started("b")
        await otpy.stop(sup)

    terminated = _named(logs, "child_terminated")
    assert [(e["supervisor"], e["child_id"], e["pid"], e["reason"]) for e in terminated] == [
        ("stopped_app", "b", repr(b), repr("shutdown")),
        ("stopped_app", "a", repr(a), repr("shutdown")),
    ]
    (down,) = _named(logs, "supervisor_shutdown")
    assert (down["supervisor"], down["reason"]) == ("stopped_app", repr("normal"))
    assert logs.index(down) > logs.index(terminated[-1])


async def test_terminate_child_is_logged_with_the_exit_reason() -> None:
    with capture_logs() as logs:
        sup = await Supervisor.start_link([worker("brute", shutdown="brutal_kill")])
        assert sup is not None
        pid = await started("brute")
        await terminate_child(sup, "brute")

    (entry,) = _named(logs, "child_terminated")
    assert (entry["child_id"], entry["pid"], entry["reason"]) == ("brute", repr(pid), "'killed'")
    await otpy.stop(sup)


async def test_child_start_failure_at_boot_is_logged_with_the_child_id_and_reason() -> None:
    with capture_logs() as logs, pytest.raises(StartError):
        await Supervisor.start_link([worker("a"), otpy.ChildSpec("bad", (_fails, ()))], name="boot")
    await events(2)  # a started and was shut down again

    (entry,) = _named(logs, "child_start_failed")
    assert (entry["supervisor"], entry["child_id"], entry["log_level"]) == ("boot", "bad", "error")
    assert "no luck" in entry["reason"]


async def _fails() -> Any:
    raise Boom("no luck")
