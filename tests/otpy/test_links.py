"""Links: what a linked process does with each exit reason (the table of DESIGN.md section 3)."""

from __future__ import annotations

import asyncio
from typing import Any

import otpy
from otpy import Exit, Pid, Shutdown

from .support import (
    GUARD,
    Boom,
    HeldCleanup,
    echo,
    exit_on_command,
    exit_on_command_after_cleanup,
    idle,
    ping,
    wait_down,
    wait_exit_msg,
    wait_msg,
)


async def _partner(target: Pid, trap: bool, report_to: Pid) -> None:
    """Link to `target`, optionally trapping exits; forward every message to `report_to`."""
    if trap:
        otpy.trap_exits()
    otpy.link(target)
    otpy.send(report_to, ("linked", otpy.self_pid()))
    while True:
        msg = await otpy.receive()
        if type(msg) is tuple and msg[0] == "ping":
            otpy.send(msg[1], ("pong", otpy.self_pid()))
        else:
            otpy.send(report_to, ("got", msg))


async def _linked_pair(trap: bool) -> tuple[Pid, Pid]:
    """A process `a` that exits on command, and a partner `b` linked to it."""
    a = otpy.spawn(exit_on_command)
    b = otpy.spawn(_partner, a, trap, otpy.self_pid())
    await wait_msg("linked")
    return a, b


async def _end(a: Pid, reason: Any) -> None:
    """Make `a` exit with `reason` and wait until it has."""
    ref = otpy.monitor(a)
    if reason == "kill":
        otpy.exit(a, "kill")
    else:
        otpy.send(a, reason)
    await wait_down(ref)


# -- linked, not trapping -------------------------------------------------------------------


async def test_linked_process_ignores_normal_exit_when_not_trapping() -> None:
    a, b = await _linked_pair(trap=False)
    await _end(a, "normal")
    assert otpy.is_alive(b)
    await ping(b)


async def test_linked_process_exits_with_shutdown_when_not_trapping() -> None:
    a, b = await _linked_pair(trap=False)
    ref = otpy.monitor(b)
    await _end(a, "shutdown")
    assert (await wait_down(ref)).reason == "shutdown"


async def test_linked_process_exits_with_same_shutdown_term_when_not_trapping() -> None:
    a, b = await _linked_pair(trap=False)
    ref = otpy.monitor(b)
    await _end(a, Shutdown("maintenance"))
    assert (await wait_down(ref)).reason == Shutdown("maintenance")


async def test_linked_process_exits_with_killed_when_partner_is_killed() -> None:
    a, b = await _linked_pair(trap=False)
    ref = otpy.monitor(b)
    await _end(a, "kill")
    assert (await wait_down(ref)).reason == "killed"


async def test_linked_process_exits_with_same_exception_when_not_trapping() -> None:
    err = Boom("partner crashed")
    a, b = await _linked_pair(trap=False)
    ref = otpy.monitor(b)
    await _end(a, err)
    assert (await wait_down(ref)).reason is err


# -- linked, trapping exits -----------------------------------------------------------------


async def test_trapping_linked_process_gets_exit_message_on_normal_exit() -> None:
    a, b = await _linked_pair(trap=True)
    await _end(a, "normal")
    assert await wait_msg("got") == ("got", Exit(a, "normal"))
    await ping(b)


async def test_trapping_linked_process_gets_exit_message_on_shutdown() -> None:
    a, b = await _linked_pair(trap=True)
    await _end(a, "shutdown")
    assert await wait_msg("got") == ("got", Exit(a, "shutdown"))
    await ping(b)


async def test_trapping_linked_process_gets_exit_message_on_shutdown_term() -> None:
    a, b = await _linked_pair(trap=True)
    await _end(a, Shutdown(42))
    assert await wait_msg("got") == ("got", Exit(a, Shutdown(42)))
    await ping(b)


async def test_trapping_linked_process_gets_exit_message_when_partner_is_killed() -> None:
    # The `kill` signal itself cannot be trapped (its target exits with `killed`, see
    # test_process_exits), but the `killed` reason it then sends along links can, as in Erlang:
    # a supervisor that kills a child must not die with it.
    a, b = await _linked_pair(trap=True)
    await _end(a, "kill")
    assert await wait_msg("got") == ("got", Exit(a, "killed"))
    await ping(b)


async def test_trapping_linked_process_gets_exit_message_on_crash() -> None:
    err = Boom("partner crashed")
    a, b = await _linked_pair(trap=True)
    await _end(a, err)
    msg = await wait_msg("got")
    assert msg[1] == Exit(a, err)
    assert msg[1].reason is err
    await ping(b)


async def test_trapping_process_exits_with_killed_when_sent_kill() -> None:
    a, b = await _linked_pair(trap=True)
    ref_a, ref_b = otpy.monitor(a), otpy.monitor(b)
    otpy.exit(b, "kill")
    assert (await wait_down(ref_b)).reason == "killed"
    # and its own (non-trapping) partner then dies with it
    assert (await wait_down(ref_a)).reason == "killed"


# -- link mechanics -------------------------------------------------------------------------


async def test_links_are_two_way() -> None:
    # b linked to a; now b crashes and a (not trapping) must exit with the same reason
    err = Boom("b crashed")
    a = otpy.spawn(idle)
    b = otpy.spawn(_partner, a, False, otpy.self_pid())
    await wait_msg("linked")
    ref_a = otpy.monitor(a)
    otpy.exit(b, err)
    assert (await wait_down(ref_a)).reason is err


async def test_spawn_link_links_caller_and_child() -> None:
    me = otpy.self_pid()

    async def parent() -> None:
        child = otpy.spawn_link(idle)
        otpy.send(me, ("child", child))
        await idle()

    p = otpy.spawn(parent)
    (_, child) = await wait_msg("child")
    info = otpy.process_info(child)
    assert info is not None
    assert info.links == (p,)
    ref = otpy.monitor(p)
    otpy.exit(child, Boom("child crashed"))
    assert isinstance((await wait_down(ref)).reason, Boom)


async def test_spawn_does_not_link() -> None:
    me = otpy.self_pid()

    async def parent() -> None:
        otpy.send(me, ("child", otpy.spawn(exit_on_command)))
        await idle()

    p = otpy.spawn(parent)
    (_, child) = await wait_msg("child")
    info_p, info_child = otpy.process_info(p), otpy.process_info(child)
    assert info_p is not None and info_p.links == ()
    assert info_child is not None and info_child.links == ()
    await _end(child, Boom("not propagated"))
    assert otpy.is_alive(p)


async def test_unlink_removes_link_both_ways() -> None:
    me = otpy.self_pid()

    async def body(a: Pid) -> None:
        otpy.link(a)
        otpy.unlink(a)
        otpy.send(me, ("unlinked",))
        await echo()

    a = otpy.spawn(exit_on_command)
    b = otpy.spawn(body, a)
    await wait_msg("unlinked")
    info_a, info_b = otpy.process_info(a), otpy.process_info(b)
    assert info_a is not None and info_a.links == ()
    assert info_b is not None and info_b.links == ()
    await _end(a, Boom("not propagated"))
    assert otpy.is_alive(b)
    await ping(b)


async def test_unlink_from_an_exiting_process_keeps_its_exit_signal_away() -> None:
    # `a` has crashed but its helper is still cleaning up: it is exiting, not gone. An unlink
    # done now still holds when its exit signal goes out (as in Erlang, where unlink returns
    # only once the link has no effect any more).
    me = otpy.self_pid()
    held = HeldCleanup()
    a = otpy.spawn(exit_on_command_after_cleanup, held)

    async def body() -> None:
        otpy.link(a)
        otpy.send(me, ("linked",))
        await wait_msg("unlink")
        otpy.unlink(a)
        info = otpy.process_info(otpy.self_pid())
        otpy.send(me, ("unlinked", info.links if info is not None else None))
        await echo()

    b = otpy.spawn(body)
    await wait_msg("linked")
    ref = otpy.monitor(a)
    err = Boom("crash")
    otpy.send(a, err)
    await held.wait_cleaning()

    otpy.send(b, ("unlink",))
    assert await wait_msg("unlinked") == ("unlinked", ())
    held.release.set()

    assert (await wait_down(ref)).reason is err
    assert otpy.is_alive(b)
    await ping(b)


async def test_link_to_dead_process_raises_no_process() -> None:
    me = otpy.self_pid()

    async def body(dead: Pid) -> None:
        try:
            otpy.link(dead)
        except otpy.NoProcess as e:
            otpy.send(me, ("raised", e.dest))

    dead = otpy.spawn(exit_on_command)
    await _end(dead, "normal")
    otpy.spawn(body, dead)
    assert await wait_msg("raised") == ("raised", dead)


async def test_link_to_dead_process_gives_noproc_exit_when_trapping() -> None:
    me = otpy.self_pid()

    async def body(dead: Pid) -> None:
        otpy.trap_exits()
        otpy.link(dead)
        otpy.send(me, ("got", await otpy.receive(timeout=0)))

    dead = otpy.spawn(exit_on_command)
    await _end(dead, "normal")
    otpy.spawn(body, dead)
    assert await wait_msg("got") == ("got", Exit(dead, "noproc"))


async def test_linking_twice_keeps_one_link() -> None:
    me = otpy.self_pid()

    async def body(a: Pid) -> None:
        otpy.link(a)
        otpy.link(a)
        otpy.send(me, ("linked",))
        await idle()

    a = otpy.spawn(idle)
    b = otpy.spawn(body, a)
    await wait_msg("linked")
    info = otpy.process_info(a)
    assert info is not None and info.links == (b,)


async def test_adopted_task_linked_to_crashing_process_is_cancelled() -> None:
    linked = asyncio.Event()

    async def outsider() -> None:
        crasher = otpy.spawn_link(exit_on_command)
        linked.set()
        otpy.send(crasher, Boom("crash"))
        await idle()

    task = asyncio.create_task(outsider())
    await asyncio.wait_for(linked.wait(), GUARD)
    done, _ = await asyncio.wait({task}, timeout=GUARD)
    assert task in done
    assert task.cancelled()


async def test_adopted_task_trapping_exits_gets_exit_message_instead() -> None:
    otpy.trap_exits()
    crasher = otpy.spawn_link(exit_on_command)
    err = Boom("crash")
    otpy.send(crasher, err)
    msg = await wait_exit_msg(crasher)
    assert msg.reason is err
