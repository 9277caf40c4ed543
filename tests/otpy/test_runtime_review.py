"""What a review of the runtime found, each as a test: a selective receive after a message was
taken out from inside the mailbox, a loop handed to another thread, loops never closed, an idle
timeout racing a message, a helper left running after a kill."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import weakref
from typing import Any

import otpy
from otpy import GenServer, NoReply, Ok
from otpy._runtime import _rt, _runtimes

from .support import GUARD, wait_msg


async def test_a_selective_receive_still_finds_its_message_after_a_timer_is_cancelled() -> None:
    me = otpy.self_pid()

    async def receiver() -> None:
        otpy.send(me, ("got", await otpy.receive(GUARD, match=lambda m: m == "want")))

    r = otpy.spawn(receiver)
    otpy.send(r, "other")
    ref = otpy.send_after(r, "tick", 0)
    otpy.send_after(me, "fired", 0.001)  # due after r's timer
    assert await otpy.receive(GUARD, match=lambda m: m == "fired") == "fired"
    info = otpy.process_info(r)
    assert info is not None and info.message_queue_len == 2  # "other" and the tick
    otpy.cancel_timer(ref)  # takes the tick out from inside the mailbox r is scanning
    otpy.send(r, "want")
    assert await wait_msg("got") == ("got", "want")


def test_a_loop_handed_to_another_thread_is_not_taken_for_this_threads_loop() -> None:
    loop_a = asyncio.new_event_loop()

    async def use_otpy() -> Any:
        return _rt()

    rt_a = loop_a.run_until_complete(use_otpy())  # the cache now holds loop A, this thread
    started, release = threading.Event(), threading.Event()

    async def busy() -> None:
        started.set()
        release.wait()  # loop A is in the middle of a task step, in the worker thread

    worker = threading.Thread(target=loop_a.run_until_complete, args=(busy(),))
    worker.start()
    try:
        assert started.wait(GUARD)

        async def on_loop_b() -> tuple[bool, bool]:
            rt = _rt()
            return rt is rt_a, rt.loop is asyncio.get_running_loop()

        assert asyncio.run(on_loop_b()) == (False, True)
    finally:
        release.set()
        worker.join(GUARD)
        loop_a.close()


def test_loops_never_closed_are_not_kept_alive_by_otpy() -> None:
    refs = []
    for _ in range(5):
        loop = asyncio.new_event_loop()

        async def spawn_one() -> None:
            otpy.spawn(asyncio.sleep, 0)
            await asyncio.sleep(0)
            await asyncio.sleep(0)

        loop.run_until_complete(spawn_one())
        refs.append(weakref.ref(loop))
        del loop  # never closed


    async def use_otpy() -> None:
        otpy.self_pid()

    asyncio.run(use_otpy())  # otpy caches the last loop it saw: move the cache off them
    gc.collect()
    assert [r() for r in refs] == [None] * 5
    assert not any(r() in _runtimes for r in refs)


class IdleReporter(GenServer):
    async def init(self, arg: Any) -> Ok:
        return Ok(arg, timeout=0)

    async def handle_info(self, msg: Any, state: Any) -> NoReply:
        otpy.send(state, ("saw", msg))
        return NoReply(state)


async def test_an_idle_timeout_never_comes_while_a_message_is_waiting() -> None:
    pid = await IdleReporter.start(otpy.self_pid())  # waiting now, its idle timer due at once
    # This callback runs after that timer has woken the server (with "no message") and before
    # the server runs again: the message is then in the mailbox when the server looks.
    asyncio.get_running_loop().call_soon(otpy.send, pid, "x")
    assert await wait_msg("saw") == ("saw", "x")
    await otpy.stop(pid)


async def test_a_helper_left_running_after_a_kill_no_longer_acts_as_its_owner() -> None:
    me = otpy.self_pid()
    stop = asyncio.Event()

    async def stubborn() -> None:
        while not stop.is_set():
            try:
                await stop.wait()
            except asyncio.CancelledError:
                otpy.send(me, ("ignored a cancel",))

    async def owner() -> None:
        task = otpy.start_task(stubborn())
        otpy.send(me, ("helper", task))
        await asyncio.Event().wait()

    pid = otpy.spawn(owner)
    (_, task) = await wait_msg("helper")
    ref = otpy.monitor(pid)
    otpy.exit(pid, "kill")
    down = await otpy.receive(
        GUARD + otpy.process.KILL_HELPER_GRACE,
        match=lambda m: type(m) is otpy.Down and m.ref == ref,
    )
    assert down.reason == "killed"
    try:
        assert _rt().by_task.get(task) is None  # it is adopted anew if it uses otpy again
    finally:
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
