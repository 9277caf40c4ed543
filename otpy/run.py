"""Run a supervision tree as an application: start it, wait for SIGINT/SIGTERM, shut it down.

::

    import otpy

    if __name__ == "__main__":
        otpy.run([Counter, (Cache, {"size": 10})], strategy="one_for_one")

``run`` starts the root supervisor in a new event loop and blocks. On SIGINT or SIGTERM it stops
the tree (children in reverse start order, each within its shutdown timeout) and returns. If the
root supervisor dies on its own (restart intensity reached), ``run`` raises ``SystemExit(1)`` so
the program's exit status is non-zero and a service manager can restart it; so does a tree that
fails to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import Any

from otpy._supervision import _StartFailure, format_id, start_spec
from otpy.child_spec import normalize_child
from otpy.errors import NoProcess, ReceiveTimeout, StartError
from otpy.genserver import stop
from otpy.log import logger
from otpy.process import Down, Exit, demonitor, monitor, receive, self_pid, send, trap_exits
from otpy.supervisor import Supervisor

__all__ = ["run", "run_async"]


class _Signal:
    __slots__ = ("signum",)

    def __init__(self, signum: int) -> None:
        self.signum = signum


def run(
    root: Any,
    *,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
    **flags: Any,
) -> None:
    """Run a tree until SIGINT/SIGTERM. `root` is a list of children (then `flags` are the root
    Supervisor's: strategy, max_restarts, max_seconds, name), or one child: a Supervisor subclass,
    ``(SupervisorSubclass, arg)`` or a ChildSpec. Raises SystemExit(1) if the root supervisor
    fails to start or exits by itself.

    `loop_factory` makes the event loop (as ``asyncio.Runner``'s does), e.g.
    ``uvloop.new_event_loop`` (``pip install 'otpy[uvloop]'``); None: asyncio's default loop.
    """
    if loop_factory is not None and not callable(loop_factory):
        raise TypeError(f"loop_factory must be a callable returning a loop, not {loop_factory!r}")
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        code = runner.run(run_async(root, **flags))
    if code:
        raise SystemExit(code)


async def run_async(root: Any, **flags: Any) -> int:
    """The body of :func:`run`, for code that already has an event loop. Returns the exit
    status: 0 after a signal-driven shutdown, 1 if the root supervisor failed to start or died
    by itself."""
    was_trapping = trap_exits(True)
    try:
        return await _run(root, flags)
    finally:
        trap_exits(was_trapping)


async def _run(root: Any, flags: dict[str, Any]) -> int:
    log = logger()
    loop = asyncio.get_running_loop()
    me = self_pid()
    if isinstance(root, list | tuple) and not _is_child_tuple(root):
        label = "root"
        try:
            pid = await Supervisor.start_link(list(root), **flags)
        except StartError as e:
            log.error("root_start_failed", root=label, reason=repr(e.reason))
            return 1
    else:
        if flags:
            raise TypeError(f"flags {sorted(flags)} only apply when root is a list of children")
        spec = normalize_child(root)
        label = format_id(spec.id)
        try:
            pid = await start_spec(spec)
        except _StartFailure as e:
            log.error("root_start_failed", root=label, reason=repr(e.reason))
            return 1
    if pid is None:
        log.info("root_ignored", root=label)
        return 0
    ref = monitor(pid)
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, send, me, _Signal(sig))
    log.info("application_started", root=label, pid=repr(pid))
    try:
        msg = await receive(
            match=lambda m: type(m) is _Signal or (type(m) is Down and m.ref == ref)
        )
        if type(msg) is Down:
            log.error("root_supervisor_exited", root=label, pid=repr(pid), reason=repr(msg.reason))
            return 1
        log.info("application_stopping", signal=signal.Signals(msg.signum).name)
        with contextlib.suppress(NoProcess):
            await stop(pid, "shutdown")
        log.info("application_stopped", root=label)
        return 0
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        # leave the caller's mailbox as we found it: no Down, Exit or signal of ours in it
        demonitor(ref, flush=True)
        with contextlib.suppress(ReceiveTimeout):
            await receive(0, lambda m: type(m) is Exit and m.pid == pid)
        with contextlib.suppress(ReceiveTimeout):
            while True:
                await receive(0, lambda m: type(m) is _Signal)


def _is_child_tuple(root: Any) -> bool:
    return isinstance(root, tuple) and len(root) == 2 and isinstance(root[0], type)
