"""A stateful property test of Supervisor against a small reference model of OTP (DESIGN.md 5).

Hypothesis drives one real Supervisor per run with random operations: children exiting in every
way a child can (normal, shutdown, Shutdown(term), crash, killed, and exit signals a child ignores)
and the API (start_child, terminate_child, restart_child, delete_child). After every step the
supervisor is compared with the model:

* which_children lists the model's child ids, in order, with the right restart types;
* exactly the children the model says run have a pid, each alive and answering a call;
* a child the step restarted has a new pid, every other child kept its pid (or stayed stopped):
  this is what checks the strategies (one_for_one, one_for_all, rest_for_one);
* every pid the supervisor has let go of (or shut down) has exited;
* the siblings a restart (or the supervisor giving up) shuts down exit in reverse start order,
  and all of them before the supervisor itself exits;
* count_children and the restart count of the intensity window agree with the model;
* the supervisor is alive iff its restart count has not exceeded max_restarts. `max_seconds` is
  huge so the window never slides: the restart that makes the count exceed max_restarts must
  terminate every child and make the supervisor exit with reason "shutdown".

How the asyncio side is bridged: hypothesis runs rules synchronously, so each machine owns an
event loop (made in __init__, closed in teardown) and every rule and invariant runs one coroutine
on it with run_until_complete. Each of those coroutines is a new task, so it is adopted as a new,
short-lived otpy process. The supervisor must not be linked to such a task: when the task ends,
its link would deliver Exit(parent, normal) and a GenServer stops on an Exit from its parent. So
the supervisor is started by an *owner* process, spawned (unlinked) once per run, that traps
exits, calls Supervisor.start_link, hands the pid back through a future, then waits for the
supervisor's Exit and publishes its reason through a second future. The owner lives until
teardown; nothing else is linked to the supervisor.

How a step waits for the supervisor, without sleeping: to make a child exit, the rule monitors
it and waits for its Down. otpy's notify_exit delivers the Down to monitors and the exit signal
to links in one synchronous step, and the supervisor traps exits, so once the rule has the Down,
the Exit message is already in the supervisor's mailbox. A call to the supervisor made after
that is queued behind it, and the supervisor handles its mailbox in order (its shutdown_child
only does selective receives of Exit/Down), so the reply reflects the handled exit. If the exit
made the supervisor give up, the call fails with ServerExited/NoProcess instead, and the owner's
future yields the exit reason. The rule also monitors the supervisor and the other children
beforehand: one process's Down messages arrive in the order the processes exited, which is how
the shutdown order is checked. Every wait has a guard timeout that only bounds a failing run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import otpy
from otpy import (
    ChildSpec,
    Down,
    Exit,
    GenServer,
    NoProcess,
    Pid,
    Reply,
    ServerExited,
    Shutdown,
    Stop,
    Supervisor,
)
from otpy.child_spec import Restart
from otpy.supervisor import (
    ChildCounts,
    ChildNotFound,
    ChildRunning,
    DuplicateChild,
    Strategy,
    count_children,
    delete_child,
    restart_child,
    start_child,
    supervisor_flags,
    terminate_child,
    which_children,
)

from .support import GUARD, Boom

pytestmark = pytest.mark.timeout(120)

#: Child ids come from a small pool so that duplicates and unknown ids are common.
IDS = ("a", "b", "c", "d", "e")


class Worker(GenServer):
    """A supervised worker. Its state is its child id; a cast tells it how to exit."""

    async def handle_call(self, request: Any, from_: Any, state: Any) -> Any:
        assert request == "ping"
        return Reply(("pong", state), state)

    async def handle_cast(self, request: Any, state: Any) -> Any:
        kind, reason = request
        if kind == "raise":
            raise reason
        return Stop(reason, state)


class TrappingWorker(Worker):
    """A worker that traps exits: exit signals from anyone but its supervisor become messages it
    ignores, and the supervisor's shutdown runs its terminate."""

    trap_exits = True


@dataclass(frozen=True)
class Spec:
    """What hypothesis draws for a child; printed in failing examples."""

    id: str
    restart: Restart
    trap: bool
    shutdown: Any

    def child_spec(self) -> ChildSpec:
        cls = TrappingWorker if self.trap else Worker
        return ChildSpec(
            self.id, (cls.start_link, (self.id,)), restart=self.restart, shutdown=self.shutdown
        )


SPECS = st.builds(
    Spec,
    id=st.sampled_from(IDS),
    restart=st.sampled_from(("permanent", "transient", "temporary")),
    trap=st.booleans(),
    shutdown=st.sampled_from(("brutal_kill", 5.0, "infinity")),
)


@dataclass(frozen=True)
class How:
    """How a child is made to exit.

    via "stop": a cast makes handle_cast return Stop(reason); "raise": handle_cast raises the
    reason (a crash); "signal": the test sends otpy.exit(pid, reason).
    reason: "normal", "shutdown", "shutdown_term" (Shutdown(term)), "crash" (an exception) or
    "kill".
    """

    via: str
    reason: str

    def make_reason(self) -> Any:
        return {
            "normal": "normal",
            "shutdown": "shutdown",
            "shutdown_term": Shutdown("why"),
            "crash": Boom("crash"),
            "kill": "kill",
        }[self.reason]

    def exits(self, trapping: bool) -> bool:
        """Whether the child exits at all (process semantics, DESIGN.md section 3)."""
        if self.via != "signal":
            return True
        if self.reason == "normal":
            return False  # exit(pid, normal) from another process is ignored
        return self.reason == "kill" or not trapping  # a trapping child gets a message instead

    def is_normal(self) -> bool:
        """Whether the exit reason is normal/shutdown/Shutdown(term) for the restart table."""
        return self.reason in ("normal", "shutdown", "shutdown_term")


HOWS = (
    How("stop", "normal"),
    How("stop", "shutdown"),
    How("stop", "shutdown_term"),
    How("stop", "crash"),
    How("raise", "crash"),
    How("signal", "kill"),
    How("signal", "shutdown"),
    How("signal", "shutdown_term"),
    How("signal", "crash"),
    How("signal", "normal"),
)


class _Fresh:
    """Model pid of a child the step must have (re)started: a pid never seen before."""

    def __repr__(self) -> str:
        return "FRESH"


FRESH: Any = _Fresh()


@dataclass
class ModelChild:
    spec: Spec
    pid: Any  # the Pid it must still have, None (not running) or FRESH


class SupervisorMachine(RuleBasedStateMachine):
    """The reference model and the rules. Subclasses fix the strategy."""

    strategy: ClassVar[Strategy] = "one_for_one"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.started = False
        self.failed = False
        self.sup: Pid | None = None
        self.owner: Pid | None = None
        self.sup_exit: asyncio.Future[Any] = self.loop.create_future()
        self.alive = False
        self.max_restarts = 0
        self.restarts = 0
        self.children: list[ModelChild] = []
        self.seen: set[Pid] = set()  # every child pid ever observed

    # -- bridging to asyncio --------------------------------------------------------------------

    def _run(self, coro: Any) -> Any:
        try:
            return self.loop.run_until_complete(coro)
        except BaseException:
            self.failed = True
            raise

    async def _owner_body(self, started: asyncio.Future[Pid]) -> None:
        otpy.trap_exits()
        try:
            sup = await Supervisor.start_link(
                [c.spec.child_spec() for c in self.children],
                strategy=self.strategy,
                max_restarts=self.max_restarts,
                max_seconds=1e9,
                timeout=GUARD,
            )
        except Exception as e:
            if not started.done():
                started.set_exception(e)
            return
        assert sup is not None
        started.set_result(sup)
        msg = await otpy.receive(match=lambda m: type(m) is Exit and m.pid == sup)
        self.sup_exit.set_result(msg.reason)
        await otpy.receive(match=lambda m: m == "stop")

    def teardown(self) -> None:
        try:
            if self.started:
                self._run(self._stop_everything())
        except Exception:
            if not self.failed:  # do not hide the failure of a step behind a teardown error
                raise
        finally:
            loop = self.loop
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _stop_everything(self) -> None:
        assert self.sup is not None and self.owner is not None
        if otpy.is_alive(self.sup):
            await otpy.stop(self.sup, "shutdown", timeout=GUARD)
        await asyncio.wait_for(asyncio.shield(self.sup_exit), GUARD)
        ref = otpy.monitor(self.owner)
        otpy.send(self.owner, "stop")
        await _wait_down(ref)
        for pid in self.seen:
            assert _exited(pid), f"child {pid} outlived its stopped supervisor"

    # -- the model ------------------------------------------------------------------------------

    def _index(self, cid: str) -> int | None:
        for i, c in enumerate(self.children):
            if c.spec.id == cid:
                return i
        return None

    def _model_exit(self, idx: int, normal: bool) -> None:
        """Child `idx` has exited: apply the restart table, intensity and the strategy."""
        child = self.children[idx]
        child.pid = None
        restart = child.spec.restart
        if not (restart == "permanent" or (restart == "transient" and not normal)):
            if restart == "temporary":
                del self.children[idx]
            note(f"model: {child.spec.id} not restarted")
            event(f"exit of a {restart} child: not restarted")
            return
        self.restarts += 1
        if self.restarts > self.max_restarts:
            self.alive = False
            for c in self.children:
                c.pid = None
            note(f"model: restart {self.restarts} > max_restarts: supervisor shuts down")
            event("intensity reached: supervisor shut down")
            return
        if self.strategy == "one_for_one":
            group = [child]
        elif self.strategy == "one_for_all":
            group = list(self.children)
        else:
            group = self.children[idx:]
        restarted = []
        for c in group:
            if c is not child and c.spec.restart == "temporary":
                self.children.remove(c)  # a temporary bystander is terminated, not restarted
            else:
                c.pid = FRESH  # restarted, even if it was not running (OTP restarts the group)
                restarted.append(c.spec.id)
        note(f"model: restart {self.restarts}: {restarted} restarted")
        event(f"restart of {len(restarted)} of {len(self.children)} children")

    def _expect_fresh(self, pid: Any) -> Pid:
        assert isinstance(pid, Pid), f"expected a new pid, got {pid!r}"
        assert pid not in self.seen, f"{pid} was expected to be a new process"
        self.seen.add(pid)
        return pid

    # -- start ----------------------------------------------------------------------------------

    @initialize(
        max_restarts=st.integers(0, 6),
        specs=st.lists(SPECS, max_size=4, unique_by=lambda s: s.id),
    )
    def start_supervisor(self, max_restarts: int, specs: list[Spec]) -> None:
        self.max_restarts = max_restarts
        self.children = [ModelChild(s, FRESH) for s in specs]
        self._run(self._start())
        self.started = True
        self.alive = True

    async def _start(self) -> None:
        started: asyncio.Future[Pid] = self.loop.create_future()
        self.owner = otpy.spawn(self._owner_body, started)
        self.sup = await asyncio.wait_for(started, GUARD)

    # -- children exiting -----------------------------------------------------------------------

    @precondition(lambda self: self.alive and any(c.pid is not None for c in self.children))
    @rule(data=st.data(), how=st.sampled_from(HOWS))
    def child_exits(self, data: st.DataObject, how: How) -> None:
        running = [c.spec.id for c in self.children if c.pid is not None]
        cid = data.draw(st.sampled_from(running), label="child")
        self._run(self._child_exits(cid, how))

    async def _child_exits(self, cid: str, how: How) -> None:
        idx = self._index(cid)
        assert idx is not None
        child = self.children[idx]
        pid = child.pid
        reason = how.make_reason()
        # Watch the supervisor and the other running children too: a process's Down messages
        # arrive in the order the watched processes exited, which checks the shutdown order.
        others = [
            (c, c.pid, otpy.monitor(c.pid)) for c in self.children if c.pid not in (None, pid)
        ]
        sup_ref = otpy.monitor(self.sup)
        ref = otpy.monitor(pid)
        if how.via == "signal":
            otpy.exit(pid, reason)
        else:
            otpy.cast(pid, (how.via, reason))
        if not how.exits(child.spec.trap):
            # Nothing happens; the invariant's call to the child, queued behind the signal's
            # message if it traps exits, checks it is still alive with the same pid.
            for r in (ref, sup_ref, *(r for _, _, r in others)):
                otpy.demonitor(r, flush=True)
            return
        down = await _wait_down(ref)
        expected = "killed" if how.reason == "kill" else reason
        assert down.reason is expected or down.reason == expected, (down.reason, expected)
        self._model_exit(idx, how.is_normal())

        # Once this call is answered (or fails because the supervisor gave up), the supervisor
        # has handled the exit, including waiting for the siblings it shut down: their Downs,
        # and the supervisor's own if it exited, are in our mailbox by now.
        with contextlib.suppress(NoProcess, ServerExited):
            await count_children(self.sup, timeout=GUARD)
        names = {r: c.spec.id for c, _, r in others}
        names[sup_ref] = "<supervisor>"
        downs = []
        while True:
            try:
                msg = await otpy.receive(
                    match=lambda m: type(m) is Down and m.ref in names, timeout=0
                )
            except otpy.ReceiveTimeout:
                break
            downs.append(msg)
        # Stopped siblings (a strategy's restart group, or everyone when the supervisor gives up)
        # go in reverse start order, and all before the supervisor itself exits.
        stopped = [
            (c, old, r)
            for c, old, r in others
            if not self.alive or c.pid != old or not any(x is c for x in self.children)
        ]
        expected_order = [c.spec.id for c, _, _ in reversed(stopped)]
        if not self.alive:
            expected_order.append("<supervisor>")
        assert [names[d.ref] for d in downs] == expected_order, "exit order of stopped processes"
        for d in downs:
            if d.ref == sup_ref:
                assert d.reason == "shutdown", f"supervisor exited with {d.reason!r}"
        for r in (sup_ref, *(r for _, _, r in others)):
            otpy.demonitor(r, flush=True)

    # -- the API --------------------------------------------------------------------------------

    @precondition(lambda self: self.alive)
    @rule(cid=st.sampled_from(IDS))
    def terminate_child(self, cid: str) -> None:
        self._run(self._terminate_child(cid))

    async def _terminate_child(self, cid: str) -> None:
        idx = self._index(cid)
        if idx is None:
            with pytest.raises(ChildNotFound):
                await terminate_child(self.sup, cid, timeout=GUARD)
            return
        await terminate_child(self.sup, cid, timeout=GUARD)
        child = self.children[idx]
        child.pid = None
        if child.spec.restart == "temporary":
            del self.children[idx]

    @precondition(lambda self: self.alive)
    @rule(cid=st.sampled_from(IDS))
    def restart_child(self, cid: str) -> None:
        self._run(self._restart_child(cid))

    async def _restart_child(self, cid: str) -> None:
        idx = self._index(cid)
        if idx is None:
            with pytest.raises(ChildNotFound):
                await restart_child(self.sup, cid, timeout=GUARD)
            return
        child = self.children[idx]
        if child.pid is not None:
            with pytest.raises(ChildRunning) as err:
                await restart_child(self.sup, cid, timeout=GUARD)
            assert err.value.pid == child.pid
            return
        child.pid = self._expect_fresh(await restart_child(self.sup, cid, timeout=GUARD))

    @precondition(lambda self: self.alive)
    @rule(cid=st.sampled_from(IDS))
    def delete_child(self, cid: str) -> None:
        self._run(self._delete_child(cid))

    async def _delete_child(self, cid: str) -> None:
        idx = self._index(cid)
        if idx is None:
            with pytest.raises(ChildNotFound):
                await delete_child(self.sup, cid, timeout=GUARD)
            return
        child = self.children[idx]
        if child.pid is not None:
            with pytest.raises(ChildRunning) as err:
                await delete_child(self.sup, cid, timeout=GUARD)
            assert err.value.pid == child.pid
            return
        await delete_child(self.sup, cid, timeout=GUARD)
        del self.children[idx]

    @precondition(lambda self: self.alive)
    @rule(spec=SPECS)
    def start_child(self, spec: Spec) -> None:
        self._run(self._start_child(spec))

    async def _start_child(self, spec: Spec) -> None:
        idx = self._index(spec.id)
        if idx is not None:
            with pytest.raises(DuplicateChild) as err:
                await start_child(self.sup, spec.child_spec(), timeout=GUARD)
            assert err.value.pid == self.children[idx].pid
            return
        pid = self._expect_fresh(await start_child(self.sup, spec.child_spec(), timeout=GUARD))
        self.children.append(ModelChild(spec, pid))

    # -- once the supervisor has given up -------------------------------------------------------

    @precondition(lambda self: self.started and not self.alive)
    @rule(cid=st.sampled_from(IDS))
    def supervisor_stays_down(self, cid: str) -> None:
        """The only rule left once the supervisor is gone: its API reports it dead."""
        self._run(self._supervisor_stays_down(cid))

    async def _supervisor_stays_down(self, cid: str) -> None:
        for op in (terminate_child, restart_child, delete_child):
            with pytest.raises(NoProcess):
                await op(self.sup, cid, timeout=GUARD)

    # -- the invariant --------------------------------------------------------------------------

    @invariant()
    def supervisor_matches_model(self) -> None:
        if self.started:
            self._run(self._check())

    async def _check(self) -> None:
        sup = self.sup
        try:
            infos = await which_children(sup, timeout=GUARD)
        except (NoProcess, ServerExited):
            infos = None
        if not self.alive:
            assert infos is None, (
                f"supervisor still running after {self.restarts} restarts with "
                f"max_restarts={self.max_restarts}"
            )
            reason = await asyncio.wait_for(asyncio.shield(self.sup_exit), GUARD)
            assert reason == "shutdown", f"supervisor exited with {reason!r}, not 'shutdown'"
            assert _exited(sup)
            for pid in self.seen:
                assert _exited(pid), f"child {pid} outlived its supervisor"
            return
        if infos is None:
            why = self.sup_exit.result() if self.sup_exit.done() else "?"
            raise AssertionError(
                f"supervisor exited ({why!r}) after {self.restarts} restarts, "
                f"max_restarts={self.max_restarts}: it should still run"
            )

        assert [i.id for i in infos] == [c.spec.id for c in self.children], "children (in order)"
        fresh: list[Pid] = []
        for info, child in zip(infos, self.children, strict=True):
            cid = child.spec.id
            assert info.restart == child.spec.restart
            if child.pid is FRESH:
                assert info.pid is not None, f"child {cid} should have been restarted"
                assert info.pid not in self.seen, f"child {cid} should have a new pid: {info.pid}"
                child.pid = info.pid
                fresh.append(info.pid)
            else:
                assert info.pid == child.pid, (
                    f"child {cid}: pid should be {child.pid!r} (unchanged), is {info.pid!r}"
                )
            assert info.status == ("running" if child.pid is not None else "undefined"), info
        # Pids are handed out in increasing order, so this checks the children of a step were
        # (re)started in start order.
        assert fresh == sorted(fresh), f"children restarted out of order: {fresh}"
        self.seen.update(fresh)

        running = {c.pid for c in self.children if c.pid is not None}
        for child in self.children:
            if child.pid is not None:
                assert otpy.is_alive(child.pid)
                assert await otpy.call(child.pid, "ping", GUARD) == ("pong", child.spec.id)
        for pid in self.seen - running:
            assert _exited(pid), f"{pid} is no longer supervised but has not exited"

        n = len(self.children)
        assert await count_children(sup, timeout=GUARD) == ChildCounts(
            specs=n, active=len(running), supervisors=0, workers=n
        )
        flags = await supervisor_flags(sup, timeout=GUARD)
        assert flags["restarts_in_window"] == self.restarts, "restarts counted for intensity"


def _exited(pid: Pid | None) -> bool:
    """Whether `pid` has fully exited (not merely been sent a fatal signal)."""
    return otpy.process_info(pid) is None


async def _wait_down(ref: Any) -> Down:
    msg: Down = await otpy.receive(match=lambda m: type(m) is Down and m.ref == ref, timeout=GUARD)
    return msg


# `make test` runs the suite with PYTHONASYNCIODEBUG=1, where asyncio records a stack for every
# future and handle and an example costs about five times more: fewer examples keep this file
# within its ~40 s budget there.
_ASYNCIO_DEBUG = sys.flags.dev_mode or (
    not sys.flags.ignore_environment and bool(os.environ.get("PYTHONASYNCIODEBUG"))
)

_SETTINGS = settings(
    max_examples=40 if _ASYNCIO_DEBUG else 100,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    # The explain phase traces every line executed, which makes the asyncio machinery so slow
    # that a failing run would shrink for minutes; the printed steps are explanation enough.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)


class OneForOneMachine(SupervisorMachine):
    strategy = "one_for_one"


class OneForAllMachine(SupervisorMachine):
    strategy = "one_for_all"


class RestForOneMachine(SupervisorMachine):
    strategy = "rest_for_one"


TestOneForOne = OneForOneMachine.TestCase
TestOneForOne.settings = _SETTINGS
TestOneForAll = OneForAllMachine.TestCase
TestOneForAll.settings = _SETTINGS
TestRestForOne = RestForOneMachine.TestCase
TestRestForOne.settings = _SETTINGS
