"""DynamicSupervisor: a supervisor that starts with no children and adds them on demand.

Children are addressed by pid. The strategy is always ``one_for_one``; restart types and restart
intensity work as in :mod:`otpy.supervisor`, except that a child that is not restarted is removed
entirely. ``max_children`` caps how many run at once; ``extra_arguments`` are put before each
child's own start arguments (``ChildSpec.start``'s args)::

    sup = await DynamicSupervisor.start_link(max_children=100, extra_arguments=(pool,))
    # runs Worker.start_link(pool, "job-1"):
    pid = await otpy.supervisor.start_child(sup, (Worker, "job-1"))
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from otpy._supervisor_start import start_supervisor, supervisor_child_spec
from otpy.behaviour import Behaviour
from otpy.child_spec import ChildSpec
from otpy.supervisor_spec import SupervisorSpec
from otpy.values import Pid

__all__ = ["DynamicSupervisor"]


class DynamicSupervisor(Behaviour):
    """Start with ``DynamicSupervisor.start_link(...)`` or subclass it and define ``init``."""

    callbacks = ("init",)
    restart: Literal["permanent", "transient", "temporary"] = "permanent"
    dynamic: ClassVar[bool] = True

    async def init(self, arg: Any) -> Any:
        """Return ``SupervisorSpec([], max_children=..., extra_arguments=...)``, or Ignore()."""
        raise NotImplementedError(
            f"{type(self).__qualname__} must define `async def init(self, arg)` returning "
            "SupervisorSpec([], ...), or be started as DynamicSupervisor.start_link(...)"
        )

    @classmethod
    async def start_link(
        cls,
        arg: Any = None,
        *,
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        max_children: int | None = None,
        extra_arguments: tuple[Any, ...] = (),
        name: Any = None,
        timeout: float | None = None,
    ) -> Pid | None:
        """Start a dynamic supervisor linked to the caller; return its pid."""
        flags = SupervisorSpec(
            [], "one_for_one", max_restarts, max_seconds, max_children, extra_arguments
        )
        return await start_supervisor(
            cls, DynamicSupervisor, arg, flags, name, timeout, link=True
        )

    @classmethod
    async def start(
        cls,
        arg: Any = None,
        *,
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        max_children: int | None = None,
        extra_arguments: tuple[Any, ...] = (),
        name: Any = None,
        timeout: float | None = None,
    ) -> Pid | None:
        """Like :meth:`start_link`, without a link to the caller (a test fixture, a script)."""
        flags = SupervisorSpec(
            [], "one_for_one", max_restarts, max_seconds, max_children, extra_arguments
        )
        return await start_supervisor(
            cls, DynamicSupervisor, arg, flags, name, timeout, link=False
        )

    @classmethod
    def child_spec(cls, arg: Any = None, **overrides: Any) -> ChildSpec:
        """A child spec running this dynamic supervisor under another supervisor."""
        return supervisor_child_spec(
            cls,
            arg,
            overrides,
            ("name", "max_restarts", "max_seconds", "max_children", "extra_arguments", "timeout"),
        )
