"""wsclient.testing.FeedServer, and Server.resume: the feed the demo and `serve` run."""

from __future__ import annotations

import json

import aiohttp
import pytest

from wsclient.testing import FeedServer, Server

GUARD = 5.0


async def _ticks(ws: aiohttp.ClientWebSocketResponse, n: int) -> list[dict[str, object]]:
    return [json.loads(await ws.receive_str(timeout=GUARD)) for _ in range(n)]


async def test_each_connection_gets_its_own_numbered_ticks_for_its_symbol() -> None:
    async with (
        FeedServer(interval=0.01) as feed,
        aiohttp.ClientSession() as http,
        http.ws_connect(feed.url_for("ETH-USD", client="a")) as a,
    ):
        first = await _ticks(a, 3)
        async with http.ws_connect(feed.url_for("SOL-USD", client="b")) as b:
            second = await _ticks(b, 2)
    assert [(t["conn"], t["seq"], t["symbol"]) for t in first] == [
        (1, 1, "ETH-USD"), (1, 2, "ETH-USD"), (1, 3, "ETH-USD"),
    ]  # fmt: skip
    assert [(t["conn"], t["seq"], t["symbol"]) for t in second] == [
        (2, 1, "SOL-USD"), (2, 2, "SOL-USD"),
    ]  # fmt: skip
    assert [(s.conn, s.symbol, s.client) for s in feed.subscriptions] == [
        (1, "ETH-USD", "a"), (2, "SOL-USD", "b"),
    ]  # fmt: skip
    assert feed.subscriptions[0].sent >= 3 and not feed.subscriptions[0].open


async def test_the_root_path_is_btc_usd() -> None:
    async with (
        FeedServer(interval=0.01) as feed,
        aiohttp.ClientSession() as http,
        http.ws_connect(feed.url) as ws,
    ):
        (tick,) = await _ticks(ws, 1)
    assert tick["symbol"] == "BTC-USD" and isinstance(tick["price"], float)


async def test_pause_stops_the_ticks_and_sent_counts_what_was_written() -> None:
    async with (
        FeedServer(interval=0.01) as feed,
        aiohttp.ClientSession() as http,
        http.ws_connect(feed.url_for(client="c")) as ws,
    ):
        await _ticks(ws, 2)
        feed.pause()
        sub = feed.open_subscription("c")
        assert sub is not None
        got = 2
        while got < sub.sent:  # what was already written still arrives...
            await _ticks(ws, 1)
            got += 1
        assert await feed.send_bad_tick("c")  # ...and nothing else but what we send
        (bad,) = await _ticks(ws, 1)
        assert bad["price"] is None and bad["seq"] == sub.sent == got + 1
        feed.play()
        (more,) = await _ticks(ws, 1)
        assert more["seq"] == got + 2


async def test_send_bad_tick_to_an_unknown_client_is_false() -> None:
    async with FeedServer() as feed:
        assert await feed.send_bad_tick("nobody") is False


async def test_a_silent_feed_sends_nothing_and_resume_cuts_the_silenced_connections() -> None:
    async with FeedServer(interval=0.01) as feed, aiohttp.ClientSession() as http:
        old = await http.ws_connect(feed.url_for(client="old"))
        await _ticks(old, 1)
        feed.go_silent()
        assert feed.silent
        sent = feed.subscriptions[0].sent
        async with http.ws_connect(feed.url_for(client="new")) as new:
            feed.resume()
            assert not feed.silent
            (tick,) = await _ticks(new, 1)  # the connection made while silent is served now
            assert tick["conn"] == 2 and tick["seq"] == 1
        # the silenced one was cut: what was in flight arrives, then the end
        while (msg := await old.receive(timeout=GUARD)).type is aiohttp.WSMsgType.TEXT:
            pass
        assert msg.type in (
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.ERROR,
        )
        assert feed.subscriptions[0].sent == sent
        await old.close()


async def test_server_resume_cuts_only_the_connections_go_silent_silenced(
    ws_server: Server,
) -> None:
    async with aiohttp.ClientSession() as http:
        first = await http.ws_connect(ws_server.url)
        await ws_server.wait_connections(1)
        ws_server.go_silent()
        second = await http.ws_connect(ws_server.url)
        await ws_server.wait_connections(2)
        ws_server.resume()
        await second.send_str("heard")
        await ws_server.wait_received("heard")
        msg = await first.receive(timeout=GUARD)
        assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        assert ws_server.open_connections == 1
        await second.close()
        await first.close()


@pytest.mark.parametrize("interval", [0, -1, "fast", True])
def test_a_bad_interval_is_refused(interval: object) -> None:
    with pytest.raises(ValueError, match="interval must be a positive number of seconds"):
        FeedServer(interval=interval)  # type: ignore[arg-type]


async def test_a_feed_restart_ends_its_silence() -> None:
    async with FeedServer(interval=0.01) as feed, aiohttp.ClientSession() as http:
        feed.go_silent()
        await feed.restart()
        assert not feed.silent
        async with http.ws_connect(feed.url_for(client="after")) as ws:
            (tick,) = await _ticks(ws, 1)
    assert tick["seq"] == 1


def test_an_ipv6_host_is_bracketed_in_the_url() -> None:
    assert Server(host="::1", port=8765).url == "ws://[::1]:8765/"
    assert FeedServer(host="::1", port=8765).url_for("ETH-USD") == "ws://[::1]:8765/ETH-USD"
