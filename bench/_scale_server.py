"""The websocket server of ``bench_scale.py``, run in an OS process of its own, and the helpers
the benchmark's processes share (the control client, the fd limit, RSS, the collector's time).

It listens for websockets on several ports of 127.0.0.1 (so that 10,000 connections spread over
several listen backlogs and several port 4-tuples), and takes orders over HTTP on a control port::

    python bench/_scale_server.py --ports 4     # prints {"control": ..., "ports": [...]} when up

    GET  /stats                    {"open", "total", "upgrades"}
    GET  /wait?open=N | ?total=N   answers once exactly N connections are open / N were accepted
    POST /fanout?n=N               writes N text frames, pre-encoded, to every open connection
    POST /send?text=T&total=K      once K connections have been accepted, sends T to every open one
    POST /restart?down=S           stops listening, aborts every connection, listens again after
                                   S seconds on the same ports: {"t_stop", "t_up"}
    GET  /upgrades?since=T         the times of the upgrade requests received since T
    POST /quit

Times are ``time.monotonic()``: CLOCK_MONOTONIC, the same clock in every process of the machine.
The fan-out writes the frames' bytes straight to each socket, one write per connection, so that
what is measured is how fast the clients take frames in, not how fast aiohttp's server encodes them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

HOST = "127.0.0.1"
#: One feed message (a quote), as a websocket text frame from a server: FIN, opcode 1, unmasked.
PAYLOAD = b'{"feed":"bench","seq":123456,"bid":101.25,"ask":101.5,"qty":3}'
FRAME = bytes((0x81, len(PAYLOAD))) + PAYLOAD
WAIT_LIMIT = 300.0  # seconds: a guard on /wait, far above any healthy run


# -- shared by the benchmark's processes -------------------------------------------------------


def raise_fd_limit() -> int:
    """Raise RLIMIT_NOFILE to the hard limit; return it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kib() -> int:
    """The resident set size of this process, in KiB (VmRSS)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


class Control:
    """The HTTP client of the server's control port."""

    def __init__(self, port: int) -> None:
        self.base = f"http://{HOST}:{port}"
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT_LIMIT + 30))

    async def get(self, path: str, **query: Any) -> Any:
        return await self._do("GET", path, query)

    async def post(self, path: str, **query: Any) -> Any:
        return await self._do("POST", path, query)

    async def _do(self, method: str, path: str, query: dict[str, Any]) -> Any:
        params = {k: str(v) for k, v in query.items()}
        async with self.session.request(method, self.base + path, params=params) as r:
            if r.status != 200:
                raise RuntimeError(f"server {method} {path}: {r.status} {await r.text()}")
            return await r.json()

    async def close(self) -> None:
        await self.session.close()


class GcWatch:
    """The time spent in the garbage collector while installed, and its longest pause."""

    def __init__(self) -> None:
        self.total = self.longest = self._t = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            d = time.perf_counter() - self._t
            self.total += d
            self.longest = max(self.longest, d)

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def per_second(times: list[float], start: float) -> list[int]:
    """How many of `times` fell in each second from `start`."""
    if not times:
        return [0]
    bins = [0] * (int(max(times) - start) + 1)
    for t in times:
        bins[int(t - start)] += 1
    return bins


def quantiles(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"median": statistics.median(s), "p99": s[max(0, int(len(s) * 0.99) - 1)]}


# -- the server ---------------------------------------------------------------------------------


class ScaleServer:
    def __init__(self, nports: int, backlog: int) -> None:
        self.ports = [0] * nports
        self.backlog = backlog
        self.listeners: list[asyncio.Server] = []
        self.open: dict[web.WebSocketResponse, asyncio.Transport] = {}
        self.total = 0
        self.upgrades: list[float] = []
        self.waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self.protocol = web.Server(self.handle, access_log=None)
        self.quit = asyncio.Event()

    async def listen(self) -> None:
        loop = asyncio.get_running_loop()
        for i, port in enumerate(self.ports):
            srv = await loop.create_server(
                self.protocol, HOST, port, backlog=self.backlog, reuse_address=True
            )
            self.ports[i] = srv.sockets[0].getsockname()[1]
            self.listeners.append(srv)

    def unlisten(self) -> None:
        for srv in self.listeners:
            srv.close()
        self.listeners = []

    def abort_all(self) -> None:
        """Cut every connection, upgraded or not, with no close frame (a server that died)."""
        for handler in self.protocol.connections:
            if handler.transport is not None:
                handler.transport.abort()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self.upgrades.append(time.monotonic())
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        assert request.transport is not None
        self.open[ws] = request.transport
        self.total += 1
        self.changed()
        try:
            async for _ in ws:
                pass
        finally:
            del self.open[ws]
            self.changed()
        return ws

    def changed(self) -> None:
        for pred, fut in self.waiters:
            if not fut.done() and pred():
                fut.set_result(None)

    async def wait_for(self, pred: Callable[[], bool], what: str) -> None:
        if pred():
            return
        entry = (pred, asyncio.get_running_loop().create_future())
        self.waiters.append(entry)
        try:
            async with asyncio.timeout(WAIT_LIMIT):
                await entry[1]
        except TimeoutError:
            raise web.HTTPGatewayTimeout(
                text=f"{what}: not within {WAIT_LIMIT}s (open {len(self.open)}, "
                f"accepted {self.total})"
            ) from None
        finally:
            self.waiters.remove(entry)

    # -- control ----------------------------------------------------------------------------------

    def control_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/stats", self.c_stats)
        app.router.add_get("/wait", self.c_wait)
        app.router.add_post("/fanout", self.c_fanout)
        app.router.add_post("/send", self.c_send)
        app.router.add_post("/restart", self.c_restart)
        app.router.add_get("/upgrades", self.c_upgrades)
        app.router.add_post("/quit", self.c_quit)
        return app

    async def c_stats(self, request: web.Request) -> web.Response:
        stats = {"open": len(self.open), "total": self.total, "upgrades": len(self.upgrades)}
        return web.json_response(stats)

    async def c_wait(self, request: web.Request) -> web.Response:
        q = request.query
        if "open" in q:
            n = int(q["open"])
            await self.wait_for(lambda: len(self.open) == n, f"{n} open connections")
        if "total" in q:
            k = int(q["total"])
            await self.wait_for(lambda: self.total >= k, f"{k} accepted connections")
        return await self.c_stats(request)

    async def c_fanout(self, request: web.Request) -> web.Response:
        data = FRAME * int(request.query["n"])
        t0 = time.monotonic()
        transports = list(self.open.values())
        for t in transports:
            t.write(data)
        return web.json_response({"t_start": t0, "connections": len(transports)})

    async def c_send(self, request: web.Request) -> web.Response:
        text = request.query["text"]
        k = int(request.query.get("total", 0))
        await self.wait_for(lambda: self.total >= k, f"{k} accepted connections")
        t_send = time.monotonic()
        for ws in list(self.open):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(text)
        return web.json_response({"t_send": t_send})

    async def c_restart(self, request: web.Request) -> web.Response:
        down = float(request.query.get("down", 1.0))
        self.unlisten()
        t_stop = time.monotonic()
        self.abort_all()
        await asyncio.sleep(down)  # the scenario: the server is down this long
        await self.listen()
        return web.json_response({"t_stop": t_stop, "t_up": time.monotonic()})

    async def c_upgrades(self, request: web.Request) -> web.Response:
        since = float(request.query.get("since", 0.0))
        return web.json_response([t for t in self.upgrades if t >= since])

    async def c_quit(self, request: web.Request) -> web.Response:
        self.quit.set()
        return web.json_response({})


async def serve(nports: int, backlog: int) -> None:
    srv = ScaleServer(nports, backlog)
    await srv.listen()
    runner = web.AppRunner(srv.control_app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    control_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(json.dumps({"control": control_port, "ports": srv.ports}), flush=True)
    await srv.quit.wait()
    srv.unlisten()
    srv.abort_all()
    await srv.protocol.shutdown(1.0)
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ports", type=int, default=4)
    parser.add_argument("--backlog", type=int, default=4096)
    args = parser.parse_args()
    raise_fd_limit()
    asyncio.run(serve(args.ports, args.backlog))


if __name__ == "__main__":
    main()
