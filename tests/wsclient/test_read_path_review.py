"""What a review of the process's own read path found, each as a test: a protocol error met
while the client's writes are backed up, and max_queue with a handler that awaits."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

import otpy
import wsclient
from wsclient import Binary, Ok, Text
from wsclient.testing import Server

from .support import GUARD, Reporter, host_of, next_event

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"



def _wire_size(payload: int) -> int:
    return (2 if payload < 126 else 4 if payload < 65536 else 10) + 4 + payload


def _payload_for(total: int) -> int:
    """A payload whose masked client frame is exactly `total` bytes on the wire."""
    for n in (total - 6, total - 8, total - 14):
        if n >= 0 and _wire_size(n) == total:
            return n
    raise ValueError(total)


async def test_a_protocol_error_while_writes_are_backed_up_does_not_block_the_client() -> None:
    bad = asyncio.Event()
    done = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key")
        )
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        writer.transport.pause_reading()  # it never reads what the client sends
        await bad.wait()
        writer.write(b"\x83\x00")  # a final frame with the reserved opcode 3: a protocol error
        await done.wait()
        writer.transport.abort()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pid = await Reporter.start_link(
        f"ws://127.0.0.1:{port}/",
        otpy.self_pid(),
        compress=False,
        ping_interval=5.0,
        ping_timeout=0.3,  # the bound on a write that waits
    )
    try:
        await next_event("connect")
        ws = host_of(pid).ws
        w, transport = ws._writer, ws._writer.transport

        async def send(total: int) -> None:
            await wsclient.send_frame(pid, Binary(b"x" * _payload_for(total)), GUARD)

        # fill the kernel's buffers without bringing the transport near its high-water mark
        while transport.get_write_buffer_size() == 0:
            await send(30_000)
        _low, high = transport.get_write_buffer_limits()
        room = w._limit - w._output_size
        if room - 2 < high + 1 - transport.get_write_buffer_size():
            await send(room + 1)  # aiohttp's counter passes its limit (and is reset) unpaused
            room = w._limit
        for k in (2, 3, 4, 5):  # the counter 2-5 bytes under its limit, the transport paused
            try:
                _payload_for(room - k)
            except ValueError:
                continue
            await send(room - k)
            break
        assert w.protocol._paused  # a close frame sent now by aiohttp would wait for a drain
        bad.set()
        reason = await next_event("disconnect")
        assert isinstance(reason, wsclient.ProtocolError) and reason.code == 1002
        assert (await wsclient.stats(pid, GUARD)).state != "connected"  # the process answers
    finally:
        done.set()
        otpy.unlink(pid)
        await otpy.stop(pid)
        server.close()
        await server.wait_closed()


class Yielding(wsclient.WebsocketClient):
    """Lets the event loop run in every handle_frame (as a handler that awaits does), and
    records how many frames were waiting each time; tells the test after `n` frames."""

    async def init(self, arg: Any) -> Ok:
        return Ok(arg)

    async def handle_frame(self, frame: Any, state: Any) -> Any:
        test, n, seen = state
        await asyncio.sleep(0)  # not a wait for anything: it lets the loop read the socket
        seen.append(len(host_of(otpy.self_pid()).buf))
        if len(seen) == n:
            otpy.send(test, ("all", max(seen)))
        return Ok(state)


async def test_max_queue_holds_while_the_handler_lets_the_loop_run(ws_server: Server) -> None:
    n, payload = 3_000, 1_000
    seen: list[int] = []
    pid = await Yielding.start_link(
        ws_server.url, (otpy.self_pid(), n, seen), max_queue=10, compress=False
    )
    await ws_server.wait_connections(1)
    pusher = asyncio.create_task(ws_server.push([Text("x" * payload)] * n))
    _, most = await otpy.receive(GUARD, lambda m: type(m) is tuple and m[0] == "all")
    await pusher
    # what may wait: max_queue, and what the one read of the socket that found the client
    # over it had brought in (a read takes at most 256 KiB), and a frame cut by that read
    one_read = 256 * 1024 // payload
    assert most <= 10 + one_read + 2, most
    await otpy.stop(pid)
