"""``wsclient serve``: the local echo and feed servers, in a real subprocess."""

from __future__ import annotations

import json
import re

import aiohttp

from .support import Cli


async def _url(c: Cli) -> str:
    line = await c.err.wait_text("serving")
    found = re.search(r"ws://127\.0\.0\.1:\d+/", line)
    assert found, line
    return found.group(0)


async def test_serve_echo_sends_every_message_back(cli) -> None:
    c = await cli("serve", "--port", "0")
    url = await _url(c)
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str("marco")
        assert await ws.receive_str(timeout=5) == "marco"
        await ws.send_bytes(b"\x01\x02")
        assert await ws.receive_bytes(timeout=5) == b"\x01\x02"
    await c.err.wait_text("ended")
    c.interrupt()
    assert await c.wait() == 0
    assert "connection from 127.0.0.1 /" in c.err.text


async def test_serve_feed_streams_numbered_ticks_for_the_path_symbol(cli) -> None:
    c = await cli("serve", "--port", "0", "--mode", "feed", "--interval", "0.01")
    url = await _url(c)
    async with aiohttp.ClientSession() as session, session.ws_connect(url + "ETH-USD") as ws:
        ticks = [json.loads(await ws.receive_str(timeout=5)) for _ in range(3)]
    assert [t["seq"] for t in ticks] == [1, 2, 3]
    assert {t["symbol"] for t in ticks} == {"ETH-USD"}
    assert {t["conn"] for t in ticks} == {1}
    assert all(isinstance(t["price"], float) for t in ticks)
    c.interrupt()
    assert await c.wait() == 0


async def test_serve_binds_127_0_0_1_by_default(cli) -> None:
    c = await cli("serve", "--port", "0")
    await _url(c)
    c.interrupt()
    assert await c.wait() == 0


async def test_serve_on_a_port_in_use_says_so_and_exits_1(cli) -> None:
    first = await cli("serve", "--port", "0")
    port = (await _url(first)).rsplit(":", 1)[1].rstrip("/")
    second = await cli("serve", "--port", port)
    assert await second.wait() == 1
    assert f"cannot listen on 127.0.0.1:{port}" in second.err.text
    first.interrupt()
    assert await first.wait() == 0
