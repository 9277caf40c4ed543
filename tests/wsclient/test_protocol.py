"""What the client does with what the RFC forbids, and with the sockets it replaces."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import WSMsgType, web

import otpy
import wsclient
from wsclient import Backoff, Reconnect, Text
from wsclient.testing import Server

from .support import GUARD, Reporter, next_event

FAST = Backoff(initial=0.001, cap=0.005, after_drop=0.001)


async def _start_server(handler: Any, aiohttp_server: Any) -> str:
    app = web.Application()
    app.router.add_get("/", handler)
    server = await aiohttp_server(app)
    return f"ws://127.0.0.1:{server.port}/"


@pytest.mark.parametrize("code", [1006, 1015, 5000])
async def test_a_close_code_that_may_not_be_on_the_wire_is_answered_with_1002(
    code: int, aiohttp_server: Any
) -> None:
    answers: list[Any] = []
    answered = asyncio.Event()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoclose=False)
        await ws.prepare(request)
        await ws._writer.send_frame(code.to_bytes(2, "big"), 0x8)  # a raw close frame
        msg = await ws.receive()
        answers.append((msg.type, msg.data))
        answered.set()
        return ws

    url = await _start_server(handler, aiohttp_server)
    pid = await Reporter.start_link(url, otpy.self_pid(), backoff=FAST)
    reason = await next_event("disconnect")
    assert isinstance(reason, wsclient.ProtocolError) and reason.code == 1002
    await asyncio.wait_for(answered.wait(), GUARD)
    assert answers == [(WSMsgType.CLOSE, 1002)]
    await otpy.stop(pid)


async def test_a_message_over_max_msg_size_is_a_protocol_error_1009(ws_server: Server) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid(), max_msg_size=10, backoff=FAST)
    await next_event("connect")
    await ws_server.push(Text("x" * 100))
    reason = await next_event("disconnect")
    assert isinstance(reason, wsclient.ProtocolError) and reason.code == 1009
    assert "exceeds" in reason.detail and "limit" in reason.detail
    await otpy.stop(pid)


class ReconnectsOnFrame(Reporter):
    async def handle_frame(self, frame: Any, state: Any) -> Any:
        otpy.send(state, ("frame", frame))
        return Reconnect(state, after=0)


async def test_the_old_socket_is_closed_before_a_new_one_opens(ws_server: Server) -> None:
    pid = await ReconnectsOnFrame.start_link(ws_server.url, otpy.self_pid())
    for i in range(5):
        await next_event("connect")
        await ws_server.push(Text(f"reconnect {i}"))
        assert await next_event("frame") == Text(f"reconnect {i}")
    await next_event("connect")
    await ws_server.wait_connections(6)
    assert ws_server.max_open == 1
    await otpy.stop(pid)
