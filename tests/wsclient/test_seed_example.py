"""The seed's example, line by line, against the test server."""

from __future__ import annotations

from typing import Any

import otpy
import wsclient
from wsclient import Ok, Ping, Pong, Reconnect, Reply, Text
from wsclient.testing import Server

from .support import next_event


class WS(wsclient.WebsocketClient):
    async def init(self, arg: Any) -> Ok:
        return Ok(arg)

    async def handle_connect(self, status: Any, state: Any) -> Reply:
        return Reply(Text('{"action": "subscribe"}'), state)

    async def handle_disconnect(self, reason: Any, state: Any) -> Reconnect:
        return Reconnect(state)

    async def handle_frame(self, frame: Any, state: Any) -> Ok:
        otpy.send(state, ("frame", frame))
        return Ok(state)

    async def handle_cast(self, request: Any, state: Any) -> Reply:
        _, text = request
        return Reply(Text(text), state)


async def test_the_seed_example_works_as_written(ws_server: Server) -> None:
    pid = await WS.start_link(ws_server.url, otpy.self_pid(), name="WS")
    assert otpy.whereis("WS") == pid
    await ws_server.wait_received(Text('{"action": "subscribe"}'))  # handle_connect's Reply

    await wsclient.send_frame(pid, Ping())
    assert await next_event("frame") == Pong(b"")  # handle_frame later sees Pong(b"")

    assert wsclient.cast(pid, ("send_message", "elixir")) is None  # returns at once
    await ws_server.wait_received(Text("elixir"))
    await otpy.stop(pid)


async def test_cast_is_otpy_cast() -> None:
    assert wsclient.cast is otpy.cast
