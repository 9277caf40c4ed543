"""The values processes exchange: pids, refs, exit reasons and the Exit and Down messages."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

__all__ = [
    "KILL",
    "KILLED",
    "NOPROC",
    "NORMAL",
    "SHUTDOWN",
    "Down",
    "Exit",
    "ExitProcess",
    "Pid",
    "Ref",
    "Shutdown",
    "is_normal_exit",
]

NORMAL = "normal"
SHUTDOWN = "shutdown"
KILL = "kill"
KILLED = "killed"
NOPROC = "noproc"

_pid_ids = itertools.count(1)
_ref_ids = itertools.count(1)


@dataclass(frozen=True, slots=True, order=True)
class Pid:
    """A process identifier. Pids are never reused, so a stale pid never reaches a new process."""

    id: int

    def __repr__(self) -> str:
        return f"<0.{self.id}.0>"


@dataclass(frozen=True, slots=True)
class Ref:
    """A unique reference, as returned by :func:`monitor`."""

    id: int

    def __repr__(self) -> str:
        return f"#Ref<{self.id}>"


@dataclass(frozen=True, slots=True)
class Shutdown:
    """The exit reason ``{:shutdown, term}``: an orderly stop that carries a term."""

    term: Any


@dataclass(frozen=True, slots=True)
class Exit:
    """Message a process trapping exits receives when a linked process exits, or on `exit()`."""

    pid: Pid | None
    reason: Any


@dataclass(frozen=True, slots=True)
class Down:
    """Message a monitoring process receives when the monitored process exits."""

    ref: Ref
    pid: Any
    reason: Any


class ExitProcess(BaseException):
    """Raise inside a process to end it with `reason` (``exit(reason)`` in Erlang)."""

    def __init__(self, reason: Any = NORMAL) -> None:
        super().__init__(reason)
        self.reason = reason


def is_normal_exit(reason: Any) -> bool:
    """True for reasons that are not errors: ``normal``, ``shutdown`` and ``Shutdown(term)``."""
    return isinstance(reason, Shutdown) or (
        isinstance(reason, str) and reason in (NORMAL, SHUTDOWN)
    )
