# give_up.py
import asyncio

import otpy
import wsclient
from wsclient import Backoff


class Feed(wsclient.WebsocketClient):
    pass  # every callback the default: reconnect after any drop but a local close


async def main() -> None:
    policy = Backoff(initial=0.01, cap=0.1, max_attempts=3)
    spec = Feed.child_spec({"url": "ws://127.0.0.1:1/", "backoff": policy, "name": "feed"})
    sup = await otpy.Supervisor.start([spec], max_restarts=1, max_seconds=60)
    ref = otpy.monitor(sup)
    down = await otpy.receive(match=lambda m: type(m) is otpy.Down and m.ref == ref, timeout=10)
    print(down.reason)  # shutdown: the second GaveUp within 60 s was one restart too many


if __name__ == "__main__":
    asyncio.run(main())
