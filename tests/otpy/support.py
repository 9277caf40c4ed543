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


class HeldCleanup:
    """A helper task whose clean-up waits for the test; start it with ``await held.start()``.

    When its owner's body ends, the helper is cancelled and its clean-up begins (`cleaning` is
    set), then waits for `release`. Until then its owner is *exiting*: its body is over, but its
    links, monitors, names and callers have not been told yet. `done` is set when the clean-up
    ends, released or cut short (a "kill" of the exiting owner cancels it again).
    """

    def __init__(self) -> None:
        self.running = asyncio.Event()
        self.cleaning = asyncio.Event()
        self.release = asyncio.Event()
        self.done = asyncio.Event()

    async def start(self) -> None:
        """Start the helper in the calling process; return once it runs (a helper cancelled
        before its first step would never reach its clean-up)."""
        otpy.start_task(self._run())
        await self.running.wait()

    async def _run(self) -> None:
        self.running.set()
        try:
            await idle()
        except asyncio.CancelledError:
            self.cleaning.set()
            try:
                await self.release.wait()
            finally:
                self.done.set()
            raise

    async def wait_cleaning(self, timeout: float = GUARD) -> None:
        """Wait until the owner's body has ended and this clean-up holds its exit back."""
        await asyncio.wait_for(self.cleaning.wait(), timeout)


async def exit_on_command_after_cleanup(held: HeldCleanup) -> None:
    """:func:`exit_on_command`, with `held` as its helper: its exit waits for that clean-up."""
    await held.start()
    await exit_on_command()


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
