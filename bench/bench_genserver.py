"""GenServer and mailbox throughput, each as a ratio to a raw asyncio floor measured in this run.

- call: one Future per request through an ``asyncio.Queue`` to a task that sets its result.
- cast: ``put_nowait`` of the message itself into an ``asyncio.Queue`` whose consumer only counts.
- deliver / deliver_nowait: a producer task hands items to a process that ``receive``-s them,
  against a producer doing ``await q.put(x)`` into an ``asyncio.Queue(maxsize)`` and a consumer
  doing ``await q.get()``.
- fairness: a server handling 300,000 self-sent messages (Elixir's ``send(self(), :work)``), with
  the fairness slice (``otpy.FAIR_SLICE``) and without it: the throughput and the worst lateness
  of a 1 ms timer meanwhile.

Rounds are interleaved so that drift in machine load hits both sides alike; medians are shown.
Run with ``make bench``; nothing here is a test.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from _results import describe, record

import otpy
import otpy.genserver
from otpy import GenServer, NoReply, Ok, Reply

CALLS = 50_000
CASTS = 200_000
ITEMS = 200_000
WORK = 300_000
BOUND = 64
ROUNDS = 5


class Echo(GenServer):
    async def init(self, arg: Any) -> Ok:
        return Ok(0)

    async def handle_call(self, request: Any, from_: otpy.From, state: Any) -> Reply:
        return Reply(state, state)

    async def handle_cast(self, request: Any, state: Any) -> NoReply:
        return NoReply(state + 1)


# -- call and cast ----------------------------------------------------------------------------


async def floor_calls(n: int) -> float:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue()

    async def server() -> None:
        while True:
            fut = await queue.get()
            fut.set_result(None)

    task = asyncio.create_task(server())
    await asyncio.sleep(0)
    t0 = time.perf_counter()
    for _ in range(n):
        fut = loop.create_future()
        queue.put_nowait(fut)
        await fut
    rate = n / (time.perf_counter() - t0)
    task.cancel()
    return rate


async def floor_casts(n: int) -> float:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()
    done: asyncio.Future[None] = loop.create_future()

    async def consumer() -> None:
        count = 0
        while True:
            await queue.get()
            count += 1
            if count == n:
                done.set_result(None)
                return

    task = asyncio.create_task(consumer())
    await asyncio.sleep(0)
    t0 = time.perf_counter()
    for _ in range(n):
        queue.put_nowait("inc")
    await done
    rate = n / (time.perf_counter() - t0)
    await task
    return rate


async def otpy_calls(n: int) -> float:
    pid = await Echo.start(None)
    t0 = time.perf_counter()
    for _ in range(n):
        await otpy.call(pid, "get")
    rate = n / (time.perf_counter() - t0)
    await otpy.stop(pid)
    return rate


async def otpy_casts(n: int) -> float:
    pid = await Echo.start(None)
    t0 = time.perf_counter()
    for _ in range(n):
        otpy.cast(pid, "inc")
    await otpy.call(pid, "get", timeout=None)
    rate = n / (time.perf_counter() - t0)
    await otpy.stop(pid)
    return rate


# -- bounded hand-offs -------------------------------------------------------------------------


async def floor_handoff(n: int) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue(BOUND)

    async def consumer() -> None:
        for _ in range(n):
            await queue.get()

    task = asyncio.create_task(consumer())
    t0 = time.perf_counter()
    for i in range(n):
        await queue.put(i)
    await task
    return n / (time.perf_counter() - t0)


async def _receiver(n: int, done: asyncio.Future[None]) -> None:
    for _ in range(n):
        await otpy.receive()
    done.set_result(None)


async def otpy_deliver(n: int) -> float:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    pid = otpy.spawn(_receiver, n, done)
    t0 = time.perf_counter()
    for i in range(n):
        await otpy.deliver(pid, i, BOUND)
    await done
    return n / (time.perf_counter() - t0)


async def otpy_deliver_nowait(n: int) -> float:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    pid = otpy.spawn(_receiver, n, done)
    t0 = time.perf_counter()
    for i in range(n):
        if not otpy.deliver_nowait(pid, i, BOUND):
            await otpy.deliver(pid, i, BOUND)  # full: wait for room, as q.put would
    await done
    return n / (time.perf_counter() - t0)


# -- fairness -----------------------------------------------------------------------------------


class Worker(GenServer):
    """Works through `n` self-sent messages, then answers the waiting call."""

    async def handle_info(self, msg: Any, state: Any) -> NoReply:
        n, from_ = msg
        if n:
            otpy.send(self.pid, (n - 1, from_))
        else:
            otpy.reply(from_, None)
        return NoReply(state)

    async def handle_call(self, request: Any, from_: otpy.From, state: Any) -> NoReply:
        otpy.send(self.pid, (request, from_))
        return NoReply(state)


async def work_with_timer(n: int, fair: bool) -> tuple[float, float]:
    """(messages/s, worst lateness of a 1 ms timer in ms) while a server does `n` messages."""
    loop = asyncio.get_running_loop()
    saved = otpy.genserver.FAIR_SLICE
    if not fair:
        otpy.genserver.FAIR_SLICE = 10**9
    worst = 0.0
    stop = False

    async def ticker() -> None:
        nonlocal worst
        while not stop:
            due = loop.time() + 0.001
            await asyncio.sleep(0.001)
            worst = max(worst, loop.time() - due)

    try:
        pid = await Worker.start(None)
        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.002)  # let the ticker settle into its rhythm
        worst = 0.0
        t0 = time.perf_counter()
        await otpy.call(pid, n, timeout=None)
        rate = n / (time.perf_counter() - t0)
        stop = True
        await tick
        await otpy.stop(pid)
    finally:
        otpy.genserver.FAIR_SLICE = saved
    return rate, worst * 1000


async def main() -> None:
    keys = (
        "floor_call", "call", "floor_cast", "cast",
        "floor_handoff", "deliver", "deliver_nowait",
        "fair_rate", "unfair_rate", "fair_stall", "unfair_stall",
    )  # fmt: skip
    r: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(ROUNDS):
        r["floor_call"].append(await floor_calls(CALLS))
        r["call"].append(await otpy_calls(CALLS))
        r["floor_cast"].append(await floor_casts(CASTS))
        r["cast"].append(await otpy_casts(CASTS))
        r["floor_handoff"].append(await floor_handoff(ITEMS))
        r["deliver"].append(await otpy_deliver(ITEMS))
        r["deliver_nowait"].append(await otpy_deliver_nowait(ITEMS))
        rate, stall = await work_with_timer(WORK, fair=True)
        r["fair_rate"].append(rate)
        r["fair_stall"].append(stall)
        rate, stall = await work_with_timer(WORK, fair=False)
        r["unfair_rate"].append(rate)
        r["unfair_stall"].append(stall)
    m = {k: statistics.median(v) for k, v in r.items()}

    group = "GenServer and mailbox"
    describe(
        group,
        f"One server and one client task (`bench/bench_genserver.py`), medians of {ROUNDS} "
        "interleaved rounds. Each floor row is a raw asyncio floor, the baseline of the otpy "
        "rows after it. ratio: otpy's rate over the floor's (higher is better).",
    )
    floors = {
        "floor_call": "Future through a Queue",
        "floor_cast": "Queue.put_nowait, counting task",
        "floor_handoff": f"Queue({BOUND}) put/get",
    }

    def row(label: str, value: float, unit: str, floor: str | None, target: str = "") -> None:
        ratio = f"   ratio {value / m[floor]:.2f}x" if floor else ""
        print(f"  {label:<44}: {value:>12,.0f} {unit}{ratio}{target}")
        record(
            group, label, value, unit,
            baseline=m[floor] if floor else None,
            baseline_label=f"raw asyncio floor: {floors[floor]}" if floor else None,
            ratio=value / m[floor] if floor else None,
            better="higher" if floor else None,
            target=target.strip(" ()").replace("target ", "") or None,
            loop="asyncio",
        )  # fmt: skip

    print(f"GenServer and mailbox benchmark (median of {ROUNDS} rounds, default asyncio loop)")
    row("floor call (Future through a Queue)", m["floor_call"], "round trips/s", None)
    row("otpy.call", m["call"], "round trips/s", "floor_call", " (target >= 0.65x)")
    row("floor cast (Queue.put_nowait, counting task)", m["floor_cast"], "messages/s", None)
    row("otpy.cast", m["cast"], "messages/s", "floor_cast", " (target >= 0.5x)")
    row(f"floor hand-off (Queue({BOUND}) put/get)", m["floor_handoff"], "items/s", None)
    row("otpy.deliver -> receive", m["deliver"], "items/s", "floor_handoff", " (aim >= 0.9x)")
    row("otpy.deliver_nowait -> receive", m["deliver_nowait"], "items/s", "floor_handoff",
        " (aim >= 0.9x)")  # fmt: skip
    print(f"  fairness, {WORK:,} self-sent messages with a 1 ms timer running:")
    print(
        f"    with FAIR_SLICE={otpy.FAIR_SLICE:<5}: {m['fair_rate']:>12,.0f} messages/s, "
        f"worst timer lateness {m['fair_stall']:.1f} ms"
    )
    print(
        f"    without it      : {m['unfair_rate']:>12,.0f} messages/s, "
        f"worst timer lateness {m['unfair_stall']:.1f} ms"
    )
    cost = 1 - m["fair_rate"] / m["unfair_rate"]
    print(f"    cost of fairness: {cost:+.1%} throughput")
    fairness = f"fairness, {WORK:,} self-sent messages, a 1 ms timer running"
    slice_ = f"with `FAIR_SLICE` = {otpy.FAIR_SLICE}"
    record(
        group, f"{fairness}: throughput {slice_}", m["fair_rate"], "messages/s",
        baseline=m["unfair_rate"], baseline_label="without the slice",
        ratio=m["fair_rate"] / m["unfair_rate"], better="higher", loop="asyncio",
    )  # fmt: skip
    record(
        group, f"{fairness}: worst lateness of the timer {slice_}", m["fair_stall"], "ms",
        baseline=m["unfair_stall"], baseline_label="without the slice", loop="asyncio",
        note="lower is better",
    )  # fmt: skip
    record(group, f"{fairness}: throughput without the slice", m["unfair_rate"], "messages/s",
           loop="asyncio")  # fmt: skip
    record(group, f"{fairness}: worst lateness of the timer without the slice",
           m["unfair_stall"], "ms", loop="asyncio")  # fmt: skip
    record(
        group, "cost of fairness (throughput lost to the slice)", cost * 100, "%",
        loop="asyncio", note="1 - (throughput with the slice) / (throughput without it)",
    )  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
