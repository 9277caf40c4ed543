"""Fairness: a GenServer whose mailbox never runs dry yields to the event loop every
``otpy.FAIR_SLICE`` messages, so other tasks, timers and exit signals are served meanwhile.

The servers here count every message they handle in a list shared with the test. Something that
runs "while the server churns" proves it by seeing a count below the total: without the yield,
the server would handle all its messages in one step of its task, and nothing else would run
until it was done.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import otpy
from otpy import FAIR_SLICE, GenServer, NoReply, Pid, Reply

from .support import GUARD, assert_no_msg, wait_down, wait_msg

#: How much self-sent work a churning server is given: many slices.
WORK = 20 * FAIR_SLICE


class Churn(GenServer):
    """On ("work", n) sends itself ("work", n - 1) until 0, then reports ("done", handled).

    arg: (test pid, shared list of handled messages, Event set on the first message).
    """

    async def init(self, arg: Any) -> Any:
        self.test, self.handled, self.started = arg
        return otpy.Ok(None)

    async def handle_info(self, msg: Any, state: Any) -> NoReply:
        self.handled.append(msg)
        self.started.set()
        if type(msg) is tuple and msg[0] == "work":
            n = msg[1]
            if n == WORK:  # the first: a timer, due at once, has to wait for a yield
                otpy.send_after(self.pid, "tick", 0)
                otpy.send(self.test, ("started",))
            if n > 0:
                otpy.send(self.pid, ("work", n - 1))
            else:
                otpy.send(self.test, ("done", len(self.handled)))
        elif msg == "tick":
            otpy.send(self.test, ("tick", len(self.handled)))
        return NoReply(state)

    async def handle_call(self, request: Any, from_: otpy.From, state: Any) -> Reply:
        return Reply(len(self.handled), state)


class Casts(GenServer):
    """Counts casts; reports ("done", count) at the `total`-th. arg: (test, handled, total)."""

    async def init(self, arg: Any) -> Any:
        self.test, self.handled, self.total = arg
        return otpy.Ok(None)

    async def handle_cast(self, request: Any, state: Any) -> NoReply:
        self.handled.append(request)
        if len(self.handled) == self.total:
            otpy.send(self.test, ("done", len(self.handled)))
        return NoReply(state)


async def start_churn(handled: list[Any], started: asyncio.Event) -> Pid:
    pid = await Churn.start((otpy.self_pid(), handled, started))
    assert pid is not None
    return pid


async def test_another_task_runs_while_a_server_churns_through_self_sent_work() -> None:
    handled: list[Any] = []
    started = asyncio.Event()
    seen_at: list[int] = []

    async def observer() -> None:
        await started.wait()  # woken by the first message: runs at the server's first yield
        seen_at.append(len(handled))

    pid = await start_churn(handled, started)
    task = asyncio.create_task(observer())
    otpy.send(pid, ("work", WORK))
    (_, total) = await wait_msg("done")
    await asyncio.wait_for(task, GUARD)
    assert total == WORK + 2  # every ("work", n) from WORK to 0, and the tick
    assert len(seen_at) == 1
    assert 0 < seen_at[0] < total


async def test_server_yields_within_fair_slice_messages_in_a_row() -> None:
    handled: list[Any] = []
    started = asyncio.Event()
    seen_at: list[int] = []

    async def observer() -> None:
        await started.wait()
        seen_at.append(len(handled))

    pid = await start_churn(handled, started)
    task = asyncio.create_task(observer())
    otpy.send(pid, ("work", WORK))
    await wait_msg("done")
    await asyncio.wait_for(task, GUARD)
    assert 0 < seen_at[0] <= FAIR_SLICE


async def test_server_handles_fair_slice_messages_between_yields() -> None:
    # FAIR_SLICE is "how many messages a server handles in a row before it yields once"
    handled: list[Any] = []
    started = asyncio.Event()
    samples: list[int] = []

    async def sampler() -> None:
        await started.wait()
        while True:
            samples.append(len(handled))
            if handled[-1] == ("work", 0):  # the last one: the server has gone idle
                return
            await asyncio.sleep(0)  # one loop turn: the server runs one slice meanwhile

    pid = await start_churn(handled, started)
    task = asyncio.create_task(sampler())
    otpy.send(pid, ("work", WORK))
    await wait_msg("done")
    await asyncio.wait_for(task, GUARD)
    slices = [b - a for a, b in itertools.pairwise(samples)][:-1]  # last: partial
    assert len(slices) > 10
    # the first slice, and every full one after it
    assert (samples[0], set(slices)) == (FAIR_SLICE, {FAIR_SLICE})


async def test_a_call_is_answered_while_the_server_churns() -> None:
    handled: list[Any] = []
    pid = await start_churn(handled, asyncio.Event())
    otpy.send(pid, ("work", WORK))
    await wait_msg("started")  # we run again only when the server yields
    count = await otpy.call(pid, "count?")
    assert count < WORK
    await wait_msg("done")


async def test_a_timer_fires_into_the_mailbox_while_the_server_churns() -> None:
    pid = await start_churn([], asyncio.Event())
    otpy.send(pid, ("work", WORK))
    (_, tick_at) = await wait_msg("tick")
    (_, total) = await wait_msg("done")
    assert tick_at < total  # handled between two work messages, not after the work


async def test_kill_ends_a_churning_server_before_its_work_is_done() -> None:
    handled: list[Any] = []
    started = asyncio.Event()
    pid = await start_churn(handled, started)
    ref = otpy.monitor(pid)

    async def killer() -> None:
        await started.wait()  # runs at the server's first yield
        otpy.exit(pid, "kill")

    task = asyncio.create_task(killer())
    otpy.send(pid, ("work", WORK))
    down = await wait_down(ref)
    await asyncio.wait_for(task, GUARD)
    assert down.reason == "killed"
    assert 0 < len(handled) < WORK
    await assert_no_msg("done")


async def test_exit_signal_ends_a_churning_server_before_its_work_is_done() -> None:
    handled: list[Any] = []
    started = asyncio.Event()
    pid = await start_churn(handled, started)
    ref = otpy.monitor(pid)

    async def stopper() -> None:
        await started.wait()
        otpy.exit(pid, "shutdown")

    task = asyncio.create_task(stopper())
    otpy.send(pid, ("work", WORK))
    down = await wait_down(ref)
    await asyncio.wait_for(task, GUARD)
    assert down.reason == "shutdown"
    assert 0 < len(handled) < WORK


async def test_another_task_runs_before_a_burst_of_casts_is_all_handled() -> None:
    total = 5 * FAIR_SLICE
    handled: list[Any] = []
    pid = await Casts.start((otpy.self_pid(), handled, total))
    assert pid is not None
    seen_at: list[int] = []

    async def observer() -> None:
        seen_at.append(len(handled))

    for i in range(total):
        otpy.cast(pid, i)  # the first one wakes the server: it runs before the observer
    task = asyncio.create_task(observer())
    assert await wait_msg("done") == ("done", total)
    await asyncio.wait_for(task, GUARD)
    assert 0 < seen_at[0] < total
    assert seen_at[0] <= FAIR_SLICE
    assert handled == list(range(total))  # and the casts kept their order
