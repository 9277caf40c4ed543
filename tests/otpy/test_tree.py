"""format_tree: a text picture of a live supervision tree (ids, pids, names, status, restarts)."""

from __future__ import annotations

from typing import Any

import pytest

import otpy
from otpy import (
    DynamicSupervisor,
    GenServer,
    Ignore,
    Ok,
    Supervisor,
    SupervisorSpec,
    format_tree,
)
from otpy.supervisor import start_child, terminate_child

from .supervision_support import children, pid_of, wait_down


class Leaf(GenServer):
    async def init(self, arg: Any) -> Any:
        return Ok(arg)


class Skipped(GenServer):
    async def init(self, arg: Any) -> Any:
        return Ignore()


class Inner(Supervisor):
    async def init(self, arg: Any) -> SupervisorSpec:
        return SupervisorSpec(
            [Leaf.child_spec(1, id="leaf", name="the_leaf"), Leaf.child_spec(2, id="other")],
            strategy="one_for_all",
        )


async def _kill(pid: otpy.Pid) -> None:
    ref = otpy.monitor(pid)
    otpy.exit(pid, "kill")
    assert (await wait_down(ref)).reason == "killed"


async def test_format_tree_renders_a_nested_tree() -> None:
    sup = await Supervisor.start_link(
        [
            Leaf.child_spec(0, id="a"),
            Inner.child_spec(id="inner"),
            DynamicSupervisor.child_spec(id="jobs", name="jobs"),
            Skipped.child_spec(id="skipped"),
            Leaf.child_spec(0, id="stopped"),
        ],
        name="app",
        max_seconds=3600,
    )
    assert sup is not None
    job = await start_child("jobs", Leaf.child_spec(5, id="job"))
    await _kill(await pid_of(sup, "a"))  # a restarts once
    await terminate_child(sup, "stopped")
    inner = await pid_of(sup, "inner")
    await _kill(await pid_of(inner, "leaf"))  # one_for_all: leaf restarted (1), other (0)

    kids = await children(sup)
    inner_kids = await children(inner)
    a, jobs = kids["a"].pid, kids["jobs"].pid
    leaf, other = inner_kids["leaf"].pid, inner_kids["other"].pid

    assert await format_tree(sup) == "\n".join(
        [
            f"app {sup!r} [app] one_for_one, restarts 1/3 in 3600s",
            f"├── a {a!r} running, restarts 1",
            f"├── inner {inner!r} supervisor, running, restarts 0",
            f"│   ├── leaf {leaf!r} [the_leaf] running, restarts 1",
            f"│   └── other {other!r} running, restarts 0",
            f"├── jobs {jobs!r} [jobs] supervisor, running, restarts 0",
            f"│   └── job {job!r} running, restarts 0",
            "├── skipped - undefined, restarts 0",
            "└── stopped - undefined, restarts 0",
        ]
    )
    await otpy.stop(sup)


async def test_format_tree_of_a_dynamic_supervisor_says_so() -> None:
    dyn = await DynamicSupervisor.start_link(max_restarts=5, max_seconds=10)
    assert dyn is not None
    first = await start_child(dyn, Leaf)
    second = await start_child(dyn, (Leaf, 2))

    assert await format_tree(dyn) == "\n".join(
        [
            f"DynamicSupervisor {dyn!r} one_for_one (dynamic), restarts 0/5 in 10s",
            f"├── Leaf {first!r} running, restarts 0",
            f"└── Leaf {second!r} running, restarts 0",
        ]
    )
    await otpy.stop(dyn)


async def test_format_tree_of_an_empty_supervisor_is_its_head_line() -> None:
    sup = await Supervisor.start_link([], strategy="rest_for_one", max_restarts=0)
    assert sup is not None
    assert await format_tree(sup) == f"Supervisor {sup!r} rest_for_one, restarts 0/0 in 5.0s"
    await otpy.stop(sup)


async def test_format_tree_of_a_dead_supervisor_raises_no_process() -> None:
    sup = await Supervisor.start_link([])
    assert sup is not None
    await otpy.stop(sup)
    with pytest.raises(otpy.NoProcess):
        await format_tree(sup)
