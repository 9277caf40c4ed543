# owned.py
import asyncio
from typing import Any

import otpy
from otpy import GenServer, Ok


class Ticker(GenServer):
    async def init(self, _arg: Any) -> Ok:
        otpy.start_task(self._tick())
        return Ok(None)

    async def _tick(self) -> None:
        try:
            while True:
                await asyncio.sleep(0.01)
                otpy.send(self.pid, "tick")
        finally:
            print("helper finished")


async def main() -> None:
    pid = await Ticker.start(None)
    await otpy.stop(pid)
    print("stopped")  # printed after "helper finished"


if __name__ == "__main__":
    asyncio.run(main())
