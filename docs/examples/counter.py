# counter.py
import asyncio
from typing import Any

import otpy
from otpy import GenServer, NoReply, Ok, Reply


class Counter(GenServer):
    async def init(self, start: int) -> Ok:
        return Ok(start)

    async def handle_call(self, request: Any, from_: otpy.From, count: int) -> Reply:
        if request == "get":
            return Reply(count, count)
        return await super().handle_call(request, from_, count)

    async def handle_cast(self, request: Any, count: int) -> NoReply:
        match request:
            case ("add", n):
                return NoReply(count + n)
            case "crash":
                raise RuntimeError("asked to crash")
        return await super().handle_cast(request, count)


async def main() -> None:
    pid = await Counter.start_link(10)
    otpy.cast(pid, ("add", 5))
    print(pid, await otpy.call(pid, "get"))
    await otpy.stop(pid)
    print("alive after stop:", otpy.is_alive(pid))


if __name__ == "__main__":
    asyncio.run(main())
