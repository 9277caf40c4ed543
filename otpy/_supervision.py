"""Pieces shared by Supervisor and DynamicSupervisor: child records, restart rules, intensity,
starting a child and shutting one down. Private: the public face is otpy.supervisor."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

from otpy._runtime import _current
from otpy.child_spec import ChildSpec
from otpy.errors import AlreadyStarted, OtpyError, ReceiveTimeout, StartError
from otpy.process import demonitor, exit, monitor, receive, unlink
from otpy.values import KILL, SHUTDOWN, Down, Exit, Pid, is_normal_exit

__all__ = [
    "ChildCounts",
    "ChildInfo",
    "ChildNotFound",
    "ChildRunning",
    "ChildStartFailed",
    "DuplicateChild",
    "Intensity",
    "MaxChildren",
    "should_restart",
    "shutdown_child",
    "start_spec",
]


class ChildNotFound(OtpyError, LookupError):
    """No child with that id (or pid) is supervised here."""

    def __init__(self, key: Any) -> None:
        self.key = key
        super().__init__(f"no child {key!r} in this supervisor; see which_children()")


class ChildRunning(OtpyError):
    """The operation needs the child stopped first (terminate_child)."""

    def __init__(self, child_id: Any, pid: Pid | None) -> None:
        self.id = child_id
        self.pid = pid
        super().__init__(f"child {child_id!r} is running as {pid!r}; call terminate_child first")


class DuplicateChild(OtpyError):
    """A child with that id is already in the supervisor (`.pid` is None if it is not running)."""

    def __init__(self, child_id: Any, pid: Pid | None) -> None:
        self.id = child_id
        self.pid = pid
        state = f"running as {pid!r}" if pid is not None else "present but not running"
        super().__init__(
            f"child id {child_id!r} is already used in this supervisor ({state}); "
            "give each child a unique id (ChildSpec(id=...) or child_spec(arg, id=...))"
        )


class MaxChildren(OtpyError):
    """A DynamicSupervisor already runs its `max_children`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"this DynamicSupervisor already has max_children={limit} children; "
            "terminate one first or raise the limit"
        )


class ChildStartFailed(OtpyError):
    """A child failed to start while its supervisor was starting. `.id` and `.reason` say which
    child and why."""

    def __init__(self, child_id: Any, reason: Any) -> None:
        self.id = child_id
        self.reason = reason
        super().__init__(f"child {format_id(child_id)} failed to start: {reason!r}")


@dataclass(frozen=True, slots=True)
class ChildInfo:
    """One row of ``which_children``. `status` is "running", "restarting" or "undefined"."""

    id: Any
    pid: Pid | None
    type: str
    restart: str
    status: str
    restarts: int


@dataclass(frozen=True, slots=True)
class ChildCounts:
    """The result of ``count_children``."""

    specs: int
    active: int
    supervisors: int
    workers: int


def format_id(child_id: Any) -> str:
    """A child id for logs and messages: a class by its name, anything else by repr."""
    if isinstance(child_id, type):
        return child_id.__qualname__
    if isinstance(child_id, str):
        return child_id
    return repr(child_id)


class Child:
    """A supervisor's record of one child."""

    __slots__ = ("pid", "restarting", "restarts", "spec")

    def __init__(self, spec: ChildSpec, pid: Pid | None = None) -> None:
        self.spec = spec
        self.pid = pid
        self.restarting = False
        self.restarts = 0

    def info(self) -> ChildInfo:
        if self.pid is not None:
            status = "running"
        elif self.restarting:
            status = "restarting"
        else:
            status = "undefined"
        return ChildInfo(
            self.spec.id, self.pid, self.spec.type, self.spec.restart, status, self.restarts
        )


def should_restart(restart: str, reason: Any) -> bool:
    """The restart table of DESIGN.md section 5."""
    if restart == "permanent":
        return True
    if restart == "transient":
        return not is_normal_exit(reason)
    return False


class Intensity:
    """Restarts counted over a sliding window of `max_seconds`."""

    __slots__ = ("max_restarts", "max_seconds", "stamps")

    def __init__(self, max_restarts: int, max_seconds: float) -> None:
        self.max_restarts = max_restarts
        self.max_seconds = max_seconds
        self.stamps: deque[float] = deque()

    def add(self) -> bool:
        """Count one restart now; False if that exceeds the intensity."""
        now = asyncio.get_running_loop().time()
        stamps = self.stamps
        stamps.append(now)
        horizon = now - self.max_seconds
        while stamps and stamps[0] < horizon:
            stamps.popleft()
        return len(stamps) <= self.max_restarts

    def count(self) -> int:
        return len(self.stamps)


class _StartFailure(Exception):
    def __init__(self, reason: Any) -> None:
        self.reason = reason


async def start_spec(spec: ChildSpec, extra: tuple[Any, ...] = ()) -> Pid | None:
    """Run a child's start function; raise _StartFailure(reason) if it fails."""
    fn, args = spec.start_call
    try:
        pid = await fn(*extra, *args)
    except StartError as e:
        raise _StartFailure(e.reason) from None
    except AlreadyStarted as e:
        raise _StartFailure(("already_started", e.pid)) from None
    except Exception as e:
        raise _StartFailure(e) from None
    if pid is not None and not isinstance(pid, Pid):
        raise _StartFailure(
            TypeError(
                f"start function of child {format_id(spec.id)} returned {pid!r}; "
                "it must return the child's Pid, or None to be ignored"
            )
        )
    return pid


def _is_down(ref: Any) -> Any:
    return lambda m: type(m) is Down and m.ref == ref


async def shutdown_child(pid: Pid, policy: Any) -> Any:
    """Stop a linked child as OTP does; return its exit reason. Runs in the supervisor process.

    Monitor it, unlink it, send exit(shutdown), wait up to `policy` seconds for the Down, then
    kill it. ``brutal_kill`` kills at once; ``infinity`` waits as long as it takes.
    """
    ref = monitor(pid)
    unlink(pid)
    early: Any = None
    me = _current()
    assert me is not None
    # it may have exited before the unlink: its Exit is queued
    i = me.find(lambda m: type(m) is Exit and m.pid == pid)
    if i >= 0:
        early = me.take_at(i).reason
    if early is None:
        exit(pid, KILL if policy == "brutal_kill" else SHUTDOWN)
    timeout = None if policy in ("brutal_kill", "infinity") else float(policy)
    try:
        down = await receive(timeout, _is_down(ref))
    except ReceiveTimeout:
        exit(pid, KILL)
        down = await receive(None, _is_down(ref))
    demonitor(ref, flush=True)
    return early if early is not None else down.reason
