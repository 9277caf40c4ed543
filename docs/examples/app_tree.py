import asyncio
from typing import Any

import otpy
from otpy import DynamicSupervisor, GenServer, Ok, Registry, Supervisor, SupervisorSpec, supervisor


class Cache(GenServer):
    async def init(self, size: int) -> Ok:
        return Ok({"size": size})


class Worker(GenServer):
    async def init(self, args: tuple[str, str]) -> Ok:
        pool, job = args  # extra_arguments come first
        return Ok({"pool": pool, "job": job})


class Jobs(DynamicSupervisor):
    async def init(self, pool: str) -> SupervisorSpec:
        return SupervisorSpec([], max_children=100, extra_arguments=(pool,))


class App(Supervisor):
    async def init(self, arg: dict[str, Any]) -> SupervisorSpec:
        return SupervisorSpec(
            [
                Registry.child_spec("unique", name="names"),
                Cache.child_spec(arg["cache_size"], name="cache"),
                Jobs.child_spec("db-pool", name="jobs"),
            ],
            strategy="rest_for_one",
            max_restarts=5,
            max_seconds=10,
        )


async def main() -> None:
    sup = await App.start_link({"cache_size": 100}, name="app")
    await supervisor.start_child("jobs", (Worker, "job-1"))
    await supervisor.start_child("jobs", (Worker, "job-2"))
    print(await otpy.format_tree(sup))
    print(await supervisor.count_children(sup))
    await otpy.stop(sup)


asyncio.run(main())
