"""Processes: pids, mailboxes, links, monitors and exit signals on top of asyncio tasks.

A process is one asyncio task with a mailbox, a :class:`Pid`, a set of links and monitors, a
trap-exit flag and, when it ends, an exit reason. Everything else in otpy is built on this module.

Exit reasons follow Erlang: ``"normal"``, ``"shutdown"``, :class:`Shutdown` (``{:shutdown, term}``),
``"killed"`` (the result of the untrappable ``"kill"`` signal), ``"noproc"``, and any exception (a
crash). What a linked process does with each is described in ``docs/topics/processes.md``.

Any asyncio task may use this API without setup: a task that is not a process (a test body, a
script's ``main``) is adopted as a process the first time it needs a pid (``self_pid``, ``receive``,
``monitor``, ``link``, ``spawn_link``...). It then has a mailbox and receives ``Down`` and ``Exit``
messages like any process. An adopted task that is linked to a process which crashes, and that does
not trap exits, is cancelled, just as an Erlang process would die.

A helper task (:func:`start_task`) acts as its owner: inside it, ``self_pid()`` is the owner's
pid, a ``spawn_link`` or ``start_link`` links the new process to the owner, and a ``monitor``'s
Down message goes to the owner's mailbox. Only the owner reads its mailbox: ``receive`` from a
helper raises :class:`~otpy.NotAProcess`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from otpy._checks import check_count, check_timeout
from otpy._runtime import (
    _current,
    _current_task,
    _log_exit,
    _lookup,
    _me,
    _no_process,
    _Process,
    _resolve,
    _rt,
    _rt_task,
    _runtimes,
)
from otpy.errors import NoProcess, NotAProcess, ReceiveTimeout
from otpy.log import logger
from otpy.names import register, registered, unregister, whereis
from otpy.values import (
    KILL,
    KILLED,
    NOPROC,
    NORMAL,
    SHUTDOWN,
    Down,
    Exit,
    ExitProcess,
    Pid,
    Ref,
    Shutdown,
    _ref_ids,
    is_normal_exit,
)

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
    "ProcessInfo",
    "Ref",
    "Shutdown",
    "deliver",
    "deliver_nowait",
    "demonitor",
    "exit",
    "has_messages",
    "is_alive",
    "is_normal_exit",
    "link",
    "mailbox_probe",
    "message_queue_len",
    "monitor",
    "process_info",
    "receive",
    "register",
    "registered",
    "self_pid",
    "send",
    "spawn",
    "spawn_link",
    "start_task",
    "trap_exits",
    "unlink",
    "unregister",
    "whereis",
]

T = TypeVar("T")


# -- spawning -------------------------------------------------------------------------------


async def _body(proc: _Process, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]) -> None:
    reason: Any = NORMAL
    own_crash = False
    try:
        await fn(*args)
    except asyncio.CancelledError:
        reason = SHUTDOWN  # cancelled by something other than an exit signal (loop teardown)
    except ExitProcess as e:
        reason = e.reason
    except Exception as e:
        reason = e
        own_crash = True
    if proc.pending_exit is not None:
        reason = proc.pending_exit
        own_crash = False
    await _finish(proc, reason, own_crash)


#: After a kill, how long an exiting process waits for helpers that ignore cancellation before
#: it finishes its exit anyway (and logs ``helper_leaked``). A kill is meant to be immediate; a
#: helper that swallows CancelledError must not hold its owner, its supervisor and its name.
KILL_HELPER_GRACE = 0.5


async def _finish(proc: _Process, reason: Any, own_crash: bool) -> None:
    # Exiting, not yet dead: until notify_exit it keeps its links, monitors and names, so an
    # unlink, a monitor (Down with the real reason) or a shutdown aimed at it still works.
    proc.exiting = True
    helpers = list(proc.helpers)
    for h in helpers:
        h.cancel()
    killed = reason == KILLED
    if helpers and killed:
        # Killed: no orderly clean-up. Let the helpers take the first cancellation, then cancel
        # whatever they are awaiting in their clean-up too.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0)
        for h in helpers:
            h.cancel()
    deadline: float | None = None
    while helpers:
        if killed and deadline is None:
            deadline = proc.rt.loop.time() + KILL_HELPER_GRACE
        try:
            # unlike gather, being cancelled does not cancel them
            if deadline is None:
                await asyncio.wait(helpers)
            else:
                await asyncio.wait(helpers, timeout=max(0.0, deadline - proc.rt.loop.time()))
            helpers = [h for h in helpers if not h.done()]
            if helpers:  # only after a kill: they ignored cancellation past the grace period
                logger(pid=repr(proc.pid), name=proc.names[0] if proc.names else None).error(
                    "helper_leaked",
                    process=proc.label,
                    helpers=[h.get_name() for h in helpers],
                    grace=KILL_HELPER_GRACE,
                )
                for h in helpers:  # they no longer act as the dead owner
                    proc.disown_helper(h)
            break
        except asyncio.CancelledError:
            # A signal while the helpers wind down: keep waiting, a helper must not outlive its
            # process; "kill" cancels them again, so that their clean-up is cut short too.
            helpers = [h for h in helpers if not h.done()]
            if proc.pending_exit == KILLED:
                killed = True
                for h in helpers:
                    h.cancel()

    _log_exit(proc, reason, own_crash)
    proc.notify_exit(reason)


def _spawn(
    fn: Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    link: bool,
    trap_exit: bool = False,
    label: str | None = None,
) -> _Process:
    rt = _rt()
    parent = _me() if link else None
    proc = _Process(rt, parent.pid if parent is not None else None)  # parent: only if linked
    proc.trap_exit = trap_exit
    proc.label = label or getattr(fn, "__qualname__", None)
    if parent is not None:
        proc.link_with(parent)
    task = rt.loop.create_task(_body(proc, fn, args), name=f"otpy {proc.pid!r} {proc.label}")
    proc.task = task
    rt.by_task[task] = proc
    task.add_done_callback(_spawned_done)
    return proc


def _spawned_done(task: asyncio.Task[Any]) -> None:
    """Finish a process whose task was cancelled before its body ever ran.

    An exit signal that reaches a process before its task's first step cancels the task before
    ``_body`` is entered, so ``_body`` cannot report the exit; without this its links and
    monitors would never be told, and it would stay registered forever.
    """
    rt = _runtimes.get(task.get_loop())
    proc = rt.by_task.get(task) if rt is not None else None
    if proc is None or not proc.alive or proc.task is not task:
        return
    reason = proc.pending_exit if proc.pending_exit is not None else SHUTDOWN
    _log_exit(proc, reason, False)
    proc.notify_exit(reason)


def spawn(fn: Callable[..., Awaitable[Any]], *args: Any) -> Pid:
    """Start `fn(*args)` (an async function) as a new process and return its pid at once."""
    return _spawn(fn, args, link=False).pid


def spawn_link(fn: Callable[..., Awaitable[Any]], *args: Any) -> Pid:
    """Like :func:`spawn`, and link the new process to the caller in the same step."""
    return _spawn(fn, args, link=True).pid


def start_task(coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
    """Run `coro` as a helper task owned by the calling process.

    The helper is cancelled, and awaited, when its owner exits, before the owner's links and
    monitors are told: no helper outlives its process (after a ``kill``, one that ignores
    cancellation for :data:`KILL_HELPER_GRACE` seconds is logged as ``helper_leaked`` and no
    longer waited for). If the helper raises, its owner crashes with that exception, unless the
    owner is already running its clean-up (a GenServer's ``terminate``): the crash is then
    logged and the clean-up goes on. Inside the helper, otpy's functions act for the owner (see
    the module docstring). Use :func:`deliver` to hand messages to the owner with a bound.
    """
    owner = _current()
    if owner is None or owner.external:
        coro.close()
        raise NotAProcess("start_task needs to be called from inside a process (spawned by otpy)")
    if owner.stopping:
        coro.close()
        raise NoProcess(owner.pid, "start a helper task in")
    task = owner.rt.loop.create_task(coro, name=name or f"otpy helper of {owner.pid!r}")
    owner.add_helper(task)

    def done(t: asyncio.Task[Any]) -> None:
        owner.discard_helper(t)
        if t.cancelled():
            return
        exc = t.exception()
        if exc is None:
            return
        if not owner.alive or owner.exiting:  # it failed while being cancelled: say so, once
            if not isinstance(exc, ExitProcess):
                logger(pid=repr(owner.pid)).error(
                    "helper_cleanup_failed", process=owner.label, reason=repr(exc), exc_info=exc
                )
            return
        if owner.terminating and owner.pending_exit is None:
            # The owner is in its clean-up already: log it, do not cut the clean-up short.
            if not isinstance(exc, ExitProcess):
                _log_exit_helper(owner, exc)
            return
        if isinstance(exc, ExitProcess):  # exit/1 from a helper ends its owner with that reason
            owner.force_exit(exc.reason)
            return
        _log_exit_helper(owner, exc)
        if owner.pending_exit is None:
            owner.reported = exc  # that report is the owner's crash report: log it once
        owner.force_exit(exc)

    task.add_done_callback(done)
    return task


def _log_exit_helper(owner: _Process, exc: BaseException) -> None:
    logger(pid=repr(owner.pid), name=owner.names[0] if owner.names else None).error(
        "helper_task_crashed", process=owner.label, reason=repr(exc), exc_info=exc
    )


# -- messages -------------------------------------------------------------------------------


def self_pid() -> Pid:
    """The pid of the calling process (adopting the calling task as a process if needed).

    In a helper task, the pid of its owner.
    """
    return _me().pid


def send(dest: Any, msg: Any) -> None:
    """Put `msg` in the mailbox of `dest` (a pid, name or via-name).

    As in Erlang, a message to a pid that has exited is dropped (monitor the pid to learn of its
    exit); a message to a name nobody holds raises :class:`~otpy.NoProcess`.
    """
    if type(dest) is Pid:
        proc = _rt().procs.get(dest.id)
        if proc is not None and proc.alive:
            proc.put(msg)
        return
    _lookup(dest, "send to").put(msg)


def _deliver_target(dest: Any, max_pending: Any) -> _Process:
    if type(max_pending) is not int or max_pending < 1:
        check_count(max_pending, "max_pending", 1)
    if type(dest) is Pid:
        proc = _rt().procs.get(dest.id)
        if proc is not None and proc.alive:
            return proc
    return _lookup(dest, "deliver to")


def deliver_nowait(dest: Any, msg: Any, max_pending: int) -> bool:
    """Send `msg` if `dest` has fewer than `max_pending` unread messages; False if it is full.

    Like a queue's ``put_nowait``, for a producer that has something better to do than wait.
    Raises :class:`~otpy.NoProcess` if `dest` is not alive or is on its way out.
    """
    proc = _deliver_target(dest, max_pending)
    if proc.pending_exit is not None or proc.exiting:
        raise NoProcess(dest, "deliver to")
    if len(proc.mailbox) >= max_pending:
        return False
    proc.put(msg)
    return True


class _Sent:
    """The awaitable :func:`deliver` returns when the message went in at once: awaiting it
    costs no coroutine, no future and no trip through the event loop."""

    __slots__ = ()

    def __await__(self) -> Any:
        return _DONE_ITER


_DONE_ITER = iter(())  # exhausted: `await` on it returns None at once, every time
_SENT = _Sent()


def deliver(dest: Any, msg: Any, max_pending: int) -> Awaitable[None]:
    """Send `msg`, first waiting while `dest` has `max_pending` or more unread messages.

    ``await deliver(pid, msg, 100)``. This is how a producer (such as a socket reader helper
    task) applies back-pressure: when the process falls behind, the producer waits instead of
    growing the mailbox without bound. While the mailbox is below its bound, the message goes
    in at once, before ``deliver`` returns (awaiting the result then does nothing).
    Raises :class:`~otpy.NoProcess` if `dest` is not alive (or exits while we wait).
    """
    proc = _deliver_target(dest, max_pending)
    if len(proc.mailbox) < max_pending and proc.pending_exit is None and not proc.exiting:
        proc.put(msg)
        return _SENT
    return _deliver_slow(proc, dest, msg, max_pending)


async def _deliver_slow(proc: _Process, dest: Any, msg: Any, max_pending: int) -> None:
    while len(proc.mailbox) >= max_pending:
        if proc.stopping:
            raise NoProcess(dest, "deliver to")
        await proc.wait_space()
    if proc.stopping:
        raise NoProcess(dest, "deliver to")
    proc.put(msg)


def has_messages() -> bool:
    """True if the calling process has a message waiting. Constant time; never suspends.

    Raises :class:`~otpy.NotAProcess` outside a process (in a helper: its owner's mailbox).
    """
    return bool(_self_strict("has_messages").mailbox)


def message_queue_len() -> int:
    """How many messages wait in the calling process's mailbox. Constant time; never suspends.

    Raises :class:`~otpy.NotAProcess` outside a process (in a helper: its owner's mailbox).
    """
    return len(_self_strict("message_queue_len").mailbox)


def mailbox_probe() -> Callable[[], int]:
    """A function that returns the calling process's :func:`message_queue_len`, at C speed.

    For a loop that looks at its mailbox between two items (a socket reader handling frames):
    calling the probe costs a fraction of a ``message_queue_len()`` call. It stays bound to
    the process that asked for it.
    """
    return _self_strict("mailbox_probe").queue_len()


def self_sender() -> Callable[[Any], None]:
    """A function that sends a message to the calling process, with nothing to look up.

    For callbacks that run outside any process and post to one on a hot path (a protocol's
    ``data_received`` waking the process that reads the socket): ``send`` has to find the
    running loop's runtime first, which outside a task is the slow case. Like ``send`` to a
    pid, a message sent after the process exited is dropped. Call it on the process's own
    event loop thread only.
    """
    proc = _self_strict("self_sender")
    put = proc.put

    def post(msg: Any) -> None:
        if proc.alive:
            put(msg)

    return post


def _self_strict(what: str) -> _Process:
    try:
        proc = _current()
    except RuntimeError:  # no running event loop
        proc = None
    if proc is None:
        raise NotAProcess(f"{what}() needs to be called from a process (or one of its helpers)")
    return proc


def _receiver(what: str) -> _Process:
    """The calling process, for reading its own mailbox: refused from a helper task."""
    proc = _me()
    if proc.task is not _current_task(proc.rt):
        raise NotAProcess(
            f"{what} was called from a helper task of {proc.pid!r}; only the process itself "
            "reads its mailbox: hand results to it with send or deliver instead"
        )
    return proc


async def receive(
    timeout: float | None = None, match: Callable[[Any], bool] | None = None
) -> Any:
    """Take the oldest message from the caller's mailbox, or the oldest that `match` accepts.

    Messages `match` rejects stay in the mailbox, in order. Waits at most `timeout` seconds
    (None: forever; 0: only look) and raises :class:`~otpy.ReceiveTimeout` if nothing matching
    came. Raises TypeError or ValueError for a timeout that is not None or a finite number of
    seconds >= 0.
    """
    if timeout is not None:
        timeout = check_timeout(timeout)
    rt, task = _rt_task()
    proc = rt.by_task.get(task) if task is not None else None
    if proc is None or proc.task is not task:
        proc = _receiver("receive")  # adopt a plain task, or refuse a helper
    mb = proc.mailbox
    scanned = 0
    if match is None:
        if mb:
            return proc.take()
    else:
        i = proc.find(match)
        if i >= 0:
            return proc.take_at(i)
        scanned = len(mb)
    if timeout is not None and timeout <= 0:
        raise ReceiveTimeout(timeout)
    loop = proc.rt.loop
    deadline = None if timeout is None else loop.time() + timeout
    removals = proc.removals
    while True:
        got = await proc.wait_message(deadline)
        # Look even when the timer won: a message may have come in the same loop iteration.
        if match is None:
            if mb:
                return proc.take()
        else:
            if proc.removals != removals:  # messages were taken out: the indices moved
                removals = proc.removals
                scanned = 0
            i = proc.find(match, scanned)
            if i >= 0:
                return proc.take_at(i)
            scanned = len(mb)
        if not got:
            assert timeout is not None
            raise ReceiveTimeout(timeout)


# -- links, monitors, exit signals ----------------------------------------------------------


def link(dest: Any) -> None:
    """Link the caller and `dest` both ways: when one exits, the other gets an exit signal.

    Linking to a process that is not alive raises :class:`~otpy.NoProcess`, unless the caller
    traps exits, in which case it receives ``Exit(pid, "noproc")`` instead.
    """
    me = _me()
    target = _resolve(dest)
    if target is None:
        if me.trap_exit:
            me.put(Exit(dest if type(dest) is Pid else None, NOPROC))
            return
        raise _no_process(dest, "link to")
    me.link_with(target)


def unlink(dest: Any) -> None:
    """Remove the link between the caller and `dest`, if any. Never fails."""
    me = _me()
    target = _resolve(dest)
    if target is not None:
        me.unlink_from(target)


def monitor(dest: Any) -> Ref:
    """Watch `dest`; when it exits the caller receives ``Down(ref, pid, reason)``.

    Monitoring a process that is not alive delivers ``Down(ref, dest, "noproc")`` at once.
    """
    me = _me()
    ref = Ref(next(_ref_ids))
    target = _resolve(dest)
    if target is None:
        me.put(Down(ref, dest, NOPROC))
    else:
        me.watch(ref, target)
    return ref


def demonitor(ref: Ref, flush: bool = False) -> bool:
    """Stop the monitor `ref`. With ``flush=True`` also remove its Down message if queued.

    Returns True if the monitor was active (so no Down had been sent for it).
    """
    me = _me()
    active = me.unwatch(ref)
    if flush:
        me.remove_matching(lambda m: type(m) is Down and m.ref == ref)
    return active


def exit(dest: Any, reason: Any) -> None:
    """Send an exit signal with `reason` to `dest`.

    ``"kill"`` ends it with reason ``"killed"`` whether or not it traps exits. Otherwise a process
    trapping exits gets an :class:`Exit` message; one that does not exits with `reason`, except
    that ``"normal"`` is ignored (unless a process sends it to itself). A dead target is ignored.
    A process that sends itself a signal that ends it ends there: ``exit`` does not return.
    """
    proc = _resolve(dest)
    if proc is None:
        if type(dest) is Pid:
            return
        raise _no_process(dest, "send an exit signal to")
    me = _current()
    proc.signal(me.pid if me is not None else None, reason, from_link=False)
    if proc is me and proc.pending_exit is not None and not proc.external:
        raise asyncio.CancelledError  # its task is cancelled already: end now, as Erlang does


def trap_exits(flag: bool = True) -> bool:
    """Set whether the caller turns exit signals into Exit messages; return the old flag."""
    me = _me()
    old = me.trap_exit
    me.trap_exit = flag
    return old


def is_alive(dest: Any) -> bool:
    """True if `dest` (pid, name or via-name) is a process that has not exited."""
    try:
        proc = _resolve(dest)
    except (TypeError, ValueError):
        return False
    return proc is not None and not proc.stopping


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """A snapshot of one process, for debugging (see :func:`process_info`)."""

    pid: Pid
    label: str | None
    names: tuple[str, ...]
    message_queue_len: int
    links: tuple[Pid, ...]
    monitored_by: tuple[Pid, ...]
    trap_exit: bool
    helpers: int
    timers: int


def process_info(dest: Any) -> ProcessInfo | None:
    """A snapshot of a live process, or None if it is not alive."""
    proc = _resolve(dest)
    if proc is None:
        return None
    return ProcessInfo(
        pid=proc.pid,
        label=proc.label,
        names=tuple(proc.names),
        message_queue_len=len(proc.mailbox),
        links=tuple(sorted(p.pid for p in proc.links)),
        monitored_by=tuple(sorted(p.pid for p in proc.monitored_by.values())),
        trap_exit=proc.trap_exit,
        helpers=len(proc.helpers),
        timers=len(proc.timers),
    )
