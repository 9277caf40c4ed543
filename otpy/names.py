"""Local names: a string registered to a process for the rest of its life."""

from __future__ import annotations

from typing import Any

from otpy._runtime import _lookup, _me, _pid_of, _rt
from otpy.errors import NoProcess
from otpy.values import Pid

__all__ = ["register", "registered", "unregister", "whereis"]


def register(name: str, pid: Pid | None = None) -> None:
    """Register `pid` (default: the caller) under `name` for the rest of its life.

    Raises :class:`~otpy.AlreadyStarted` if the name is taken, NoProcess if `pid` is dead.
    """
    from otpy.errors import AlreadyStarted

    if not isinstance(name, str) or not name:
        raise TypeError(f"a process name must be a non-empty str, not {name!r}")
    rt = _rt()
    proc = _me() if pid is None else _lookup(pid, "register")
    holder = rt.names.get(name)
    if holder is not None and holder.id in rt.procs:
        raise AlreadyStarted(name, holder)
    proc.add_name(name)


def unregister(name: str) -> None:
    """Remove the registered `name`. Raises NoProcess if nobody holds it."""
    rt = _rt()
    pid = rt.names.get(name)
    if pid is None:
        raise NoProcess(name, "unregister")
    proc = rt.procs.get(pid.id)
    if proc is not None:
        proc.remove_name(name)
    else:
        rt.forget_name(name)


def whereis(name: Any) -> Pid | None:
    """The pid registered under `name` (a str or a Via), or None."""
    return _pid_of(name)


def registered() -> list[str]:
    """All registered local names."""
    return list(_rt().names)
