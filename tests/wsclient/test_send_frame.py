"""send_frame: returns once written; NotConnected while not connected; InvalidFrame in the
caller; CallingSelf from the client's own callbacks; a CloseFrame starts a polite close."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import otpy
import wsclient
from wsclient import Backoff, Binary, CloseFrame, Ok, Ping, Pong, Reconnect, Text
from wsclient.testing import Server

from .support import GUARD, Reporter, next_event

FAST = Backoff(initial=0.001, cap=0.005, after_drop=0.001)


async def start_connected(server: Server, **options: Any) -> otpy.Pid:
    pid = await Reporter.start_link(server.url, otpy.self_pid(), **options)
    await next_event("connect")
    return pid


async def wait_state(pid: otpy.Pid, state: str) -> None:
    """Ask the client for its stats until it is in `state` (each ask waits for the client)."""
    async with asyncio.timeout(GUARD):
        while (await wsclient.stats(pid)).state != state:
            pass


async def test_send_frame_returns_once_the_frame_is_written(ws_server: Server) -> None:
    pid = await start_connected(ws_server)
    assert await wsclient.send_frame(pid, Text("hello")) is None
    stats = await wsclient.stats(pid)
    assert stats.frames_out == 1 and stats.bytes_out == len("hello")
    await ws_server.wait_received(Text("hello"))
    await otpy.stop(pid)


async def test_a_list_of_frames_arrives_in_order(ws_server: Server) -> None:
    frames = [Text("1"), Binary(b"2"), Ping(b"3"), Pong(b"4"), Text("5")]
    pid = await start_connected(ws_server)
    await wsclient.send_frame(pid, frames)
    await ws_server.wait_count(len(frames))
    assert ws_server.received == frames
    assert (await wsclient.stats(pid)).frames_out == len(frames)
    await otpy.stop(pid)


# -- NotConnected -------------------------------------------------------------------------------


async def test_while_connecting_it_raises_not_connected_connecting(ws_server: Server) -> None:
    ws_server.hang_handshakes()
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid())
    assert (await wsclient.stats(pid)).state == "connecting"
    with pytest.raises(wsclient.NotConnected) as info:
        await wsclient.send_frame(pid, Text("too early"))
    assert info.value.state == "connecting"
    assert otpy.is_alive(pid)
    await otpy.stop(pid)


async def test_while_closing_it_raises_not_connected_closing(ws_server: Server) -> None:
    pid = await start_connected(ws_server, close_timeout=30)
    ws_server.go_silent()  # the peer never answers the close: the client stays closing
    closing = asyncio.create_task(wsclient.close(pid))
    await wait_state(pid, "closing")
    with pytest.raises(wsclient.NotConnected) as info:
        await wsclient.send_frame(pid, Text("too late"))
    assert info.value.state == "closing"
    assert not closing.done()
    ws_server.drop()  # ends the close
    await asyncio.wait_for(closing, GUARD)
    assert isinstance(await next_event("disconnect"), wsclient.LocalClosed)
    await otpy.stop(pid)


class StaysDown(Reporter):
    async def handle_disconnect(self, reason: Any, state: Any) -> Any:
        otpy.send(state, ("disconnect", reason))
        return Ok(state)


async def test_when_down_it_raises_not_connected_disconnected(ws_server: Server) -> None:
    pid = await StaysDown.start_link(ws_server.url, otpy.self_pid())
    await next_event("connect")
    ws_server.drop()
    await next_event("disconnect")
    assert (await wsclient.stats(pid)).state == "down"
    with pytest.raises(wsclient.NotConnected) as info:
        await wsclient.send_frame(pid, Text("nobody there"))
    assert info.value.state == "disconnected"
    await otpy.stop(pid)


class WaitsLong(Reporter):
    async def handle_disconnect(self, reason: Any, state: Any) -> Any:
        otpy.send(state, ("disconnect", reason))
        return Reconnect(state, after=30)


async def test_in_backoff_it_raises_not_connected_disconnected(ws_server: Server) -> None:
    pid = await WaitsLong.start_link(ws_server.url, otpy.self_pid())
    await next_event("connect")
    ws_server.drop()
    await next_event("disconnect")
    assert (await wsclient.stats(pid)).state == "backoff"
    with pytest.raises(wsclient.NotConnected) as info:
        await wsclient.send_frame(pid, Text("nobody there"))
    assert info.value.state == "disconnected"
    await otpy.stop(pid)


# -- InvalidFrame -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        "text",
        Text(b"bytes"),  # type: ignore[arg-type]
        Ping(b"x" * 126),
        CloseFrame(1005),
        CloseFrame(999),
        CloseFrame(5000),
        CloseFrame(1000, "x" * 124),
    ],
    ids=[
        "a-str",
        "text-of-bytes",
        "ping-126",
        "close-1005",
        "close-999",
        "close-5000",
        "close-reason-124",
    ],
)
async def test_an_invalid_frame_raises_in_the_caller_and_the_client_goes_on(
    frame: Any, ws_server: Server
) -> None:
    pid = await start_connected(ws_server)
    with pytest.raises(wsclient.InvalidFrame):
        await wsclient.send_frame(pid, frame)
    await wsclient.send_frame(pid, Text("after"))  # still connected, still serving
    await ws_server.wait_received(Text("after"))
    assert ws_server.received == [Text("after")]
    assert (await wsclient.stats(pid)).connects == 1
    await otpy.stop(pid)


async def test_a_list_with_one_invalid_frame_sends_none_of_them(ws_server: Server) -> None:
    pid = await start_connected(ws_server)
    with pytest.raises(wsclient.InvalidFrame):
        await wsclient.send_frame(pid, [Text("fine"), Ping(b"x" * 126)])
    await wsclient.send_frame(pid, Text("after"))
    await ws_server.wait_received(Text("after"))
    assert ws_server.received == [Text("after")]
    await otpy.stop(pid)


# -- from the client's own callback -------------------------------------------------------------


class SendsFromCast(Reporter):
    async def handle_cast(self, request: Any, state: Any) -> Any:
        try:
            await wsclient.send_frame(self.pid, Text("from inside"))
        except Exception as e:
            otpy.send(state, ("raised", type(e)))
        else:
            otpy.send(state, ("raised", None))
        return Ok(state)


async def test_send_frame_from_the_clients_own_callback_raises_calling_self(
    ws_server: Server,
) -> None:
    pid = await SendsFromCast.start_link(ws_server.url, otpy.self_pid())
    await next_event("connect")
    wsclient.cast(pid, "send")
    assert await next_event("raised") is otpy.CallingSelf
    assert (await wsclient.stats(pid)).state == "connected"
    await otpy.stop(pid)


# -- a close frame ------------------------------------------------------------------------------


async def test_a_close_frame_starts_a_polite_close(ws_server: Server) -> None:
    pid = await start_connected(ws_server)
    await wsclient.send_frame(pid, CloseFrame(4005, "bye"))
    await ws_server.wait_received(CloseFrame(4005, "bye"))
    assert await next_event("disconnect") == wsclient.LocalClosed(4005, "bye", attempt=1)
    assert (await wsclient.stats(pid)).state == "down"
    await otpy.stop(pid)


async def test_frames_before_a_close_frame_in_a_list_are_sent_first(ws_server: Server) -> None:
    pid = await start_connected(ws_server)
    await wsclient.send_frame(pid, [Text("last"), CloseFrame(4006, "done")])
    await ws_server.wait_received(CloseFrame(4006, "done"))
    assert ws_server.received == [Text("last"), CloseFrame(4006, "done")]
    await next_event("disconnect")
    await otpy.stop(pid)
