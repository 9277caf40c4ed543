# idle.py
import asyncio
from typing import Any

import otpy
from otpy import GenServer, NoReply, Ok, Stop


class Session(GenServer):
    """Ends itself after 0.1 seconds without a request."""

    async def init(self, _arg: Any) -> otpy.InitResult:
        return Ok(0, timeout=0.1)

    async def handle_cast(self, request: Any, seen: int) -> otpy.CastResult:
        return NoReply(seen + 1, timeout=0.1)  # each return sets the timeout again

    async def handle_info(self, msg: Any, seen: int) -> otpy.InfoResult:
        if msg == "timeout":
            print(f"idle after {seen} requests")
            return Stop("normal", seen)
        return await super().handle_info(msg, seen)


async def main() -> None:
    pid = await Session.start(None)
    ref = otpy.monitor(pid)
    for _ in range(3):
        otpy.cast(pid, "ping")
        await asyncio.sleep(0.05)  # each request comes before the timeout
    down = await otpy.receive(match=lambda m: type(m) is otpy.Down and m.ref == ref)
    print(down.reason)  # normal, after "idle after 3 requests"


if __name__ == "__main__":
    asyncio.run(main())
