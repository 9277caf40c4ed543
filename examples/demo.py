"""A small supervised tree: a crash is restarted, a tree is shown, the tree shuts down in order.

Run with ``make demo``. It finishes by itself in well under a second.
"""

from __future__ import annotations

import asyncio
from typing import Any

import otpy
from otpy import GenServer, NoReply, Ok, Reply, Supervisor, SupervisorSpec


class Counter(GenServer):
    """Counts casts; crashes when asked to, to show the supervisor at work."""

    async def init(self, start: Any) -> Ok:
        print(f"  Counter {self.pid} started at {start}")
        return Ok(start)

    async def handle_cast(self, request: Any, state: int) -> NoReply:
        if request == "boom":
            raise RuntimeError("asked to crash")
        return NoReply(state + request)

    async def handle_call(self, request: Any, from_: otpy.From, state: int) -> Reply:
        return Reply(state, state)


class Ticker(GenServer):
    """Keeps a running total in its state and prints its shutdown, to show the stop order."""

    trap_exits = True  # so that terminate runs when the supervisor shuts it down

    async def terminate(self, reason: Any, state: Any) -> None:
        print(f"  Ticker {self.pid} terminating ({reason})")


class App(Supervisor):
    async def init(self, arg: Any) -> SupervisorSpec:
        return SupervisorSpec(
            [
                Counter.child_spec(0, name="counter"),
                Ticker.child_spec(None),
                otpy.Registry.child_spec("unique", name="rooms"),
            ],
            strategy="one_for_one",
            max_restarts=3,
            max_seconds=5,
        )


async def main() -> None:
    print("Starting the tree:")
    otpy.trap_exits()
    sup = await App.start_link(None, name="app")
    print(await otpy.format_tree(sup))

    otpy.cast("counter", 5)
    print(f"\ncounter holds {await otpy.call('counter', 'get')}; now make it crash:")
    old = otpy.whereis("counter")
    ref = otpy.monitor(old)
    otpy.cast("counter", "boom")
    down = await otpy.receive(timeout=5, match=lambda m: isinstance(m, otpy.Down) and m.ref == ref)
    print(f"  {down.pid} went down with {down.reason!r}")
    # The supervisor handles the exit before answering this call, so the new pid is registered.
    await otpy.supervisor.which_children(sup)
    print(f"  restarted as {otpy.whereis('counter')}, holding {await otpy.call('counter', 'get')}")
    print(await otpy.format_tree(sup))

    print("\nStopping the tree (children stop in reverse start order):")
    await otpy.stop(sup)
    print(f"  supervisor alive: {otpy.is_alive(sup)}")


if __name__ == "__main__":
    import logging

    import structlog

    # The demo prints its own story; show only warnings and errors from otpy's log events.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main())
