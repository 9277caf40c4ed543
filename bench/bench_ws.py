#!/usr/bin/env python3
"""Websocket traffic through wsclient against raw aiohttp and the ``websockets`` client.

Every figure is a rate measured in this run for three clients doing the same work against the
same server: wsclient (a ``WebsocketClient`` whose ``handle_frame`` does the work), a raw
aiohttp loop (the baseline: ``await ws.receive()``, calling nothing), and the ``websockets``
package's client as a peer. Rounds are interleaved and each figure is the median of its
rounds; the ratios are wsclient's median over the other's median.

- **receive**: 200,000 text frames of 32 B that a separate server process (``_ws_peer.py``,
  on the other core) writes in 64 KiB slices, from the first frame to the last.
- **echo**: sequential round trips of 64 B and 16 KiB (send, the server echoes,
  ``handle_frame`` sees it and sends the next), with the client and the server on one core.

Each runs on the default asyncio loop and on uvloop (if it is installed). Run it with
``make bench`` or ``python bench/bench_ws.py [--rounds 5] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import structlog
import websockets.asyncio.client as websockets_client
from _results import describe, record

import otpy
import wsclient
from wsclient import Binary, Ok, Reply, Text

PEER = Path(__file__).with_name("_ws_peer.py")
CLIENT_CPU, SERVER_CPU = 0, 1


@contextlib.contextmanager
def peer(cpu: int | None) -> Iterator[str]:
    """Start the server process pinned to `cpu`; yield its ws:// base URL."""
    args = [sys.executable, str(PEER)] + ([] if cpu is None else ["--cpu", str(cpu)])
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"ws://127.0.0.1:{port}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


@dataclass
class Tally:
    """What a benchmark client counts, shared with the coroutine that waits for it."""

    target: int
    payload: bytes = b""
    n: int = 0
    t0: float = 0.0
    t1: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def seconds(self) -> float:
        return self.t1 - self.t0


# -- receive ------------------------------------------------------------------------------------


class Receiver(wsclient.WebsocketClient):
    """Count frames; time from the first to the last."""

    async def init(self, arg: Any) -> Ok:
        return Ok(arg)

    async def handle_frame(self, frame: Any, tally: Any) -> Ok:
        n = tally.n = tally.n + 1
        if n == 1:
            tally.t0 = time.perf_counter()
        elif n == tally.target:
            tally.t1 = time.perf_counter()
            tally.done.set()
        return Ok(tally)


async def receive_wsclient(url: str, n: int) -> float:
    tally = Tally(n)
    pid = await Receiver.start(url, tally)
    await tally.done.wait()
    await otpy.stop(pid)
    return n / tally.seconds()


async def receive_aiohttp(url: str, n: int) -> float:
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive()
        t0 = time.perf_counter()
        for _ in range(n - 1):
            await ws.receive()
        t1 = time.perf_counter()
        return n / (t1 - t0)


async def receive_floor(url: str, n: int) -> float:
    """What the callback API costs at the least, with no process around it: each frame taken
    from aiohttp's buffer as wsclient does, made a Text and given to the same handle_frame
    (which returns an Ok). Not a client: a frame behind a control frame would wait."""
    tally = Tally(n)
    handle_frame = Receiver.handle_frame
    me = Receiver()
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        buf, read = ws._reader._buffer, ws._reader.read
        while tally.n < n:
            if not buf:
                msg = await ws.receive()
                await handle_frame(me, Text(msg.data), tally)
                continue
            await handle_frame(me, Text((await read())[1]), tally)
        return n / tally.seconds()


async def receive_websockets(url: str, n: int) -> float:
    async with websockets_client.connect(url, max_size=None, compression=None) as ws:
        await ws.recv()
        t0 = time.perf_counter()
        for _ in range(n - 1):
            await ws.recv()
        t1 = time.perf_counter()
        return n / (t1 - t0)


# -- echo ---------------------------------------------------------------------------------------


class Echoer(wsclient.WebsocketClient):
    """Send the payload, and send it again each time it comes back, `target` times."""

    async def init(self, arg: Any) -> Ok:
        return Ok(arg)

    async def handle_connect(self, status: Any, tally: Any) -> Reply:
        tally.t0 = time.perf_counter()
        return Reply(Binary(tally.payload), tally)

    async def handle_frame(self, frame: Any, tally: Any) -> Any:
        n = tally.n = tally.n + 1
        if n == tally.target:
            tally.t1 = time.perf_counter()
            tally.done.set()
            return Ok(tally)
        return Reply(frame, tally)


async def echo_wsclient(url: str, n: int, payload: bytes) -> float:
    tally = Tally(n, payload)
    pid = await Echoer.start(url, tally)
    await tally.done.wait()
    await otpy.stop(pid)
    return n / tally.seconds()


async def echo_aiohttp(url: str, n: int, payload: bytes) -> float:
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        t0 = time.perf_counter()
        for _ in range(n):
            await ws.send_bytes(payload)
            await ws.receive()
        return n / (time.perf_counter() - t0)


async def echo_websockets(url: str, n: int, payload: bytes) -> float:
    async with websockets_client.connect(url, max_size=None, compression=None) as ws:
        t0 = time.perf_counter()
        for _ in range(n):
            await ws.send(payload)
            await ws.recv()
        return n / (time.perf_counter() - t0)


# -- the table ----------------------------------------------------------------------------------

Run = Callable[[], Awaitable[float]]


async def interleaved(rounds: int, runs: dict[str, Run]) -> dict[str, float]:
    """Median rate of each run over `rounds` rounds, rotating the order each round."""
    rates: dict[str, list[float]] = {k: [] for k in runs}
    names = list(runs)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            rates[name].append(await runs[name]())
    return {k: statistics.median(v) for k, v in rates.items()}


GROUP = "Websocket traffic"


def row(figure: str, unit: str, m: dict[str, float], loop: str) -> str:
    ours, raw, peer_ = m["wsclient"], m["aiohttp"], m["websockets"]
    for base, label in ((raw, "raw aiohttp"), (peer_, "the websockets client")):
        record(
            GROUP, f"{figure}, wsclient vs {label.removeprefix('the ')}", ours,
            "round trips/s" if unit == "/s" else unit,
            baseline=base, baseline_label=label, ratio=ours / base, better="higher", loop=loop,
        )  # fmt: skip
    return (
        f"| {figure} | {ours:,.0f} {unit} | {raw:,.0f} | {ours / raw:.2f}x | "
        f"{peer_:,.0f} | {ours / peer_:.2f}x |"
    )


async def bench(args: argparse.Namespace, flood_base: str, echo_base: str, loop: str) -> list[str]:
    n = args.frames
    flood = f"{flood_base}/flood?n={n}&size=32"
    echo = f"{echo_base}/echo"
    lines = []
    m = await interleaved(
        args.rounds,
        {
            "wsclient": lambda: receive_wsclient(flood, n),
            "aiohttp": lambda: receive_aiohttp(flood, n),
            "websockets": lambda: receive_websockets(flood, n),
            "floor": lambda: receive_floor(flood, n),
        },
    )
    lines.append(row(f"receive {n:,} x 32 B text", "frames/s", m, loop))
    record(
        GROUP, "floor: the callback API with no process", m["floor"], "frames/s",
        baseline=m["aiohttp"], baseline_label="raw aiohttp", ratio=m["floor"] / m["aiohttp"],
        better="higher", loop=loop,
        note="each frame taken from aiohttp's buffer, made a `Text` and given to the same "
        "`handle_frame`: the least the callback API can cost",
    )  # fmt: skip
    lines.append(
        f"| (floor: the callback API with no process) | {m['floor']:,.0f} frames/s | "
        f"{m['aiohttp']:,.0f} | {m['floor'] / m['aiohttp']:.2f}x | | |"
    )
    for size, count in ((64, args.echoes), (16 * 1024, args.echoes // 2)):
        p = os.urandom(size)
        m = await interleaved(
            args.rounds,
            {
                "wsclient": lambda p=p, c=count: echo_wsclient(echo, c, p),  # type: ignore[misc]
                "aiohttp": lambda p=p, c=count: echo_aiohttp(echo, c, p),  # type: ignore[misc]
                "websockets": lambda p=p, c=count: echo_websockets(echo, c, p),  # type: ignore[misc]
            },
        )
        label = "64 B" if size == 64 else "16 KiB"
        lines.append(row(f"echo round trip {label}", "/s", m, loop))
    return lines


def loop_factories() -> list[tuple[str, Callable[[], asyncio.AbstractEventLoop]]]:
    out: list[tuple[str, Callable[[], asyncio.AbstractEventLoop]]] = [
        ("asyncio", asyncio.new_event_loop)
    ]
    try:
        import uvloop
    except ImportError:
        print("uvloop is not installed (pip install 'otpy[uvloop]'): its rows are left out")
    else:
        out.append((f"uvloop {uvloop.__version__}", uvloop.new_event_loop))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--frames", type=int, default=200_000)
    ap.add_argument("--echoes", type=int, default=10_000)
    ap.add_argument("--quick", action="store_true", help="3 rounds of a quarter of the work")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.frames, args.echoes = 3, args.frames // 4, args.echoes // 4
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    describe(
        GROUP,
        f"Three clients doing the same work against one server process (`bench/bench_ws.py`), "
        f"medians of {args.rounds} interleaved rounds; the client pinned to cpu {CLIENT_CPU}. "
        "Each wsclient figure appears twice, against each baseline. ratio: wsclient's rate over "
        "the baseline's (higher is better).",
    )
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {CLIENT_CPU})
    print(
        f"bench_ws: Python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}, "
        f"websockets {websockets_client.__name__ and _websockets_version()}, "
        f"client on cpu {CLIENT_CPU}; receive server on cpu {SERVER_CPU}, echo server on cpu "
        f"{CLIENT_CPU}; medians of {args.rounds} interleaved rounds\n"
    )
    with peer(SERVER_CPU) as flood_base, peer(CLIENT_CPU) as echo_base:
        for label, factory in loop_factories():
            with asyncio.Runner(loop_factory=factory) as runner:
                lines = runner.run(bench(args, flood_base, echo_base, label.split()[0]))
            print(f"loop: {label}")
            print("| figure | wsclient | raw aiohttp | ratio | websockets | ratio |")
            print("|---|---|---|---|---|---|")
            for line in lines:
                print(line)
            print()


def _websockets_version() -> str:
    import websockets

    return str(websockets.__version__)


if __name__ == "__main__":
    main()
