"""SIGINT and SIGTERM for the commands: a handler for the duration of a block, or a wait."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator

__all__ = ["SIGNALS", "on_signals", "until_signal"]

#: What ends a command: Ctrl-C, and a service manager's stop.
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def on_signals(callback: Callable[[int], object]) -> Iterator[None]:
    """Call ``callback(signum)`` on SIGINT or SIGTERM while the block runs (in the loop)."""
    loop = asyncio.get_running_loop()
    for sig in SIGNALS:
        loop.add_signal_handler(sig, callback, sig)
    try:
        yield
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)


async def until_signal() -> None:
    """Wait for SIGINT or SIGTERM."""
    stop = asyncio.Event()
    with on_signals(lambda _: stop.set()):
        await stop.wait()
