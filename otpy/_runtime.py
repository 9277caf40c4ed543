"""The process table behind otpy.process: one runtime per event loop, the record of each process,
and what happens when a process exits (links, monitors, names, timers and callers are told).

Private. Every field of a :class:`_Process` that carries an invariant (the mailbox and its
waiters, links, monitors, exit callbacks, call waiters, helpers, timers) is changed only by the
record's own methods; other modules call those methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import weakref
from collections import deque
from collections.abc import Callable
from threading import get_ident
from time import monotonic
from typing import TYPE_CHECKING, Any

from otpy._deadlines import Timeouts
from otpy.errors import NoProcess, NotAProcess, ServerExited
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

if TYPE_CHECKING:
    from otpy.timers import TimerRef

# The task each loop is stepping right now, kept by asyncio (its C accelerator on CPython). If a
# Python version stops exposing it, the empty stand-in makes every look-up take the slow path.
_current_tasks: dict[Any, Any] = getattr(asyncio.tasks, "_current_tasks", {})


class _Runtime:
    """All processes of one event loop.

    It holds its loop weakly: ``_runtimes`` maps loops to runtimes weakly, so a strong reference
    back to the loop would keep every loop that ever used otpy (one per test, or any loop never
    closed) alive forever, with its processes.
    """

    __slots__ = ("__weakref__", "_loop", "by_task", "names", "procs", "thread", "timeouts")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)
        self.thread = get_ident()
        self.procs: dict[int, _Process] = {}  # keyed by Pid.id: an int hashes in C
        # the task of each process, and of each helper task (a helper acts as its owner)
        self.by_task: dict[asyncio.Task[Any], _Process] = {}
        self.names: dict[str, Pid] = {}
        self.timeouts = Timeouts()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop()
        assert loop is not None  # only used while the loop runs
        return loop

    def forget_name(self, name: str) -> None:
        """Drop `name` from the table (its holder is gone already)."""
        self.names.pop(name, None)


_runtimes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Runtime] = (
    weakref.WeakKeyDictionary()
)
# (loop, runtime, thread, whether the loop records its thread) of the last look-up: the common
# one-loop case skips the slow path. It holds that one loop strongly; the next look-up on
# another loop replaces it.
_last: tuple[Any, Any, int, bool] = (None, None, 0, False)


def _rt() -> _Runtime:
    """The runtime of the running loop.

    ``asyncio.get_running_loop`` makes a ``getpid`` system call on every call (to notice a
    fork), which made it the largest cost of a cast. The cached runtime is used instead when
    its loop is running a task step in this thread right now: only one loop runs per thread,
    and the C accelerator keeps the task each loop is stepping in ``_current_tasks``. The
    thread is the loop's own (asyncio's loops record the thread they run in), not the one that
    last looked, so a loop handed to another thread is never taken for this thread's.
    """
    loop, rt, thread, own = _last
    if (
        thread == get_ident()
        and loop in _current_tasks
        and (not own or loop._thread_id == thread)  # the loop's own thread (uvloop's: not told)
    ):
        return rt  # type: ignore[no-any-return]
    return _rt_slow()


def _rt_task() -> tuple[_Runtime, asyncio.Task[Any] | None]:
    """The runtime of the running loop and the task it is stepping (None in a callback):
    :func:`_rt` and :func:`_current_task` in one, for the hot paths that need both."""
    loop, rt, thread, own = _last
    if thread == get_ident():
        task = _current_tasks.get(loop)
        if task is not None and (not own or loop._thread_id == thread):
            return rt, task
    rt = _rt_slow()
    return rt, _current_task(rt)


def _rt_slow() -> _Runtime:
    global _last
    loop = asyncio.get_running_loop()
    rt = _runtimes.get(loop)
    if rt is None:
        rt = _runtimes[loop] = _Runtime(loop)
    rt.thread = get_ident()
    _last = (loop, rt, rt.thread, hasattr(loop, "_thread_id"))
    return rt


def _check_thread(fut: asyncio.Future[Any], what: str) -> None:
    """Raise WrongThread unless the caller runs in the thread of `fut`'s loop."""
    rt = _runtimes.get(fut.get_loop())
    if rt is not None and rt.thread != get_ident():
        from otpy.errors import WrongThread

        raise WrongThread(what)


def _runtime_of_other_loop(dest: Any) -> bool:
    """Whether `dest` (a pid or a name) lives on an event loop other than the running one."""
    here = _rt()
    for loop, rt in list(_runtimes.items()):
        if rt is here or loop.is_closed():
            continue
        if type(dest) is Pid and dest.id in rt.procs:
            return True
        if isinstance(dest, str) and dest in rt.names:
            return True
    return False


class _Process:
    """The runtime record of one process. Private: users hold a :class:`Pid`."""

    __slots__ = (
        "__weakref__",
        "alive",
        "behaviour",
        "call_waiters",
        "envelopes",
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
        "removals",
        "reported",
        "rt",
        "space_waiters",
        "started",
        "take",
        "task",
        "terminating",
        "timers",
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
        self.alive = True  # until its exit has been notified (see notify_exit)
        self.exiting = False  # its body has ended; helpers are winding down
        self.terminating = False  # a behaviour is running its clean-up (terminate)
        self.pending_exit: Any = None
        self.reason: Any = None
        self.reported: BaseException | None = None  # a crash already logged (by a helper)
        self.names: list[str] = []
        self.parent = parent
        self.helpers: set[asyncio.Task[Any]] = set()
        self.on_exit: list[Callable[[Pid, Any], None]] = []
        self.call_waiters: set[asyncio.Future[Any]] = set()
        self.space_waiters: list[asyncio.Future[None]] = []
        self.envelopes = 0  # fired timers' envelopes in the mailbox
        self.removals = 0  # messages taken out from inside the mailbox (not by its reader)
        # take() pops the oldest message: the deque's own popleft while nothing needs watching
        # (no producer waits for room, no timer envelope is queued), else _take_watched.
        self.take: Callable[[], Any] = self.mailbox.popleft
        self.timers: set[TimerRef] = set()
        self.external = external
        self.behaviour: Any = None
        self.label: str | None = None
        self.started = monotonic()  # for uptime (otpy.observer)
        rt.procs[self.pid.id] = self

    def __repr__(self) -> str:
        return f"<process {self.pid!r} {self.label or ''}>"

    @property
    def stopping(self) -> bool:
        """True once the process is on its way out (signalled, exiting or exited)."""
        return not self.alive or self.exiting or self.pending_exit is not None

    # -- mailbox ---------------------------------------------------------------------------

    def put(self, msg: Any) -> None:
        self.mailbox.append(msg)
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(True)

    def _take_watched(self) -> Any:
        """take() while producers wait for room or timer envelopes are queued."""
        msg = self.mailbox.popleft()
        if self.space_waiters:
            self._wake_space()
        if type(msg) is _Envelope:
            self.envelopes -= 1
            msg = msg.delivered()
        if not self.space_waiters and not self.envelopes:
            self.take = self.mailbox.popleft
        return msg

    def put_envelope(self, envelope: _Envelope) -> None:
        """Queue a fired timer's envelope (see otpy.timers)."""
        self.envelopes += 1
        self.take = self._take_watched
        self.put(envelope)

    def take_at(self, index: int) -> Any:
        msg = self.mailbox[index]
        del self.mailbox[index]
        if self.space_waiters:
            self._wake_space()
        if type(msg) is _Envelope:
            self.envelopes -= 1
            return msg.delivered()
        return msg

    def queue_len(self) -> Callable[[], int]:
        """A callable returning the mailbox's length (the deque's own ``__len__``)."""
        return self.mailbox.__len__

    def find(self, match: Callable[[Any], bool], start: int = 0) -> int:
        """The index of the first message from `start` that `match` accepts, or -1."""
        mb = self.mailbox
        for i in range(start, len(mb)):
            m = mb[i]
            if match(m.msg if type(m) is _Envelope else m):
                return i
        return -1

    def remove_matching(self, match: Callable[[Any], bool]) -> int:
        """Drop every queued message that `match` accepts; return how many went."""
        mb = self.mailbox
        dropped = 0
        for i in range(len(mb) - 1, -1, -1):
            m = mb[i]
            if match(m.msg if type(m) is _Envelope else m):
                del mb[i]
                dropped += 1
                self.removals += 1
                if type(m) is _Envelope:
                    self.envelopes -= 1
        if dropped and self.space_waiters:
            self._wake_space()
        return dropped

    def remove_identical(self, obj: Any) -> bool:
        """Drop the queued message that is `obj` itself (a timer's _Envelope), if queued."""
        mb = self.mailbox
        for i in range(len(mb)):
            if mb[i] is obj:
                del mb[i]
                self.removals += 1
                if type(obj) is _Envelope:
                    self.envelopes -= 1
                if self.space_waiters:
                    self._wake_space()
                return True
        return False

    def _wake_space(self) -> None:
        waiters, self.space_waiters = self.space_waiters, []
        for f in waiters:
            if not f.done():
                f.set_result(None)

    async def wait_space(self) -> None:
        """Suspend until a message is taken from this mailbox (or the process exits)."""
        fut: asyncio.Future[None] = self.rt.loop.create_future()
        self.space_waiters.append(fut)
        self.take = self._take_watched
        await fut

    async def wait_message(self, deadline: float | None = None) -> bool:
        """Suspend until a message arrives (the mailbox is empty when this is called).

        Returns False if `deadline` (loop time) passed first, True otherwise.
        """
        if self.pending_exit is not None:
            raise asyncio.CancelledError
        loop = self.rt.loop
        fut: asyncio.Future[bool] = loop.create_future()
        self.waiter = fut
        timer = None if deadline is None else loop.call_at(deadline, _timeout_wake, fut)
        try:
            return await fut
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()

    # -- links, monitors, callbacks --------------------------------------------------------

    def link_with(self, other: _Process) -> None:
        if other is not self:
            self.links.add(other)
            other.links.add(self)

    def unlink_from(self, other: _Process) -> None:
        self.links.discard(other)
        other.links.discard(self)

    def unlink_parent(self) -> None:
        if self.parent is not None:
            for other in list(self.links):
                if other.pid == self.parent:
                    self.unlink_from(other)

    def watch(self, ref: Ref, target: _Process) -> None:
        """This process monitors `target` under `ref`."""
        target.monitored_by[ref] = self
        self.monitors[ref] = target

    def unwatch(self, ref: Ref) -> bool:
        target = self.monitors.pop(ref, None)
        if target is None:
            return False
        target.monitored_by.pop(ref, None)
        return True

    def add_exit_callback(self, cb: Callable[[Pid, Any], None]) -> None:
        """Run ``cb(pid, reason)`` when this process's exit is notified."""
        self.on_exit.append(cb)

    def remove_exit_callback(self, cb: Callable[[Pid, Any], None]) -> None:
        if cb in self.on_exit:
            self.on_exit.remove(cb)

    def add_name(self, name: str) -> None:
        self.rt.names[name] = self.pid
        self.names.append(name)

    def remove_name(self, name: str) -> None:
        if self.rt.names.get(name) == self.pid:
            del self.rt.names[name]
        if name in self.names:
            self.names.remove(name)

    def add_call_waiter(self, fut: asyncio.Future[Any]) -> None:
        """`fut` fails with ServerExited if this process exits before it is done."""
        self.call_waiters.add(fut)

    def discard_call_waiter(self, fut: asyncio.Future[Any]) -> None:
        self.call_waiters.discard(fut)

    def add_helper(self, task: asyncio.Task[Any]) -> None:
        self.helpers.add(task)
        self.rt.by_task[task] = self

    def disown_helper(self, task: asyncio.Task[Any]) -> None:
        """A helper left running after its owner's exit: it stops acting as the owner."""
        if self.rt.by_task.get(task) is self:
            del self.rt.by_task[task]

    def discard_helper(self, task: asyncio.Task[Any]) -> None:
        self.helpers.discard(task)
        if self.rt.by_task.get(task) is self:
            del self.rt.by_task[task]

    def add_timer(self, ref: TimerRef) -> None:
        self.timers.add(ref)

    def discard_timer(self, ref: TimerRef) -> None:
        self.timers.discard(ref)

    # -- exits -----------------------------------------------------------------------------

    def signal(self, sender: Pid | None, reason: Any, from_link: bool) -> None:
        """Deliver an exit signal, as the table in docs/topics/processes.md says."""
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

    def notify_exit(self, reason: Any) -> None:
        """Tell links, monitors, callers and registries that this process exited with `reason`."""
        self.alive = False
        self.reason = reason
        rt = self.rt
        pid = self.pid
        for timer in list(self.timers):
            timer._cancel_silently()
        self.timers.clear()
        for name in self.names:
            if rt.names.get(name) == pid:
                del rt.names[name]
        self.names.clear()
        callbacks, self.on_exit = self.on_exit, []
        for cb in callbacks:
            cb(pid, reason)
        if self.call_waiters:
            for fut in self.call_waiters:
                if not fut.done():
                    fut.set_exception(ServerExited(pid, reason))
            self.call_waiters.clear()
        self._wake_space()
        for ref, target in self.monitors.items():
            target.monitored_by.pop(ref, None)
        self.monitors.clear()
        for ref, watcher in self.monitored_by.items():
            watcher.monitors.pop(ref, None)
            if watcher.alive:
                watcher.put(Down(ref, pid, reason))
        self.monitored_by.clear()
        links = list(self.links)
        self.links.clear()
        for other in links:
            other.links.discard(self)
            other.signal(pid, reason, from_link=True)
        rt.procs.pop(pid.id, None)
        if self.task is not None:
            rt.by_task.pop(self.task, None)
        self.mailbox.clear()
        self.envelopes = 0
        self.take = self.mailbox.popleft  # no cycle through a bound method of ours
        self.behaviour = None


def _timeout_wake(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(False)


class _Envelope:
    """A fired timer's message while it waits in a mailbox. Taking it from the mailbox hands
    over the message itself; the timer keeps the envelope, so that cancelling the timer can
    remove exactly this one (a user's equal message, or the TimerRef sent as a message, is
    never mistaken for it). Only otpy.timers makes envelopes."""

    __slots__ = ("msg", "taken")

    def __init__(self, msg: Any) -> None:
        self.msg = msg
        self.taken = False

    def delivered(self) -> Any:
        msg = self.msg
        self.msg = None
        self.taken = True
        return msg


# A cast travels as the tuple ``(_CAST, request)``: a bare tuple costs a fifth of an object with
# an ``__init__``, and casts are the cheapest, most frequent message. The tag is an int made at
# run time, so it is a unique object no user message can carry (the GenServer loop compares it
# with `is`), and one the garbage collector does not track: a tuple of untracked objects leaves
# the collector's lists at its first pass, instead of being rescanned by every later one while
# it waits in a long mailbox. With a tracked tag (an instance), a burst of casts made the
# collector the largest cost of a cast.
_CAST: Any = int("7_105_801_211_231")


def cast(dest: Any, request: Any) -> None:
    """Send `request` to the server's ``handle_cast`` and return at once.

    As in OTP, a cast to a pid that has exited is dropped; a cast to a name nobody holds raises
    :class:`~otpy.NoProcess`.
    """
    # Defined here, beside _Process, because it is the hottest path in otpy: it does what
    # _Process.put does without the cost of a second call.
    if type(dest) is Pid:
        loop, rt, thread, own = _last  # _rt(), inlined
        if not (
            thread == get_ident()
            and loop in _current_tasks
            and (not own or loop._thread_id == thread)
        ):
            rt = _rt_slow()
        proc = rt.procs.get(dest.id)
        if proc is None or not proc.alive:
            return
    else:
        proc = _lookup(dest, "cast to")
    proc.mailbox.append((_CAST, request))
    w = proc.waiter
    if w is not None and not w.done():
        w.set_result(True)


def _current() -> _Process | None:
    """The process of the running task (a helper's owner for a helper), or None."""
    rt = _rt()
    task = _current_tasks.get(rt.loop)
    if task is None:
        task = asyncio.current_task()
        if task is None:
            return None
    return rt.by_task.get(task)


def _current_task(rt: _Runtime) -> asyncio.Task[Any] | None:
    task: asyncio.Task[Any] | None = _current_tasks.get(rt.loop)
    if task is None:
        task = asyncio.current_task()
    return task


def _me() -> _Process:
    """The current process, adopting the current task as one if it is not yet."""
    rt = _rt()
    task = _current_task(rt)
    if task is None:
        raise NotAProcess("otpy needs a running asyncio task; call it from async code")
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
    if proc is None or not proc.alive or proc.task is not task:
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
    proc.notify_exit(reason)


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


def _no_process(dest: Any, action: str) -> NoProcess:
    """The NoProcess error for `dest`, saying so when it lives on another event loop."""
    return NoProcess(dest, action, other_loop=_runtime_of_other_loop(dest))


def _lookup(dest: Any, action: str) -> _Process:
    proc = _resolve(dest)
    if proc is None:
        raise _no_process(dest, action)
    return proc


def _pid_of(dest: Any) -> Pid | None:
    proc = _resolve(dest)
    return proc.pid if proc is not None else None


def _log_exit(proc: _Process, reason: Any, own_crash: bool) -> None:
    if is_normal_exit(reason) or reason is proc.reported:
        return
    try:
        log = logger(pid=repr(proc.pid), name=proc.names[0] if proc.names else None)
        if own_crash and isinstance(reason, BaseException):
            log.error("process_crashed", process=proc.label, reason=repr(reason), exc_info=reason)
        else:
            log.error("process_exited", process=proc.label, reason=repr(reason))
    except Exception as e:  # a failing log setup must not keep the exit from being notified
        with contextlib.suppress(Exception):
            print(f"otpy: logging the exit of {proc.pid!r} failed: {e!r}", file=sys.stderr)

