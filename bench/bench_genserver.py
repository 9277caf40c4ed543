"""GenServer call and cast throughput, each as a ratio to a raw asyncio floor measured in this run.

The floor for ``call`` is an asyncio.Queue plus a Future answered by a plain task; for ``cast``
it is the same queue with no reply. Run with ``make bench``; nothing here is a test.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import otpy
from otpy import GenServer, NoReply, Ok, Reply

CALLS = 50_000
CASTS = 200_000
ROUNDS = 5


class Echo(GenServer):
    async def init(self, arg: Any) -> Ok:
        return Ok(0)

    async def handle_call(self, request: Any, from_: otpy.From, state: Any) -> Reply:
        return Reply(state, state)

    async def handle_cast(self, request: Any, state: Any) -> NoReply:
        return NoReply(state + 1)


async def raw_server(queue: asyncio.Queue[Any]) -> None:
    state = 0
    while True:
        _request, fut = await queue.get()
        if fut is None:
            state += 1
        elif not fut.done():
            fut.set_result(state)


async def raw_calls(n: int) -> float:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    task = asyncio.create_task(raw_server(queue))
    t0 = time.perf_counter()
    for _ in range(n):
        fut = loop.create_future()
        queue.put_nowait(("get", fut))
        await fut
    elapsed = time.perf_counter() - t0
    task.cancel()
    return n / elapsed


async def raw_casts(n: int) -> float:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    task = asyncio.create_task(raw_server(queue))
    t0 = time.perf_counter()
    for _ in range(n):
        queue.put_nowait(("inc", None))
    fut = loop.create_future()
    queue.put_nowait(("get", fut))
    await fut
    elapsed = time.perf_counter() - t0
    task.cancel()
    return n / elapsed


async def otpy_calls(n: int) -> float:
    pid = await Echo.start(None)
    t0 = time.perf_counter()
    for _ in range(n):
        await otpy.call(pid, "get")
    elapsed = time.perf_counter() - t0
    await otpy.stop(pid)
    return n / elapsed


async def otpy_casts(n: int) -> float:
    pid = await Echo.start(None)
    t0 = time.perf_counter()
    for _ in range(n):
        otpy.cast(pid, "inc")
    await otpy.call(pid, "get")
    elapsed = time.perf_counter() - t0
    await otpy.stop(pid)
    return n / elapsed


async def main() -> None:
    results: dict[str, list[float]] = {k: [] for k in ("raw_call", "call", "raw_cast", "cast")}
    for _ in range(ROUNDS):  # interleaved, so drift in machine load hits both sides alike
        results["raw_call"].append(await raw_calls(CALLS))
        results["call"].append(await otpy_calls(CALLS))
        results["raw_cast"].append(await raw_casts(CASTS))
        results["cast"].append(await otpy_casts(CASTS))
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"GenServer benchmark (median of {ROUNDS} rounds, default asyncio loop)")
    print(f"  raw floor call  (Queue + Future): {med['raw_call']:>12,.0f} round trips/s")
    print(
        f"  otpy.call                       : {med['call']:>12,.0f} round trips/s"
        f"   ratio {med['call'] / med['raw_call']:.2f}x (target >= 0.65x)"
    )
    print(f"  raw floor cast  (Queue)         : {med['raw_cast']:>12,.0f} messages/s")
    print(
        f"  otpy.cast                       : {med['cast']:>12,.0f} messages/s"
        f"   ratio {med['cast'] / med['raw_cast']:.2f}x (target >= 0.5x)"
    )


if __name__ == "__main__":
    asyncio.run(main())
