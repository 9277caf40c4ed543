"""A consistent picture of every process and supervision tree of the running event loop.

::

    snap = otpy.observer.snapshot()
    for root in snap.roots:
        print(snap.supervisor(root))
    busy = [p for p in snap.processes if p.message_queue_len > 100]

:func:`snapshot` reads the process table directly, in one go and without awaiting, so what it
returns is one instant: no process can start, exit or restart halfway through it, and it sends
no message to anyone (a supervisor that is busy restarting is not asked anything). It must be
called from the event loop's thread. The observer's page, and any other tool (a ``top``, a
metrics exporter), is built on it.

A process can add what only it knows by defining ``observer_status(self)`` on its GenServer (or
behaviour host): a cheap, synchronous method whose return value (a dataclass or a mapping) is
kept as :attr:`ProcessSnapshot.status`. wsclient's clients return their ``wsclient.Stats``.
"""

from __future__ import annotations

import dataclasses
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from otpy._runtime import _Process, _rt
from otpy._supervision import format_id
from otpy.behaviour import BehaviourServer
from otpy.log import logger
from otpy.values import Pid

__all__ = ["ChildSnapshot", "ProcessSnapshot", "Snapshot", "SupervisorSnapshot", "snapshot"]


@dataclass(frozen=True, slots=True)
class ProcessSnapshot:
    """One live process."""

    pid: Pid
    #: Its local names (the first is the one shown).
    names: tuple[str, ...]
    #: What it runs: the callback class's name for a GenServer or a behaviour (``"Ticker"``,
    #: ``"Supervisor"``), the function's name for a spawned function, ``"external"`` for a plain
    #: asyncio task that used otpy.
    label: str | None
    #: The callback class with its module (``"myapp.feeds.Ticker"``), or None.
    module: str | None
    #: "supervisor", "dynamic_supervisor", "genserver", "process" or "external".
    kind: str
    message_queue_len: int
    #: Seconds since it started.
    uptime: float
    links: tuple[Pid, ...]
    #: The processes it monitors.
    monitors: tuple[Pid, ...]
    #: The processes that monitor it.
    monitored_by: tuple[Pid, ...]
    trap_exit: bool
    #: Helper tasks it runs (``otpy.start_task``).
    helpers: int
    #: What its ``observer_status()`` returned (a wsclient client: its ``wsclient.Stats``), or
    #: None.
    status: Any = None

    @property
    def name(self) -> str | None:
        return self.names[0] if self.names else None


@dataclass(frozen=True, slots=True)
class ChildSnapshot:
    """One child of a supervisor, as ``which_children`` reports it."""

    #: The child's id as logs print it: a class id as its name, a string as itself.
    id: str
    pid: Pid | None
    #: "worker" or "supervisor".
    type: str
    #: "permanent", "transient" or "temporary".
    restart: str
    #: "running", "restarting" (being started again: a restart under way, or one that failed
    #: and will be tried again) or "undefined"
    #: (stopped, and not to be restarted: terminated, or a transient child that ended).
    status: str
    #: How many times the supervisor has restarted it.
    restarts: int


@dataclass(frozen=True, slots=True)
class SupervisorSnapshot:
    """One supervisor: its flags and its children, in start order."""

    pid: Pid
    label: str
    strategy: str
    dynamic: bool
    max_restarts: int
    max_seconds: float
    #: Restarts within the last ``max_seconds`` (the supervisor dies after more than
    #: ``max_restarts``).
    restarts_in_window: int
    children: tuple[ChildSnapshot, ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every live process and supervisor of the event loop at one instant."""

    #: When it was taken (``time.time()``).
    taken_at: float
    #: Every live process, in pid order.
    processes: tuple[ProcessSnapshot, ...]
    #: Every supervisor, in pid order.
    supervisors: tuple[SupervisorSnapshot, ...]
    #: The supervisors no supervisor supervises: the tops of the trees.
    roots: tuple[Pid, ...]

    def process(self, pid: Pid) -> ProcessSnapshot | None:
        """The process `pid`, or None if it was not alive."""
        for p in self.processes:
            if p.pid == pid:
                return p
        return None

    def supervisor(self, pid: Pid) -> SupervisorSnapshot | None:
        """The supervisor `pid`, or None if it is not one (or was not alive)."""
        for s in self.supervisors:
            if s.pid == pid:
                return s
        return None

    def outside_trees(self) -> tuple[ProcessSnapshot, ...]:
        """The processes that are neither a supervisor nor any supervisor's child."""
        inside = {s.pid for s in self.supervisors}
        inside.update(c.pid for s in self.supervisors for c in s.children if c.pid is not None)
        return tuple(p for p in self.processes if p.pid not in inside)

    def to_json(self) -> dict[str, Any]:
        """The snapshot as JSON-ready data: pids as their text (``"<0.12.0>"``) and each
        status as a mapping, with ``status_type`` naming its class."""
        return {
            "taken_at": self.taken_at,
            "processes": [_process_json(p) for p in self.processes],
            "supervisors": [_supervisor_json(s) for s in self.supervisors],
            "roots": [repr(p) for p in self.roots],
        }


def snapshot() -> Snapshot:
    """Take a :class:`Snapshot` of the current event loop's processes (from its thread)."""
    rt = _rt()
    now = time.monotonic()
    processes: list[ProcessSnapshot] = []
    supervisors: list[SupervisorSnapshot] = []
    for proc in sorted(rt.procs.values(), key=lambda p: p.pid.id):
        if not proc.alive or proc.exiting:
            continue  # an exiting process is shown gone: its helpers may still be winding down
        processes.append(_process(proc, now))
        sup = _supervisor(proc)
        if sup is not None:
            supervisors.append(sup)
    children = {c.pid for s in supervisors for c in s.children if c.pid is not None}
    roots = tuple(s.pid for s in supervisors if s.pid not in children)
    return Snapshot(time.time(), tuple(processes), tuple(supervisors), roots)


def _process(proc: _Process, now: float) -> ProcessSnapshot:
    server = proc.behaviour
    module: str | None = None
    if server is not None:
        # a behaviour host runs a module; any other GenServer is its own callback class (it may
        # well have an attribute named `module` of its own)
        target = server.module if isinstance(server, BehaviourServer) else server
        cls = type(target)
        module = f"{cls.__module__}.{cls.__qualname__}"
    return ProcessSnapshot(
        pid=proc.pid,
        names=tuple(proc.names),
        label=proc.label,
        module=module,
        kind=_kind(proc),
        message_queue_len=len(proc.mailbox),
        uptime=max(now - proc.started, 0.0),
        links=tuple(sorted(p.pid for p in proc.links)),
        monitors=tuple(sorted(p.pid for p in proc.monitors.values())),
        monitored_by=tuple(sorted(p.pid for p in proc.monitored_by.values())),
        trap_exit=proc.trap_exit,
        helpers=len(proc.helpers),
        status=_status(proc),
    )


def _kind(proc: _Process) -> str:
    if proc.external:
        return "external"
    server = proc.behaviour
    if server is None:
        return "process"
    if _is_supervisor(server):
        return "dynamic_supervisor" if server.dynamic else "supervisor"
    return "genserver"


def _is_supervisor(server: Any) -> bool:
    from otpy._supervisor_server import SupervisorServer

    return isinstance(server, SupervisorServer) and hasattr(server, "children")


def _supervisor(proc: _Process) -> SupervisorSnapshot | None:
    server = proc.behaviour
    if server is None or not _is_supervisor(server):
        return None
    intensity = server.intensity
    horizon = proc.rt.loop.time() - intensity.max_seconds  # the window is on the loop's clock
    in_window = sum(1 for t in intensity.stamps if t >= horizon)
    kids = tuple(
        ChildSnapshot(format_id(i.id), i.pid, i.type, i.restart, i.status, i.restarts)
        for i in (c.info() for c in server.children.values())
    )
    return SupervisorSnapshot(
        pid=proc.pid,
        label=server.label,
        strategy=server.strategy,
        dynamic=server.dynamic,
        max_restarts=intensity.max_restarts,
        max_seconds=intensity.max_seconds,
        restarts_in_window=in_window,
        children=kids,
    )


def _status(proc: _Process) -> Any:
    hook = getattr(proc.behaviour, "observer_status", None)
    if hook is None:
        return None
    try:
        return hook()
    except Exception as e:  # a broken hook must not break the picture of everything else
        if proc not in _warned:  # once per process, not at every snapshot
            _warned.add(proc)
            logger(pid=repr(proc.pid)).warning("observer_status_failed", reason=repr(e))
        return None


#: The processes whose broken observer_status has been logged already.
_warned: weakref.WeakSet[_Process] = weakref.WeakSet()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Pid):
        return repr(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _process_json(p: ProcessSnapshot) -> dict[str, Any]:
    out = {
        f.name: _jsonable(getattr(p, f.name)) for f in dataclasses.fields(p) if f.name != "status"
    }
    status = p.status
    try:
        out["status"] = _jsonable(status)
    except Exception as e:  # a status that cannot be shown (e.g. one that contains itself)
        out["status"] = f"<observer_status() returned what cannot be shown: {type(e).__name__}>"
    out["status_type"] = (
        None if status is None else f"{type(status).__module__}.{type(status).__qualname__}"
    )
    out["name"] = p.name
    return out


def _supervisor_json(s: SupervisorSnapshot) -> dict[str, Any]:
    return _jsonable(s)  # type: ignore[no-any-return]
