# local.py
import asyncio
from typing import Any

import otpy
from otpy import GenServer, Ok, Reply


class Config(GenServer):
    async def init(self, values: dict[str, Any]) -> Ok:
        return Ok(values)

    async def handle_call(self, key: str, from_: otpy.From, values: dict[str, Any]) -> Reply:
        return Reply(values.get(key), values)


async def main() -> None:
    pid = await Config.start({"port": 8080}, name="config")
    print(otpy.whereis("config") == pid, await otpy.call("config", "port"))  # True 8080
    try:
        await Config.start({}, name="config")
    except otpy.AlreadyStarted as e:
        print("taken by", e.pid == pid)  # taken by True
    await otpy.stop("config")
    print(otpy.whereis("config"), "config" in otpy.registered())  # None False
    try:
        await otpy.call("config", "port")
    except otpy.NoProcess as e:
        print(e)


if __name__ == "__main__":
    asyncio.run(main())
