# echo.py
import asyncio

import otpy
from otpy import Down


async def echo() -> None:
    while True:
        match await otpy.receive():
            case ("ping", sender):
                otpy.send(sender, ("pong", otpy.self_pid()))
            case "stop":
                return  # exit reason "normal"
            case other:
                raise ValueError(f"unexpected message {other!r}")  # a crash


async def main() -> None:
    pid = otpy.spawn(echo)
    ref = otpy.monitor(pid)
    otpy.send(pid, ("ping", otpy.self_pid()))
    print(await otpy.receive(match=lambda m: type(m) is tuple and m[0] == "pong", timeout=1))
    otpy.send(pid, 42)
    down = await otpy.receive(match=lambda m: type(m) is Down and m.ref == ref, timeout=1)
    print(repr(down.reason))  # ValueError('unexpected message 42')


if __name__ == "__main__":
    asyncio.run(main())
