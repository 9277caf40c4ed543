# countdown.py
import asyncio
from typing import Any

import otpy

from ticker_behaviour import Halt, Tick, Ticker, ticks


class Countdown(Ticker):
    async def init(self, start: int) -> Tick:
        return Tick(start)

    async def handle_tick(self, n: int, left: int) -> Tick | Halt:
        print("tick", n, "left", left - 1)
        return Halt(0) if left == 1 else Tick(left - 1)

    async def handle_info(self, msg: Any, left: int) -> Tick:
        print("the module got", msg)  # never the host's own timer messages
        return Tick(left)


async def main() -> None:
    pid = await Countdown.start_link(3, interval=0.01)
    await asyncio.sleep(0.1)
    otpy.send(pid, "hello")
    print("ticks:", await ticks(pid))  # answered by the host
    print(otpy.process_info(pid).label)  # Countdown
    await otpy.stop(pid)


if __name__ == "__main__":
    asyncio.run(main())
