# test_prices.py
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from structlog.testing import capture_logs

import otpy
import wsclient
from wsclient import Backoff, CloseFrame, Ok, Reconnect, Reply, Text
from wsclient.testing import Server

SUBSCRIBE = Text('{"action": "subscribe", "channel": "prices"}')
Book = dict[str, Any]  # the client's state: the last price of each symbol
FAST = Backoff(initial=0.01, cap=0.05, after_drop=0.01)  # tests should not wait for 30 s caps


class Prices(wsclient.WebsocketClient):
    """Subscribes on every connect, keeps the last price per symbol, acks each update."""

    async def init(self, arg: Any) -> Ok:
        return Ok({})

    async def handle_connect(self, status: wsclient.ConnectStatus, prices: Book) -> Reply:
        return Reply(SUBSCRIBE, prices)

    async def handle_frame(self, frame: Any, prices: Book) -> Any:
        if type(frame) is Text:
            update = json.loads(frame.data)
            prices = {**prices, update["symbol"]: update["price"]}
            return Reply(Text(f"ack {update['seq']}"), prices)
        return Ok(prices)

    async def handle_disconnect(self, reason: wsclient.Disconnected, prices: Book) -> Any:
        if isinstance(reason, wsclient.LocalClosed):
            return Ok(prices)  # closed on purpose: stay down
        return Reconnect(prices)

    async def handle_call(self, request: Any, from_: otpy.From, prices: Book) -> Ok:
        otpy.reply(from_, prices.get(request))
        return Ok(prices)


@pytest.fixture
async def prices(ws_server: Server) -> AsyncIterator[otpy.Pid]:
    pid = await Prices.start(ws_server.url, backoff=FAST)  # unlinked, as fixtures should
    yield pid
    if otpy.is_alive(pid):
        await otpy.stop(pid)


async def test_it_subscribes_on_connect(ws_server: Server, prices: otpy.Pid) -> None:
    await ws_server.wait_received(SUBSCRIBE)
    (handshake,) = ws_server.handshakes
    assert handshake["Upgrade"] == "websocket"


async def test_an_update_is_kept_and_acknowledged(ws_server: Server, prices: otpy.Pid) -> None:
    await ws_server.wait_received(SUBSCRIBE)
    await ws_server.push(Text(json.dumps({"seq": 1, "symbol": "BTC", "price": 97000})))
    await ws_server.wait_received("ack 1")  # the client handled the update
    assert await wsclient.call(prices, "BTC") == 97000


async def test_it_resubscribes_after_a_drop(ws_server: Server, prices: otpy.Pid) -> None:
    await ws_server.wait_received(SUBSCRIBE)
    ws_server.drop()
    await ws_server.wait_count(2)  # the second subscription, on the new connection
    assert ws_server.received == [SUBSCRIBE, SUBSCRIBE]
    assert ws_server.connections_total == 2 and ws_server.max_open == 1
    assert (await wsclient.stats(prices)).last_disconnect == "transport_error"


async def test_it_survives_a_server_restart(ws_server: Server, prices: otpy.Pid) -> None:
    await ws_server.wait_received(SUBSCRIBE)
    await ws_server.restart()  # drops every connection, listens again on the same port
    await ws_server.wait_count(2)
    assert ws_server.received == [SUBSCRIBE, SUBSCRIBE]


async def test_a_503_with_retry_after_is_retried(ws_server: Server) -> None:
    ws_server.refuse(503, {"Retry-After": "0"})
    with capture_logs() as logs:
        pid = await Prices.start(ws_server.url, backoff=FAST)
        await ws_server.wait_received(SUBSCRIBE)
    await otpy.stop(pid)
    (rejected,) = [e for e in logs if e["event"] == "ws_disconnected"]
    assert rejected["kind"] == "handshake_rejected" and rejected["attempt"] == 1


async def test_a_silent_server_is_found_dead_by_the_heartbeat(ws_server: Server) -> None:
    pid = await Prices.start(ws_server.url, backoff=FAST, ping_interval=0.05, ping_timeout=0.1)
    await ws_server.wait_received(SUBSCRIBE)
    ws_server.go_silent()  # TCP stays open; nothing is read or answered
    await ws_server.wait_connections(2)  # the client gave up on the first and came back
    assert (await wsclient.stats(pid)).last_disconnect == "heartbeat_timeout"
    await otpy.stop(pid)


async def test_an_upgrade_that_never_answers_times_out(ws_server: Server) -> None:
    ws_server.hang_handshakes()
    with pytest.raises(wsclient.ConnectFailed) as info:
        await Prices.start(ws_server.url, connect="sync", connect_timeout=0.1)
    assert isinstance(info.value.error, TimeoutError)


async def test_it_gives_up_after_max_attempts(ws_server: Server) -> None:
    ws_server.refuse(403, times=3)
    pid = await Prices.start(ws_server.url, backoff=Backoff(initial=0.01, max_attempts=3))
    ref = otpy.monitor(pid)
    down = await otpy.receive(match=lambda m: type(m) is otpy.Down and m.ref == ref, timeout=5)
    assert isinstance(down.reason, wsclient.GaveUp) and down.reason.attempts == 3
    assert down.reason.last.status == 403


async def test_close_sends_a_close_frame_and_stays_down(
    ws_server: Server, prices: otpy.Pid
) -> None:
    await ws_server.wait_received(SUBSCRIBE)
    await wsclient.close(prices, 1000, "bye")
    await ws_server.wait_received(CloseFrame(1000, "bye"))
    await ws_server.wait_closed()
    assert (await wsclient.stats(prices)).state == "down"


async def test_a_server_close_is_answered_and_reconnected(
    ws_server: Server, prices: otpy.Pid
) -> None:
    await ws_server.wait_received(SUBSCRIBE)
    await ws_server.close_all(4000, "maintenance")
    await ws_server.wait_connections(2)  # RemoteClosed: the client reconnects
    assert (await wsclient.stats(prices)).last_disconnect == "remote_closed"


async def test_a_snapshot_answers_the_subscription() -> None:
    async def answer(ws: Any, frame: Any) -> None:  # ws is aiohttp's WebSocketResponse
        if frame == SUBSCRIBE:
            await ws.send_str(json.dumps({"seq": 0, "symbol": "ETH", "price": 3500}))

    async with Server(on_message=answer) as server:  # a server of its own, without the fixture
        pid = await Prices.start(server.url)
        await server.wait_received("ack 0")
        assert await wsclient.call(pid, "ETH") == 3500
        await otpy.stop(pid)
