"""The process table behind otpy.process: one runtime per event loop, the record of each process,
and what happens when a process exits (links, monitors, names and callers are told). Private."""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from otpy.errors import NoProcess, NotAProcess
from otpy.log import logger
from otpy.values import (
    KILL,
    KILLED,
    NORMAL,
    SHUTDOWN,
    Down,
    Exit,
    ExitProcess,
    Pid,
    Ref,
    _pid_ids,
    is_normal_exit,
)


class _Timeouts:
    """Call deadlines, kept in one queue per timeout value instead of one timer per call.

    Calls with the same timeout expire in the order they were made, so each queue is sorted by
    deadline; one timer per queue fires at its earliest live deadline. Answered calls are dropped
    lazily: from the head as they come, and by compacting a queue that has doubled in length
    since its last compaction (a slow call at the head must not pin every later answered one).
    This costs a tuple and a deque append per call, where ``loop.call_later`` costs a heap push
    and a cancelled TimerHandle.
    """

    __slots__ = ("compact_at", "queues", "timers")

    def __init__(self) -> None:
        self.queues: dict[float, deque[tuple[float, asyncio.Future[Any], Any, Any]]] = {}
        self.timers: dict[float, asyncio.TimerHandle] = {}
        self.compact_at: dict[float, int] = {}

    def add(
        self,
        loop: asyncio.AbstractEventLoop,
        fut: asyncio.Future[Any],
        timeout: float,
        dest: Any,
        request: Any,
    ) -> None:
        if (
            (type(timeout) is not float
            and not isinstance(timeout, (int, float)))
            or timeout != timeout
        ):
            raise TypeError(f"timeout must be a number of seconds or None, not {timeout!r}")
        q = self.queues.get(timeout)
        if q is None:
            q = self.queues[timeout] = deque()
            self.compact_at[timeout] = _COMPACT_MIN
        else:
            while q and q[0][1].done():
                q.popleft()
            if len(q) >= self.compact_at[timeout]:
                q = self.queues[timeout] = deque(e for e in q if not e[1].done())
                self.compact_at[timeout] = max(_COMPACT_MIN, 2 * len(q))
        deadline = loop.time() + timeout
        q.append((deadline, fut, dest, request))
        if timeout not in self.timers:
            self.timers[timeout] = loop.call_at(deadline, self._fire, timeout)

    def _fire(self, timeout: float) -> None:
        from otpy.errors import CallTimeout

        loop = asyncio.get_running_loop()
        del self.timers[timeout]
        q = self.queues[timeout]
        now = loop.time()
        while q:
            deadline, fut, dest, request = q[0]
            if fut.done():
                q.popleft()
            elif deadline <= now:
                q.popleft()
                fut.set_exception(CallTimeout(dest, request, timeout))
            else:
                self.timers[timeout] = loop.call_at(deadline, self._fire, timeout)
                return
        del self.queues[timeout]
        del self.compact_at[timeout]


_COMPACT_MIN = 1024


class _Runtime:
    """All processes of one event loop.

    It holds its loop weakly: ``_runtimes`` maps loops to runtimes weakly, so a strong reference
    back to the loop would keep every loop that ever used otpy (one per test) alive forever.
    """

    __slots__ = ("_loop", "by_task", "names", "procs", "timeouts")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)
        self.procs: dict[int, _Process] = {}  # keyed by Pid.id: an int hashes in C
        self.by_task: dict[asyncio.Task[Any], _Process] = {}
        self.names: dict[str, Pid] = {}
        self.timeouts = _Timeouts()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop()
        assert loop is not None  # only used while the loop runs
        return loop


_runtimes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Runtime] = (
    weakref.WeakKeyDictionary()
)
_last: list[Any] = [None, None]  # [loop, runtime] cache for the common one-loop case


def _rt() -> _Runtime:
    loop = asyncio.get_running_loop()
    if loop is _last[0]:
        rt: _Runtime = _last[1]
        return rt
    rt = _runtimes.get(loop) or _Runtime(loop)
    _runtimes[loop] = rt
    _last[0], _last[1] = loop, rt
    return rt


class _Process:
    """The runtime record of one process. Private: users hold a :class:`Pid`."""

    __slots__ = (
        "__weakref__",
        "alive",
        "behaviour",
        "call_waiters",
        "exiting",
        "external",
        "helpers",
        "label",
        "links",
        "mailbox",
        "monitored_by",
        "monitors",
        "names",
        "on_exit",
        "parent",
        "pending_exit",
        "pid",
        "reason",
        "reported",
        "rt",
        "space_waiters",
        "task",
        "trap_exit",
        "waiter",
    )

    def __init__(self, rt: _Runtime, parent: Pid | None, external: bool = False) -> None:
        self.pid = Pid(next(_pid_ids))
        self.rt = rt
        self.task: asyncio.Task[Any] | None = None
        self.mailbox: deque[Any] = deque()
        self.waiter: asyncio.Future[bool] | None = None
        self.links: set[_Process] = set()
        self.monitors: dict[Ref, _Process] = {}
        self.monitored_by: dict[Ref, _Process] = {}
        self.trap_exit = False
        self.alive = True  # until its exit has been notified (see _notify_exit)
        self.exiting = False  # its body has ended; helpers are winding down
        self.pending_exit: Any = None
        self.reason: Any = None
        self.reported: BaseException | None = None  # a crash already logged (by a helper)
        self.names: list[str] = []
        self.parent = parent
        self.helpers: set[asyncio.Task[Any]] = set()
        self.on_exit: list[Callable[[Pid, Any], None]] = []
        self.call_waiters: set[asyncio.Future[Any]] = set()
        self.space_waiters: list[asyncio.Future[None]] = []
        self.external = external
        self.behaviour: Any = None
        self.label: str | None = None
        rt.procs[self.pid.id] = self

    def __repr__(self) -> str:
        return f"<process {self.pid!r} {self.label or ''}>"

    # -- mailbox ---------------------------------------------------------------------------

    def put(self, msg: Any) -> None:
        self.mailbox.append(msg)
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(True)

    def take(self) -> Any:
        """Pop the oldest message; the caller has checked the mailbox is not empty."""
        msg = self.mailbox.popleft()
        if self.space_waiters:
            self._wake_space()
        return msg

    def take_at(self, index: int) -> Any:
        msg = self.mailbox[index]
        del self.mailbox[index]
        if self.space_waiters:
            self._wake_space()
        return msg

    def _wake_space(self) -> None:
        waiters, self.space_waiters = self.space_waiters, []
        for f in waiters:
            if not f.done():
                f.set_result(None)

    async def wait_message(self) -> None:
        """Suspend until a message arrives (the mailbox is empty when this is called)."""
        if self.pending_exit is not None:
            raise asyncio.CancelledError
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.waiter = fut
        try:
            await fut
        finally:
            self.waiter = None

    # -- exits -----------------------------------------------------------------------------

    def signal(self, sender: Pid | None, reason: Any, from_link: bool) -> None:
        """Deliver an exit signal, as the table in the module docstring says."""
        if not self.alive:
            return
        if reason == KILL and not from_link:
            self.force_exit(KILLED, override=True)
        elif self.trap_exit:
            self.put(Exit(sender, reason))
        elif reason == NORMAL:
            if sender == self.pid:
                self.force_exit(NORMAL)
        else:
            self.force_exit(reason)

    def force_exit(self, reason: Any, override: bool = False) -> None:
        """Make the process end with `reason` by cancelling its task."""
        if self.pending_exit is not None and not override:
            return
        self.pending_exit = reason
        task = self.task
        if task is not None and not task.done():
            task.cancel(f"otpy exit signal: {reason!r}")
        self._wake_space()


def _current() -> _Process | None:
    task = asyncio.current_task()
    if task is None:
        return None
    return _rt().by_task.get(task)


def _me() -> _Process:
    """The current process, adopting the current task as one if it is not yet."""
    task = asyncio.current_task()
    if task is None:
        raise NotAProcess("otpy needs a running asyncio task; call it from async code")
    rt = _rt()
    proc = rt.by_task.get(task)
    if proc is None:
        proc = _Process(rt, None, external=True)
        proc.task = task
        proc.label = "external"
        rt.by_task[task] = proc
        task.add_done_callback(_external_done)
    return proc


def _external_done(task: asyncio.Task[Any]) -> None:
    rt = _runtimes.get(task.get_loop())
    if rt is None:
        return
    proc = rt.by_task.get(task)
    if proc is None or not proc.alive:
        return
    if proc.pending_exit is not None:
        reason = proc.pending_exit
    elif task.cancelled():
        reason = SHUTDOWN
    else:
        exc = task.exception()
        reason = NORMAL if exc is None else exc.reason if isinstance(exc, ExitProcess) else exc
    proc.alive = False
    for helper in list(proc.helpers):
        helper.cancel()
    _notify_exit(proc, reason)


def _resolve(dest: Any) -> _Process | None:
    """The live process a pid, name or via-name points to, or None."""
    rt = _rt()
    if type(dest) is Pid:
        proc = rt.procs.get(dest.id)
    elif isinstance(dest, str):
        pid = rt.names.get(dest)
        proc = rt.procs.get(pid.id) if pid is not None else None
    elif hasattr(dest, "whereis"):
        pid = dest.whereis()
        proc = rt.procs.get(pid.id) if pid is not None else None
    else:
        raise TypeError(
            f"{dest!r} is not a process address: use a Pid, a registered name (str) or a Via"
        )
    if proc is not None and not proc.alive:
        return None
    return proc


def _lookup(dest: Any, action: str) -> _Process:
    proc = _resolve(dest)
    if proc is None:
        raise NoProcess(dest, action)
    return proc


def _pid_of(dest: Any) -> Pid | None:
    proc = _resolve(dest)
    return proc.pid if proc is not None else None


def _notify_exit(proc: _Process, reason: Any) -> None:
    """Tell links, monitors, callers and registries that `proc` has exited with `reason`."""
    proc.alive = False
    proc.reason = reason
    rt = proc.rt
    pid = proc.pid
    for name in proc.names:
        if rt.names.get(name) == pid:
            del rt.names[name]
    proc.names.clear()
    for cb in proc.on_exit:
        cb(pid, reason)
    proc.on_exit.clear()
    if proc.call_waiters:
        from otpy.errors import ServerExited

        for fut in proc.call_waiters:
            if not fut.done():
                fut.set_exception(ServerExited(pid, reason))
        proc.call_waiters.clear()
    proc._wake_space()
    for ref, target in proc.monitors.items():
        target.monitored_by.pop(ref, None)
    proc.monitors.clear()
    for ref, watcher in proc.monitored_by.items():
        watcher.monitors.pop(ref, None)
        if watcher.alive:
            watcher.put(Down(ref, pid, reason))
    proc.monitored_by.clear()
    links = list(proc.links)
    proc.links.clear()
    for other in links:
        other.links.discard(proc)
        other.signal(pid, reason, from_link=True)
    rt.procs.pop(pid.id, None)
    if proc.task is not None:
        rt.by_task.pop(proc.task, None)
    proc.behaviour = None


def _log_exit(proc: _Process, reason: Any, own_crash: bool) -> None:
    if is_normal_exit(reason) or reason is proc.reported:
        return
    log = logger(pid=repr(proc.pid), name=proc.names[0] if proc.names else None)
    if own_crash and isinstance(reason, BaseException):
        log.error("process_crashed", process=proc.label, reason=repr(reason), exc_info=reason)
    else:
        log.error("process_exited", process=proc.label, reason=repr(reason))
