# pubsub.py
import asyncio
from typing import Any

import otpy
from otpy import GenServer, NoReply, Ok, Registry, Reply, registry


class Subscriber(GenServer):
    async def init(self, topics: list[str]) -> Ok:
        for topic in topics:
            registry.register("pubsub", topic)
        return Ok([])

    async def handle_info(self, msg: Any, seen: list[Any]) -> NoReply:
        match msg:
            case ("published", topic, payload):
                return NoReply([*seen, (topic, payload)])
        return await super().handle_info(msg, seen)

    async def handle_call(self, request: Any, from_: otpy.From, seen: list[Any]) -> Reply:
        return Reply(seen, seen)


def publish(topic: str, payload: Any) -> bool:
    def send_all(entries: list[tuple[otpy.Pid, Any]]) -> None:
        for pid, _value in entries:
            otpy.send(pid, ("published", topic, payload))

    return registry.dispatch("pubsub", topic, send_all)


async def main() -> None:
    reg = await Registry.start_link("duplicate", name="pubsub")
    a = await Subscriber.start(["news", "sports"])
    b = await Subscriber.start(["news"])
    print(publish("news", "hello"), publish("sports", 3), publish("weather", "rain"))
    print(await otpy.call(a, "seen"))  # [('news', 'hello'), ('sports', 3)]
    print(await otpy.call(b, "seen"))  # [('news', 'hello')]
    print(registry.keys("pubsub", a), registry.count("pubsub"))  # ['news', 'sports'] 3
    await otpy.stop(b)
    print(len(registry.lookup("pubsub", "news")), registry.count("pubsub"))  # 1 2
    await otpy.stop(a)
    await otpy.stop(reg)


if __name__ == "__main__":
    asyncio.run(main())
