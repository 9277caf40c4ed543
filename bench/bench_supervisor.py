"""Supervisor costs, printed next to the raw cost of bare asyncio tasks measured in this run.

- restart latency: from a child's crash to its replacement answering a call (median, p99 over
  1,000 restarts);
- starting and stopping a supervisor of 10,000 children;
- the yardstick: spawning (and then cancelling) 10,000 bare asyncio tasks.

Run with ``make bench``; nothing here is a test.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from typing import Any

import structlog
from _results import describe, record

import otpy
from otpy import GenServer, Ok, Reply, Supervisor

RESTARTS = 1_000
CHILDREN = 10_000


class Worker(GenServer):
    async def init(self, arg: Any) -> Ok:
        if arg is not None:  # tell the bench that this incarnation is up
            otpy.send(arg, ("up", self.pid))
        return Ok(0)

    async def handle_call(self, request: Any, from_: otpy.From, state: Any) -> Reply:
        return Reply("pong", state)


async def bare_tasks(n: int) -> tuple[float, float]:
    started = asyncio.Event()
    count = 0

    async def body() -> None:
        nonlocal count
        count += 1
        if count == n:
            started.set()
        await asyncio.Event().wait()

    t0 = time.perf_counter()
    tasks = [asyncio.create_task(body()) for _ in range(n)]
    await started.wait()
    t1 = time.perf_counter()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


async def restart_latency(n: int) -> list[float]:
    otpy.trap_exits()
    me = otpy.self_pid()
    sup = await Supervisor.start_link(
        [Worker.child_spec(me, id="w")], max_restarts=n + 1, max_seconds=3600
    )
    _, pid = await otpy.receive(timeout=5)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        otpy.exit(pid, "kill")
        _, pid = await otpy.receive(timeout=5)
        await otpy.call(pid, "ping")
        samples.append(time.perf_counter() - t0)
    await otpy.stop(sup)
    return samples


async def big_supervisor(n: int) -> tuple[float, float]:
    children = [Worker.child_spec(None, id=i) for i in range(n)]
    t0 = time.perf_counter()
    sup = await Supervisor.start_link(children)
    t1 = time.perf_counter()
    await otpy.stop(sup)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} us"


async def main() -> None:
    # Measure the runtime, not the console: events are filtered out as a production config
    # filtering below CRITICAL would (every restart logs four events otherwise).
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    raw_start, raw_stop = await bare_tasks(CHILDREN)
    per_task = raw_start / CHILDREN
    samples = await restart_latency(RESTARTS)
    samples.sort()
    median = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99) - 1]
    sup_start, sup_stop = await big_supervisor(CHILDREN)
    print("Supervisor benchmark (default asyncio loop, log events filtered out)")
    print(
        f"  yardstick: {CHILDREN:,} bare asyncio tasks spawned in {raw_start * 1e3:,.1f} ms "
        f"({us(per_task)} each), cancelled in {raw_stop * 1e3:,.1f} ms"
    )
    print(f"  restart latency, crash -> replacement answers a call ({RESTARTS:,} restarts):")
    print(f"    median {us(median)}  ({median / per_task:,.1f}x one bare task spawn)")
    print(f"    p99    {us(p99)}  ({p99 / per_task:,.1f}x one bare task spawn)")
    print(
        f"  start a supervisor of {CHILDREN:,} children: {sup_start * 1e3:,.1f} ms "
        f"({sup_start / raw_start:,.1f}x the bare spawn)"
    )
    print(
        f"  stop it (reverse order, each child waited for): {sup_stop * 1e3:,.1f} ms "
        f"({sup_stop / raw_stop:,.1f}x the bare cancel)"
    )
    group = "Supervisor"
    describe(
        group,
        "Supervision (`bench/bench_supervisor.py`), otpy's log events filtered out, next to bare "
        "asyncio tasks spawned and cancelled in the same run. ratio: otpy's time over the bare "
        "tasks' (lower is better).",
    )
    spawn = f"spawning {CHILDREN:,} bare tasks"
    cancel = f"cancelling {CHILDREN:,} bare tasks"
    yardstick = f"yardstick: {CHILDREN:,} bare asyncio tasks"
    loop = "asyncio"
    record(group, f"{yardstick}, spawned", raw_start * 1e3, "ms", loop=loop)
    record(group, f"{yardstick}, one spawn", per_task * 1e6, "µs", loop=loop)
    record(group, f"{yardstick}, cancelled", raw_stop * 1e3, "ms", loop=loop)
    restart = f"restart latency, crash -> replacement answers a call ({RESTARTS:,} restarts)"
    for label, seconds in (("median", median), ("p99", p99)):
        record(
            group, f"{restart}, {label}", seconds * 1e6, "µs",
            baseline=per_task * 1e6, baseline_label="one bare task spawn",
            ratio=seconds / per_task, better="lower", loop=loop,
        )  # fmt: skip
    record(
        group, f"start a supervisor of {CHILDREN:,} children", sup_start * 1e3, "ms",
        baseline=raw_start * 1e3, baseline_label=spawn, ratio=sup_start / raw_start,
        better="lower", loop=loop,
    )  # fmt: skip
    record(
        group, "stop it (reverse order, each child waited for)", sup_stop * 1e3, "ms",
        baseline=raw_stop * 1e3, baseline_label=cancel, ratio=sup_stop / raw_stop,
        better="lower", loop=loop,
    )  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
