# intensity.py
import asyncio

import otpy
from otpy import Down, Supervisor

from counter import Counter


async def crash_and_wait(name: str) -> None:
    ref = otpy.monitor(name)
    otpy.cast(name, "crash")
    await otpy.receive(match=lambda m: type(m) is Down and m.ref == ref)


async def main() -> None:
    otpy.trap_exits()  # the supervisor's exit must not take main down with it
    sup = await Supervisor.start_link(
        [Counter.child_spec(0, name="counter")], max_restarts=3, max_seconds=5
    )
    sup_ref = otpy.monitor(sup)
    for _ in range(3):
        await crash_and_wait("counter")
        await otpy.supervisor.which_children(sup)  # returns once the restart is done
    await crash_and_wait("counter")  # the fourth crash in 5 seconds
    down = await otpy.receive(match=lambda m: type(m) is Down and m.ref == sup_ref)
    print("supervisor exited with", repr(down.reason))


if __name__ == "__main__":
    asyncio.run(main())
