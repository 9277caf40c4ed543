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

from typing import Any, ClassVar, Literal

from otpy._supervision import (
    ChildCounts,
    ChildInfo,
    ChildNotFound,
    ChildRunning,
    ChildStartFailed,
    DuplicateChild,
    MaxChildren,
)
from otpy._supervisor_server import SupOp
from otpy._supervisor_start import start_supervisor, supervisor_child_spec
from otpy.behaviour import Behaviour
from otpy.child_spec import ChildSpec, normalize_child
from otpy.genserver import call
from otpy.returns import Ignore
from otpy.supervisor_spec import Strategy, SupervisorSpec
from otpy.values import Pid

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


def _child_ref(ref: Any) -> Any:
    """A child id or pid, checked here so that a bad one fails in the caller, not the supervisor."""
    try:
        hash(ref)
    except TypeError:
        raise TypeError(f"{ref!r} cannot be a child id or pid: it is not hashable") from None
    return ref


async def _sup_call(sup: Any, op: str, arg: Any, timeout: float | None) -> Any:
    return await call(sup, SupOp(op, arg), timeout)


class Supervisor(Behaviour):
    """A supervisor: start it with children directly, or subclass it and define ``init``."""

    callbacks = ("init",)
    #: Used when the class is given to another supervisor as a child.
    restart: Literal["permanent", "transient", "temporary"] = "permanent"
    #: Whether this is a DynamicSupervisor (set by that class).
    dynamic: ClassVar[bool] = False

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
        flags = SupervisorSpec([], strategy, max_restarts, max_seconds)
        return await start_supervisor(cls, Supervisor, arg, flags, name, timeout, link=True)

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
        flags = SupervisorSpec([], strategy, max_restarts, max_seconds)
        return await start_supervisor(cls, Supervisor, arg, flags, name, timeout, link=False)

    @classmethod
    def child_spec(cls, arg: Any = None, **overrides: Any) -> ChildSpec:
        """A child spec running this supervisor under another (type "supervisor", shutdown
        "infinity"); `overrides` set ChildSpec fields, and ``name`` and the flags of
        ``start_link`` are passed to it."""
        return supervisor_child_spec(
            cls, arg, overrides, ("name", "strategy", "max_restarts", "max_seconds", "timeout")
        )


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
    await _sup_call(sup, "terminate_child", _child_ref(child), timeout)


async def restart_child(sup: Any, child_id: Any, timeout: float | None = None) -> Pid | None:
    """Start again a child that was terminated with terminate_child. Raises ChildRunning if it is
    running, ChildNotFound if there is no such child."""
    return await _sup_call(sup, "restart_child", _child_ref(child_id), timeout)  # type: ignore[no-any-return]


async def delete_child(sup: Any, child_id: Any, timeout: float | None = None) -> None:
    """Remove the spec of a child that is not running. Raises ChildRunning if it is."""
    await _sup_call(sup, "delete_child", _child_ref(child_id), timeout)


async def which_children(sup: Any, timeout: float | None = None) -> list[ChildInfo]:
    """One ChildInfo per child, in start order."""
    return await _sup_call(sup, "which_children", None, timeout)  # type: ignore[no-any-return]


async def count_children(sup: Any, timeout: float | None = None) -> ChildCounts:
    """How many specs, running children, supervisors and workers the supervisor has."""
    return await _sup_call(sup, "count_children", None, timeout)  # type: ignore[no-any-return]


async def supervisor_flags(sup: Any, timeout: float | None = None) -> dict[str, Any]:
    """The supervisor's label, strategy, intensity limits and restarts in the current window."""
    return await _sup_call(sup, "flags", None, timeout)  # type: ignore[no-any-return]
