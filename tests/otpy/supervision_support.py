"""Shared pieces of the supervision tests (DESIGN.md section 5).

Children are GenServers that report their life to the test process as messages: ``("init", id,
pid)`` when ``init`` runs and ``("terminate", id, reason)`` when ``terminate`` runs. The test's
mailbox is therefore an ordered log of starts and terminations, and waiting for one of those
messages is how a test knows a restart or a shutdown has happened: nothing waits on the clock.

A test is told to kill a child with a given reason (``die``) and then waits for the exact Down
message, as OTP's own supervisor suite does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import otpy
from otpy import ChildSpec, GenServer, Ok, Pid, Reply, Shutdown, Stop
from otpy.supervisor import which_children

from .support import exit_reason_of, wait_down

#: A guard for waits that are expected to end at once: it only bounds a failing test.
GUARD = 3.0

#: One way to make a child exit for each kind of exit reason of the restart table.
REASONS: dict[str, Any] = {
    "normal": "normal",
    "shutdown": "shutdown",
    "shutdown_term": Shutdown("bye"),
    "crash": "crash",  # replaced by a fresh Boom in `die`
    "killed": "killed",
}


class Boom(Exception):
    """The crash used throughout the tests."""


@dataclass(frozen=True)
class Opts:
    """What a Worker is started with.

    `to`: the process the worker reports ("init", ...) and ("terminate", ...) to.
    `trap`: trap exits, so that the supervisor's exit(shutdown) runs ``terminate``.
    `hold`: if set, ``terminate`` waits for this event before returning.
    `fail_init`: if set and already set when ``init`` runs, ``init`` raises Boom.
    `refusals`: while this list is not empty, each ``init`` removes one item and raises Boom.
    `on_init`: if set, ``init`` awaits ``on_init()`` first (e.g. ``HeldCleanup.start``).
    """

    id: str
    to: Pid
    trap: bool = True
    hold: asyncio.Event | None = None
    fail_init: asyncio.Event | None = None
    refusals: list[str] | None = None
    on_init: Callable[[], Awaitable[None]] | None = None


class Worker(GenServer):
    """A child that reports its init and terminate to the test and dies when told to."""

    async def init(self, arg: Opts) -> Any:
        if arg.trap:
            otpy.trap_exits(True)
        if arg.on_init is not None:
            await arg.on_init()
        otpy.send(arg.to, ("init", arg.id, self.pid))
        if arg.fail_init is not None and arg.fail_init.is_set():
            raise Boom(f"{arg.id} refuses to start")
        if arg.refusals:
            raise Boom(f"{arg.id} refuses to start: {arg.refusals.pop()}")
        return Ok(arg)

    async def handle_call(self, request: Any, from_: Any, state: Opts) -> Any:
        if request == "id":
            return Reply(state.id, state)
        return Reply(("echo", request), state)

    async def handle_cast(self, request: Any, state: Opts) -> Any:
        kind, value = request
        if kind == "raise":
            raise value
        return Stop(value, state)

    async def terminate(self, reason: Any, state: Opts) -> None:
        otpy.send(state.to, ("terminate", state.id, reason))
        if state.hold is not None:
            await state.hold.wait()


def worker(
    child_id: str,
    *,
    restart: str = "permanent",
    shutdown: Any = None,
    trap: bool = True,
    hold: asyncio.Event | None = None,
    fail_init: asyncio.Event | None = None,
    refusals: list[str] | None = None,
    to: Pid | None = None,
    name: Any = None,
    on_init: Callable[[], Awaitable[None]] | None = None,
) -> ChildSpec:
    """The child spec of a Worker with id `child_id` reporting to the calling test."""
    opts = Opts(child_id, to or otpy.self_pid(), trap, hold, fail_init, refusals, on_init)
    return Worker.child_spec(opts, id=child_id, restart=restart, shutdown=shutdown, name=name)


down_reason = exit_reason_of  # the support helper, under the name these tests use


async def die(pid: Pid, kind: str) -> Any:
    """Make the Worker `pid` exit with the reason named `kind` (a key of REASONS); wait for its
    Down and return the exact reason it carried. Its own terminate report (sent unless it was
    killed) is consumed here."""
    ref = otpy.monitor(pid)
    reason = REASONS[kind]
    if kind == "killed":
        otpy.exit(pid, "kill")
    elif kind == "crash":
        reason = Boom(f"{pid!r} told to crash")
        otpy.cast(pid, ("raise", reason))
    else:
        otpy.cast(pid, ("exit", reason))
    down = await wait_down(ref)
    if kind == "crash":
        assert down.reason is reason
    else:
        assert down.reason == reason
    # terminate ran before the exit (except on kill), so its report is already queued
    try:
        report = await otpy.receive(
            match=lambda m: _is_event(m) and m[0] == "terminate" and m[2] == down.reason,
            timeout=0,
        )
    except otpy.ReceiveTimeout:
        report = None
    assert (report is None) == (kind == "killed"), f"terminate report: {report!r}"
    return down.reason


def _is_event(m: Any) -> bool:
    return type(m) is tuple and len(m) == 3 and m[0] in ("init", "terminate")


async def next_event(timeout: float = GUARD) -> tuple[str, str, Any]:
    """The oldest ("init" | "terminate", id, pid | reason) report in the mailbox."""
    msg: tuple[str, str, Any] = await otpy.receive(match=_is_event, timeout=timeout)
    return msg


async def events(n: int) -> list[tuple[str, str]]:
    """The next `n` reports as (kind, id), in the order they happened."""
    return [(kind, cid) for kind, cid, _ in [await next_event() for _ in range(n)]]


async def started(child_id: str) -> Pid:
    """Wait for the ("init", child_id, pid) report and return the pid."""
    kind, cid, pid = await next_event()
    assert (kind, cid) == ("init", child_id), f"expected init of {child_id}, got {kind} {cid}"
    assert isinstance(pid, Pid)
    return pid


async def assert_no_events() -> None:
    """No start or termination has been reported beyond those already consumed."""
    try:
        msg = await otpy.receive(match=_is_event, timeout=0)
    except otpy.ReceiveTimeout:
        return
    raise AssertionError(f"unexpected report {msg!r}")


async def children(sup: Any) -> dict[Any, Any]:
    """which_children as {id: ChildInfo}."""
    return {c.id: c for c in await which_children(sup)}


async def pid_of(sup: Any, child_id: Any) -> Pid:
    """The running pid of child `child_id` of `sup`."""
    pid = (await children(sup))[child_id].pid
    assert isinstance(pid, Pid), f"child {child_id!r} is not running"
    return pid


async def stop_and_wait(sup: Pid) -> Any:
    """Stop a supervisor with otpy.stop and return its exit reason (from its Down)."""
    ref = otpy.monitor(sup)
    await otpy.stop(sup, "shutdown")
    return (await wait_down(ref)).reason
