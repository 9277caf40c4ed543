"""Hosting a behaviour: a server process that runs a user's callback class.

A *behaviour* (Supervisor, a websocket client, a ticker...) is a GenServer written once by its
author, the *host*, that calls a user's callbacks, the *module*, with the behaviour's own result
types. The host and the module are two objects, so their callbacks never clash: a user who
defines ``handle_info`` on their module gets the messages the host passes on, while the host's
own ``handle_info`` sees every message first and keeps its own (its timers, its socket's data)
to itself::

    class Ticker(Behaviour):                      # what users subclass
        callbacks = ("init", "handle_tick", "handle_info")

    class _TickerServer(BehaviourServer):         # the host, private to the behaviour
        async def init_module(self, arg):          # self.module is the user's Ticker instance
            ...
        async def handle_info(self, msg, state):   # everything that is not a call or a cast
            if type(msg) is _Tick:                 # its own message: a private type
                ...
            ret = await self.module.handle_info(msg, state)   # the user's: check, translate
            ...

The host is started with :func:`start_link` (or :func:`start`), which takes the host class and
the module class; the process is labelled with the module's class name in logs and crash
reports, and ``otpy.stop``, supervisors and names work as for any GenServer.

The rules a host follows (``docs/howto/writing-a-behaviour.md`` walks through an example):

- Own messages, timers and calls use private types, so no user message can be mistaken for one.
- Results from the module are checked against the behaviour's own table; anything else is
  ``raise self.bad_return(callback, value, allowed)``, which names the module's class.
- A call the host answers itself and a user's call both arrive at the host's ``handle_call``;
  answer a call with an error raised in the caller with :func:`reply_error`.
- ``terminate`` of the host runs the module's ``terminate``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

from otpy._runtime import _check_thread, _current
from otpy.errors import BadReturn, Unhandled
from otpy.genserver import From, GenServer, _start
from otpy.log import logger
from otpy.returns import InitResult
from otpy.values import Pid

__all__ = ["Behaviour", "BehaviourServer", "Hosted", "reply_error", "start", "start_link"]


class Behaviour:
    """Base class of a module: the user-facing callback class that a host runs.

    A behaviour's author subclasses it to define the behaviour's face (its default callbacks
    and classmethods); users subclass that. Each name in `callbacks` that a subclass defines
    must be an ``async def``, checked when the subclass is created.
    """

    #: The callbacks that must be coroutine functions.
    callbacks: ClassVar[tuple[str, ...]] = ()
    #: The pid of the process hosting this instance (set before the module's ``init`` runs).
    pid: Pid

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.callbacks:
            fn = cls.__dict__.get(name)
            if fn is not None and not inspect.iscoroutinefunction(fn):
                raise TypeError(
                    f"{cls.__qualname__}.{name} must be defined with `async def`, "
                    f"not as a plain function"
                )


@dataclass(frozen=True, slots=True)
class Hosted:
    """The start argument of a host: the module's class and the argument for its ``init``."""

    module: type
    arg: Any


class BehaviourServer(GenServer):
    """Base class of a host: a GenServer that runs one instance of a module class.

    Override :meth:`init_module` (and the GenServer callbacks you need). ``self.module`` is the
    module instance.
    """

    module: Any

    async def init(self, arg: Any) -> InitResult:
        if not isinstance(arg, Hosted):
            raise TypeError(
                f"{type(self).__qualname__} hosts a module: start it with "
                "otpy.behaviour.start_link(host, module, arg)"
            )
        module = arg.module()  # a failing constructor fails the start, as a failing init does
        module.pid = self.pid
        self.module = module
        if type(self).exited is not BehaviourServer.exited:
            proc = _current()
            assert proc is not None
            proc.add_exit_callback(self._run_exited)
        return await self.init_module(arg.arg)

    async def init_module(self, arg: Any) -> InitResult:
        """Set the behaviour up and run the module's ``init``; return what GenServer's does."""
        raise NotImplementedError(f"{type(self).__qualname__} must define init_module")

    def exited(self, reason: Any) -> None:
        """Called once the process has exited, however it ended (a kill included, when
        ``terminate`` does not run), as its links and monitors are told: release what the
        behaviour holds outside the process here. Synchronous, and it must not raise (an
        error is logged as ``behaviour_exit_failed``). Default: nothing."""

    def _run_exited(self, _pid: Pid, reason: Any) -> None:
        try:
            self.exited(reason)
        except Exception as e:
            logger(pid=repr(self.pid)).error(
                "behaviour_exit_failed", host=type(self).__qualname__, reason=repr(e), exc_info=e
            )

    def bad_return(self, callback: str, value: Any, allowed: str) -> BadReturn:
        """The error for a module callback that returned `value`, not one of `allowed`."""
        return BadReturn(type(self.module), callback, value, allowed)

    def unhandled(self, callback: str, request: Any) -> Unhandled:
        """The error for a request the module has no `callback` for, naming the process."""
        proc = _current()
        name = proc.names[0] if proc is not None and proc.names else None
        return Unhandled(type(self.module), callback, request, self.pid, name)


def reply_error(from_: From, error: BaseException) -> None:
    """Answer a call by raising `error` in the caller (the server goes on). Dropped if the
    caller has stopped waiting."""
    fut = from_._fut
    _check_thread(fut, "otpy.behaviour.reply_error(from_, error)")
    if not fut.done():
        fut.set_exception(error)


def _check(host: Any, module: Any) -> None:
    if not (isinstance(host, type) and issubclass(host, BehaviourServer)):
        raise TypeError(f"{host!r} is not a BehaviourServer subclass")
    if not isinstance(module, type):
        raise TypeError(f"{module!r} is not a class: a host runs an instance of a module class")


async def start_link(
    host: type[BehaviourServer],
    module: type,
    arg: Any = None,
    *,
    name: Any = None,
    timeout: float | None = 5.0,
) -> Pid | None:
    """Start `host` running a `module` instance, linked to the caller; return its pid.

    As ``GenServer.start_link``: returns once ``init_module`` has returned (None if it returned
    Ignore), raises AlreadyStarted for a taken name and StartError if the start failed.
    """
    _check(host, module)
    return await _start(host, Hosted(module, arg), name, timeout, True, module.__qualname__)


async def start(
    host: type[BehaviourServer],
    module: type,
    arg: Any = None,
    *,
    name: Any = None,
    timeout: float | None = 5.0,
) -> Pid | None:
    """Like :func:`start_link`, without a link to the caller."""
    _check(host, module)
    return await _start(host, Hosted(module, arg), name, timeout, False, module.__qualname__)
