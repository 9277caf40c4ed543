# backlog.py
import asyncio
from typing import Any

import otpy
from otpy import From, GenServer, NoReply, Ok, Reply


class _Resume:
    """The server's own message: go on with the backlog."""

    __slots__ = ()


class Backlog(GenServer):
    """Works through a backlog of items, letting calls in between items."""

    async def init(self, items: list[int]) -> Ok:
        otpy.send(self.pid, _Resume())
        return Ok({"todo": list(items), "total": 0})

    async def handle_info(self, msg: Any, state: dict[str, Any]) -> otpy.InfoResult:
        if type(msg) is _Resume:
            todo, done = state["todo"], 0
            while todo:
                state["total"] += todo.pop()  # one item of work
                done += 1
                if otpy.has_messages():  # someone is waiting: let them in, then resume
                    otpy.send(self.pid, _Resume())
                    break
                if done % 256 == 0:
                    await asyncio.sleep(0)  # nobody waiting: still let the event loop run
            return NoReply(state)
        return await super().handle_info(msg, state)

    async def handle_call(self, request: Any, from_: From, state: dict[str, Any]) -> Reply:
        return Reply(len(state["todo"]), state)  # how many items are left


async def main() -> None:
    pid = await Backlog.start(list(range(1_000_000)))
    print(await otpy.call(pid, "left") > 0)  # True: answered before the backlog is done
    await otpy.stop(pid)


if __name__ == "__main__":
    asyncio.run(main())
