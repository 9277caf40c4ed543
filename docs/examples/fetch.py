# fetch.py
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import otpy
from otpy import From, GenServer, NoReply, Ok, Reply


class Cache(GenServer):
    """Answers from its cache, or fetches in a helper task while it serves other calls."""

    async def init(self, fetch: Callable[[str], Awaitable[Any]]) -> Ok:
        return Ok({"fetch": fetch, "cache": {}})

    async def handle_call(self, request: Any, from_: From, state: dict[str, Any]) -> Any:
        match request:
            case ("get", key) if key in state["cache"]:
                return Reply(state["cache"][key], state)
            case ("get", key):
                otpy.start_task(self._fetch(key, from_, state["fetch"]))
                return NoReply(state)
            case "size":
                return Reply(len(state["cache"]), state)
        return await super().handle_call(request, from_, state)

    async def _fetch(self, key: str, from_: From, fetch: Callable[[str], Awaitable[Any]]) -> None:
        value = await fetch(key)  # runs in a helper task owned by the server
        otpy.reply(from_, value)
        otpy.cast(self.pid, ("store", key, value))

    async def handle_cast(self, request: Any, state: dict[str, Any]) -> NoReply:
        match request:
            case ("store", key, value):
                state["cache"][key] = value
                return NoReply(state)
        return await super().handle_cast(request, state)


async def slow_fetch(key: str) -> str:
    await asyncio.sleep(0.1)  # stands for a database or HTTP request
    return key.upper()


async def main() -> None:
    cache = await Cache.start(slow_fetch)
    a, b, size = await asyncio.gather(
        otpy.call(cache, ("get", "a")),
        otpy.call(cache, ("get", "b")),
        otpy.call(cache, "size"),  # answered at once, while both fetches run
    )
    print(a, b, size, await otpy.call(cache, "size"))  # A B 0 2
    await otpy.stop(cache)


if __name__ == "__main__":
    asyncio.run(main())
