"""Call deadlines: one queue per timeout value instead of one loop timer per call. Private."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

__all__ = ["IDLE_KEPT", "Timeouts"]


class Timeouts:
    """Call deadlines, kept in one queue per timeout value instead of one timer per call.

    Calls with the same timeout expire in the order they were made, so each queue is sorted by
    deadline; one timer per queue fires at its earliest live deadline. An entry is a list
    ``[deadline, future, dest, request]`` that its call empties when it ends (answered, failed
    or timed out), so an answered call pins neither its reply nor its request. Emptied entries
    are dropped from the head when their call ends. A queue left empty keeps its timer for the
    next call with the same timeout (sequential calls would otherwise pay a timer each), but
    only the :data:`IDLE_KEPT` most recently emptied ones do: distinct timeout values (computed
    from a deadline) cost nothing once their calls are answered. A queue that has doubled in
    length since it was last compacted (a slow call at its head) is compacted. This costs a
    list and a deque append per call, where ``loop.call_later`` costs a heap push and a
    cancelled TimerHandle.
    """

    __slots__ = ("compact_at", "handles", "idle", "queues")

    def __init__(self) -> None:
        self.queues: dict[float, deque[list[Any]]] = {}
        self.handles: dict[float, asyncio.TimerHandle] = {}
        self.compact_at: dict[float, int] = {}
        self.idle: dict[float, None] = {}  # emptied queues still kept, oldest first

    def add(
        self,
        loop: asyncio.AbstractEventLoop,
        fut: asyncio.Future[Any],
        timeout: float,
        dest: Any,
        request: Any,
    ) -> list[Any]:
        """Watch `fut` for `timeout` seconds; return the entry, for :meth:`done`."""
        q = self.queues.get(timeout)
        if q is None:
            q = self.queues[timeout] = deque()
            self.compact_at[timeout] = COMPACT_MIN
        elif not q:
            self.idle.pop(timeout, None)
        elif len(q) >= self.compact_at[timeout]:
            q = self.queues[timeout] = deque(e for e in q if e)
            self.compact_at[timeout] = max(COMPACT_MIN, 2 * len(q))
        deadline = loop.time() + timeout
        entry = [deadline, fut, dest, request]
        q.append(entry)
        if timeout not in self.handles:
            self.handles[timeout] = loop.call_at(deadline, self._fire, timeout)
        return entry

    def done(self, entry: list[Any], timeout: float) -> None:
        """The call of `entry` has ended: release it, and the queue's timer if nothing is left."""
        entry.clear()
        q = self.queues.get(timeout)
        if q is None:
            return
        while q and not q[0]:
            q.popleft()
        if not q:
            idle = self.idle
            idle[timeout] = None
            if len(idle) > IDLE_KEPT:
                self._release(next(iter(idle)))

    def _release(self, timeout: float) -> None:
        del self.queues[timeout]
        del self.compact_at[timeout]
        self.idle.pop(timeout, None)
        timer = self.handles.pop(timeout, None)
        if timer is not None:
            timer.cancel()

    def _fire(self, timeout: float) -> None:
        from otpy.errors import CallTimeout

        del self.handles[timeout]
        q = self.queues[timeout]
        loop = asyncio.get_running_loop()
        now = loop.time()
        while q:
            entry = q[0]
            if not entry:
                q.popleft()
                continue
            deadline, fut, dest, request = entry
            if deadline > now:
                self.handles[timeout] = loop.call_at(deadline, self._fire, timeout)
                return
            q.popleft()
            entry.clear()
            if not fut.done():
                fut.set_exception(CallTimeout(dest, request, timeout))
        self._release(timeout)


COMPACT_MIN = 1024
IDLE_KEPT = 4
