import asyncio

import otpy
from otpy import GenServer, NoReply, Ok, Reply, Supervisor


class Counter(GenServer):
    async def init(self, start): return Ok(start)
    async def handle_cast(self, n, count): return NoReply(count + n)
    async def handle_call(self, _request, _from, count): return Reply(count, count)

async def main():
    sup = await Supervisor.start_link([Counter.child_spec(0, name="counter")])
    otpy.cast("counter", 5)
    print(await otpy.call("counter", "get"))  # 5
    await otpy.stop(sup)

asyncio.run(main())
