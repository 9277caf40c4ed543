# rooms.py
import asyncio
from typing import Any

import otpy
from otpy import DynamicSupervisor, GenServer, Ok, Registry, Reply, Supervisor, Via
from otpy import registry, supervisor


class Room(GenServer):
    async def init(self, room_id: int) -> Ok:
        return Ok({"id": room_id, "members": []})

    async def handle_call(self, request: Any, from_: otpy.From, state: dict[str, Any]) -> Reply:
        match request:
            case ("join", user):
                state["members"].append(user)
                return Reply(state["members"], state)
        return await super().handle_call(request, from_, state)


def room(room_id: int) -> Via:
    return Via("rooms", ("room", room_id))


async def open_room(room_id: int) -> otpy.Pid | None:
    spec = Room.child_spec(room_id, name=room(room_id), restart="transient")
    return await supervisor.start_child("room_sup", spec)


async def main() -> None:
    sup = await Supervisor.start_link(
        [
            Registry.child_spec("unique", name="rooms"),
            DynamicSupervisor.child_spec(name="room_sup"),
        ],
        strategy="rest_for_one",
    )
    pid = await open_room(42)
    print(await otpy.call(room(42), ("join", "ada")))  # ['ada']
    print(otpy.whereis(room(42)) == pid, registry.lookup("rooms", ("room", 42)))
    try:
        await open_room(42)
    except otpy.StartError as e:
        print("StartError:", e.reason)  # ('already_started', <pid of room 42>)
    await otpy.stop(room(42))  # a normal exit: a transient child is not restarted
    print(otpy.whereis(room(42)), registry.lookup("rooms", ("room", 42)))  # None []
    print(await supervisor.count_children("room_sup"))
    await otpy.stop(sup)


if __name__ == "__main__":
    asyncio.run(main())
