"""Ticker: the behaviour built in docs/howto/writing-a-behaviour.md, on otpy.behaviour.

A Ticker calls its module's ``handle_tick(n, state)`` every `interval` seconds. The module
answers with the behaviour's own results, ``Tick(state)`` (go on) or ``Halt(state)`` (stop
ticking; the process stays). The host owns the timer and answers ``ticks(server)`` itself; the
module's ``handle_info`` and ``handle_call`` see only the messages and calls that are theirs.
countdown.py uses it.
"""

# --8<-- [start:results]
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import otpy
from otpy import NoReply, Ok, Reply
from otpy.behaviour import Behaviour, BehaviourServer

# -- the behaviour's results ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tick:
    """Go on ticking."""

    state: Any


@dataclass(frozen=True, slots=True)
class Halt:
    """Stop ticking; the process stays and still serves calls and messages."""

    state: Any


_RESULTS = "Tick(state), Halt(state)"
# --8<-- [end:results]


# --8<-- [start:face]
# -- the face users subclass ------------------------------------------------------------------


class Ticker(Behaviour):
    """Subclass it and define ``handle_tick``; start it with ``await MyTicker.start_link(arg,
    interval=0.5)``."""

    callbacks = ("init", "handle_tick", "handle_info", "handle_call", "terminate")

    async def init(self, arg: Any) -> Tick | Halt:
        return Tick(arg)

    async def handle_tick(self, n: int, state: Any) -> Tick | Halt:
        return Tick(state)

    async def handle_info(self, msg: Any, state: Any) -> Tick | Halt:
        return Tick(state)

    async def handle_call(self, request: Any, from_: otpy.From, state: Any) -> Tick | Halt:
        raise otpy.Unhandled(type(self), "handle_call", request, self.pid)

    async def terminate(self, reason: Any, state: Any) -> None:
        return None

    @classmethod
    async def start_link(
        cls, arg: Any = None, *, interval: float, name: Any = None
    ) -> otpy.Pid | None:
        return await otpy.behaviour.start_link(_TickerServer, cls, (arg, interval), name=name)

    @classmethod
    async def start(cls, arg: Any = None, *, interval: float, name: Any = None) -> otpy.Pid | None:
        return await otpy.behaviour.start(_TickerServer, cls, (arg, interval), name=name)

    @classmethod
    def child_spec(cls, arg: Any = None, **overrides: Any) -> otpy.ChildSpec:
        interval = overrides.pop("interval", 1.0)
        name = overrides.pop("name", None)

        async def start(a: Any) -> otpy.Pid | None:
            return await cls.start_link(a, interval=interval, name=name)

        return otpy.ChildSpec(id=cls, start=(start, (arg,)), **overrides)


async def ticks(server: Any) -> int:
    """How many ticks `server` has made (answered by the host, not by the module)."""
    count: int = await otpy.call(server, _Ticks())
    return count
# --8<-- [end:face]


# --8<-- [start:host]
# -- the host, private to the behaviour --------------------------------------------------------


class _Tick:
    """The host's own timer message: a private type no user message can be."""

    __slots__ = ()


class _Ticks:
    """The host's own call."""

    __slots__ = ()


class _TickerServer(BehaviourServer):
    async def init_module(self, arg: Any) -> Any:
        user_arg, interval = arg
        self.interval = interval
        self.count = 0
        ret = await self.module.init(user_arg)
        if type(ret) is Tick:
            otpy.send_after(self.pid, _Tick(), interval)
        elif type(ret) is not Halt:
            raise self.bad_return("init", ret, _RESULTS)
        return Ok(ret.state)

    def _result(self, callback: str, ret: Any) -> NoReply:
        if type(ret) is Tick or type(ret) is Halt:
            return NoReply(ret.state)
        raise self.bad_return(callback, ret, _RESULTS)

    async def handle_info(self, msg: Any, state: Any) -> NoReply:
        if type(msg) is _Tick:  # ours: the module never sees it
            self.count += 1
            ret = await self.module.handle_tick(self.count, state)
            if type(ret) is Tick:
                otpy.send_after(self.pid, _Tick(), self.interval)
            return self._result("handle_tick", ret)
        return self._result("handle_info", await self.module.handle_info(msg, state))

    async def handle_call(self, request: Any, from_: otpy.From, state: Any) -> Reply | NoReply:
        if type(request) is _Ticks:  # answered by the host itself
            return Reply(self.count, state)
        # the module answers with otpy.reply(from_, value)
        return self._result("handle_call", await self.module.handle_call(request, from_, state))

    async def terminate(self, reason: Any, state: Any) -> None:
        await self.module.terminate(reason, state)
# --8<-- [end:host]
