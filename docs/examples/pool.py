# pool.py
import asyncio
from collections import deque
from typing import Any

import otpy
from otpy import From, GenServer, NoReply, Ok, Reply


class Pool(GenServer):
    """Hands out connections; a caller waits while none is free."""

    async def init(self, conns: list[str]) -> Ok:
        return Ok({"free": list(conns), "waiting": deque()})

    async def handle_call(self, request: Any, from_: From, state: dict[str, Any]) -> Any:
        if request == "checkout":
            if state["free"]:
                return Reply(state["free"].pop(), state)
            state["waiting"].append(from_)
            return NoReply(state)  # the caller keeps waiting
        return await super().handle_call(request, from_, state)

    async def handle_cast(self, request: Any, state: dict[str, Any]) -> NoReply:
        match request:
            case ("checkin", conn):
                if state["waiting"]:
                    otpy.reply(state["waiting"].popleft(), conn)
                else:
                    state["free"].append(conn)
                return NoReply(state)
        return await super().handle_cast(request, state)


async def main() -> None:
    pool = await Pool.start(["conn-1"])
    first = await otpy.call(pool, "checkout")
    second = asyncio.create_task(otpy.call(pool, "checkout"))  # waits: nothing is free
    otpy.cast(pool, ("checkin", first))
    print(first, await second)  # conn-1 conn-1
    await otpy.stop(pool)


if __name__ == "__main__":
    asyncio.run(main())
