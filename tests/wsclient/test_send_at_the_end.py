"""A frame sent when the connection has already ended under the client, which has not read
that yet, is refused with NotConnected instead of being written into a dead connection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import otpy
import wsclient
from wsclient import NotConnected, Ok, Text
from wsclient.testing import Server

from .support import Reporter, host_of, next_event


class Held(Reporter):
    """A Reporter whose handle_cast waits for the test's go-ahead: the client is busy, and reads
    nothing, while the test arranges what its socket holds."""

    async def handle_cast(self, request: Any, state: Any) -> Any:
        await request.wait()
        return Ok(state)


async def _until(pred: Any) -> None:
    for _ in range(10_000):  # event-loop turns, not time: the socket's data is on its way
        if pred():
            return
        await asyncio.sleep(0)
    raise AssertionError("the client's socket never showed it")


@pytest.mark.parametrize("how", ["close frame", "reset"])
async def test_send_frame_after_the_peer_ended_the_connection_raises_not_connected(
    ws_server: Server, how: str
) -> None:
    me = otpy.self_pid()
    pid = await Held.start_link(ws_server.url, me)
    await next_event("connect")
    ws = host_of(pid).ws
    go = asyncio.Event()
    wsclient.cast(pid, go)  # the client is now busy in handle_cast
    sending = asyncio.ensure_future(wsclient.send_frame(pid, Text("too late")))
    if how == "close frame":
        await ws_server.close_all(4000, "bye")
        await _until(lambda: ws._reader._buffer and ws._reader._buffer[-1][0].type.name == "CLOSE")
    else:
        ws_server.drop()
        await _until(lambda: ws._reader.is_eof() or ws._conn is None or ws._conn.transport is None
                     or ws._conn.transport.is_closing())  # fmt: skip
    go.set()
    with pytest.raises(NotConnected, match="closing"):
        await sending
    assert Text("too late") not in ws_server.received
    await next_event("disconnect")
    otpy.unlink(pid)
    await otpy.stop(pid)
