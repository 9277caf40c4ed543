"""Backpressure: a burst through a slow handler arrives whole and in order, and while the handler
is held the client stops reading, so TCP pushes back on the server instead of the client
buffering the burst.

Why the frames carry 1000 bytes of padding after their number: 20,000 bare numbers are about
140 kB on the wire, which the loopback's socket buffers and aiohttp's reader (it stops reading
at 512 KiB of accounted messages) absorb whole, so the server could never notice that the client
stopped reading. At 1 kB a frame the burst is 20 MB (sent uncompressed: ``compress=False``,
since padding compresses to nothing), far more than those buffers hold.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import otpy
import wsclient
from wsclient import Ok, Text
from wsclient.testing import Server

from .support import GUARD, next_event

N = 20_000
PAD = "x" * 1000
BURST_GUARD = 30.0  # 20 MB through a Python handler, in asyncio debug mode


@dataclass
class Held:
    test: otpy.Pid
    gate: asyncio.Event
    seen: list[int] = field(default_factory=list)


class Collector(wsclient.WebsocketClient):
    """Holds handle_frame on the first frame until the gate opens; collects the numbers."""

    async def init(self, arg: Any) -> Ok:
        return Ok(arg)

    async def handle_connect(self, status: Any, state: Held) -> Any:
        otpy.send(state.test, ("connect", status))
        return Ok(state)

    async def handle_frame(self, frame: Any, state: Held) -> Any:
        if not state.seen:
            otpy.send(state.test, ("held", frame.data.split(" ", 1)[0]))
            await state.gate.wait()
        state.seen.append(int(frame.data.split(" ", 1)[0]))
        if len(state.seen) == N:
            otpy.send(state.test, ("all", None))
        return Ok(state)

    async def handle_call(self, request: Any, from_: otpy.From, state: Held) -> Any:
        otpy.reply(from_, list(state.seen))
        return Ok(state)


class Burst:
    """The server's side: on the client's "burst", send N numbered frames, yielding to the loop
    every 10 frames (so a client that reads keeps up), and note when the socket pushed back:
    the transport's write buffer over its high-water mark."""

    def __init__(self) -> None:
        self.sent = 0
        self.sent_at_stall: int | None = None
        self.stalled = asyncio.Event()
        self.done = asyncio.Event()

    async def __call__(self, ws: Any, frame: Any) -> None:
        if frame != Text("burst"):
            return
        transport = ws._req.transport  # aiohttp's server side keeps it private
        high = transport.get_write_buffer_limits()[1]
        for i in range(N):
            await ws.send_str(f"{i} {PAD}")
            self.sent = i + 1
            if not self.stalled.is_set() and transport.get_write_buffer_size() > high:
                self.sent_at_stall = self.sent
                self.stalled.set()
            if i % 10 == 9:
                await asyncio.sleep(0)  # a turn of the loop, not a wait for anything
        self.done.set()


async def start_burst(server: Server, gate: asyncio.Event) -> otpy.Pid:
    pid = await Collector.start_link(
        server.url, Held(otpy.self_pid(), gate), max_queue=100, compress=False
    )
    await next_event("connect")
    await wsclient.send_frame(pid, Text("burst"))
    assert await next_event("held") == "0"
    return pid


async def test_a_burst_of_20000_frames_arrives_in_order_exactly_once_via_a_slow_handler() -> None:
    burst = Burst()
    gate = asyncio.Event()
    async with Server(on_message=burst) as server:
        pid = await start_burst(server, gate)
        gate.set()
        await next_event("all", BURST_GUARD)
        seen = await wsclient.call(pid, "seen")
        assert len(seen) == N
        assert seen == list(range(N))  # in order, none lost, none twice
        stats = await wsclient.stats(pid)
        assert stats.frames_in == N and stats.state == "connected"
        await asyncio.wait_for(burst.done.wait(), GUARD)
        await otpy.stop(pid)


async def test_a_held_handler_makes_tcp_push_back_on_the_server() -> None:
    burst = Burst()
    gate = asyncio.Event()
    async with Server(on_message=burst) as server:
        pid = await start_burst(server, gate)
        await asyncio.wait_for(burst.stalled.wait(), BURST_GUARD)
        # the handler is still held on frame 0, and the server cannot finish the burst
        assert not gate.is_set()
        assert burst.sent_at_stall is not None and burst.sent_at_stall < N
        assert not burst.done.is_set()
        gate.set()
        await asyncio.wait_for(burst.done.wait(), BURST_GUARD)  # released, it flows again
        await next_event("all", BURST_GUARD)
        assert await wsclient.call(pid, "seen") == list(range(N))
        await otpy.stop(pid)
