"""The aiohttp session clients connect with when none is given: one per event loop, shared.

Its connector has no connection limit (aiohttp's default of 100 would make the 101st client
wait), so that 10,000 clients in one process work with the defaults, and it keeps no cookies: a
cookie one client's server sets must not ride along on another client's handshake. It is closed
when the last client using it has exited; the next client opens a new one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

__all__ = ["acquire", "release"]

_shared: dict[asyncio.AbstractEventLoop, list[Any]] = {}  # loop -> [session, users]
_closing: set[asyncio.Task[None]] = set()


def acquire() -> aiohttp.ClientSession:
    """The shared session of the running loop; count one more user."""
    loop = asyncio.get_running_loop()
    for old in [lp for lp in _shared if lp.is_closed()]:
        del _shared[old]
    entry = _shared.get(loop)
    if entry is None or entry[0].closed:
        new = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
            # no cookie jar: clients that share the session must not share each other's cookies
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=None, sock_read=None),
        )
        entry = _shared[loop] = [new, 0]
    entry[1] += 1
    session: aiohttp.ClientSession = entry[0]
    return session


def release(session: aiohttp.ClientSession) -> None:
    """A user of the shared `session` has gone; close it when it was the last one."""
    for loop, entry in list(_shared.items()):
        if entry[0] is not session:
            continue
        entry[1] -= 1
        if entry[1] <= 0:
            del _shared[loop]
            if not loop.is_closed():
                task = loop.create_task(session.close())
                _closing.add(task)
                task.add_done_callback(_closed)
        return


def _closed(task: asyncio.Task[None]) -> None:
    _closing.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a failed close of an idle session is not news
