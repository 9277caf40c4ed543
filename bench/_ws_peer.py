"""The websocket server the websocket benchmarks talk to, run as its own OS process.

It is plain asyncio streams with a hand-written RFC 6455 server side, so that it costs the
client under test as little as possible and no client library is on both ends:

- ``/flood?n=N&size=S``: right after the handshake, write N text frames of S bytes, encoded
  once in advance and written in 64 KiB slices; then wait for the client's close.
- ``/echo``: send every data frame back unchanged, with the same opcode.

A close frame from the client is answered with a close frame and the connection ends. Run it as
``python bench/_ws_peer.py [--cpu N]``; it listens on 127.0.0.1, prints its port on stdout and
serves until its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import struct
import sys
from urllib.parse import parse_qs, urlsplit

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_SLICE = 64 * 1024


def encode(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final server frame."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def unmask(mask: bytes, data: bytes) -> bytes:
    n = len(data)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    mask = await reader.readexactly(4) if b1 & 0x80 else b""
    data = await reader.readexactly(n)
    return b0 & 0x0F, unmask(mask, data) if mask else data


_flood_cache: dict[tuple[int, int], bytes] = {}


def flood_bytes(n: int, size: int) -> bytes:
    key = (n, size)
    if key not in _flood_cache:
        _flood_cache.clear()
        _flood_cache[key] = encode(0x1, b"x" * size) * n
    return _flood_cache[key]


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        target = lines[0].split(" ")[1]
        pairs = (x.partition(":") for x in lines[1:])
        headers = {k.strip().lower(): v.strip() for k, _, v in pairs}
        key = headers["sec-websocket-key"].encode()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        url = urlsplit(target)
        if url.path == "/flood":
            q = parse_qs(url.query)
            data = flood_bytes(int(q["n"][0]), int(q["size"][0]))
            view = memoryview(data)
            for i in range(0, len(data), _SLICE):
                writer.write(view[i : i + _SLICE])
                await writer.drain()
        while True:
            opcode, payload = await read_frame(reader)
            if opcode == 0x8:
                writer.write(encode(0x8, payload[:2]))
                await writer.drain()
                break
            if opcode == 0x9:
                writer.write(encode(0xA, payload))
            elif opcode in (0x1, 0x2):
                writer.write(encode(opcode, payload))
                await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    async with server:
        await stdin_closed


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpu", type=int, default=None)
    asyncio.run(main(ap.parse_args().cpu))
