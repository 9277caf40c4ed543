# supervised.py
import asyncio

import otpy
from otpy import Down, Supervisor

from counter import Counter


async def main() -> None:
    sup = await Supervisor.start_link([Counter.child_spec(0, name="counter")])
    print(await otpy.format_tree(sup))

    otpy.cast("counter", ("add", 5))
    print("before the crash:", otpy.whereis("counter"), await otpy.call("counter", "get"))

    ref = otpy.monitor("counter")
    otpy.cast("counter", "crash")
    down = await otpy.receive(match=lambda m: type(m) is Down and m.ref == ref)
    print("down:", down.pid, repr(down.reason))

    await otpy.supervisor.which_children(sup)  # answered after the restart: see below
    print("after the restart:", otpy.whereis("counter"), await otpy.call("counter", "get"))
    print(await otpy.format_tree(sup))
    await otpy.stop(sup)


if __name__ == "__main__":
    asyncio.run(main())
