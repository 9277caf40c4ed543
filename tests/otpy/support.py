"""Shared helpers for the otpy tests: waiting on events, never on the clock."""

from __future__ import annotations

import asyncio
from typing import Any

import otpy
from otpy import Down, Exit, Pid, Ref

#: A guard for waits that are expected to end at once: it only bounds a failing test.
GUARD = 2.0


class Boom(Exception):
    """The crash used throughout the tests."""


async def wait_down(ref: Ref, timeout: float = GUARD) -> Down:
    """The Down message of monitor `ref`."""
    msg: Down = await otpy.receive(
        match=lambda m: type(m) is Down and m.ref == ref, timeout=timeout
    )
    return msg


async def exit_reason_of(pid: Any, timeout: float = GUARD) -> Any:
    """Monitor `pid` and return its exit reason once it has exited."""
    return (await wait_down(otpy.monitor(pid), timeout)).reason


async def wait_exit_msg(pid: Pid, timeout: float = GUARD) -> Exit:
    """The Exit message (for a caller trapping exits) about `pid`."""
    msg: Exit = await otpy.receive(
        match=lambda m: type(m) is Exit and m.pid == pid, timeout=timeout
    )
    return msg


async def wait_msg(tag: str, timeout: float = GUARD) -> tuple[Any, ...]:
    """The first tuple message whose first element is `tag`."""
    msg: tuple[Any, ...] = await otpy.receive(
        match=lambda m: type(m) is tuple and len(m) > 0 and m[0] == tag, timeout=timeout
    )
    return msg


async def assert_no_msg(tag: str) -> None:
    """Assert that no tuple message tagged `tag` is queued right now."""
    try:
        msg = await otpy.receive(
            match=lambda m: type(m) is tuple and len(m) > 0 and m[0] == tag, timeout=0
        )
    except otpy.ReceiveTimeout:
        return
    raise AssertionError(f"unexpected message {msg!r}")


async def idle() -> None:
    """A process body that waits until it is told to exit."""
    await asyncio.Event().wait()


async def exit_on_command() -> None:
    """A process body that exits with the reason it receives, or raises it if it is an error."""
    reason = await otpy.receive()
    if isinstance(reason, BaseException):
        raise reason
    raise otpy.ExitProcess(reason)


async def echo() -> None:
    """A process body answering ("pong", self) to every ("ping", sender)."""
    while True:
        msg = await otpy.receive()
        if type(msg) is tuple and msg[0] == "ping":
            otpy.send(msg[1], ("pong", otpy.self_pid()))


async def ping(pid: Pid) -> None:
    """Assert `pid` is alive and serving its mailbox."""
    otpy.send(pid, ("ping", otpy.self_pid()))
    msg = await wait_msg("pong")
    assert msg[1] == pid
