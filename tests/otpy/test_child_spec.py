"""ChildSpec, normalize_child and the child_spec of GenServer, Supervisor and DynamicSupervisor
(DESIGN.md section 5)."""

from __future__ import annotations

from typing import Any

import pytest

import otpy
from otpy import ChildSpec, DynamicSupervisor, GenServer, Ok, Reply, Supervisor, SupervisorSpec
from otpy.child_spec import normalize_child
from otpy.supervisor import start_child, supervisor_flags, which_children

from .supervision_support import wait_down


class Echo(GenServer):
    async def init(self, arg: Any) -> Any:
        return Ok(arg)

    async def handle_call(self, request: Any, from_: Any, state: Any) -> Any:
        return Reply(state, state)


class Renamed(Echo):
    @classmethod
    def child_spec(cls, arg: Any = None, **overrides: Any) -> ChildSpec:
        return super().child_spec(arg, **{"id": ("renamed", arg), **overrides})


class NotASpec(Echo):
    @classmethod
    def child_spec(cls, arg: Any = None, **overrides: Any) -> Any:
        return {"id": "dict"}


class Tree(Supervisor):
    async def init(self, arg: Any) -> SupervisorSpec:
        return SupervisorSpec([(Echo, arg)])


class TransientTree(Tree):
    restart = "transient"


async def _noop() -> None:
    return None


async def _start(spec: ChildSpec) -> Any:
    fn, args = spec.start
    return await fn(*args)


# -- ChildSpec ------------------------------------------------------------------------------


async def test_defaults_are_permanent_worker_with_five_seconds_shutdown() -> None:
    spec = ChildSpec("w", (_noop, ()))
    assert (spec.restart, spec.type, spec.shutdown) == ("permanent", "worker", 5.0)


async def test_supervisor_type_defaults_to_infinity_shutdown() -> None:
    assert ChildSpec("s", (_noop, ()), type="supervisor").shutdown == "infinity"
    assert ChildSpec("s", (_noop, ()), type="supervisor", shutdown=1.5).shutdown == 1.5


async def test_start_may_be_a_bare_async_function() -> None:
    assert ChildSpec("w", (_noop, ())).start == (_noop, ())


@pytest.mark.parametrize("start", ["not callable", (_noop,), (_noop, ["a list"]), (1, ())])
async def test_a_malformed_start_is_refused(start: Any) -> None:
    with pytest.raises(TypeError, match="start must be"):
        ChildSpec("w", start)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("restart", "sometimes"),
        ("type", "manager"),
        ("shutdown", -1),
        ("shutdown", True),
        ("shutdown", "forever"),
    ],
)
async def test_a_bad_restart_type_or_shutdown_is_refused(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        ChildSpec("w", (_noop, ()), **{field: value})


@pytest.mark.parametrize("shutdown", [0, 0.2, 10, "brutal_kill", "infinity"])
async def test_valid_shutdown_policies_are_kept(shutdown: Any) -> None:
    assert ChildSpec("w", (_noop, ()), shutdown=shutdown).shutdown == shutdown


async def test_an_unhashable_id_is_refused() -> None:
    # supervisors key their children by id: an unhashable one would crash the supervisor
    with pytest.raises(TypeError, match="hashable"):
        ChildSpec(["w"], (_noop, ()))


async def test_with_returns_a_changed_copy() -> None:
    spec = ChildSpec("w", (_noop, ()))
    other = spec.with_(id="v", restart="temporary")
    assert (other.id, other.restart, other.start) == ("v", "temporary", spec.start)
    assert (spec.id, spec.restart) == ("w", "permanent")
    with pytest.raises(ValueError, match="restart"):
        spec.with_(restart="never")


# -- normalize_child ------------------------------------------------------------------------


async def test_normalize_child_returns_a_child_spec_unchanged() -> None:
    spec = ChildSpec("w", (_noop, ()))
    assert normalize_child(spec) is spec


async def test_normalize_child_of_a_class_uses_its_child_spec_of_none() -> None:
    spec = normalize_child(Echo)
    assert spec == Echo.child_spec(None)
    assert (spec.id, spec.start[1]) == (Echo, (None,))


async def test_normalize_child_of_a_class_and_argument_uses_its_child_spec_of_the_argument() -> (
    None
):
    assert normalize_child((Renamed, 3)).id == ("renamed", 3)
    assert normalize_child((Echo, {"k": 1})).start[1] == ({"k": 1},)


@pytest.mark.parametrize("child", ["Echo", (Echo,), (Echo, 1, 2), 42, (int, 1)])
async def test_normalize_child_refuses_what_is_not_a_child(child: Any) -> None:
    with pytest.raises(TypeError, match="not a child"):
        normalize_child(child)


async def test_normalize_child_refuses_a_child_spec_method_not_returning_a_child_spec() -> None:
    with pytest.raises(TypeError, match="not a ChildSpec"):
        normalize_child(NotASpec)


# -- GenServer.child_spec -------------------------------------------------------------------


async def test_genserver_child_spec_starts_the_server_linked_with_the_argument() -> None:
    spec = Echo.child_spec("state")
    assert (spec.id, spec.restart, spec.shutdown, spec.type) == (Echo, "permanent", 5.0, "worker")

    pid = await _start(spec)

    assert await otpy.call(pid, "get") == "state"
    info = otpy.process_info(pid)
    assert info is not None and otpy.self_pid() in info.links
    await otpy.stop(pid)


async def test_genserver_child_spec_overrides_fields_and_passes_the_name_on() -> None:
    spec = Echo.child_spec(
        1, id="e", restart="temporary", shutdown="brutal_kill", type="worker", name="echo_1"
    )
    assert (spec.id, spec.restart, spec.shutdown) == ("e", "temporary", "brutal_kill")

    pid = await _start(spec)

    assert otpy.whereis("echo_1") == pid
    assert await otpy.call("echo_1", "get") == 1
    await otpy.stop(pid)


async def test_genserver_child_spec_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError):
        Echo.child_spec(1, restrat="temporary")


async def test_overridden_child_spec_is_used_when_the_class_is_given_as_a_child() -> None:
    sup = await Supervisor.start_link([(Renamed, 1), (Renamed, 2)])
    assert sup is not None
    assert [c.id for c in await which_children(sup)] == [("renamed", 1), ("renamed", 2)]
    await otpy.stop(sup)


# -- Supervisor.child_spec / DynamicSupervisor.child_spec -----------------------------------


async def test_supervisor_child_spec_is_a_permanent_supervisor_with_infinity_shutdown() -> None:
    spec = Tree.child_spec("x")
    assert (spec.id, spec.type, spec.restart, spec.shutdown) == (
        Tree,
        "supervisor",
        "permanent",
        "infinity",
    )
    assert TransientTree.child_spec().restart == "transient"


async def test_supervisor_child_spec_passes_arg_name_and_flags_to_start_link() -> None:
    spec = Supervisor.child_spec(
        [(Echo, "leaf")], id="direct", name="direct_sup", strategy="rest_for_one", max_restarts=9
    )
    assert spec.id == "direct"

    sup = await _start(spec)

    assert otpy.whereis("direct_sup") == sup
    flags = await supervisor_flags(sup)
    assert (flags["strategy"], flags["max_restarts"]) == ("rest_for_one", 9)
    (leaf,) = await which_children(sup)
    assert await otpy.call(leaf.pid, "get") == "leaf"
    ref = otpy.monitor(sup)
    await otpy.stop(sup)
    assert (await wait_down(ref)).reason == "normal"


async def test_supervisor_subclass_child_spec_passes_its_argument_to_init() -> None:
    sup = await _start(Tree.child_spec("from-spec"))
    (leaf,) = await which_children(sup)
    assert await otpy.call(leaf.pid, "get") == "from-spec"
    await otpy.stop(sup)


async def test_dynamic_supervisor_child_spec_passes_its_flags() -> None:
    spec = DynamicSupervisor.child_spec(id="dyn", max_children=4, restart="temporary")
    assert (spec.id, spec.type, spec.restart, spec.shutdown) == (
        "dyn",
        "supervisor",
        "temporary",
        "infinity",
    )
    sup = await _start(spec)
    flags = await supervisor_flags(sup)
    assert flags["dynamic"] is True
    with pytest.raises(otpy.MaxChildren):
        for n in range(5):
            await start_child(sup, (Echo, n))
    assert len(await which_children(sup)) == 4
    await otpy.stop(sup)
