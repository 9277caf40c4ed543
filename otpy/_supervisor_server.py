"""The process behind Supervisor and DynamicSupervisor: starts children, handles their exits by
restart type and strategy, counts restart intensity, and serves the supervisor API. Private: the
public face is otpy.supervisor."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from otpy._runtime import _current
from otpy._supervision import (
    Child,
    ChildCounts,
    ChildInfo,
    ChildNotFound,
    ChildRunning,
    ChildStartFailed,
    DuplicateChild,
    Intensity,
    MaxChildren,
    _StartFailure,
    format_id,
    should_restart,
    shutdown_child,
    start_spec,
)
from otpy.behaviour import BehaviourServer, reply_error
from otpy.child_spec import ChildSpec
from otpy.errors import StartError
from otpy.genserver import From
from otpy.log import logger
from otpy.process import send
from otpy.returns import Ignore, NoReply, Ok, Reply, Stop
from otpy.supervisor_spec import SupervisorSpec, check_children
from otpy.values import SHUTDOWN, Exit, Pid, is_normal_exit

__all__ = ["SupOp", "SupervisorServer"]


class _TryAgain:
    __slots__ = ("key",)

    def __init__(self, key: int) -> None:
        self.key = key


@dataclass(frozen=True, slots=True)
class SupOp:
    """A request of the supervisor API (otpy.supervisor's functions), as a call."""

    op: str
    arg: Any


class SupervisorServer(BehaviourServer):
    """The process behind a Supervisor or DynamicSupervisor; its module is the Supervisor (or
    DynamicSupervisor) subclass instance."""

    trap_exits = True

    async def init_module(self, arg: Any) -> Any:
        user_arg, direct, dynamic = arg
        self.dynamic: bool = dynamic
        self.label = type(self.module).__qualname__
        if direct is not None:
            spec = direct
        else:
            spec = await self.module.init(user_arg)
            if type(spec) is Ignore:
                return spec
            if not isinstance(spec, SupervisorSpec):
                raise self.bad_return(
                    "init", spec, "SupervisorSpec(children, strategy=...), Ignore()"
                )
        if dynamic and spec.strategy != "one_for_one":
            raise ValueError("a DynamicSupervisor's strategy can only be 'one_for_one'")
        me = _current()
        if me is not None:
            if me.names:
                self.label = me.names[0]
            me.label = self.label
        self.log = logger(supervisor=self.label, supervisor_pid=repr(self.pid))
        self.strategy = spec.strategy
        self.intensity = Intensity(spec.max_restarts, spec.max_seconds)
        self.max_children = spec.max_children
        self.extra = spec.extra_arguments
        self.keys = itertools.count()
        self.children: dict[int, Child] = {}
        self.by_id: dict[Any, int] = {}
        self.by_pid: dict[Pid, int] = {}
        specs = check_children(spec.children, self.label)
        for s in specs:
            key = next(self.keys)
            child = Child(s)
            self.children[key] = child
            self.by_id[s.id] = key
            try:
                pid = await self._start(key, child)
            except _StartFailure as e:
                self.log.error(
                    "child_start_failed", child_id=format_id(s.id), reason=repr(e.reason)
                )
                await self._terminate_all()
                return Stop(ChildStartFailed(s.id, e.reason))
            if pid is None and s.restart == "temporary":
                self._remove(key)  # an ignored temporary child is dropped, as in OTP
        return Ok(None)

    # -- starting and stopping children --------------------------------------------------------

    async def _start(self, key: int, child: Child) -> Pid | None:
        pid = await start_spec(child.spec, self.extra)
        child.pid = pid
        child.restarting = False
        if pid is not None:
            self.by_pid[pid] = key
            self.log.info(
                "child_started",
                child_id=format_id(child.spec.id),
                pid=repr(pid),
                restarts=child.restarts,
            )
        return pid

    async def _stop_child(self, key: int) -> None:
        child = self.children[key]
        pid = child.pid
        if pid is None:
            return
        del self.by_pid[pid]
        child.pid = None
        reason = await shutdown_child(pid, child.spec.shutdown)
        self.log.info(
            "child_terminated",
            child_id=format_id(child.spec.id),
            pid=repr(pid),
            reason=repr(reason),
        )

    async def _terminate_all(self) -> None:
        for key in reversed(list(self.children)):
            await self._stop_child(key)

    def _remove(self, key: int) -> None:
        child = self.children.pop(key)
        if not self.dynamic:
            self.by_id.pop(child.spec.id, None)

    async def terminate(self, reason: Any, state: Any) -> None:
        if hasattr(self, "children"):
            await self._terminate_all()
            self.log.info("supervisor_shutdown", reason=repr(reason))

    # -- exits and restarts --------------------------------------------------------------------

    async def handle_info(self, msg: Any, state: Any) -> Any:
        if type(msg) is Exit and msg.pid in self.by_pid:
            return await self._child_exited(msg.pid, msg.reason, state)
        if type(msg) is _TryAgain:
            # only if still waiting for it: terminate_child or restart_child may have come first
            child = self.children.get(msg.key)
            if child is not None and child.pid is None and child.restarting:
                return await self._restart(msg.key, state)
            return NoReply(state)
        self.log.warning("supervisor_unexpected_message", msg=repr(msg))
        return NoReply(state)

    async def handle_cast(self, request: Any, state: Any) -> Any:
        # A supervisor has no casts: say so, and keep supervising (its children must not pay).
        self.log.error(
            "supervisor_unexpected_cast",
            request=repr(request),
            hint="a supervisor takes no casts; use the otpy.supervisor functions",
        )
        return NoReply(state)

    async def _child_exited(self, pid: Pid, reason: Any, state: Any) -> Any:
        key = self.by_pid.pop(pid)
        child = self.children[key]
        child.pid = None
        spec = child.spec
        # warning, not error: the crash itself is the one error event (logged by the child)
        level = self.log.info if is_normal_exit(reason) else self.log.warning
        level(
            "child_exited",
            child_id=format_id(spec.id),
            pid=repr(pid),
            reason=repr(reason),
            restarts=child.restarts,
        )
        if not should_restart(spec.restart, reason):
            if spec.restart == "temporary" or self.dynamic:
                self._remove(key)
            return NoReply(state)
        return await self._restart(key, state, pid, reason)

    async def _restart(
        self, key: int, state: Any, pid: Pid | None = None, reason: Any = "restart_failed"
    ) -> Any:
        """Restart the child at `key` (exited as `pid` with `reason`), by strategy."""
        child = self.children[key]
        if not self.intensity.add():
            self.log.error(
                "intensity_reached",
                child_id=format_id(child.spec.id),
                pid=repr(pid),
                reason=repr(reason),
                restarts=child.restarts,
                max_restarts=self.intensity.max_restarts,
                max_seconds=self.intensity.max_seconds,
            )
            return Stop(SHUTDOWN, state)
        child.restarts += 1
        if self.strategy == "one_for_one":
            group = [key]
        else:
            keys = list(self.children)
            group = keys if self.strategy == "one_for_all" else keys[keys.index(key) :]
            for other in reversed(group):
                if other != key:
                    await self._stop_child(other)
            for other in list(group):
                if other != key and self.children[other].spec.restart == "temporary":
                    self._remove(other)
                    group.remove(other)
        for other in group:
            c = self.children[other]
            c.restarting = True
        for i, other in enumerate(group):
            c = self.children[other]
            try:
                await self._start(other, c)
            except _StartFailure as e:
                self.log.error(
                    "child_restart_failed", child_id=format_id(c.spec.id), reason=repr(e.reason)
                )
                for done in reversed(group[:i]):
                    await self._stop_child(done)
                    self.children[done].restarting = True  # the whole group awaits the retry
                send(self.pid, _TryAgain(key))
                return NoReply(state)
        if self.dynamic and child.pid is None:
            self._remove(key)  # restarted into Ignore: a dynamic child is then dropped, as Elixir
            return NoReply(state)
        self.log.info(
            "child_restarted",
            child_id=format_id(child.spec.id),
            pid=repr(child.pid),
            old_pid=repr(pid),
            reason=repr(reason),
            restarts=child.restarts,
            restarts_in_window=self.intensity.count(),
        )
        return NoReply(state)

    # -- the API, as calls -------------------------------------------------------------------

    async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        if type(request) is not SupOp:
            # A call no supervisor answers: fail the caller, naming the supervisor and the
            # request, and keep supervising.
            self.log.warning("supervisor_unexpected_call", request=repr(request))
            reply_error(from_, self.unhandled("handle_call", request))
            return NoReply(state)
        try:
            value = await getattr(self, f"_op_{request.op}")(request.arg)
        except (ChildNotFound, ChildRunning, DuplicateChild, MaxChildren, StartError) as e:
            reply_error(from_, e)
            return NoReply(state)
        return Reply(value, state)

    def _key_of(self, ref: Any) -> int:
        key = self.by_pid.get(ref) if self.dynamic else self.by_id.get(ref)
        if key is None and not self.dynamic and isinstance(ref, Pid):
            key = self.by_pid.get(ref)
        if key is None:
            raise ChildNotFound(ref)
        return key

    async def _op_start_child(self, spec: ChildSpec) -> Pid | None:
        if self.dynamic:
            if self.max_children is not None and len(self.children) >= self.max_children:
                raise MaxChildren(self.max_children)
        elif spec.id in self.by_id:
            raise DuplicateChild(spec.id, self.children[self.by_id[spec.id]].pid)
        key = next(self.keys)
        child = Child(spec)
        try:
            pid = await start_spec(spec, self.extra)
        except _StartFailure as e:
            raise StartError(e.reason, f"child {format_id(spec.id)}") from None
        if pid is None and (self.dynamic or spec.restart == "temporary"):
            return None
        self.children[key] = child
        if not self.dynamic:
            self.by_id[spec.id] = key
        child.pid = pid
        if pid is not None:
            self.by_pid[pid] = key
            self.log.info("child_started", child_id=format_id(spec.id), pid=repr(pid), restarts=0)
        return pid

    async def _op_terminate_child(self, ref: Any) -> None:
        key = self._key_of(ref)
        await self._stop_child(key)
        self.children[key].restarting = False  # a pending restart retry is called off
        if self.dynamic or self.children[key].spec.restart == "temporary":
            self._remove(key)

    async def _op_restart_child(self, child_id: Any) -> Pid | None:
        key = self._key_of(child_id)
        child = self.children[key]
        if child.pid is not None:
            raise ChildRunning(child.spec.id, child.pid)
        try:
            return await self._start(key, child)
        except _StartFailure as e:
            raise StartError(e.reason, f"child {format_id(child.spec.id)}") from None

    async def _op_delete_child(self, child_id: Any) -> None:
        key = self._key_of(child_id)
        child = self.children[key]
        if child.pid is not None:
            raise ChildRunning(child.spec.id, child.pid)
        self._remove(key)

    async def _op_which_children(self, _: Any) -> list[ChildInfo]:
        return [c.info() for c in self.children.values()]

    async def _op_count_children(self, _: Any) -> ChildCounts:
        kids = self.children.values()
        return ChildCounts(
            specs=len(self.children),
            active=sum(1 for c in kids if c.pid is not None),
            supervisors=sum(1 for c in kids if c.spec.type == "supervisor"),
            workers=sum(1 for c in kids if c.spec.type == "worker"),
        )

    async def _op_flags(self, _: Any) -> dict[str, Any]:
        return {
            "label": self.label,
            "strategy": self.strategy,
            "dynamic": self.dynamic,
            "max_restarts": self.intensity.max_restarts,
            "max_seconds": self.intensity.max_seconds,
            "restarts_in_window": self.intensity.count(),
        }
