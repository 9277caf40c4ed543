import asyncio

import otpy
from otpy import Exit


async def crash() -> None:
    raise RuntimeError("boom")


async def main() -> None:
    otpy.trap_exits()
    pid = otpy.spawn_link(crash)
    msg = await otpy.receive(match=lambda m: type(m) is Exit and m.pid == pid, timeout=1)
    print(repr(msg.reason))  # RuntimeError('boom')


asyncio.run(main())
