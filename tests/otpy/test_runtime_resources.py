"""What the runtime keeps: nothing of a finished event loop, and no answered call.

These count objects, with weak references, `gc.collect()` and otpy's private structures (a
runtime's deadline queues): never time or memory totals. `_runtime._runtimes` drops the
runtimes of closed loops whenever a new loop starts using otpy.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import otpy
from otpy import From, GenServer, NoReply, Reply
from otpy._deadlines import IDLE_KEPT
from otpy._runtime import _rt

from .support import wait_msg


async def _use_otpy() -> None:
    otpy.self_pid()  # creates this loop's runtime, and adopts the task as a process


def _run_in_a_new_loop() -> weakref.ref[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_use_otpy())
    finally:
        loop.close()
    return weakref.ref(loop)


def test_event_loops_that_used_otpy_are_not_kept_alive() -> None:
    # One loop per test (pytest-asyncio, aiohttp...): the runtimes must not hold them forever.
    refs = [_run_in_a_new_loop() for _ in range(3)]
    _run_in_a_new_loop()  # otpy caches the last loop it saw: move that cache off the others
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]  # and so gone from _runtimes too


class Parks(GenServer):
    """Answers every call at once, except "park", which it tells the test about and never
    answers."""

    async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        if request == "park":
            otpy.send(state, ("parked",))
            return NoReply(state)
        return Reply(request, state)


async def test_answered_calls_are_not_kept_behind_a_pending_call_with_the_same_timeout() -> None:
    timeout = 3600.5  # a timeout no other call uses: this test's calls get a queue of their own
    n = 5000
    server = await Parks.start_link(otpy.self_pid())
    parked = asyncio.create_task(otpy.call(server, "park", timeout))
    await wait_msg("parked")  # the pending call heads the queue of `timeout` until it expires

    for i in range(n):
        assert await otpy.call(server, i, timeout) == i

    queue = _rt().timeouts.queues[timeout]
    assert sum(1 for entry in queue if entry) == 1  # answered calls pin nothing: only "park"
    assert len(queue) < n // 2  # and their emptied entries are compacted away as it grows
    assert not parked.done()
    parked.cancel()
    await asyncio.gather(parked, return_exceptions=True)
    await otpy.stop(server)


class Big:
    """A reply that reports when it is freed."""


async def test_answered_calls_with_distinct_timeouts_leave_no_timer_and_no_reply_behind() -> None:
    # Computed timeouts (a deadline minus now) are all different: each used to keep a queue, a
    # live loop timer and the reply until it expired.
    server = await Parks.start_link(otpy.self_pid())
    timeouts = _rt().timeouts
    before = (len(timeouts.queues), len(timeouts.handles))
    replies = []
    for i in range(2000):
        big = Big()
        replies.append(weakref.ref(big))
        assert await otpy.call(server, big, 1000.0 + i / 7) is big
        del big
    gc.collect()
    # at most the few most recently emptied queues stay, with their timers, for reuse
    assert len(timeouts.queues) <= before[0] + IDLE_KEPT
    assert len(timeouts.handles) <= before[1] + IDLE_KEPT
    # all freed, but the last: the server's loop still holds the message it handled last
    assert sum(1 for ref in replies if ref() is not None) <= 1
    await otpy.stop(server)
