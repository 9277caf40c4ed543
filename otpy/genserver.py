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

``Reply`` and ``NoReply`` from ``handle_call`` also accept ``continue_=``. Any other return value
crashes the server with :class:`~otpy.BadReturn` naming the class, the callback and the value.

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

from otpy._runtime import _current, _lookup, _Process, _resolve, _rt
from otpy.errors import (
    AlreadyStarted,
    BadReturn,
    CallingSelf,
    CallTimeout,
    NoProcess,
    ServerExited,
    StartError,
    Unhandled,
)
from otpy.log import logger
from otpy.names import register
from otpy.process import _spawn
from otpy.returns import _NO_CONTINUE, Ignore, NoReply, Ok, Reply, Stop
from otpy.values import NORMAL, Exit, ExitProcess, Pid

if TYPE_CHECKING:
    from otpy.child_spec import ChildSpec

__all__ = ["From", "GenServer", "call", "cast", "reply", "start", "start_link", "stop"]

_INIT_RETURNS = "Ok(state), Ok(state, continue_=x), Ignore(), Stop(reason)"
_CALL_RETURNS = (
    "Reply(value, state), NoReply(state), Stop(reason, state) or Stop(reason, state, reply=value)"
)
_NOREPLY_RETURNS = "NoReply(state), NoReply(state, continue_=x), Stop(reason, state)"
_CALLBACKS = ("init", "handle_call", "handle_cast", "handle_info", "handle_continue", "terminate")


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


class _Call:
    __slots__ = ("from_", "request")

    def __init__(self, request: Any, from_: From) -> None:
        self.request = request
        self.from_ = from_


class _CastTag:
    """Tags a cast in the mailbox: a cast travels as the tuple ``(_CAST, request)``.

    A bare tuple costs a fifth of an object with an ``__init__``, and casts are the cheapest,
    most frequent message; no other message can carry this private tag.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "<cast>"


_CAST = _CastTag()


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

    async def init(self, arg: Any) -> Any:
        """Set up the state. Default: ``Ok(arg)``."""
        return Ok(arg)

    async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        """Answer a :func:`call`. Default: crash with :class:`~otpy.Unhandled`."""
        raise Unhandled(type(self), "handle_call", request)

    async def handle_cast(self, request: Any, state: Any) -> Any:
        """Handle a :func:`cast`. Default: crash with :class:`~otpy.Unhandled`."""
        raise Unhandled(type(self), "handle_cast", request)

    async def handle_info(self, msg: Any, state: Any) -> Any:
        """Handle any other message. Default: log it at debug level and carry on."""
        logger(pid=repr(self.pid)).debug(
            "unexpected_message", server=type(self).__qualname__, msg=repr(msg)
        )
        return NoReply(state)

    async def handle_continue(self, continue_: Any, state: Any) -> Any:
        """Continue work asked for by a ``continue_=`` return. Default: crash (Unhandled)."""
        raise Unhandled(type(self), "handle_continue", continue_)

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

        `overrides` set ChildSpec fields (``id``, ``restart``, ``shutdown``, ``type``); ``name=``
        is passed on to ``start_link``. The default id is the class itself.
        """
        from otpy.child_spec import ChildSpec

        name = overrides.pop("name", None)
        start_fn: Any = cls.start_link
        if name is not None:
            start_fn = functools.partial(cls.start_link, name=name)
        fields: dict[str, Any] = {"id": cls, "start": (start_fn, (arg,))}
        fields.update(overrides)
        return ChildSpec(**fields)


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


def _unlink_parent(proc: _Process) -> None:
    if proc.parent is not None:
        for other in list(proc.links):
            if other.pid == proc.parent:
                proc.links.discard(other)
                other.links.discard(proc)


async def _serve(cls: type[GenServer], arg: Any, name: Any, ack: asyncio.Future[Any]) -> None:
    proc = _current()
    assert proc is not None
    try:
        server = cls()
    except Exception as e:  # a failing constructor fails the start, like a failing init
        _unlink_parent(proc)
        if not ack.done():
            ack.set_exception(StartError(e, cls.__qualname__))
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
            _unlink_parent(proc)
            if not ack.done():
                ack.set_exception(
                    e if isinstance(e, AlreadyStarted) else StartError(e, cls.__qualname__)
                )
            return
    try:
        ret = await server.init(arg)
    except (Exception, ExitProcess) as e:
        _unlink_parent(proc)
        if not ack.done():
            reason = e.reason if isinstance(e, ExitProcess) else e
            ack.set_exception(StartError(reason, cls.__qualname__))
        raise
    rtype = type(ret)
    if rtype is Ok:
        state, cont = ret.state, ret.continue_
    elif rtype is Ignore:
        _unlink_parent(proc)
        if not ack.done():
            ack.set_result(None)
        return
    elif rtype is Stop:
        _unlink_parent(proc)
        if not ack.done():
            ack.set_exception(StartError(ret.reason, cls.__qualname__))
        raise ExitProcess(ret.reason)
    else:
        bad = BadReturn(cls, "init", ret, _INIT_RETURNS)
        _unlink_parent(proc)
        if not ack.done():
            ack.set_exception(StartError(bad, cls.__qualname__))
        raise bad
    if not ack.done():
        ack.set_result(proc.pid)
    await _loop(server, proc, state, cont)


async def _loop(server: GenServer, proc: _Process, state: Any, cont: Any) -> None:
    cls = type(server)
    mb = proc.mailbox
    parent = proc.parent
    # Locals, not globals or attribute look-ups, on the hot path.
    no_continue, call_t, cast_tag, noreply_t, reply_t = _NO_CONTINUE, _Call, _CAST, NoReply, Reply
    handle_call, handle_cast = server.handle_call, server.handle_cast
    handle_info = server.handle_info
    try:
        while True:
            if proc.pending_exit is not None:  # killed, and a callback swallowed the cancel
                raise asyncio.CancelledError
            while cont is not no_continue:
                ret = await server.handle_continue(cont, state)
                state, cont = _noreply(cls, "handle_continue", ret)
            if not mb:
                await proc.wait_message()
                continue
            msg = mb.popleft()
            if proc.space_waiters:
                proc._wake_space()
            mtype = type(msg)
            if mtype is call_t:
                ret = await handle_call(msg.request, msg.from_, state)
                rtype = type(ret)
                if rtype is reply_t:
                    fut = msg.from_._fut
                    if not fut.done():
                        fut.set_result(ret.value)
                    state, cont = ret.state, ret.continue_
                elif rtype is noreply_t:
                    state, cont = ret.state, ret.continue_
                elif rtype is Stop:
                    if ret.reply is not _NO_CONTINUE:
                        raise _Stopping(ret.reason, ret.state, msg.from_, ret.reply)
                    raise _Stopping(ret.reason, ret.state)
                else:
                    raise BadReturn(cls, "handle_call", ret, _CALL_RETURNS)
            elif mtype is tuple and len(msg) == 2 and msg[0] is cast_tag:
                ret = await handle_cast(msg[1], state)
                if type(ret) is noreply_t:
                    state, cont = ret.state, ret.continue_
                else:
                    state, cont = _noreply(cls, "handle_cast", ret)
            elif mtype is _SysStop or (mtype is Exit and msg.pid == parent and parent is not None):
                raise _Stopping(msg.reason, state)
            else:
                ret = await handle_info(msg, state)
                if type(ret) is noreply_t:
                    state, cont = ret.state, ret.continue_
                else:
                    state, cont = _noreply(cls, "handle_info", ret)
    except _Stopping as s:
        try:
            await server.terminate(s.reason, s.state)
        finally:
            if s.from_ is not None:
                reply(s.from_, s.reply)
        raise ExitProcess(s.reason) from None
    except ExitProcess as e:  # a callback called Erlang's exit/1: terminate runs, as in OTP
        await server.terminate(e.reason, state)
        raise
    except Exception as e:
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


def _noreply(cls: type, callback: str, ret: Any) -> tuple[Any, Any]:
    rtype = type(ret)
    if rtype is NoReply:
        return ret.state, ret.continue_
    if rtype is Stop:
        raise _Stopping(ret.reason, ret.state)
    raise BadReturn(cls, callback, ret, _NOREPLY_RETURNS)


# -- client API -----------------------------------------------------------------------------


async def _start(
    cls: type[GenServer], arg: Any, name: Any, timeout: float | None, link: bool
) -> Pid | None:
    if not (isinstance(cls, type) and issubclass(cls, GenServer)):
        raise TypeError(f"{cls!r} is not a GenServer subclass")
    _check_name(name)
    ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    proc = _spawn(_serve, (cls, arg, name, ack), link=link, label=cls.__qualname__)
    proc.call_waiters.add(ack)
    try:
        async with asyncio.timeout(timeout):
            pid: Pid | None = await ack
    except TimeoutError:
        _unlink_parent(proc)
        proc.force_exit("killed", override=True)
        await _exited(proc, timeout)
        raise StartError("timeout", cls.__qualname__) from None
    except ServerExited as e:
        raise StartError(e.reason, cls.__qualname__) from None
    except (StartError, AlreadyStarted):
        # As OTP does since proc_lib:init_fail: return only once the failed process is gone, so
        # its name is free again and the caller may retry at once.
        await _exited(proc, timeout)
        raise
    finally:
        proc.call_waiters.discard(ack)
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

    proc.on_exit.append(on_exit)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await done


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
    comes after the timeout is dropped; it never reaches a later call.
    """
    proc = _resolve(dest)
    if proc is None:
        raise NoProcess(dest, "call")
    rt = proc.rt
    task = asyncio.current_task()
    me = rt.by_task.get(task) if task is not None else None
    if me is proc:
        raise CallingSelf(dest)
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Any] = loop.create_future()
    if timeout is not None:
        rt.timeouts.add(loop, fut, timeout, dest, request)  # first: a bad timeout raises
    waiters = proc.call_waiters
    waiters.add(fut)
    proc.put(_Call(request, From(me.pid if me is not None else None, fut)))
    if timeout is None:
        try:
            return await fut
        finally:
            waiters.discard(fut)
    try:
        return await fut
    finally:
        waiters.discard(fut)


def cast(dest: Any, request: Any) -> None:
    """Send `request` to the server's ``handle_cast`` and return at once.

    As in OTP, a cast to a pid that has exited is dropped; a cast to a name nobody holds raises
    :class:`~otpy.NoProcess`.
    """
    if type(dest) is Pid:
        proc = _rt().procs.get(dest.id)
        if proc is None or not proc.alive:
            return
    else:
        proc = _lookup(dest, "cast to")
    proc.mailbox.append((_CAST, request))
    w = proc.waiter
    if w is not None and not w.done():
        w.set_result(True)


def reply(from_: From, value: Any) -> None:
    """Answer a call that ``handle_call`` left open with NoReply. Late or repeated replies are
    dropped."""
    fut = from_._fut
    if not fut.done():
        fut.set_result(value)


async def stop(dest: Any, reason: Any = NORMAL, timeout: float | None = None) -> None:
    """Stop a server: it runs ``terminate(reason, state)`` and exits with `reason`.

    Waits until it has exited (at most `timeout` seconds, None: forever). Raises NoProcess if it is
    not alive, CallingSelf from the server itself, CallTimeout if it takes too long, and
    ServerExited if it exited with another reason (for instance, ``terminate`` raised).
    """
    proc = _lookup(dest, "stop")
    if not isinstance(proc.behaviour, GenServer):
        raise TypeError(
            f"{dest!r} is not a GenServer; end a plain process with otpy.exit(pid, reason)"
        )
    if _current() is proc:
        raise CallingSelf(dest)
    done: asyncio.Future[Any] = proc.rt.loop.create_future()

    def on_exit(_pid: Pid, exit_reason: Any) -> None:
        if not done.done():
            done.set_result(exit_reason)

    proc.on_exit.append(on_exit)
    proc.put(_SysStop(reason))
    try:
        async with asyncio.timeout(timeout):
            got = await done
    except TimeoutError:
        raise CallTimeout(dest, ("stop", reason), timeout or 0.0) from None
    if got is not reason and got != reason:
        raise ServerExited(dest, got)
