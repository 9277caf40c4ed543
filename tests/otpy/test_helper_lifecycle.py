"""Helper tasks (`start_task`) over their owner's life: a crash during the owner's clean-up, a
kill that a helper cannot hold back, and a helper acting as its owner."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from structlog.testing import capture_logs

import otpy
from otpy import Down, From, GenServer, NoReply, Ok, Pid, Reply

from .support import GUARD, Boom, exit_on_command, idle, wait_down, wait_msg


def _events(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == name]


async def _owner_with_helper(me: Pid, helper: Any) -> None:
    """A process that starts `helper()` as its helper task, reports it, then exits on command."""
    task = otpy.start_task(helper())
    otpy.send(me, ("helper", task))
    await exit_on_command()


# -- a crash while the owner runs terminate ---------------------------------------------------


class CrashDuringTerminate(GenServer):
    """A server with a helper that crashes when told; its terminate waits for the test."""

    async def init(self, arg: Any) -> Any:
        me, crash, release = arg
        task = otpy.start_task(self._helper(crash))
        otpy.send(me, ("helper", task))
        return Ok((me, release))

    async def _helper(self, crash: asyncio.Event) -> None:
        await crash.wait()
        raise Boom("helper crashed during terminate")

    async def terminate(self, reason: Any, state: Any) -> None:
        me, release = state
        otpy.send(me, ("terminating", reason))
        await release.wait()
        otpy.send(me, ("terminated", reason))


async def test_helper_crash_during_terminate_does_not_cut_terminate_short() -> None:
    me = otpy.self_pid()
    crash, release = asyncio.Event(), asyncio.Event()
    reason = otpy.Shutdown("maintenance")
    with capture_logs() as events:
        pid = await CrashDuringTerminate.start((me, crash, release))
        assert pid is not None
        (_, task) = await wait_msg("helper")
        ref = otpy.monitor(pid)
        stopper = asyncio.create_task(otpy.stop(pid, reason))
        try:
            assert await wait_msg("terminating") == ("terminating", reason)

            crash.set()  # the helper crashes while terminate waits on `release`
            await asyncio.wait_for(asyncio.wait({task}), GUARD)
            assert isinstance(task.exception(), Boom)
            assert otpy.is_alive(pid)  # still in its terminate

            release.set()
            assert await wait_msg("terminated") == ("terminated", reason)
            assert (await wait_down(ref)).reason == reason
            await asyncio.wait_for(stopper, GUARD)  # stop saw the reason it asked for
        finally:
            release.set()
            stopper.cancel()
            await asyncio.gather(stopper, return_exceptions=True)
    [crashed] = _events(events, "helper_task_crashed")
    assert "helper crashed during terminate" in crashed["reason"]
    assert crashed["pid"] == repr(pid)


# -- kill is absolute -------------------------------------------------------------------------


async def test_kill_is_not_held_back_by_a_helper_that_swallows_cancellation() -> None:
    me = otpy.self_pid()
    running = asyncio.Event()
    released = False

    async def stubborn() -> None:
        running.set()
        while not released:
            with contextlib.suppress(asyncio.CancelledError):  # ignores every cancellation
                await asyncio.Event().wait()

    async def owner() -> None:
        otpy.register("stubborn-owner")
        otpy.send(me, ("helper", otpy.start_task(stubborn())))
        await idle()

    pid = otpy.spawn(owner)
    (_, task) = await wait_msg("helper")
    try:
        await asyncio.wait_for(running.wait(), GUARD)
        with capture_logs() as events:
            ref = otpy.monitor(pid)
            otpy.exit(pid, "kill")
            down = await wait_down(ref, GUARD + otpy.process.KILL_HELPER_GRACE)
        assert down.reason == "killed"
        assert otpy.whereis("stubborn-owner") is None
        otpy.register("stubborn-owner")
        assert otpy.whereis("stubborn-owner") == me
        [leaked] = _events(events, "helper_leaked")
        assert leaked["pid"] == repr(pid)
        assert not task.done()  # it did outlive its owner: that is what was logged
    finally:
        released = True  # the helper must not outlive the test
        task.cancel()
        await asyncio.wait_for(task, GUARD)


# -- a helper acts as its owner ---------------------------------------------------------------


async def test_self_pid_in_a_helper_is_its_owners_pid() -> None:
    me = otpy.self_pid()

    async def helper() -> None:
        otpy.send(me, ("helper-self", otpy.self_pid()))

    owner = otpy.spawn(_owner_with_helper, me, helper)
    assert await wait_msg("helper-self") == ("helper-self", owner)


async def test_spawn_link_from_a_helper_links_the_child_to_the_owner() -> None:
    me = otpy.self_pid()

    async def helper() -> None:
        otpy.send(me, ("child", otpy.spawn_link(idle)))

    owner = otpy.spawn(_owner_with_helper, me, helper)
    (_, task) = await wait_msg("helper")
    (_, child) = await wait_msg("child")
    await asyncio.wait_for(task, GUARD)  # the helper has returned
    assert otpy.is_alive(child)
    owner_info = otpy.process_info(owner)
    child_info = otpy.process_info(child)
    assert owner_info is not None and child in owner_info.links
    assert child_info is not None and child_info.links == (owner,)


async def test_monitor_from_a_helper_delivers_down_to_the_owners_mailbox() -> None:
    me = otpy.self_pid()
    target = otpy.spawn(exit_on_command)

    async def helper() -> None:
        otpy.send(me, ("monitoring", otpy.monitor(target)))

    async def owner() -> None:
        otpy.start_task(helper())
        down = await otpy.receive(match=lambda m: type(m) is Down, timeout=GUARD)
        otpy.send(me, ("owner-got", down))

    otpy.spawn(owner)
    (_, ref) = await wait_msg("monitoring")
    otpy.send(target, "normal")
    (_, down) = await wait_msg("owner-got")
    assert down == Down(ref, target, "normal")


async def test_receive_from_a_helper_raises_not_a_process_naming_the_helper() -> None:
    me = otpy.self_pid()

    async def helper() -> None:
        try:
            await otpy.receive(timeout=0)
        except otpy.NotAProcess as e:
            otpy.send(me, ("refused", e))
        else:
            otpy.send(me, ("refused", None))

    otpy.spawn(_owner_with_helper, me, helper)
    (_, error) = await wait_msg("refused")
    assert isinstance(error, otpy.NotAProcess)
    assert "helper" in str(error)


class CallsItselfFromAHelper(GenServer):
    async def init(self, arg: Any) -> Any:
        me = arg

        async def helper() -> None:
            try:
                answer = await otpy.call(otpy.self_pid(), "ping", timeout=GUARD)
            except Exception as e:
                answer = e
            otpy.send(me, ("answer", answer))

        otpy.start_task(helper())
        return Ok(None)

    async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        return Reply(("pong", request), state)


async def test_helper_may_call_its_own_owner_genserver() -> None:
    pid = await CallsItselfFromAHelper.start(otpy.self_pid())
    assert pid is not None
    assert await wait_msg("answer") == ("answer", ("pong", "ping"))
    assert otpy.is_alive(pid)


class Plain(GenServer):
    async def handle_cast(self, request: Any, state: Any) -> Any:
        return NoReply(state)


async def test_start_link_from_a_helper_links_the_server_to_the_owner() -> None:
    me = otpy.self_pid()

    async def helper() -> None:
        otpy.send(me, ("started", await Plain.start_link()))

    owner = otpy.spawn(_owner_with_helper, me, helper)
    (_, task) = await wait_msg("helper")
    (_, server) = await wait_msg("started")
    await asyncio.wait_for(task, GUARD)
    assert server is not None and otpy.is_alive(server)
    owner_info = otpy.process_info(owner)
    server_info = otpy.process_info(server)
    assert owner_info is not None and server in owner_info.links
    assert server_info is not None and server_info.links == (owner,)


async def test_a_link_made_from_a_helper_carries_the_owners_exit() -> None:
    me = otpy.self_pid()

    async def helper() -> None:
        otpy.send(me, ("started", await Plain.start_link()))

    owner = otpy.spawn(_owner_with_helper, me, helper)
    (_, server) = await wait_msg("started")
    ref = otpy.monitor(server)
    otpy.send(owner, Boom("owner crashed"))
    reason = (await wait_down(ref)).reason
    assert isinstance(reason, Boom)

