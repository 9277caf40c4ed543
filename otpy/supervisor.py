"""Supervisor: starts children from child specs, restarts them by strategy, and gives up (exits
with ``shutdown``) when they restart too often.

Two ways to use it::

    sup = await Supervisor.start_link([Counter, (Cache, {"size": 10})], strategy="one_for_one")

    class App(Supervisor):
        async def init(self, arg):
            return SupervisorSpec([Counter, (Cache, arg)], strategy="rest_for_one")

    sup = await App.start_link({"size": 10})

What happens when a child exits (``restart`` of its ChildSpec):

=============================  ==========  ===============  ==========================
exit reason of the child       permanent   transient        temporary
=============================  ==========  ===============  ==========================
normal                         restarted   not restarted    not restarted, spec removed
shutdown, Shutdown(term)       restarted   not restarted    not restarted, spec removed
anything else (crash, killed)  restarted   restarted        not restarted, spec removed
=============================  ==========  ===============  ==========================

Strategies: ``one_for_one`` restarts the child alone; ``one_for_all`` terminates the others (in
reverse start order) and restarts them all in order; ``rest_for_one`` does that for the child and
those started after it. Temporary bystanders are terminated and not restarted.

Intensity: more than ``max_restarts`` restarts within ``max_seconds`` (failed restart attempts
count) and the supervisor terminates all its children in reverse order and exits with reason
``shutdown``, for its own supervisor to handle.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

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
from otpy.child_spec import ChildSpec, normalize_child
from otpy.errors import BadReturn, StartError
from otpy.genserver import From, GenServer, call
from otpy.genserver import start as _gs_start
from otpy.genserver import start_link as _gs_start_link
from otpy.log import logger
from otpy.process import send
from otpy.returns import Ignore, NoReply, Ok, Reply, Stop
from otpy.values import SHUTDOWN, Exit, Pid, is_normal_exit

__all__ = [
    "ChildCounts",
    "ChildInfo",
    "ChildNotFound",
    "ChildRunning",
    "ChildStartFailed",
    "DuplicateChild",
    "MaxChildren",
    "Strategy",
    "Supervisor",
    "SupervisorSpec",
    "count_children",
    "delete_child",
    "restart_child",
    "start_child",
    "terminate_child",
    "which_children",
]

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
_STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")


@dataclass(frozen=True, slots=True)
class SupervisorSpec:
    """What a Supervisor subclass's ``init`` returns: its children and its flags."""

    children: Sequence[Any]
    strategy: Strategy = "one_for_one"
    max_restarts: int = 3
    max_seconds: float = 5.0
    # DynamicSupervisor only:
    max_children: int | None = None
    extra_arguments: tuple[Any, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {_STRATEGIES}, not {self.strategy!r}")
        if (
            isinstance(self.max_restarts, bool)
            or not isinstance(self.max_restarts, int)
            or self.max_restarts < 0
        ):
            raise ValueError(f"max_restarts must be an int >= 0, not {self.max_restarts!r}")
        if not isinstance(self.max_seconds, int | float) or self.max_seconds <= 0:
            raise ValueError(f"max_seconds must be a number > 0, not {self.max_seconds!r}")
        if self.max_children is not None and (
            not isinstance(self.max_children, int) or self.max_children < 0
        ):
            raise ValueError(f"max_children must be an int >= 0 or None, not {self.max_children!r}")
        if not isinstance(self.extra_arguments, tuple):
            raise TypeError(f"extra_arguments must be a tuple, not {self.extra_arguments!r}")


class _TryAgain:
    __slots__ = ("key",)

    def __init__(self, key: int) -> None:
        self.key = key


class _Server(GenServer):
    """The process behind a Supervisor or DynamicSupervisor."""

    trap_exits = True

    async def init(self, arg: Any) -> Any:
        module, user_arg, direct, dynamic = arg
        self.dynamic: bool = dynamic
        self.label = module.__qualname__
        if direct is not None:
            spec = direct
        else:
            spec = await module().init(user_arg)
            if type(spec) is Ignore:
                return spec
            if not isinstance(spec, SupervisorSpec):
                raise BadReturn(
                    module, "init", spec, "SupervisorSpec(children, strategy=...), Ignore()"
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
        specs = _check_children(spec.children, self.label)
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
            self.log.info("child_started", child_id=format_id(child.spec.id), pid=repr(pid))
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
        self.log.debug("supervisor_unexpected_message", msg=repr(msg))
        return NoReply(state)

    async def _child_exited(self, pid: Pid, reason: Any, state: Any) -> Any:
        key = self.by_pid.pop(pid)
        child = self.children[key]
        child.pid = None
        spec = child.spec
        # warning, not error: the crash itself is the one error event (logged by the child)
        level = self.log.info if is_normal_exit(reason) else self.log.warning
        level("child_exited", child_id=format_id(spec.id), pid=repr(pid), reason=repr(reason))
        if not should_restart(spec.restart, reason):
            if spec.restart == "temporary" or self.dynamic:
                self._remove(key)
            return NoReply(state)
        return await self._restart(key, state)

    async def _restart(self, key: int, state: Any) -> Any:
        child = self.children[key]
        if not self.intensity.add():
            self.log.error(
                "intensity_reached",
                child_id=format_id(child.spec.id),
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
        self.log.info(
            "child_restarted",
            child_id=format_id(child.spec.id),
            pid=repr(child.pid),
            restarts_in_window=self.intensity.count(),
        )
        return NoReply(state)

    # -- the API, as calls -------------------------------------------------------------------

    async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        op, arg = request
        try:
            value = await getattr(self, f"_op_{op}")(arg)
        except (ChildNotFound, ChildRunning, DuplicateChild, MaxChildren, StartError) as e:
            value = _Raise(e)
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
            self.log.info("child_started", child_id=format_id(spec.id), pid=repr(pid))
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


def _check_children(children: Sequence[Any], label: str) -> list[ChildSpec]:
    """The children as ChildSpecs; TypeError for a bad child, ValueError for a repeated id."""
    specs = [normalize_child(c) for c in children]
    seen: set[Any] = set()
    for s in specs:
        if s.id in seen:
            raise ValueError(
                f"duplicate child id {format_id(s.id)} in {label}; give each child a unique id"
            )
        seen.add(s.id)
    return specs


@dataclass(frozen=True, slots=True)
class _Raise:
    """An error computed in the supervisor, raised in the caller."""

    error: Exception


async def _sup_call(sup: Any, op: str, arg: Any, timeout: float | None) -> Any:
    value = await call(sup, (op, arg), timeout)
    if type(value) is _Raise:
        raise value.error
    return value


class Supervisor:
    """A supervisor: start it with children directly, or subclass it and define ``init``."""

    #: Used when the class is given to another supervisor as a child.
    restart: Literal["permanent", "transient", "temporary"] = "permanent"

    async def init(self, arg: Any) -> SupervisorSpec | Ignore:
        """Return ``SupervisorSpec(children, strategy=..., ...)``, or ``Ignore()``."""
        raise NotImplementedError(
            f"{type(self).__qualname__} must define `async def init(self, arg)` returning "
            "SupervisorSpec(children, ...), or be started as Supervisor.start_link(children, ...)"
        )

    @classmethod
    async def start_link(
        cls,
        arg: Any = None,
        *,
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        name: Any = None,
        timeout: float | None = None,
    ) -> Pid | None:
        """Start a supervisor linked to the caller and all its children; return its pid.

        On ``Supervisor`` itself, `arg` is the list of children and the flags are keywords. On a
        subclass, `arg` goes to ``init`` and the flags come from the SupervisorSpec it returns.
        Raises StartError whose ``.reason`` is a ChildStartFailed (with ``.id`` and ``.reason``)
        if a child fails to start; the children already started are shut down first.
        """
        return await _start_sup(
            cls, arg, strategy, max_restarts, max_seconds, None, (), name, timeout, dynamic=False
        )

    @classmethod
    async def start(
        cls,
        arg: Any = None,
        *,
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        name: Any = None,
        timeout: float | None = None,
    ) -> Pid | None:
        """Like :meth:`start_link`, without a link to the caller (a test fixture, a script)."""
        return await _start_sup(
            cls,
            arg,
            strategy,
            max_restarts,
            max_seconds,
            None,
            (),
            name,
            timeout,
            dynamic=False,
            link=False,
        )

    @classmethod
    def child_spec(cls, arg: Any = None, **overrides: Any) -> ChildSpec:
        """A child spec running this supervisor under another (type "supervisor", shutdown
        "infinity"); `overrides` set ChildSpec fields, and ``name`` and the flags of
        ``start_link`` are passed to it."""
        return supervisor_child_spec(
            cls, arg, overrides, ("name", "strategy", "max_restarts", "max_seconds", "timeout")
        )


def supervisor_child_spec(
    cls: Any, arg: Any, overrides: dict[str, Any], flag_names: tuple[str, ...]
) -> ChildSpec:
    """The child spec of a supervisor class: start_link flags split from ChildSpec fields."""
    flags = {k: overrides.pop(k) for k in flag_names if k in overrides}

    async def start(a: Any) -> Pid | None:
        pid: Pid | None = await cls.start_link(a, **flags)
        return pid

    fields: dict[str, Any] = {
        "id": cls,
        "start": (start, (arg,)),
        "type": "supervisor",
        "restart": cls.restart,
    }
    fields.update(overrides)
    return ChildSpec(**fields)


async def _start_sup(
    cls: type,
    arg: Any,
    strategy: Strategy,
    max_restarts: int,
    max_seconds: float,
    max_children: int | None,
    extra: tuple[Any, ...],
    name: Any,
    timeout: float | None,
    dynamic: bool,
    link: bool = True,
) -> Pid | None:
    base = _base_of(cls)
    direct = None
    if cls is base:
        children = arg if arg is not None else []
        if dynamic and children:
            raise TypeError("a DynamicSupervisor starts with no children; use start_child")
        if not isinstance(children, list | tuple):
            raise TypeError(f"Supervisor.start_link takes a list of children, not {children!r}")
        direct = SupervisorSpec(
            list(children), strategy, max_restarts, max_seconds, max_children, extra
        )
        # a bad or repeated child is the caller's mistake: raise it here, not as a StartError
        _check_children(direct.children, format_id(name) if name is not None else base.__name__)
    try:
        return await (_gs_start_link if link else _gs_start)(
            _Server, (cls, arg, direct, dynamic), name=name, timeout=timeout
        )
    except StartError as e:
        raise StartError(e.reason, cls.__qualname__) from None


def _base_of(cls: type) -> type:
    from otpy.dynamic_supervisor import DynamicSupervisor

    return DynamicSupervisor if issubclass(cls, DynamicSupervisor) else Supervisor


# -- API functions ------------------------------------------------------------------------------


async def start_child(sup: Any, child: Any, timeout: float | None = None) -> Pid | None:
    """Add and start a child (ChildSpec, class or (cls, arg)); return its pid (None if ignored).

    Raises DuplicateChild if the id is taken, StartError if it fails to start, MaxChildren if a
    DynamicSupervisor is full.
    """
    spec = normalize_child(child)  # bad input fails here, in the caller, not in the supervisor
    return await _sup_call(sup, "start_child", spec, timeout)  # type: ignore[no-any-return]


async def terminate_child(sup: Any, child: Any, timeout: float | None = None) -> None:
    """Stop a child (by id, or by pid for a DynamicSupervisor) without restarting it. Its spec
    is kept (use restart_child / delete_child), except temporary and dynamic children."""
    await _sup_call(sup, "terminate_child", child, timeout)


async def restart_child(sup: Any, child_id: Any, timeout: float | None = None) -> Pid | None:
    """Start again a child that was terminated with terminate_child. Raises ChildRunning if it is
    running, ChildNotFound if there is no such child."""
    return await _sup_call(sup, "restart_child", child_id, timeout)  # type: ignore[no-any-return]


async def delete_child(sup: Any, child_id: Any, timeout: float | None = None) -> None:
    """Remove the spec of a child that is not running. Raises ChildRunning if it is."""
    await _sup_call(sup, "delete_child", child_id, timeout)


async def which_children(sup: Any, timeout: float | None = None) -> list[ChildInfo]:
    """One ChildInfo per child, in start order."""
    return await _sup_call(sup, "which_children", None, timeout)  # type: ignore[no-any-return]


async def count_children(sup: Any, timeout: float | None = None) -> ChildCounts:
    """How many specs, running children, supervisors and workers the supervisor has."""
    return await _sup_call(sup, "count_children", None, timeout)  # type: ignore[no-any-return]


async def supervisor_flags(sup: Any, timeout: float | None = None) -> dict[str, Any]:
    """The supervisor's label, strategy, intensity limits and restarts in the current window."""
    return await _sup_call(sup, "flags", None, timeout)  # type: ignore[no-any-return]
