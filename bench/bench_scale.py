"""Scale benchmark: thousands of wsclient clients in one process, next to raw aiohttp.

- 10,000 clients under one DynamicSupervisor: the time until all are connected, the memory per
  idle connected client (RSS delta), and the rate at which frames the server fans out reach
  ``handle_frame`` (with the garbage collector's share of that time, and again after
  ``gc.freeze()``); each next to the same done with raw aiohttp (``session.ws_connect`` and one
  reader task per connection, the least a raw client needs to take frames in).
- a reconnect storm: 1,000 clients with the default Backoff; the server cuts every connection
  and stops listening, and is back 1 s later: connection attempts per second, the time from its
  return until every client is connected again, and whether any client gave up.
- a crash in ``handle_frame``: from the server sending the fatal frame until the client its
  supervisor restarted is connected again (``handle_connect`` ran), 200 times, next to a bare
  ``ws_connect`` handshake.

The server runs in an OS process of its own (``bench/_scale_server.py``), and each measurement in
a fresh process (this script again, with ``--child``), so that they do not pollute each other's
memory. Run it with ``make bench``, or small first::

    .venv/bin/python bench/bench_scale.py --quick
    .venv/bin/python bench/bench_scale.py --clients 10000 --storm 1000 --crashes 200
    .venv/bin/python bench/bench_scale.py --loop uvloop      # the clients on uvloop

Nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from _results import Better, describe, record
from _scale_server import (
    PAYLOAD,
    Control,
    GcWatch,
    per_second,
    quantiles,
    raise_fd_limit,
    rss_kib,
)

import otpy
from otpy.supervisor import count_children, start_child
from wsclient import Ok, Text, WebsocketClient

HERE = Path(__file__).resolve().parent
CRASH = "crash!"
GUARD = 180.0  # seconds: the longest any wait may take before the run is declared broken


# -- what the clients count ---------------------------------------------------------------------


class Tally:
    """Counters shared by every client of a child process, and the events the bench waits on."""

    def __init__(self, want_up: int) -> None:
        self.want_up = want_up
        self.up = 0
        self.all_up = asyncio.Event()
        self.frames = 0
        self.want_frames = 0
        self.frames_done = asyncio.Event()
        self.inits = 0
        self.exits: collections.Counter[str] = collections.Counter()
        # the storm: attempts (a connect, or a failed attempt) and who is back since it began
        self.storm = False
        self.attempts: list[float] = []
        self.back: set[int] = set()
        self.all_back = asyncio.Event()
        self.t_all_back = 0.0

    def expect_frames(self, n: int) -> None:
        self.frames = 0
        self.want_frames = n
        self.frames_done.clear()

    def connected(self, peer: Peer) -> None:
        peer.up = True
        self.up += 1
        if self.up == self.want_up:
            self.all_up.set()
        if self.storm:
            now = time.monotonic()
            self.attempts.append(now)
            self.back.add(peer.key)
            if len(self.back) == self.want_up:
                self.t_all_back = now
                self.all_back.set()

    def disconnected(self, peer: Peer, reason: Any) -> None:
        if peer.up:
            peer.up = False
            self.up -= 1
            self.back.discard(peer.key)
        elif self.storm:  # an attempt that failed
            self.attempts.append(time.monotonic())


class Peer:
    """One client's state."""

    __slots__ = ("key", "tally", "up")

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.key = tally.inits
        self.up = False


class Feed(WebsocketClient):
    """A client that counts what it gets; it reconnects as the default does."""

    async def init(self, tally: Tally) -> Ok:
        tally.inits += 1
        return Ok(Peer(tally))

    async def handle_connect(self, status: Any, peer: Peer) -> Ok:
        peer.tally.connected(peer)
        return Ok(peer)

    async def handle_disconnect(self, reason: Any, peer: Peer) -> Any:
        peer.tally.disconnected(peer, reason)
        return await super().handle_disconnect(reason, peer)

    async def handle_frame(self, frame: Any, peer: Peer) -> Ok:
        if type(frame) is Text:
            t = peer.tally
            t.frames += 1
            if t.frames == t.want_frames:
                t.frames_done.set()
        return Ok(peer)

    async def terminate(self, reason: Any, peer: Peer) -> None:
        if reason != "shutdown":
            peer.tally.exits[type(reason).__name__] += 1


class Crasher(WebsocketClient):
    """Tells `collector` the time of each connect; crashes on the frame CRASH."""

    async def init(self, collector: otpy.Pid) -> Ok:
        return Ok(collector)

    async def handle_connect(self, status: Any, collector: otpy.Pid) -> Ok:
        otpy.send(collector, time.monotonic())
        return Ok(collector)

    async def handle_frame(self, frame: Any, collector: otpy.Pid) -> Ok:
        if type(frame) is Text and frame.data == CRASH:
            raise RuntimeError("the fatal frame (bench)")
        return Ok(collector)


async def raw_client(
    session: aiohttp.ClientSession, url: str, tally: Tally, wss: list[Any]
) -> None:
    """The raw aiohttp yardstick: connect, then read and count."""
    ws = await session.ws_connect(url)
    wss.append(ws)
    tally.up += 1
    if tally.up == tally.want_up:
        tally.all_up.set()
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.TEXT:
            tally.frames += 1
            if tally.frames == tally.want_frames:
                tally.frames_done.set()


# -- the children: one measurement each, in a fresh process ---------------------------------------


async def wait(event: asyncio.Event, what: str, progress: Any = None) -> None:
    try:
        async with asyncio.timeout(GUARD):
            await event.wait()
    except TimeoutError:
        raise RuntimeError(
            f"{what}: not within {GUARD}s ({progress() if progress else ''})"
        ) from None


async def fan_out(
    ctl: Control, tally: Tally, conns: int, per_write: int, rounds: int
) -> dict[str, float]:
    """Frames/s into the clients: `rounds` writes of `per_write` frames to every client, each
    round waited for until every frame has been counted; and the collector's share of it."""
    with GcWatch() as w:
        t0 = time.perf_counter()
        for _ in range(rounds):
            tally.expect_frames(conns * per_write)
            sent = await ctl.post("/fanout", n=per_write)
            assert sent["connections"] == conns, sent
            await wait(tally.frames_done, "fan-out", lambda: f"{tally.frames} frames")
        elapsed = time.perf_counter() - t0
    rate = conns * per_write * rounds / elapsed
    return {"rate": rate, "s": elapsed, "gc_s": w.total, "gc_max": w.longest}


async def connected(
    start: Any, tally: Tally, ctl: Control, a: argparse.Namespace
) -> dict[str, Any]:
    """Start `a.clients` clients with `start`, wait until all are connected; then fan out to
    them, and again after ``gc.freeze()``."""
    n = a.clients
    await ctl.get("/wait", open=0)
    gc.collect()
    rss0 = rss_kib()
    with GcWatch() as w:
        t0 = time.perf_counter()
        await start()
        await wait(tally.all_up, "all connected", lambda: f"{tally.up} of {n}")
        t_up = time.perf_counter() - t0
    gc.collect()
    rss1 = rss_kib()
    out: dict[str, Any] = {"connect_s": t_up, "connect_gc_s": w.total, "rss_kib": rss1}
    out["kib"] = (rss1 - rss0) / n
    out["objects"] = len(gc.get_objects())
    for label in ("", "frozen_"):
        if label:
            gc.freeze()  # the clients' objects leave the collector's generations
        out[label + "single"] = await fan_out(ctl, tally, n, 1, a.single_rounds)
        out[label + "burst"] = await fan_out(ctl, tally, n, a.burst, a.burst_rounds)
    gc.unfreeze()
    return out


async def child_clients(ctl: Control, urls: list[str], a: argparse.Namespace) -> dict[str, Any]:
    """(a), (b): wsclient clients under one DynamicSupervisor."""
    tally = Tally(a.clients)
    specs = [Feed.child_spec({"url": u, "arg": tally}) for u in urls]
    sup = await otpy.DynamicSupervisor.start_link(max_restarts=a.clients, max_seconds=60)

    async def start() -> None:
        for i in range(a.clients):
            await start_child(sup, specs[i % len(specs)])

    out = await connected(start, tally, ctl, a)
    out["exits"] = dict(tally.exits)
    t0 = time.perf_counter()
    await otpy.stop(sup)
    out["stop_s"] = time.perf_counter() - t0
    return out


async def child_raw(ctl: Control, urls: list[str], a: argparse.Namespace) -> dict[str, Any]:
    """(a), (b), the yardstick: raw aiohttp connections, one reader task each."""
    tally = Tally(a.clients)
    session = aiohttp.ClientSession(  # as wsclient's shared session is made
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=None, sock_read=None),
    )
    wss: list[Any] = []
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        for i in range(a.clients):
            url = urls[i % len(urls)]
            tasks.append(asyncio.create_task(raw_client(session, url, tally, wss)))

    out = await connected(start, tally, ctl, a)
    t0 = time.perf_counter()
    await asyncio.gather(*(ws.close() for ws in wss))
    await asyncio.gather(*tasks)
    out["stop_s"] = time.perf_counter() - t0
    await session.close()
    return out


async def child_storm(ctl: Control, urls: list[str], a: argparse.Namespace) -> dict[str, Any]:
    """(c): the server drops `a.storm` clients and comes back `a.down` seconds later."""
    n = a.storm
    tally = Tally(n)
    # temporary: a client that gives up (or crashes) stays gone, and is counted, not restarted
    specs = [Feed.child_spec({"url": u, "arg": tally}, restart="temporary") for u in urls]
    sup = await otpy.DynamicSupervisor.start_link()
    await ctl.get("/wait", open=0)
    for i in range(n):
        await start_child(sup, specs[i % len(specs)])
    await wait(tally.all_up, "all connected", lambda: f"{tally.up} of {n}")
    tally.storm = True
    times = await ctl.post("/restart", down=a.down)
    t_stop, t_up = times["t_stop"], times["t_up"]
    await wait(tally.all_back, "all back", lambda: f"{len(tally.back)} of {n} back")
    server_side = await ctl.get("/upgrades", since=t_stop)
    counts = await count_children(sup)
    await otpy.stop(sup)
    span = tally.t_all_back - t_stop
    per_s = per_second(tally.attempts, t_stop)
    return {
        "attempts": len(tally.attempts),
        "peak": max(per_s),
        "mean": len(tally.attempts) / span,
        "per_second": per_s,
        "server_per_second": per_second(server_side, t_stop),
        "span_s": span,
        "back_s": tally.t_all_back - t_up,
        "alive": counts.active,
        "inits": tally.inits,
        "exits": dict(tally.exits),
    }


async def child_crash(ctl: Control, urls: list[str], a: argparse.Namespace) -> dict[str, Any]:
    """(d): a crash in handle_frame, until the restarted client's handle_connect."""
    me = otpy.self_pid()
    url = urls[0]
    await ctl.get("/wait", open=0)
    total = (await ctl.get("/stats"))["total"]
    sup = await otpy.Supervisor.start_link(
        [Crasher.child_spec({"url": url, "arg": me})], max_restarts=a.crashes + 1, max_seconds=3600
    )
    await otpy.receive(timeout=10)
    samples = []
    for i in range(a.crashes):
        sent = await ctl.post("/send", text=CRASH, total=total + i + 1)
        t_connected = await otpy.receive(timeout=10)
        samples.append(t_connected - sent["t_send"])
    await otpy.stop(sup)
    # the yardstick: a fresh connection with raw aiohttp, handshake done
    floor = []
    async with aiohttp.ClientSession() as session:
        for _ in range(a.crashes):
            t0 = time.perf_counter()
            ws = await session.ws_connect(url)
            floor.append(time.perf_counter() - t0)
            await ws.close()
    return {"restart": quantiles(samples), "floor": quantiles(floor)}


CHILDREN = {"clients": child_clients, "raw": child_raw, "storm": child_storm, "crash": child_crash}


async def run_child(a: argparse.Namespace) -> dict[str, Any]:
    server = json.loads(a.server)
    urls = [f"ws://127.0.0.1:{p}/feed" for p in server["ports"]]
    ctl = Control(server["control"])
    try:
        return await CHILDREN[a.child](ctl, urls, a)
    finally:
        await ctl.close()


# -- the parent: the server, the children in turn, the table --------------------------------------


def start_server(nports: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_scale_server.py"), "--ports", str(nports)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the server did not start (exit status {proc.wait()})")
    return proc, json.loads(line)


def stop_server(proc: subprocess.Popen[str], server: dict[str, Any]) -> None:
    async def quit_() -> None:
        ctl = Control(server["control"])
        try:
            await ctl.post("/quit")
        finally:
            await ctl.close()

    try:
        asyncio.run(quit_())
        proc.wait(timeout=10)
    except Exception:
        proc.terminate()
        proc.wait(timeout=10)


def child(name: str, a: argparse.Namespace, server: dict[str, Any]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        argv = [sys.executable, __file__, "--child", name, "--server", json.dumps(server)]
        argv += ["--out", out.name] + [
            f"--{k.replace('_', '-')}={v}"
            for k, v in vars(a).items()
            if k not in ("child", "server", "out", "quick")
        ]
        subprocess.run(argv, check=True)
        result: dict[str, Any] = json.loads(Path(out.name).read_text())
        return result


def print_table(a: argparse.Namespace, r: dict[str, Any], elapsed: float) -> None:
    ws, raw, storm, crash = r["clients"], r["raw"], r["storm"], r["crash"]

    def row(label: str, mine: str, base: str, ratio: str, target: str = "") -> None:
        print(f"  {label:<46} {mine:>14} {base:>14} {ratio:>8}  {target}")

    def ratio(x: float, y: float) -> str:
        return f"{x / y:.2f}x"

    def gc_row(w: dict[str, float], r: dict[str, float]) -> None:
        def share(x: dict[str, float]) -> str:
            return f"{x['gc_s'] / x['s']:.0%}, {x['gc_max'] * 1e3:,.0f} ms"

        row("  in the collector: share, longest pause", share(w), share(r), "")

    n = a.clients
    loop = "the default asyncio loop" if a.loop == "asyncio" else "uvloop"
    print(
        f"Scale benchmark (clients on {loop}; the server in its own process, {a.ports} ports "
        "on 127.0.0.1)"
    )
    print(f"{n:,} clients in one process, under one DynamicSupervisor")
    row("", "wsclient", "raw aiohttp", "ratio")
    row(
        f"start {n:,}, until all connected",
        f"{ws['connect_s']:.2f} s", f"{raw['connect_s']:.2f} s",
        ratio(ws["connect_s"], raw["connect_s"]),
    )  # fmt: skip
    row(
        "  of which in the garbage collector",
        f"{ws['connect_gc_s']:.2f} s", f"{raw['connect_gc_s']:.2f} s", "",
    )  # fmt: skip
    row(
        "memory per idle connected client (RSS delta)",
        f"{ws['kib']:.1f} KiB", f"{raw['kib']:.1f} KiB", ratio(ws["kib"], raw["kib"]),
        "(target <= 1.50x)",
    )  # fmt: skip
    print("  fan-out, frames/s into handle_frame (raw: into the reader task)")
    for key, label in (
        ("single", f"1 frame per client per write (x{a.single_rounds})"),
        ("burst", f"{a.burst} frames per client per write (x{a.burst_rounds})"),
        ("frozen_single", "after gc.freeze(): 1 frame per write"),
        ("frozen_burst", f"after gc.freeze(): {a.burst} frames per write"),
    ):
        w, r0 = ws[key], raw[key]
        row(f"  {label}", f"{w['rate']:,.0f}", f"{r0['rate']:,.0f}", ratio(w["rate"], r0["rate"]))
        gc_row(w, r0)
    row(
        "stop all (supervisor stop / gather(ws.close()))",
        f"{ws['stop_s']:.2f} s", f"{raw['stop_s']:.2f} s", ratio(ws["stop_s"], raw["stop_s"]),
    )  # fmt: skip
    print(
        f"  (all connected: RSS wsclient {ws['rss_kib'] / 1024:,.0f} MiB, raw "
        f"{raw['rss_kib'] / 1024:,.0f} MiB; objects the collector tracks: wsclient "
        f"{ws['objects']:,}, raw {raw['objects']:,}; the frames: {len(PAYLOAD)} B of text)"
    )
    print(f"reconnect storm: {a.storm:,} clients, default Backoff, server down {a.down:g} s")
    pm = storm["peak"] / storm["mean"]
    print(
        f"  connection attempts (client side)  : {storm['attempts']:,} in {storm['span_s']:.1f} s;"
        f" peak {storm['peak']:,}/s, mean {storm['mean']:,.0f}/s, peak/mean {pm:.2f}x"
        "  (target <= 3x)"
    )
    print(f"    per second from the drop (client): {storm['per_second']}")
    print(f"    per second from the drop (server): {storm['server_per_second']} (upgrades seen)")
    print(
        f"  server back -> every client connected again: {storm['back_s']:.2f} s  (target <= 30 s)"
    )
    gone = storm["inits"] - storm["alive"]
    print(
        f"  clients that gave up or exited     : {gone} (exit reasons {storm['exits'] or 'none'})"
        "  (target: none)"
    )
    rs, fl = crash["restart"], crash["floor"]
    print(f"crash in handle_frame -> restarted client connected ({a.crashes} crashes)")
    print(
        f"  median {rs['median'] * 1e3:.2f} ms, p99 {rs['p99'] * 1e3:.2f} ms; a bare ws_connect "
        f"handshake: median {fl['median'] * 1e3:.2f} ms, p99 {fl['p99'] * 1e3:.2f} ms "
        f"({rs['median'] / fl['median']:.2f}x at the median)"
    )
    print(f"total time {elapsed:.0f} s")


def record_table(a: argparse.Namespace, r: dict[str, Any], elapsed: float) -> None:
    """Keep every figure print_table prints (see bench/_results.py)."""
    ws, raw, storm, crash = r["clients"], r["raw"], r["storm"], r["crash"]
    n, loop = a.clients, a.loop
    group = f"Scale: {n:,} clients in one process"
    describe(
        group,
        f"{n:,} wsclient clients under one DynamicSupervisor (`bench/bench_scale.py`), the "
        f"server in its own process on {a.ports} ports of 127.0.0.1, each side measured in a "
        "fresh process; the baseline is raw aiohttp (`session.ws_connect` and one reader task "
        "per connection); for the fan-out, the rate at which frames reach `handle_frame`, and "
        "for raw aiohttp the reader task. ratio: wsclient over raw aiohttp, for times and "
        "memory lower is better, for rates higher is better. One run, not medians.",
    )

    def pair(
        figure: str,
        key: str,
        unit: str,
        scale: float = 1.0,
        better: Better | None = None,
        target: str | None = None,
        note: str | None = None,
    ) -> None:
        """wsclient's figure against raw aiohttp's; a ratio only where one is printed."""
        mine, base = ws[key] * scale, raw[key] * scale
        record(
            group,
            figure,
            mine,
            unit,
            baseline=base,
            baseline_label="raw aiohttp",
            ratio=mine / base if better else None,
            better=better,
            target=target,
            loop=loop,
            note=note,
        )

    pair(f"start {n:,}, until all connected", "connect_s", "s", better="lower")
    pair(f"start {n:,}: of which in the garbage collector", "connect_gc_s", "s")
    pair("memory per idle connected client (RSS delta)", "kib", "KiB", better="lower",
         target="<= 1.50x")  # fmt: skip
    for key, label in (
        ("single", f"1 frame per client per write (x{a.single_rounds})"),
        ("burst", f"{a.burst} frames per client per write (x{a.burst_rounds})"),
        ("frozen_single", "after gc.freeze(): 1 frame per write"),
        ("frozen_burst", f"after gc.freeze(): {a.burst} frames per write"),
    ):
        w, r0 = ws[key], raw[key]
        fan = f"fan-out, {label}"
        record(
            group, fan, w["rate"], "frames/s", baseline=r0["rate"], baseline_label="raw aiohttp",
            ratio=w["rate"] / r0["rate"], better="higher", loop=loop,
        )  # fmt: skip
        record(
            group, f"{fan}: the collector's share of the time", w["gc_s"] / w["s"] * 100, "%",
            baseline=r0["gc_s"] / r0["s"] * 100, baseline_label="raw aiohttp", loop=loop,
        )  # fmt: skip
        record(
            group, f"{fan}: the collector's longest pause", w["gc_max"] * 1e3, "ms",
            baseline=r0["gc_max"] * 1e3, baseline_label="raw aiohttp", loop=loop,
        )  # fmt: skip
    pair("stop all (supervisor stop / gather(ws.close()))", "stop_s", "s", better="lower")
    pair("RSS with all connected", "rss_kib", "MiB", scale=1 / 1024)
    pair("objects the collector tracks, all connected", "objects", "objects",
         note=f"the frames: {len(PAYLOAD)} B of text")  # fmt: skip
    record(group, "total time of bench_scale.py (all its parts)", elapsed, "s", loop=loop)

    group = "Scale: reconnect storm"
    describe(
        group,
        f"{a.storm:,} clients with the default Backoff; the server cuts every connection and is "
        f"back {a.down:g} s later (`bench/bench_scale.py`). ratio: peak over mean connection "
        "attempts per second (lower is better: the reconnects are spread out).",
    )
    record(
        group, "connection attempts (client side)", storm["attempts"], "attempts", loop=loop,
        note=f"in {storm['span_s']:.1f} s; per second from the drop: client "
        f"{storm['per_second']}, server {storm['server_per_second']} (upgrades seen)",
    )  # fmt: skip
    record(
        group, "connection attempts, peak per second", storm["peak"], "attempts/s",
        baseline=storm["mean"], baseline_label="mean per second",
        ratio=storm["peak"] / storm["mean"], better="lower", target="<= 3x", loop=loop,
    )  # fmt: skip
    record(group, "server back -> every client connected again", storm["back_s"], "s",
           target="<= 30 s", loop=loop)  # fmt: skip
    record(
        group, "clients that gave up or exited", storm["inits"] - storm["alive"], "clients",
        target="== 0", loop=loop, note=f"exit reasons: {storm['exits'] or 'none'}",
    )  # fmt: skip

    group = "Scale: crash in handle_frame"
    describe(
        group,
        f"From the server sending the fatal frame until the client its supervisor restarted is "
        f"connected again, {a.crashes} times (`bench/bench_scale.py`), next to a bare "
        "`ws_connect` handshake with raw aiohttp. ratio: over the handshake (lower is better).",
    )
    rs, fl = crash["restart"], crash["floor"]
    record(
        group, "crash -> restarted client connected, median", rs["median"] * 1e3, "ms",
        baseline=fl["median"] * 1e3, baseline_label="a bare ws_connect handshake",
        ratio=rs["median"] / fl["median"], better="lower", loop=loop,
    )  # fmt: skip
    record(
        group, "crash -> restarted client connected, p99", rs["p99"] * 1e3, "ms",
        baseline=fl["p99"] * 1e3, baseline_label="a bare ws_connect handshake", loop=loop,
    )  # fmt: skip


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=10_000)
    p.add_argument("--storm", type=int, default=1_000)
    p.add_argument("--crashes", type=int, default=200)
    p.add_argument("--down", type=float, default=1.0, help="server downtime in the storm, s")
    p.add_argument("--burst", type=int, default=20, help="frames per client per burst write")
    p.add_argument("--burst-rounds", type=int, default=3)
    p.add_argument("--single-rounds", type=int, default=10)
    p.add_argument("--ports", type=int, default=4, help="listening ports of the server")
    p.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio", help="the clients'")
    p.add_argument("--quick", action="store_true", help="1,000 clients, storm 200, 50 crashes")
    p.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    p.add_argument("--server", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.quick:
        a.clients, a.storm, a.crashes = 1_000, 200, 50
    return a


def main() -> None:
    a = parse()
    raise_fd_limit()
    if a.child:
        # quiet: every connect logs at info; the crash child's crash reports are the scenario
        level = logging.CRITICAL if a.child == "crash" else logging.WARNING
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))
        factory = None
        if a.loop == "uvloop":
            import uvloop

            factory = uvloop.new_event_loop
        with asyncio.Runner(loop_factory=factory) as runner:
            result = runner.run(run_child(a))
        Path(a.out).write_text(json.dumps(result))
        return
    t0 = time.perf_counter()
    proc, server = start_server(a.ports)
    try:
        results = {name: child(name, a, server) for name in ("clients", "raw", "storm", "crash")}
    finally:
        stop_server(proc, server)
    elapsed = time.perf_counter() - t0
    print_table(a, results, elapsed)
    record_table(a, results, elapsed)


if __name__ == "__main__":
    main()
