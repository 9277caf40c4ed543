"""DynamicSupervisor (DESIGN.md section 5): starts empty, children added with start_child and
addressed by pid, one_for_one only, max_children, extra_arguments, restart types and intensity."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import otpy
from otpy import (
    ChildNotFound,
    ChildSpec,
    DynamicSupervisor,
    GenServer,
    Ignore,
    MaxChildren,
    Ok,
    Reply,
    StartError,
    Supervisor,
    SupervisorSpec,
)
from otpy.supervisor import (
    count_children,
    start_child,
    supervisor_flags,
    terminate_child,
    which_children,
)

from .supervision_support import (
    Boom,
    Opts,
    Worker,
    assert_no_events,
    die,
    events,
    pid_of,
    started,
    wait_down,
    worker,
)
from .support import wait_msg


class Job(GenServer):
    """Keeps the argument its init got, so a test can see what the supervisor passed."""

    async def init(self, arg: Any) -> Any:
        return Ok(arg)

    async def handle_call(self, request: Any, from_: Any, state: Any) -> Any:
        return Reply(state, state)


async def _dyn(**flags: Any) -> otpy.Pid:
    sup = await DynamicSupervisor.start_link(max_seconds=3600, **flags)
    assert sup is not None
    return sup


async def test_starts_with_no_children() -> None:
    sup = await _dyn()
    assert await which_children(sup) == []
    counts = await count_children(sup)
    assert (counts.specs, counts.active) == (0, 0)
    flags = await supervisor_flags(sup)
    assert (flags["strategy"], flags["dynamic"]) == ("one_for_one", True)
    await otpy.stop(sup)


async def test_start_link_refuses_initial_children() -> None:
    with pytest.raises(TypeError, match="start_child"):
        await DynamicSupervisor.start_link([Job])


async def test_start_child_with_class_and_argument_starts_a_supervised_child() -> None:
    sup = await _dyn()

    pid = await start_child(sup, (Job, "job-1"))

    assert pid is not None
    assert await otpy.call(pid, "state") == "job-1"
    (info,) = await which_children(sup)
    assert (info.id, info.pid, info.status) == (Job, pid, "running")
    await otpy.stop(sup)


async def test_children_of_the_same_spec_may_run_side_by_side() -> None:
    sup = await _dyn()
    pids = [await start_child(sup, (Job, n)) for n in range(3)]
    assert len(set(pids)) == 3
    assert [c.pid for c in await which_children(sup)] == pids
    assert [await otpy.call(p, "state") for p in pids] == [0, 1, 2]
    await otpy.stop(sup)


async def test_extra_arguments_are_prepended_to_the_start_arguments() -> None:
    sup = await _dyn(extra_arguments=("pool", 42))

    pid = await start_child(sup, (Job, "job-1"))

    assert pid is not None
    # Job.start_link("pool", 42, "job-1"): init gets all the start arguments
    assert await otpy.call(pid, "state") == ("pool", 42, "job-1")
    await otpy.stop(sup)


async def test_extra_arguments_reach_a_custom_start_function_first() -> None:
    seen: list[tuple[Any, ...]] = []

    async def start(*args: Any) -> Any:
        seen.append(args)
        return await Job.start_link(args)

    sup = await _dyn(extra_arguments=("pool",))
    pid = await start_child(sup, ChildSpec("job", (start, ("a", "b"))))

    assert seen == [("pool", "a", "b")]
    assert pid is not None
    assert await otpy.call(pid, "state") == ("pool", "a", "b")
    await otpy.stop(sup)


async def test_max_children_refuses_more_children_with_max_children_error() -> None:
    sup = await _dyn(max_children=2)
    first = await start_child(sup, (Job, 1))
    await start_child(sup, (Job, 2))

    with pytest.raises(MaxChildren) as info:
        await start_child(sup, (Job, 3))

    assert info.value.limit == 2
    assert len(await which_children(sup)) == 2
    await terminate_child(sup, first)  # room again
    assert await start_child(sup, (Job, 3)) is not None
    await otpy.stop(sup)


async def test_terminate_child_by_pid_stops_and_removes_it() -> None:
    sup = await _dyn()
    a = await start_child(sup, worker("a"))
    b = await start_child(sup, worker("b"))
    assert (a, b) == (await started("a"), await started("b"))
    b_ref = otpy.monitor(b)

    await terminate_child(sup, b)

    assert (await wait_down(b_ref)).reason == "shutdown"
    assert await events(1) == [("terminate", "b")]
    assert [c.pid for c in await which_children(sup)] == [a]
    await assert_no_events()  # not restarted
    await otpy.stop(sup)


async def test_terminate_child_of_an_unknown_pid_raises_child_not_found() -> None:
    sup = await _dyn()
    pid = await start_child(sup, (Job, 1))
    assert pid is not None
    await terminate_child(sup, pid)

    with pytest.raises(ChildNotFound):
        await terminate_child(sup, pid)
    with pytest.raises(ChildNotFound):
        await terminate_child(sup, "a-child-id")  # children are addressed by pid only
    await otpy.stop(sup)


async def test_permanent_child_is_restarted_with_a_new_pid() -> None:
    sup = await _dyn()
    pid = await start_child(sup, worker("p"))
    assert pid == await started("p")

    await die(pid, "crash")

    new = await started("p")
    (info,) = await which_children(sup)
    assert (info.pid, info.restarts) == (new, 1)
    assert await otpy.call(new, "id") == "p"
    await otpy.stop(sup)


async def test_temporary_child_is_not_restarted_and_is_removed() -> None:
    sup = await _dyn()
    pid = await start_child(sup, worker("t", restart="temporary"))
    assert pid == await started("t")

    await die(pid, "crash")

    assert await which_children(sup) == []
    await assert_no_events()
    await otpy.stop(sup)


async def test_transient_child_exiting_normally_is_removed() -> None:
    sup = await _dyn()
    pid = await start_child(sup, worker("n", restart="transient"))
    assert pid == await started("n")

    await die(pid, "normal")

    assert await which_children(sup) == []  # unlike Supervisor, the spec is not kept
    await assert_no_events()
    await otpy.stop(sup)


async def test_transient_child_crashing_is_restarted() -> None:
    sup = await _dyn()
    pid = await start_child(sup, worker("c", restart="transient"))
    assert pid == await started("c")

    await die(pid, "killed")

    new = await started("c")
    assert [c.pid for c in await which_children(sup)] == [new]
    await otpy.stop(sup)


class IgnoresOnRestart(GenServer):
    """Tells ("init", n) to the pid it is given at its n-th start; only the first start runs,
    every later one (a restart) returns Ignore."""

    async def init(self, arg: Any) -> Any:
        to, starts = arg
        starts.append(self.pid)
        otpy.send(to, ("init", len(starts)))
        return Ok(None) if len(starts) == 1 else Ignore()


async def _restarted_into_ignore(sup: otpy.Pid) -> None:
    """Start an IgnoresOnRestart child under `sup`, crash it, and wait for its restart."""
    pid = await start_child(sup, (IgnoresOnRestart, (otpy.self_pid(), [])))
    assert pid is not None
    assert await wait_msg("init") == ("init", 1)
    otpy.exit(pid, Boom("crash"))
    assert await wait_msg("init") == ("init", 2)  # the restart, which returns Ignore


async def test_child_restarted_into_ignore_is_removed() -> None:
    sup = await _dyn()
    await _restarted_into_ignore(sup)

    assert await which_children(sup) == []  # calls are handled once the restart is done
    counts = await count_children(sup)
    assert (counts.specs, counts.active) == (0, 0)
    await otpy.stop(sup)


async def test_child_restarted_into_ignore_frees_its_max_children_slot() -> None:
    sup = await _dyn(max_children=1)
    await _restarted_into_ignore(sup)

    assert await start_child(sup, (Job, 1)) is not None
    await otpy.stop(sup)


async def test_count_children_counts_workers_supervisors_and_running_ones() -> None:
    sup = await _dyn()
    await start_child(sup, (Job, 1))
    await start_child(sup, (Job, 2))
    await start_child(sup, Supervisor.child_spec([]))

    counts = await count_children(sup)

    assert (counts.specs, counts.active, counts.supervisors, counts.workers) == (3, 3, 1, 2)
    await otpy.stop(sup)


async def test_start_child_that_ignores_returns_none_and_keeps_nothing() -> None:
    class Nope(GenServer):
        async def init(self, arg: Any) -> Any:
            return Ignore()

    sup = await _dyn()
    assert await start_child(sup, Nope) is None
    assert await which_children(sup) == []
    await otpy.stop(sup)


async def test_start_child_that_fails_raises_start_error() -> None:
    refuse = asyncio.Event()
    refuse.set()
    sup = await _dyn()

    with pytest.raises(StartError) as info:
        await start_child(sup, worker("f", fail_init=refuse))

    assert isinstance(info.value.reason, Boom)
    assert await which_children(sup) == []
    assert otpy.is_alive(sup)
    await otpy.stop(sup)


async def test_intensity_exceeded_shuts_it_down_terminating_children_in_reverse_order() -> None:
    otpy.trap_exits()
    sup = await DynamicSupervisor.start_link(max_restarts=1, max_seconds=3600)
    assert sup is not None
    sup_ref = otpy.monitor(sup)
    for cid in ("a", "b", "c"):
        await start_child(sup, worker(cid))
    pids = {cid: await started(cid) for cid in ("a", "b", "c")}

    await die(pids["b"], "crash")  # the one restart allowed
    await die(await started("b"), "crash")

    assert (await wait_down(sup_ref)).reason == "shutdown"
    # the restarted b keeps its place: c, then a, were terminated in reverse start order
    assert await events(2) == [("terminate", "c"), ("terminate", "a")]
    await assert_no_events()


async def test_stop_terminates_children_in_reverse_start_order() -> None:
    sup = await _dyn()
    for cid in ("a", "b", "c"):
        await start_child(sup, worker(cid))
    await events(3)

    await otpy.stop(sup)

    assert await events(3) == [("terminate", "c"), ("terminate", "b"), ("terminate", "a")]


class Pool(DynamicSupervisor):
    async def init(self, arg: Any) -> SupervisorSpec:
        return SupervisorSpec([], max_children=arg, extra_arguments=("from-init",))


async def test_subclass_init_sets_max_children_and_extra_arguments() -> None:
    sup = await Pool.start_link(1)
    assert sup is not None

    pid = await start_child(sup, (Job, "x"))
    assert pid is not None
    assert await otpy.call(pid, "state") == ("from-init", "x")
    with pytest.raises(MaxChildren):
        await start_child(sup, (Job, "y"))
    await otpy.stop(sup)


async def test_subclass_asking_for_another_strategy_fails_to_start() -> None:
    class Wrong(DynamicSupervisor):
        async def init(self, arg: Any) -> SupervisorSpec:
            return SupervisorSpec([], strategy="one_for_all")

    with pytest.raises(StartError) as info:
        await Wrong.start_link()
    assert isinstance(info.value.reason, ValueError)


async def test_dynamic_supervisor_under_a_supervisor() -> None:
    me = otpy.self_pid()
    top = await Supervisor.start_link([Pool.child_spec(5, id="pool")], max_seconds=3600)
    assert top is not None
    pool = await pid_of(top, "pool")
    (info,) = await which_children(top)
    assert (info.type, info.restart) == ("supervisor", "permanent")

    # the pool's extra argument comes first: a start function takes it before the Opts
    spec = ChildSpec("w", (_start_worker_with_extra, (Opts("w", me),)))
    pid = await start_child(pool, spec)
    assert pid is not None
    assert pid == await started("w")

    pool_ref, w_ref = otpy.monitor(pool), otpy.monitor(pid)
    otpy.exit(pool, "kill")
    assert (await wait_down(pool_ref)).reason == "killed"
    assert (await wait_down(w_ref)).reason == "killed"  # its child went down with it
    # the top supervisor restarted the pool, empty (its children are not part of its spec)
    new_pool = await pid_of(top, "pool")
    assert new_pool != pool
    assert await which_children(new_pool) == []
    await otpy.stop(top)


async def _start_worker_with_extra(extra: str, opts: Opts) -> Any:
    assert extra == "from-init"
    return await Worker.start_link(opts)


async def test_unlinked_start_has_no_link_to_the_caller() -> None:
    sup = await DynamicSupervisor.start(max_children=2)
    assert sup is not None
    assert otpy.process_info(sup).links == ()  # type: ignore[union-attr]
    assert (await count_children(sup)).specs == 0
    await otpy.stop(sup)
