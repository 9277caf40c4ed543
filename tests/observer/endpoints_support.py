"""Helpers of the observer's endpoint tests: the routes, a plain server, taps, ports, GETs."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import structlog

from otpy import GenServer, Ok
from otpy.observer._events import EventTap

from .support import Running

Observe = Callable[..., Awaitable[Running]]
#: The routes a page reads (the websocket and the action are tried apart).
PAGE_FILES = ("/", "/observer.js", "/observer.css")
GET_ROUTES = (*PAGE_FILES, "/api/snapshot")
EVIL = "http://evil.example"


class Plain(GenServer):
    async def init(self, arg: Any) -> Ok:
        return Ok(arg)


def taps() -> list[EventTap]:
    """The observers' taps in structlog's processor list."""
    return [p for p in structlog.get_config()["processors"] if isinstance(p, EventTap)]


async def port_refuses(port: int) -> bool:
    """True if nothing listens on 127.0.0.1:`port` (a fresh connection is refused)."""
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    await writer.wait_closed()
    return False


def taken_port() -> socket.socket:
    """A socket listening on a free port of 127.0.0.1 (close it after use)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


async def get(http: aiohttp.ClientSession, url: str, **kw: Any) -> tuple[int, Any, str]:
    async with http.get(url, **kw) as r:
        return r.status, r.headers, await r.text()


async def ws_status(http: aiohttp.ClientSession, url: str, **kw: Any) -> int:
    """The HTTP status that refused a websocket handshake."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with http.ws_connect(url, **kw):
            pass
    return refused.value.status
