# lines.py
import asyncio
from collections.abc import AsyncIterator
from typing import Any

import otpy
from otpy import GenServer, NoReply, Ok, Stop


class LineCounter(GenServer):
    """Counts the lines a source produces; a helper task feeds them in, at most 100 ahead."""

    trap_exits = True  # so that terminate runs when its supervisor stops it

    async def init(self, source: AsyncIterator[str]) -> Ok:
        otpy.start_task(self._pump(source), name="line pump")
        return Ok(0)

    async def _pump(self, source: AsyncIterator[str]) -> None:
        async for line in source:
            await otpy.deliver(self.pid, ("line", line), max_pending=100)
        await otpy.deliver(self.pid, "eof", max_pending=100)

    async def handle_info(self, msg: Any, count: int) -> Any:
        match msg:
            case ("line", _line):
                return NoReply(count + 1)
            case "eof":
                return Stop("normal", count)
        return await super().handle_info(msg, count)

    async def terminate(self, reason: Any, count: int) -> None:
        print(f"{count} lines ({reason})")


async def numbered_lines(n: int) -> AsyncIterator[str]:
    for i in range(n):
        yield f"line {i}"


async def main() -> None:
    pid = await LineCounter.start(numbered_lines(10_000))
    ref = otpy.monitor(pid)
    down = await otpy.receive(match=lambda m: type(m) is otpy.Down and m.ref == ref)
    print("exited:", down.reason)  # after "10000 lines (normal)"


if __name__ == "__main__":
    asyncio.run(main())
