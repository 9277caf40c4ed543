"""Registry (unique and duplicate keys) and Via names (DESIGN.md section 6)."""

from __future__ import annotations

from typing import Any

import pytest

import otpy
from otpy import From, GenServer, Ok, Pid, Registry, Reply, Supervisor, Via
from otpy import registry as reg

from .support import echo, exit_on_command, idle, wait_down, wait_msg


class Named(GenServer):
    async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        return Reply((request, state), state)

    async def handle_cast(self, request: Any, state: Any) -> Any:
        return otpy.NoReply(request)


async def _start_registry(keys: str = "unique", name: str = "reg") -> Pid:
    pid = await Registry.start_link(keys, name=name)
    assert pid is not None
    return pid


async def _registered_process(registry: Any, key: Any, value: Any = None) -> Pid:
    """A process that registers itself under `key`, then exits on command."""
    me = otpy.self_pid()

    async def body() -> None:
        reg.register(registry, key, value)
        otpy.send(me, ("registered", otpy.self_pid()))
        await exit_on_command()

    otpy.spawn(body)
    (_, pid) = await wait_msg("registered")
    return pid


async def _end(pid: Pid) -> None:
    ref = otpy.monitor(pid)
    otpy.send(pid, "normal")
    await wait_down(ref)


# -- unique keys ----------------------------------------------------------------------------


async def test_register_then_lookup_returns_pid_and_value() -> None:
    await _start_registry()
    pid = await _registered_process("reg", "room-1", {"users": 3})
    assert reg.lookup("reg", "room-1") == [(pid, {"users": 3})]


async def test_lookup_of_unknown_key_is_empty() -> None:
    await _start_registry()
    assert reg.lookup("reg", "nothing") == []


async def test_register_registers_the_calling_process() -> None:
    await _start_registry()
    reg.register("reg", "me", 1)
    assert reg.lookup("reg", "me") == [(otpy.self_pid(), 1)]


async def test_unique_key_taken_raises_already_registered_with_holder() -> None:
    await _start_registry()
    holder = await _registered_process("reg", "k")
    with pytest.raises(otpy.AlreadyRegistered) as exc_info:
        reg.register("reg", "k")
    assert exc_info.value.pid == holder
    assert exc_info.value.key == "k"
    assert reg.lookup("reg", "k") == [(holder, None)]


async def test_unique_key_is_free_again_after_its_process_exits() -> None:
    await _start_registry()
    first = await _registered_process("reg", "k")
    await _end(first)
    second = await _registered_process("reg", "k")
    assert reg.lookup("reg", "k") == [(second, None)]


async def test_entries_vanish_when_their_process_exits() -> None:
    await _start_registry()
    pid = await _registered_process("reg", "a")
    reg.register("reg", "b")  # the test's own entry stays
    await _end(pid)
    assert reg.lookup("reg", "a") == []
    assert reg.keys("reg", pid) == []
    assert reg.count("reg") == 1


async def test_entries_vanish_when_their_process_crashes() -> None:
    await _start_registry()
    pid = await _registered_process("reg", "a")
    ref = otpy.monitor(pid)
    otpy.exit(pid, "kill")
    await wait_down(ref)
    assert reg.lookup("reg", "a") == []
    assert reg.count("reg") == 0


async def test_unregister_removes_the_callers_entry() -> None:
    await _start_registry()
    reg.register("reg", "k")
    reg.unregister("reg", "k")
    assert reg.lookup("reg", "k") == []
    assert reg.keys("reg", otpy.self_pid()) == []
    assert reg.count("reg") == 0


async def test_unregister_unknown_key_is_ignored() -> None:
    await _start_registry()
    reg.unregister("reg", "never-registered")
    assert reg.count("reg") == 0


async def test_unregister_leaves_other_processes_entries() -> None:
    await _start_registry("duplicate")
    other = await _registered_process("reg", "topic")
    reg.register("reg", "topic")
    reg.unregister("reg", "topic")
    assert reg.lookup("reg", "topic") == [(other, None)]


async def test_keys_lists_a_pids_keys_in_registration_order() -> None:
    await _start_registry()
    reg.register("reg", "b")
    reg.register("reg", "a")
    reg.register("reg", ("tuple", 1))
    assert reg.keys("reg", otpy.self_pid()) == ["b", "a", ("tuple", 1)]


async def test_count_counts_all_entries() -> None:
    await _start_registry()
    await _registered_process("reg", "x")
    await _registered_process("reg", "y")
    reg.register("reg", "z")
    assert reg.count("reg") == 3


async def test_values_returns_a_pids_values_under_a_key() -> None:
    await _start_registry()
    pid = await _registered_process("reg", "k", "the value")
    assert reg.values("reg", "k", pid) == ["the value"]
    assert reg.values("reg", "k", otpy.self_pid()) == []


async def test_dispatch_calls_fn_with_entries() -> None:
    await _start_registry()
    pid = await _registered_process("reg", "k", 7)
    seen: list[list[tuple[Pid, Any]]] = []
    assert reg.dispatch("reg", "k", seen.append) is True
    assert seen == [[(pid, 7)]]


async def test_dispatch_without_entries_does_not_call_fn() -> None:
    await _start_registry()
    seen: list[Any] = []
    assert reg.dispatch("reg", "nobody", seen.append) is False
    assert seen == []


async def test_registry_addressed_by_pid() -> None:
    registry = await _start_registry()
    reg.register(registry, "by-pid", 1)
    assert reg.lookup(registry, "by-pid") == [(otpy.self_pid(), 1)]


# -- duplicate keys -------------------------------------------------------------------------


async def test_duplicate_registry_keeps_every_registration_oldest_first() -> None:
    await _start_registry("duplicate")
    p1 = await _registered_process("reg", "topic", 1)
    p2 = await _registered_process("reg", "topic", 2)
    reg.register("reg", "topic", 3)
    assert reg.lookup("reg", "topic") == [(p1, 1), (p2, 2), (otpy.self_pid(), 3)]
    assert reg.count("reg") == 3


async def test_duplicate_registry_allows_one_process_under_a_key_twice() -> None:
    await _start_registry("duplicate")
    reg.register("reg", "topic", "a")
    reg.register("reg", "topic", "b")
    assert reg.values("reg", "topic", otpy.self_pid()) == ["a", "b"]


async def test_duplicate_registry_dispatch_reaches_every_subscriber() -> None:
    await _start_registry("duplicate")
    listeners = [await _registered_process("reg", "news") for _ in range(3)]
    refs = [otpy.monitor(p) for p in listeners]

    def broadcast(entries: list[tuple[Pid, Any]]) -> None:
        for pid, _ in entries:
            otpy.send(pid, "normal")  # each listener exits with what it is sent

    assert reg.dispatch("reg", "news", broadcast) is True
    for ref in refs:
        assert (await wait_down(ref)).reason == "normal"


async def test_duplicate_entries_vanish_per_process() -> None:
    await _start_registry("duplicate")
    p1 = await _registered_process("reg", "topic")
    p2 = await _registered_process("reg", "topic")
    await _end(p1)
    assert reg.lookup("reg", "topic") == [(p2, None)]


# -- registry lifecycle and misuse ----------------------------------------------------------


async def test_registry_keys_mode_can_be_given_by_keyword() -> None:
    await Registry.start_link(keys="duplicate", name="kw")
    reg.register("kw", "t")
    reg.register("kw", "t")
    assert reg.count("kw") == 2


async def test_registry_with_invalid_mode_fails_to_start() -> None:
    with pytest.raises(otpy.StartError) as exc_info:
        await Registry.start_link("sometimes")
    assert isinstance(exc_info.value.reason, ValueError)


async def test_registry_operations_on_stopped_registry_raise_no_process() -> None:
    registry = await Registry.start("unique", name="gone")
    assert registry is not None
    await otpy.stop(registry)
    with pytest.raises(otpy.NoProcess):
        reg.lookup("gone", "k")


async def test_registry_operations_on_non_registry_process_raise_type_error() -> None:
    otpy.register("not-a-registry", otpy.spawn(idle))
    with pytest.raises(TypeError) as exc_info:
        reg.lookup("not-a-registry", "k")
    assert "Registry" in str(exc_info.value)


async def test_registered_process_exits_when_its_registry_is_killed() -> None:
    # As in Elixir, registering links the process to the registry: it does not run on unnamed.
    registry = await Registry.start("unique", name="reg")  # unlinked: the test must survive
    assert registry is not None
    pid = await _registered_process("reg", "k")
    ref = otpy.monitor(pid)

    otpy.exit(registry, "kill")

    assert (await wait_down(ref)).reason == "killed"


# -- Via names ------------------------------------------------------------------------------


async def test_via_name_registers_a_started_server() -> None:
    await _start_registry()
    pid = await Named.start_link("s", name=Via("reg", ("room", 1)))
    assert otpy.whereis(Via("reg", ("room", 1))) == pid
    assert reg.lookup("reg", ("room", 1)) == [(pid, None)]


async def test_call_by_via_name() -> None:
    await _start_registry()
    await Named.start_link("s", name=Via("reg", "svc"))
    assert await otpy.call(Via("reg", "svc"), "hi") == ("hi", "s")


async def test_cast_by_via_name() -> None:
    await _start_registry()
    await Named.start_link("before", name=Via("reg", "svc"))
    otpy.cast(Via("reg", "svc"), "after")
    assert await otpy.call(Via("reg", "svc"), "state?") == ("state?", "after")


async def test_send_by_via_name() -> None:
    await _start_registry()
    me = otpy.self_pid()

    async def via_echo() -> None:
        reg.register("reg", "echo")
        otpy.send(me, ("registered", otpy.self_pid()))
        await echo()

    pid = otpy.spawn(via_echo)
    await wait_msg("registered")
    otpy.send(Via("reg", "echo"), ("ping", me))
    assert await wait_msg("pong") == ("pong", pid)


async def test_via_name_vanishes_when_the_server_exits() -> None:
    await _start_registry()
    pid = await Named.start(None, name=Via("reg", "svc"))
    await otpy.stop(pid)
    assert otpy.whereis(Via("reg", "svc")) is None
    assert not otpy.is_alive(Via("reg", "svc"))
    with pytest.raises(otpy.NoProcess):
        await otpy.call(Via("reg", "svc"), "hi")


class Announced(Named):
    """A Named server that tells ("init", pid) to the pid it is started with."""

    async def init(self, arg: Any) -> Any:
        otpy.send(arg, ("init", self.pid))
        return Ok(arg)


async def test_via_named_child_is_restarted_under_its_name_when_its_registry_restarts() -> None:
    me = otpy.self_pid()
    name = Via("reg", "w")
    sup = await Supervisor.start(
        [
            Registry.child_spec("unique", name="reg", id="reg"),
            Announced.child_spec(me, name=name, id="w"),
        ]
    )
    (_, old) = await wait_msg("init")
    registry = otpy.whereis("reg")
    assert registry is not None

    otpy.exit(registry, "kill")

    (_, new) = await wait_msg("init")  # restarted, so registered again in the new registry
    assert new != old
    assert otpy.whereis(name) == new
    assert await otpy.call(name, "ping") == ("ping", me)
    await otpy.stop(sup)


async def test_via_name_taken_raises_already_started_with_holder_pid() -> None:
    await _start_registry()
    holder = await Named.start(None, name=Via("reg", "svc"))
    with pytest.raises(otpy.AlreadyStarted) as exc_info:
        await Named.start_link(None, name=Via("reg", "svc"))
    assert exc_info.value.pid == holder


async def test_via_name_of_unknown_key_resolves_to_none() -> None:
    await _start_registry()
    assert otpy.whereis(Via("reg", "nobody")) is None


async def test_via_name_with_stopped_registry_resolves_to_none() -> None:
    registry = await Registry.start("unique", name="short")
    assert registry is not None
    await Named.start(None, name=Via("short", "svc"))
    await otpy.stop(registry)
    assert otpy.whereis(Via("short", "svc")) is None


async def test_via_name_on_duplicate_registry_fails_start_without_killing_caller() -> None:
    registry = await _start_registry("duplicate")
    with pytest.raises(otpy.StartError) as exc_info:
        await Named.start_link(None, name=Via("reg", "svc"))
    assert isinstance(exc_info.value.reason, TypeError)
    assert "duplicate" in str(exc_info.value)
    info = otpy.process_info(otpy.self_pid())
    assert info is not None and info.links == (registry,)


async def test_via_name_on_missing_registry_fails_start_without_killing_caller() -> None:
    with pytest.raises(otpy.StartError) as exc_info:
        await Named.start_link(None, name=Via("no-registry", "svc"))
    assert isinstance(exc_info.value.reason, otpy.NoProcess)
    assert "no-registry" in str(exc_info.value)
    info = otpy.process_info(otpy.self_pid())
    assert info is not None and info.links == ()


async def test_unlinked_start_defaults_to_a_unique_registry() -> None:
    pid = await Registry.start(name="unlinked_reg")
    assert pid is not None
    assert otpy.process_info(pid).links == ()  # type: ignore[union-attr]
    reg.register("unlinked_reg", "k")
    with pytest.raises(otpy.AlreadyRegistered):
        reg.register("unlinked_reg", "k")
    await otpy.stop(pid)


async def test_start_accepts_the_keys_keyword() -> None:
    pid = await Registry.start(keys="duplicate")
    reg.register(pid, "topic", 1)
    reg.register(pid, "topic", 2)
    assert [v for _, v in reg.lookup(pid, "topic")] == [1, 2]
    await otpy.stop(pid)
