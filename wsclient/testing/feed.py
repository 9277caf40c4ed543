"""A ticker-feed server: every connection gets a numbered stream of price ticks.

::

    async with wsclient.testing.FeedServer(interval=0.05) as feed:
        pid = await MyClient.start_link(feed.url_for("BTC-USD", client="btc"))
        ...
        feed.pause()                      # no more ticks: what was sent can be checked
        for sub in feed.subscriptions:    # one per connection, in order of arrival
            print(sub.client, sub.conn, sub.sent)

The symbol is the URL's path (``ws://127.0.0.1:PORT/BTC-USD``; ``/`` means ``BTC-USD``) and
``?client=NAME`` labels the connection. Each tick is a JSON text frame::

    {"conn": 3, "seq": 17, "symbol": "BTC-USD", "price": 64012.5}

``conn`` numbers the connections from 1 and ``seq`` numbers the ticks of one connection from 1,
so a client can tell a lost or repeated tick from a new connection. It is a
:class:`~wsclient.testing.Server` with all of its controls (drop, go silent, refuse, restart);
while it is silent it sends no ticks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from wsclient.testing.server import Server

__all__ = ["FeedServer", "Subscription"]

#: Starting prices of the symbols a feed knows by name; any other symbol starts at 100.
_PRICES = {"BTC-USD": 64000.0, "ETH-USD": 3400.0, "SOL-USD": 150.0, "DOGE-USD": 0.15}


@dataclass(slots=True)
class Subscription:
    """One connection to the feed. ``sent`` counts the ticks written to it; ``open`` is False
    once it has ended."""

    conn: int
    symbol: str
    client: str | None
    sent: int = 0
    open: bool = True


class FeedServer(Server):
    """A :class:`~wsclient.testing.Server` that sends each connection a tick every `interval`
    seconds (0.05 by default: 20 ticks a second, a busy but readable ticker)."""

    def __init__(self, *, interval: float = 0.05, port: int = 0, host: str = "127.0.0.1") -> None:
        if not isinstance(interval, int | float) or isinstance(interval, bool) or interval <= 0:
            raise ValueError(f"interval must be a positive number of seconds, not {interval!r}")
        super().__init__(port=port, host=host)
        self.interval = float(interval)
        #: Every connection accepted, in order of arrival.
        self.subscriptions: list[Subscription] = []
        self._subs: dict[web.WebSocketResponse, Subscription] = {}
        self._prices: dict[str, float] = {}
        self._paused = False
        self._ticker: asyncio.Task[None] | None = None
        self._rng = random.Random(6455)

    def url_for(self, symbol: str = "BTC-USD", client: str | None = None) -> str:
        """The URL subscribing to `symbol`, labelled `client`."""
        query = f"?client={quote(client)}" if client else ""
        return f"ws://{self.netloc}/{quote(symbol)}{query}"

    async def start(self) -> FeedServer:
        await super().start()
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())
        return self

    async def stop(self) -> None:
        """Stop ticking, close every connection (without a close frame) and stop listening."""
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        await super().stop()

    def pause(self) -> None:
        """Send no more ticks until :meth:`play`."""
        self._paused = True

    def play(self) -> None:
        """Send ticks again after :meth:`pause`."""
        self._paused = False

    def open_subscription(self, client: str) -> Subscription | None:
        """The open connection labelled `client`, if there is one."""
        for sub in self._subs.values():
            if sub.client == client and sub.open:
                return sub
        return None

    async def send_bad_tick(self, client: str) -> bool:
        """Send the open connection labelled `client` a tick whose price is ``null``, as a
        broken upstream might. Return False if there is no such connection."""
        for ws, sub in list(self._subs.items()):
            if sub.client == client and sub.open:
                return await self._send_tick(ws, sub, None)
        return False

    # -- the ticker ---------------------------------------------------------------------------

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self._paused or self.silent:
                continue
            for ws, sub in list(self._subs.items()):
                if sub.open and ws not in self._silenced:
                    await self._send_tick(ws, sub, self._next_price(sub.symbol))

    def _next_price(self, symbol: str) -> float:
        price = self._prices.get(symbol, _PRICES.get(symbol, 100.0))
        price = max(price * (1 + self._rng.gauss(0, 0.0005)), 0.0001)
        self._prices[symbol] = price
        return round(price, 4 if price < 1 else 2)

    async def _send_tick(self, ws: web.WebSocketResponse, sub: Subscription, price: Any) -> bool:
        tick = {"conn": sub.conn, "seq": sub.sent + 1, "symbol": sub.symbol, "price": price}
        try:
            await ws.send_str(json.dumps(tick))
        except (ConnectionError, RuntimeError):
            sub.open = False  # the connection broke under the write; its handler ends it
            return False
        sub.sent += 1
        return True

    # -- Server's hooks ---------------------------------------------------------------------

    def _opened(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        symbol = request.path.strip("/") or "BTC-USD"
        sub = Subscription(len(self.subscriptions) + 1, symbol, request.query.get("client"))
        self.subscriptions.append(sub)
        self._subs[ws] = sub

    def _closed(self, ws: web.WebSocketResponse) -> None:
        sub = self._subs.pop(ws, None)
        if sub is not None:
            sub.open = False
