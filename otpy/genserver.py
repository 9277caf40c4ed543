"""GenServer: a process that keeps state and serves calls, casts and other messages in order.

Subclass :class:`GenServer` and define ``async def`` callbacks. State is passed in and returned, as
in Elixir; each Elixir return tuple is a frozen dataclass from :mod:`otpy.returns`.

========================================  =======================================================
callback                                  may return
========================================  =======================================================
``init(arg)``                             ``Ok(state)``: started, ``start_link`` returns the pid ·
                                          ``Ok(state, continue_=x)``: then ``handle_continue(x)``
                                          runs before any message · ``Ignore()``: exit normally,
                                          ``start_link`` returns None · ``Stop(reason)``: exit
                                          with `reason`, ``start_link`` raises StartError
``handle_call(request, from_, state)``    ``Reply(value, state)``: answer the caller ·
                                          ``NoReply(state)``: answer later with ``reply(from_,
                                          value)`` · ``Stop(reason, state, reply=v)``: terminate,
                                          then answer `v` if given (else the caller gets
                                          ServerExited)
``handle_cast(request, state)``           ``NoReply(state)`` · ``NoReply(state, continue_=x)`` ·
``handle_info(msg, state)``               ``Stop(reason, state)``: run ``terminate`` and exit
``handle_continue(x, state)``
``terminate(reason, state)``              ignored
========================================  =======================================================

``Ok``, ``Reply`` and ``NoReply`` also accept ``continue_=x`` (run ``handle_continue(x, state)``
before the next message) or ``timeout=s`` (deliver ``"timeout"`` to ``handle_info`` if no message
arrives within `s` seconds, Elixir's idle timeout). Any other return value crashes the server
with :class:`~otpy.BadReturn` naming the class, the callback and the value.

Fairness: a server whose mailbox never empties (a ``handle_info`` that sends itself work, as
``send(self(), :work)`` does in Elixir) yields to the event loop every :data:`FAIR_SLICE`
messages, so timers, other processes and exit signals are served meanwhile.

``terminate`` runs when a callback raises or returns Stop, on :func:`stop`, and when the server
traps exits and its parent (the process that ``start_link``-ed it, e.g. its supervisor) sends an
exit signal. It does not run when the server is killed, or exits on a signal it does not trap.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from typing import TYPE_CHECKING, Any, ClassVar

from otpy._checks import check_timeout
from otpy._runtime import (
    _CAST,
    _check_thread,
    _current,
    _current_task,
    _lookup,
    _no_process,
    _Process,
    _rt_task,
    cast,
)
from otpy.errors import (
    AlreadyStarted,
    BadReturn,
    CallingSelf,
    CallTimeout,
    ServerExited,
    StartError,
    Unhandled,
)
from otpy.log import logger
from otpy.names import register
from otpy.process import _spawn
from otpy.returns import (
    _NO_CONTINUE,
    CallResult,
    CastResult,
    ContinueResult,
    Ignore,
    InfoResult,
    InitResult,
    NoReply,
    Ok,
    Reply,
    Stop,
)
from otpy.values import NORMAL, Exit, ExitProcess, Pid

if TYPE_CHECKING:
    from otpy.child_spec import ChildSpec

__all__ = [
    "FAIR_SLICE",
    "From",
    "GenServer",
    "call",
    "cast",
    "reply",
    "start",
    "start_link",
    "stop",
]

_INIT_RETURNS = "Ok(state), Ok(state, continue_=x), Ok(state, timeout=s), Ignore(), Stop(reason)"
_CALL_RETURNS = (
    "Reply(value, state), NoReply(state), Stop(reason, state) or Stop(reason, state, reply=value)"
)
_NOREPLY_RETURNS = (
    "NoReply(state), NoReply(state, continue_=x), NoReply(state, timeout=s), Stop(reason, state)"
)
_CALLBACKS = ("init", "handle_call", "handle_cast", "handle_info", "handle_continue", "terminate")
_SPEC_KEYS = ("id", "restart", "shutdown", "type", "name", "timeout")

#: How many messages a server handles in a row, without its mailbox running dry, before it
#: yields to the event loop once. 256 messages take about 0.1-0.3 ms; yielding costs one trip
#: through the loop, about 1% of the slice (see ``make bench``).
FAIR_SLICE = 256


class From:
    """Who is waiting for a call's reply. Pass it to :func:`reply` to answer later.

    ``pid`` is the caller's pid (None when the caller is a plain task, not a process).
    """

    __slots__ = ("_fut", "pid")

    def __init__(self, pid: Pid | None, fut: asyncio.Future[Any]) -> None:
        self.pid = pid
        self._fut = fut

    def __repr__(self) -> str:
        return f"From({self.pid!r})"


class _Call(From):
    """A call in the mailbox. It is its own :class:`From` (one object per call, not two)."""

    __slots__ = ("request",)

    def __init__(self, request: Any, pid: Pid | None, fut: asyncio.Future[Any]) -> None:
        self.request = request
        self.pid = pid
        self._fut = fut


class _SysStop:
    __slots__ = ("reason",)

    def __init__(self, reason: Any) -> None:
        self.reason = reason


class GenServer:
    """Base class of servers. Override the callbacks you need; see the module docstring."""

    #: The pid of the process running this instance (set before ``init`` runs).
    pid: Pid
    #: Whether the server traps exits from the start (supervisors do). Can be set per class.
    trap_exits: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _CALLBACKS:
            fn = cls.__dict__.get(name)
            if fn is not None and not inspect.iscoroutinefunction(fn):
                raise TypeError(
                    f"{cls.__qualname__}.{name} must be defined with `async def`, "
                    f"not as a plain function"
                )

    async def init(self, arg: Any) -> InitResult:
        """Set up the state. Default: ``Ok(arg)``."""
        return Ok(arg)

    async def handle_call(self, request: Any, from_: From, state: Any) -> CallResult:
        """Answer a :func:`call`. Default: crash with :class:`~otpy.Unhandled`."""
        raise _unhandled(self, "handle_call", request)

    async def handle_cast(self, request: Any, state: Any) -> CastResult:
        """Handle a :func:`cast`. Default: crash with :class:`~otpy.Unhandled`."""
        raise _unhandled(self, "handle_cast", request)

    async def handle_info(self, msg: Any, state: Any) -> InfoResult:
        """Handle any other message. Default: log it at debug level and carry on."""
        logger(pid=repr(self.pid)).debug(
            "unexpected_message", server=type(self).__qualname__, msg=repr(msg)
        )
        return NoReply(state)

    async def handle_continue(self, continue_: Any, state: Any) -> ContinueResult:
        """Continue work asked for by a ``continue_=`` return. Default: crash (Unhandled)."""
        raise _unhandled(self, "handle_continue", continue_)

    async def terminate(self, reason: Any, state: Any) -> Any:
        """Clean up before exiting (see the module docstring for when it runs). Default: no-op."""
        return None

    @classmethod
    async def start_link(
        cls, arg: Any = None, *more: Any, name: Any = None, timeout: float | None = 5.0
    ) -> Pid | None:
        """Start a server linked to the caller; return its pid once ``init`` has returned.

        ``init`` receives `arg`; given more positional arguments (as a DynamicSupervisor's
        ``extra_arguments`` do), it receives them all as one tuple ``(arg, *more)``.
        Returns None if ``init`` returned Ignore. Raises :class:`~otpy.AlreadyStarted` if `name`
        is taken, :class:`~otpy.StartError` if ``init`` raised, returned Stop or a bad value, or
        did not return within `timeout` seconds (the process is then killed).
        """
        return await start_link(cls, (arg, *more) if more else arg, name=name, timeout=timeout)

    @classmethod
    async def start(
        cls, arg: Any = None, *more: Any, name: Any = None, timeout: float | None = 5.0
    ) -> Pid | None:
        """Like :meth:`start_link`, without a link to the caller."""
        return await start(cls, (arg, *more) if more else arg, name=name, timeout=timeout)

    @classmethod
    def child_spec(cls, arg: Any = None, **overrides: Any) -> ChildSpec:
        """A child spec that starts this server with ``start_link(arg)``.

        `overrides` set ChildSpec fields (``id``, ``restart``, ``shutdown``, ``type``);
        ``name=`` and ``timeout=`` are passed on to ``start_link``. The default id is the class.
        """
        return server_child_spec(cls, cls.start_link, arg, overrides)


def server_child_spec(
    cls: type, start_fn: Any, arg: Any, overrides: dict[str, Any]
) -> ChildSpec:
    """The child spec of a server started as ``start_fn(arg, name=..., timeout=...)``."""
    from otpy.child_spec import ChildSpec

    unknown = sorted(set(overrides) - set(_SPEC_KEYS))
    if unknown:
        raise TypeError(
            f"{cls.__qualname__}.child_spec got unknown option(s) {', '.join(unknown)}; "
            f"valid ones are: {', '.join(_SPEC_KEYS)}"
        )
    start_kw = {k: overrides.pop(k) for k in ("name", "timeout") if k in overrides}
    if "name" in start_kw:
        _check_name(start_kw["name"])
    if "timeout" in start_kw:
        check_timeout(start_kw["timeout"], "start timeout")
    if start_kw:
        start_fn = functools.partial(start_fn, **start_kw)
    fields: dict[str, Any] = {"id": cls, "start": (start_fn, (arg,))}
    fields.update(overrides)
    return ChildSpec(**fields)


def _unhandled(server: Any, callback: str, request: Any) -> Unhandled:
    proc = _current()
    name = proc.names[0] if proc is not None and proc.names else None
    return Unhandled(type(server), callback, request, getattr(server, "pid", None), name)


def _check_name(name: Any) -> None:
    if name is None or (isinstance(name, str) and name):
        return
    if hasattr(name, "whereis") and hasattr(name, "register"):
        return
    raise TypeError(
        f"name must be a non-empty str, a Via(registry, key) or None, not {name!r}"
    )


def _register_name(proc: _Process, name: Any) -> None:
    if isinstance(name, str):
        register(name, proc.pid)
    else:
        name.register(proc.pid)


def _fail_start(proc: _Process, ack: asyncio.Future[Any], error: BaseException) -> None:
    proc.unlink_parent()
    if not ack.done():
        ack.set_exception(error)


async def _serve(cls: type[GenServer], arg: Any, name: Any, ack: asyncio.Future[Any]) -> None:
    proc = _current()
    assert proc is not None
    label = proc.label or cls.__qualname__  # a behaviour's host is labelled with its module
    try:
        server = cls()
    except Exception as e:  # a failing constructor fails the start, like a failing init
        _fail_start(proc, ack, StartError(e, label))
        raise
    server.pid = proc.pid
    proc.behaviour = server
    if cls.trap_exits:
        proc.trap_exit = True
    if name is not None:
        try:
            _register_name(proc, name)
        except Exception as e:
            # A taken name raises AlreadyStarted in the caller; any other failure to register
            # (a Via naming a registry that is not running, or a duplicate one) a StartError.
            _fail_start(
                proc, ack, e if isinstance(e, AlreadyStarted) else StartError(e, label)
            )
            return
    ret: Any
    try:
        ret = await server.init(arg)
    except (Exception, ExitProcess) as e:
        reason = e.reason if isinstance(e, ExitProcess) else e
        _fail_start(proc, ack, StartError(reason, label))
        raise
    rtype = type(ret)
    if rtype is Ok:
        state, cont, tmo = ret.state, ret.continue_, ret.timeout
    elif rtype is Ignore:
        proc.unlink_parent()
        if not ack.done():
            ack.set_result(None)
        return
    elif rtype is Stop:
        _fail_start(proc, ack, StartError(ret.reason, label))
        raise ExitProcess(ret.reason)
    else:
        bad = BadReturn(cls, "init", ret, _INIT_RETURNS)
        _fail_start(proc, ack, StartError(bad, label))
        raise bad
    if tmo is not None:
        try:
            _check_idle(cls, "init", ret, cont, tmo)
        except BadReturn as bad:
            _fail_start(proc, ack, StartError(bad, label))
            raise
    if not ack.done():
        ack.set_result(proc.pid)
    await _loop(server, proc, state, cont, tmo)


def _check_idle(cls: type, callback: str, ret: Any, cont: Any, tmo: Any) -> None:
    """A return's ``timeout=``: a finite number of seconds, and not with ``continue_``."""
    try:
        check_timeout(tmo, "timeout")
    except (TypeError, ValueError):
        raise BadReturn(
            cls, callback, ret, "a timeout= of a finite number of seconds >= 0"
        ) from None
    if cont is not _NO_CONTINUE:
        raise BadReturn(cls, callback, ret, "continue_= or timeout=, not both")


async def _loop(server: GenServer, proc: _Process, state: Any, cont: Any, tmo: Any) -> None:
    cls = type(server)
    mb = proc.mailbox
    parent = proc.parent
    loop = proc.rt.loop
    # Locals, not globals or attribute look-ups, on the hot path.
    no_continue, call_t, cast_tag, noreply_t, reply_t = _NO_CONTINUE, _Call, _CAST, NoReply, Reply
    handle_call, handle_cast = server.handle_call, server.handle_cast
    handle_info = server.handle_info
    budget = FAIR_SLICE
    ret: Any
    try:
        while True:
            if proc.pending_exit is not None:  # killed, and a callback swallowed the cancel
                raise asyncio.CancelledError
            if cont is not no_continue:
                ret = await server.handle_continue(cont, state)
                state, cont, tmo = _noreply(cls, "handle_continue", ret)
                continue
            if not mb:
                budget = FAIR_SLICE
                if tmo is None:
                    await proc.wait_message()
                    continue
                if not await proc.wait_message(loop.time() + tmo) and not mb:
                    tmo = None
                    ret = await handle_info("timeout", state)
                    state, cont, tmo = _noreply(cls, "handle_info", ret)
                continue
            if not budget:
                budget = FAIR_SLICE
                await asyncio.sleep(0)  # let timers, signals and other processes run
                continue
            budget -= 1
            msg = proc.take()
            mtype = type(msg)
            if mtype is call_t:
                ret = await handle_call(msg.request, msg, state)
                rtype = type(ret)
                if rtype is reply_t:
                    state, cont, tmo = ret.state, ret.continue_, ret.timeout
                    if tmo is not None:  # checked first: a bad return must not answer
                        _check_idle(cls, "handle_call", ret, cont, tmo)
                    fut = msg._fut
                    if not fut.done():
                        fut.set_result(ret.value)
                elif rtype is noreply_t:
                    state, cont, tmo = ret.state, ret.continue_, ret.timeout
                    if tmo is not None:
                        _check_idle(cls, "handle_call", ret, cont, tmo)
                elif rtype is Stop:
                    if ret.reply is not _NO_CONTINUE:
                        raise _Stopping(ret.reason, ret.state, msg, ret.reply)
                    raise _Stopping(ret.reason, ret.state)
                else:
                    raise BadReturn(cls, "handle_call", ret, _CALL_RETURNS)
            elif mtype is tuple and len(msg) == 2 and msg[0] is cast_tag:
                ret = await handle_cast(msg[1], state)
                if type(ret) is noreply_t:
                    state, cont, tmo = ret.state, ret.continue_, ret.timeout
                    if tmo is not None:
                        _check_idle(cls, "handle_cast", ret, cont, tmo)
                else:
                    state, cont, tmo = _noreply(cls, "handle_cast", ret)
            elif mtype is _SysStop or (mtype is Exit and msg.pid == parent and parent is not None):
                raise _Stopping(msg.reason, state)
            else:
                ret = await handle_info(msg, state)
                if type(ret) is noreply_t:  # inline, as for casts: the common case
                    state, cont, tmo = ret.state, ret.continue_, ret.timeout
                    if tmo is not None:
                        _check_idle(cls, "handle_info", ret, cont, tmo)
                else:
                    state, cont, tmo = _noreply(cls, "handle_info", ret)
    except _Stopping as s:
        proc.terminating = True
        try:
            await server.terminate(s.reason, s.state)
        finally:
            if s.from_ is not None:
                reply(s.from_, s.reply)
        raise ExitProcess(s.reason) from None
    except ExitProcess as e:  # a callback called Erlang's exit/1: terminate runs, as in OTP
        proc.terminating = True
        await server.terminate(e.reason, state)
        raise
    except Exception as e:
        proc.terminating = True
        await server.terminate(e, state)
        raise


class _Stopping(Exception):
    def __init__(
        self, reason: Any, state: Any, from_: From | None = None, reply: Any = None
    ) -> None:
        self.reason = reason
        self.state = state
        self.from_ = from_
        self.reply = reply


def _noreply(cls: type, callback: str, ret: Any) -> tuple[Any, Any, Any]:
    rtype = type(ret)
    if rtype is NoReply:
        if ret.timeout is not None:
            _check_idle(cls, callback, ret, ret.continue_, ret.timeout)
        return ret.state, ret.continue_, ret.timeout
    if rtype is Stop:
        raise _Stopping(ret.reason, ret.state)
    raise BadReturn(cls, callback, ret, _NOREPLY_RETURNS)


# -- client API -----------------------------------------------------------------------------


async def _start(
    cls: type[GenServer],
    arg: Any,
    name: Any,
    timeout: float | None,
    link: bool,
    label: str | None = None,
) -> Pid | None:
    if not (isinstance(cls, type) and issubclass(cls, GenServer)):
        raise TypeError(f"{cls!r} is not a GenServer subclass")
    timeout = check_timeout(timeout, "start timeout")
    _check_name(name)
    label = label or cls.__qualname__
    ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    proc = _spawn(_serve, (cls, arg, name, ack), link=link, label=label)
    proc.add_call_waiter(ack)
    try:
        async with asyncio.timeout(timeout):
            pid: Pid | None = await ack
    except TimeoutError:
        proc.unlink_parent()
        proc.force_exit("killed", override=True)
        await _exited(proc, timeout)
        raise StartError("timeout", label) from None
    except ServerExited as e:
        raise StartError(e.reason, label) from None
    except (StartError, AlreadyStarted):
        # As OTP does since proc_lib:init_fail: return only once the failed process is gone, so
        # its name is free again and the caller may retry at once.
        await _exited(proc, timeout)
        raise
    finally:
        proc.discard_call_waiter(ack)
    return pid


async def _exited(proc: _Process, timeout: float | None) -> None:
    """Wait until `proc` has exited and its exit has been notified (at most `timeout` seconds:
    a helper whose clean-up hangs must not hang the caller of a failed start too)."""
    if not proc.alive:
        return
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_exit(_pid: Pid, _reason: Any) -> None:
        if not done.done():
            done.set_result(None)

    proc.add_exit_callback(on_exit)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await done
    finally:
        proc.remove_exit_callback(on_exit)


async def start_link(
    cls: type[GenServer], arg: Any = None, *, name: Any = None, timeout: float | None = 5.0
) -> Pid | None:
    """Start `cls` as a server linked to the caller. See :meth:`GenServer.start_link`."""
    return await _start(cls, arg, name, timeout, link=True)


async def start(
    cls: type[GenServer], arg: Any = None, *, name: Any = None, timeout: float | None = 5.0
) -> Pid | None:
    """Start `cls` as a server with no link to the caller."""
    return await _start(cls, arg, name, timeout, link=False)


async def call(dest: Any, request: Any, timeout: float | None = 5.0) -> Any:
    """Send `request` to the server's ``handle_call`` and wait for its reply.

    Raises :class:`~otpy.NoProcess` at once if `dest` is not alive, :class:`~otpy.CallingSelf` if
    a server calls itself, :class:`~otpy.CallTimeout` after `timeout` seconds (None: wait
    forever), and :class:`~otpy.ServerExited` if the server exits before replying. A reply that
    comes after the timeout is dropped; it never reaches a later call. A timeout that is not None
    or a finite number of seconds >= 0 raises TypeError or ValueError before anything is sent.
    """
    if timeout is not None and (type(timeout) is not float or not 0.0 <= timeout < _INF):
        timeout = check_timeout(timeout)  # the common float skips the call
    rt, task = _rt_task()
    if type(dest) is Pid:
        proc = rt.procs.get(dest.id)
        if proc is None or not proc.alive:
            raise _no_process(dest, "call")
    else:
        proc = _lookup(dest, "call")
    loop = rt.loop
    me = rt.by_task.get(task) if task is not None else None
    if me is proc and task is proc.task:
        raise CallingSelf(dest)
    fut: asyncio.Future[Any] = loop.create_future()
    proc.add_call_waiter(fut)
    proc.put(_Call(request, me.pid if me is not None else None, fut))
    if timeout is None:
        try:
            return await fut
        finally:
            proc.discard_call_waiter(fut)
    timeouts = rt.timeouts
    entry = timeouts.add(loop, fut, timeout, dest, request)
    try:
        return await fut
    finally:
        proc.discard_call_waiter(fut)
        timeouts.done(entry, timeout)


_INF = float("inf")


def reply(from_: From, value: Any) -> None:
    """Answer a call that ``handle_call`` left open with NoReply. Late or repeated replies are
    dropped. Raises :class:`~otpy.WrongThread` from a thread other than the loop's."""
    fut = from_._fut
    _check_thread(fut, "otpy.reply(from_, value)")
    if not fut.done():
        fut.set_result(value)


async def stop(dest: Any, reason: Any = NORMAL, timeout: float | None = None) -> None:
    """Stop a server: it runs ``terminate(reason, state)`` and exits with `reason`.

    Waits until it has exited (at most `timeout` seconds, None: forever). Raises NoProcess if it is
    not alive, CallingSelf from the server itself, CallTimeout if it takes too long, and
    ServerExited if it exited with another reason (for instance, ``terminate`` raised). A bad
    `timeout` raises TypeError or ValueError before the server is told anything.
    """
    timeout = check_timeout(timeout, "stop timeout")
    proc = _lookup(dest, "stop")
    if not isinstance(proc.behaviour, GenServer):
        raise TypeError(
            f"{dest!r} is not a GenServer; end a plain process with otpy.exit(pid, reason)"
        )
    if _current() is proc and _current_task(proc.rt) is proc.task:
        raise CallingSelf(dest)
    done: asyncio.Future[Any] = proc.rt.loop.create_future()

    def on_exit(_pid: Pid, exit_reason: Any) -> None:
        if not done.done():
            done.set_result(exit_reason)

    proc.add_exit_callback(on_exit)
    proc.put(_SysStop(reason))
    try:
        async with asyncio.timeout(timeout):
            got = await done
    except TimeoutError:
        raise CallTimeout(dest, ("stop", reason), timeout or 0.0) from None
    finally:
        proc.remove_exit_callback(on_exit)
    if got is not reason and got != reason:
        raise ServerExited(dest, got)
