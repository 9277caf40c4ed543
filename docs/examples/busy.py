# busy.py
import asyncio
from typing import Any

import otpy
from otpy import From, GenServer, NoReply, Ok, Reply


class Worker(GenServer):
    """Always has more work: each piece sends itself the next, as send(self(), :work) does."""

    async def init(self, _arg: Any) -> otpy.InitResult:
        otpy.send(self.pid, "work")
        return Ok(0)

    async def handle_info(self, msg: Any, done: int) -> otpy.InfoResult:
        if msg == "work":
            otpy.send(self.pid, "work")
            return NoReply(done + 1)
        return await super().handle_info(msg, done)

    async def handle_call(self, request: Any, from_: From, done: int) -> otpy.CallResult:
        return Reply(done, done)


async def main() -> None:
    pid = await Worker.start(None)
    await asyncio.sleep(0.01)  # the event loop still runs: this sleep ends
    print(await otpy.call(pid, "done") > 0)  # True: the call gets its turn
    await otpy.stop(pid)  # and so does the stop request


if __name__ == "__main__":
    asyncio.run(main())
