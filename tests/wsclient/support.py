"""Shared pieces of the wsclient tests: a client that reports every callback to the test."""

from __future__ import annotations

from typing import Any

import otpy
import wsclient
from otpy._runtime import _rt
from wsclient import Ok, Reconnect

from ..otpy.support import GUARD, wait_msg

__all__ = ["GUARD", "Reporter", "host_of", "next_event", "wait_msg"]


class Reporter(wsclient.WebsocketClient):
    """Sends ("connect", status), ("frame", frame), ("disconnect", reason), ("cast", req),
    ("info", msg), ("terminate", reason) to the process given as its arg; reconnects after
    every disconnect but a local close (the default)."""

    async def init(self, arg: Any) -> Ok:
        return Ok(arg)

    async def handle_connect(self, status: Any, state: Any) -> Any:
        otpy.send(state, ("connect", status))
        return Ok(state)

    async def handle_disconnect(self, reason: Any, state: Any) -> Any:
        otpy.send(state, ("disconnect", reason))
        if isinstance(reason, wsclient.LocalClosed):
            return Ok(state)
        return Reconnect(state)

    async def handle_frame(self, frame: Any, state: Any) -> Any:
        otpy.send(state, ("frame", frame))
        return Ok(state)

    async def handle_cast(self, request: Any, state: Any) -> Any:
        otpy.send(state, ("cast", request))
        return Ok(state)

    async def handle_info(self, msg: Any, state: Any) -> Any:
        otpy.send(state, ("info", msg))
        return Ok(state)

    async def terminate(self, reason: Any, state: Any) -> None:
        otpy.send(state, ("terminate", reason))


async def next_event(tag: str, timeout: float = GUARD) -> Any:
    """The payload of the next ("tag", payload) report."""
    return (await wait_msg(tag, timeout))[1]


def host_of(pid: otpy.Pid) -> Any:
    """The client's host object (private: for what no public view shows, such as which read
    path is in use or how many frames wait)."""
    return _rt().procs[pid.id].behaviour
