import asyncio

import otpy
from otpy import ChildSpec, Supervisor


async def heartbeat(interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        print("beat")


async def start_heartbeat(interval: float) -> otpy.Pid:
    return otpy.spawn_link(heartbeat, interval)  # runs in the supervisor: linked to it


async def main() -> None:
    spec = ChildSpec(id="heartbeat", start=(start_heartbeat, (1.0,)), shutdown="brutal_kill")
    sup = await Supervisor.start_link([spec])
    print(await otpy.supervisor.which_children(sup))
    await otpy.stop(sup)


asyncio.run(main())
