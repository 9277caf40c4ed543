# broken.py
import asyncio
from collections.abc import AsyncIterator

import otpy

from lines import LineCounter


async def broken_source() -> AsyncIterator[str]:
    yield "one line"
    raise ConnectionResetError("peer went away")


async def main() -> None:
    pid = await LineCounter.start(broken_source())
    ref = otpy.monitor(pid)
    down = await otpy.receive(match=lambda m: type(m) is otpy.Down and m.ref == ref)
    print("exited:", repr(down.reason))  # ConnectionResetError('peer went away')


if __name__ == "__main__":
    asyncio.run(main())
